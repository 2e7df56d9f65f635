//! Multi-row statements whose cost stays linear in their rows and whose text repeats.
//!
//! The batching writer and the paging transaction write many rows per statement. Two things
//! made that cost more than it should on SQLite: named parameters (`$1 … $N`) are kept in a
//! list SQLite scans once per parameter when it parses and when sqlx asks each parameter's
//! name to bind it, so a statement of N parameters costs time quadratic in N; and a statement
//! whose size followed the batch's was new text each time, so it was parsed and prepared
//! afresh instead of coming from the connection's statement cache. Here SQLite gets
//! anonymous `?` parameters (bound in order, no name to look up), and a statement's text
//! does not depend on the number of rows: lists of keys are asked `SOURCE_ROWS` at a time,
//! padded with NULLs (`padded_chunks`), and rows to write come from a `source` (fixed-size
//! `VALUES` padded with NULL rows on SQLite, one JSON parameter on PostgreSQL). PostgreSQL
//! needs `$N`, which it numbers without a scan. The batching writer's and the paging
//! batch's flushes are each one unchanging script (`Script`), sent to SQLite in one call.

use std::sync::OnceLock;

use serde_json::Value;

use crate::db::Backend;

/// Cuts `n` rows into runs of at most `SOURCE_ROWS`, as `(start, len)`, for statements that
/// always hold `SOURCE_ROWS` (the rest padded with NULLs, which match nothing): one text per
/// statement whatever the count, and one statement for up to `SOURCE_ROWS` rows (chunks of
/// power-of-two sizes had made one per bit of the count: 31 rows were five).
pub(crate) fn padded_chunks(n: usize) -> impl Iterator<Item = (usize, usize)> {
    (0..n)
        .step_by(SOURCE_ROWS)
        .map(move |start| (start, (n - start).min(SOURCE_ROWS)))
}

/// `(?, ?), (?, ?)` on SQLite and `($1, $2), ($3, $4)` on PostgreSQL, for `rows` rows of
/// `width` values, numbered from `$first + 1` on PostgreSQL.
pub(crate) fn values(backend: Backend, rows: usize, width: usize) -> String {
    values_after(backend, rows, width, 0)
}

/// `values` for parameters that follow `first` others in the same statement.
pub(crate) fn values_after(backend: Backend, rows: usize, width: usize, first: usize) -> String {
    use std::fmt::Write;
    let mut sql = String::with_capacity(rows * width * 6);
    for row in 0..rows {
        if row > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for col in 0..width {
            if col > 0 {
                sql.push_str(", ");
            }
            match backend {
                Backend::Sqlite => sql.push('?'),
                Backend::Postgres => {
                    let _ = write!(sql, "${}", first + row * width + col + 1);
                }
            }
        }
        sql.push(')');
    }
    sql
}

/// A list `?, ?, ?` (or `$1, $2, $3`) of `n` parameters after `first` others.
pub(crate) fn list(backend: Backend, n: usize, first: usize) -> String {
    let mut sql = values_after(backend, 1, n, first);
    sql.pop();
    sql.remove(0);
    sql
}

/// One row of a table for `Script::rows`: its values in the order of `columns` (as the
/// statement names them, comma-separated).
pub(crate) fn row<const N: usize>(columns: &str, values: [Value; N]) -> Vec<Value> {
    debug_assert_eq!(columns.split(',').count(), N, "{columns}");
    values.into()
}

/// The rows one SQLite statement of `Script::rows` holds: a batch's rows go in statements of
/// exactly this many (the last padded with rows of NULLs, which `source` leaves out), so the
/// statement's text never changes.
pub(crate) const SOURCE_ROWS: usize = 32;

/// A table of rows with the given columns, to write `FROM <source> AS j` and read `j.<column>`:
/// on SQLite `SOURCE_ROWS` rows of anonymous parameters (`?`, bound in order) less the padding,
/// on PostgreSQL one JSON parameter, an array of objects keyed by column, typed as `table`'s
/// rows by `json_populate_recordset`. Either way the text does not depend on how many rows
/// there are, so it is prepared once and stays in the connection's cache.
pub(crate) fn source(backend: Backend, table: &str, columns: &str) -> String {
    match backend {
        Backend::Sqlite => {
            let names: Vec<String> = columns
                .split(',')
                .enumerate()
                .map(|(idx, name)| format!("column{} AS {}", idx + 1, name.trim()))
                .collect();
            let width = names.len();
            format!(
                "(SELECT {} FROM (VALUES {}) WHERE column1 IS NOT NULL)",
                names.join(", "),
                values(backend, SOURCE_ROWS, width)
            )
        }
        Backend::Postgres => format!("json_populate_recordset(NULL::{table}, $1::json)"),
    }
}

/// `INSERT INTO table (columns)` of the rows of a `source` of the same columns.
pub(crate) fn insert_sql(backend: Backend, table: &str, columns: &str) -> String {
    format!(
        "INSERT INTO {table} ({columns}) SELECT {columns} FROM {} AS j",
        source(backend, table, columns)
    )
}

/// Statements built once per backend and kept: their text never changes (`source`), so a
/// flush asks for its backend's set (`of`) instead of formatting them for every batch.
pub(crate) struct PerBackend<T> {
    build: fn(Backend) -> T,
    sqlite: OnceLock<T>,
    postgres: OnceLock<T>,
}

impl<T> PerBackend<T> {
    /// A set that `build` makes for each backend the first time it is asked for.
    pub(crate) const fn new(build: fn(Backend) -> T) -> Self {
        Self {
            build,
            sqlite: OnceLock::new(),
            postgres: OnceLock::new(),
        }
    }

    pub(crate) fn of(&self, backend: Backend) -> &T {
        let cell = match backend {
            Backend::Sqlite => &self.sqlite,
            Backend::Postgres => &self.postgres,
        };
        cell.get_or_init(|| (self.build)(backend))
    }
}

/// Statements to run in order in one transaction, each with its parameters, built side by
/// side (`statement`, then its `bind`s) so a statement's text and values cannot drift apart.
///
/// On SQLite (`Script::new`) they are sent as one call: every call is a hop to the
/// connection's thread and back, and under load each hop cost about 0.07 ms against a few
/// microseconds of SQLite's own work for a statement of the writer's flush. The statements
/// must then keep the same text from one script to the next (`source`), so the whole
/// script stays one prepared statement in the connection's cache. PostgreSQL takes one
/// statement with parameters per call, so there each is its own.
#[derive(Default)]
pub(crate) struct Script {
    sql: Vec<String>,
    /// One set of parameters per statement.
    args: Vec<sqlx::any::AnyArguments>,
    error: Option<sqlx::error::BoxDynError>,
    /// All statements in one call (SQLite).
    together: bool,
}

impl Script {
    pub(crate) fn new(backend: Backend) -> Self {
        Script {
            together: backend == Backend::Sqlite,
            ..Script::default()
        }
    }

    /// Starts the next statement; its parameters follow with `bind`.
    pub(crate) fn statement(&mut self, sql: String) -> &mut Self {
        self.args.push(Default::default());
        self.sql.push(sql);
        self
    }

    /// `sql`, which reads its rows from a `source` of `columns`, run for `rows`: on SQLite once
    /// per `SOURCE_ROWS` rows (and once with none, so the script's text stays the same), on
    /// PostgreSQL once with every row (and not at all with none).
    pub(crate) fn rows(&mut self, sql: &str, columns: &str, rows: Vec<Vec<Value>>) -> &mut Self {
        if !self.together {
            if rows.is_empty() {
                return self;
            }
            let names: Vec<&str> = columns.split(',').map(str::trim).collect();
            let objects: Vec<Value> = rows
                .into_iter()
                .map(|row| Value::Object(names.iter().map(|it| it.to_string()).zip(row).collect()))
                .collect();
            return self
                .statement(sql.to_string())
                .bind(Value::Array(objects).to_string());
        }
        let width = columns.split(',').count();
        let mut rows = rows.into_iter().peekable();
        loop {
            self.statement(sql.to_string());
            for _ in 0..SOURCE_ROWS {
                match rows.next() {
                    Some(row) => {
                        for value in row {
                            self.bind_value(value);
                        }
                    }
                    None => {
                        for _ in 0..width {
                            self.bind(None::<i64>);
                        }
                    }
                }
            }
            if rows.peek().is_none() {
                return self;
            }
        }
    }

    /// A JSON value as SQL: a string as text, an integer as an integer, null as NULL.
    fn bind_value(&mut self, value: Value) -> &mut Self {
        match value {
            Value::String(text) => self.bind(text),
            Value::Number(number) => match number.as_i64() {
                Some(int) => self.bind(int),
                None => self.bind(number.as_f64()),
            },
            Value::Bool(flag) => self.bind(i64::from(flag)),
            Value::Null => self.bind(None::<i64>),
            other => self.bind(other.to_string()),
        }
    }

    /// The next parameter of the current statement.
    pub(crate) fn bind<T>(&mut self, value: T) -> &mut Self
    where
        T: sqlx::Encode<'static, sqlx::Any> + sqlx::Type<sqlx::Any> + 'static,
    {
        use sqlx::Arguments;
        if let Some(args) = self.args.last_mut()
            && let Err(err) = args.add(value)
        {
            self.error.get_or_insert(err);
        }
        self
    }

    pub(crate) async fn run(self, tx: &mut sqlx::Transaction<'_, sqlx::Any>) -> crate::Result<()> {
        if let Some(err) = self.error {
            return Err(sqlx::Error::Encode(err).into());
        }
        if self.together {
            let mut args = sqlx::any::AnyArguments::default();
            for each in self.args {
                args.values.0.extend(each.values.0);
            }
            sqlx::query_with(sqlx::AssertSqlSafe(self.sql.join(";\n")), args)
                .execute(&mut **tx)
                .await?;
            return Ok(());
        }
        for (sql, args) in self.sql.into_iter().zip(self.args) {
            sqlx::query_with(sqlx::AssertSqlSafe(sql), args)
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padded_chunks_cover_every_row_in_runs_of_at_most_source_rows() {
        for (n, want) in [
            (0, vec![]),
            (1, vec![(0, 1)]),
            (31, vec![(0, 31)]),
            (32, vec![(0, 32)]),
            (70, vec![(0, 32), (32, 32), (64, 6)]),
        ] {
            assert_eq!(padded_chunks(n).collect::<Vec<_>>(), want, "{n}");
        }
    }

    #[test]
    fn placeholders_per_backend() {
        assert_eq!(values(Backend::Sqlite, 2, 2), "(?, ?), (?, ?)");
        assert_eq!(
            values(Backend::Postgres, 2, 3),
            "($1, $2, $3), ($4, $5, $6)"
        );
        assert_eq!(values_after(Backend::Postgres, 1, 2, 3), "($4, $5)");
        assert_eq!(list(Backend::Postgres, 3, 1), "$2, $3, $4");
        assert_eq!(list(Backend::Sqlite, 2, 5), "?, ?");
    }

    /// SQLite: every statement holds `SOURCE_ROWS` rows, padded with NULLs, and even no rows
    /// make one statement, so the script's text is the same whatever the batch. PostgreSQL:
    /// one statement of one JSON parameter, or none.
    #[test]
    fn rows_keep_the_script_text_fixed() {
        use serde_json::json;
        let sql = "INSERT INTO t (a, b) SELECT a, b FROM src AS j";
        let row = |n: i64| row("a, b", [json!(format!("id{n}")), json!(n)]);
        for (n_rows, statements) in [(0, 1), (1, 1), (32, 1), (33, 2), (64, 2), (65, 3)] {
            let mut script = Script::new(Backend::Sqlite);
            script.rows(sql, "a, b", (0..n_rows).map(row).collect());
            assert_eq!(script.sql.len(), statements, "{n_rows} rows");
            assert!(script.sql.iter().all(|it| it == sql));
            for args in &script.args {
                assert_eq!(args.values.0.len(), SOURCE_ROWS * 2, "{n_rows} rows");
            }
        }
        let mut script = Script::new(Backend::Postgres);
        script.rows(sql, "a, b", Vec::new());
        assert!(script.sql.is_empty());
        script.rows(sql, "a, b", (0..40).map(row).collect());
        assert_eq!(script.sql.len(), 1);
        assert_eq!(script.args[0].values.0.len(), 1);

        let text = source(Backend::Sqlite, "t", "a, b");
        assert!(text.starts_with("(SELECT column1 AS a, column2 AS b FROM (VALUES (?, ?), "));
        assert!(text.ends_with(") WHERE column1 IS NOT NULL)"));
        assert_eq!(text.matches('?').count(), SOURCE_ROWS * 2);
        assert_eq!(
            source(Backend::Postgres, "t", "a, b"),
            "json_populate_recordset(NULL::t, $1::json)"
        );
    }
}
