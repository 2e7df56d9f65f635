//! Connecting to SQLite or PostgreSQL through sqlx's `Any` driver, and migrations.
//!
//! Every column is an i64 or text (flags are 0/1), which is the portable subset `Any`
//! supports, so each query is written once for both backends.

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, Executor};

use crate::{Result, StoreError};

static SQLITE: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES: Migrator = sqlx::migrate!("migrations/postgres");

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// SQL that is true when the JSON array of strings in `column` contains `param`.
    pub(crate) fn json_array_contains(self, column: &str, param: &str) -> String {
        match self {
            Backend::Sqlite => {
                format!("EXISTS (SELECT 1 FROM json_each({column}) WHERE value = {param})")
            }
            Backend::Postgres => format!("jsonb_exists({column}::jsonb, {param})"),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// `postgres://…` selects PostgreSQL; `sqlite:…` or a bare path selects SQLite (created on
/// first use).
pub fn normalize_url(url: &str) -> (String, Backend) {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return (url.to_string(), Backend::Postgres);
    }
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    let sep = if path.contains('?') { '&' } else { '?' };
    let with_mode = if path.contains("mode=") {
        path.to_string()
    } else {
        format!("{path}{sep}mode=rwc")
    };
    (format!("sqlite://{with_mode}"), Backend::Sqlite)
}

/// SQLite: every pooled connection is an OS thread in sqlx, and on a small machine more of
/// them than cores mostly adds context switches (measured on 2 cores: 8 connections gave a
/// timeline-read p99 of 11–14 ms, 4 gave 6–7 ms, at the same load); these serve reads and
/// the workers, and the batching writer takes one more out of the pool for itself
/// (`writer::Connection`). PostgreSQL connections are sockets, and more of them let reads
/// overlap.
pub fn default_pool_size(backend: Backend) -> u32 {
    match backend {
        Backend::Sqlite => 4,
        Backend::Postgres => 8,
    }
}

pub async fn connect(url: &str, max_connections: Option<u32>) -> Result<(AnyPool, Backend)> {
    sqlx::any::install_default_drivers();
    let (url, backend) = normalize_url(url);
    let options = AnyConnectOptions::from_str(&url)?;
    let pool = AnyPoolOptions::new()
        // The writer takes its own connection out of the pool; these serve everything else.
        .max_connections(
            max_connections
                .unwrap_or_else(|| default_pool_size(backend))
                .max(2),
        )
        .min_connections(1)
        // Checking an idle connection before handing it out is a round trip per acquire; a
        // SQLite connection is a file and a thread, with nothing between them to break.
        .test_before_acquire(backend == Backend::Postgres)
        .acquire_timeout(Duration::from_secs(10))
        // A connection handed back still inside a transaction is closed, not reused: when
        // SQLite rolls a transaction back by itself (a full disk), the driver's own ROLLBACK
        // fails and it would otherwise keep counting a transaction that no longer exists,
        // refusing every later BEGIN on that connection. Only a connection that looks inside
        // one is pinged first (which flushes a rollback still queued from a dropped
        // transaction): every release already costs sqlx's own ping, and a second round trip
        // on each would halve what a PostgreSQL connection can serve.
        .after_release(|conn, _meta| {
            Box::pin(async move {
                use sqlx::Connection;
                if !conn.is_in_transaction() {
                    return Ok(true);
                }
                conn.ping().await?;
                Ok(!conn.is_in_transaction())
            })
        })
        .after_connect(move |conn, _meta| {
            Box::pin(async move {
                if backend == Backend::Sqlite {
                    // WAL lets readers run beside the writer; FULL makes each commit survive
                    // a power cut. The batching writer's own connection commits with NORMAL
                    // and syncs the log on a thread of its own before it answers
                    // (`writer::durable`).
                    // `checkpoints` copies the log back in the background. The automatic
                    // checkpoint runs inside the commit that crosses its threshold, on the
                    // committing connection's thread, so the writer waited for it: under
                    // load it was an eighth of SQLite's time. With the background keeping
                    // up, what is left for it is short; its threshold is 10,000 pages
                    // (40 MiB), so it comes a few times a second under a write storm.
                    // A statement's own undo journal (a multi-row insert that fails halfway
                    // is undone alone) is kept in memory: on disk it was a write system
                    // call per page the writer's statements touched.
                    conn.execute(
                        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                         PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; \
                         PRAGMA temp_store = MEMORY; PRAGMA wal_autocheckpoint = 10000;",
                    )
                    .await?;
                }
                Ok(())
            })
        })
        .connect_with(options)
        .await
        .map_err(|err| connect_error(&url, err))?;
    match backend {
        Backend::Sqlite => SQLITE.run(&pool).await?,
        Backend::Postgres => POSTGRES.run(&pool).await?,
    }
    Ok((pool, backend))
}

/// PostgreSQL only: a small pool whose commits do not wait for the log to reach disk
/// (`synchronous_commit = off`), for counters where losing the last increments in a database
/// crash is harmless and waiting is not — the page budget, spent once per page in its own
/// short transaction so every lane and replica sees it at once. Connects lazily.
pub fn connect_unsynced(url: &str) -> Result<sqlx::AnyPool> {
    let (url, _) = normalize_url(url);
    let options = AnyConnectOptions::from_str(&url)?;
    Ok(AnyPoolOptions::new()
        .max_connections(2)
        .min_connections(0)
        .acquire_timeout(Duration::from_secs(10))
        .after_connect(|conn, _meta| {
            Box::pin(async move {
                conn.execute("SET synchronous_commit = off").await?;
                Ok(())
            })
        })
        .connect_lazy_with(options))
}

/// A failed first connection in one line a person can act on; a certificate the server
/// presents that cannot be verified says how to trust it.
fn connect_error(url: &str, err: sqlx::Error) -> StoreError {
    let text = err.to_string();
    const UNTRUSTED: &str = "invalid peer certificate: ";
    let reason = match text.find(UNTRUSTED) {
        Some(idx) => {
            let detail = text[idx + UNTRUSTED.len()..]
                .split(':')
                .next()
                .unwrap_or("");
            format!(
                "the server's TLS certificate is not trusted ({}); name the CA that signed it with \
                 sslrootcert=/path/to/ca.pem, or use sslmode=require to encrypt without verifying",
                detail.trim()
            )
        }
        None => text.lines().next().unwrap_or_default().to_string(),
    };
    StoreError::Connect(format!(
        "cannot connect to the database at {}: {reason}",
        redact_url(url)
    ))
}

/// A database URL with any password (in its user info or its query) replaced by `•••`.
pub fn redact_url(url: &str) -> String {
    const HIDDEN: &str = "•••";
    let mut url = url.to_string();
    if let Some(scheme_end) = url.find("://").map(|it| it + 3) {
        let authority_end = url[scheme_end..]
            .find(['/', '?'])
            .map_or(url.len(), |it| it + scheme_end);
        if let Some(at) = url[scheme_end..authority_end]
            .rfind('@')
            .map(|it| it + scheme_end)
            && let Some(colon) = url[scheme_end..at].find(':')
        {
            url.replace_range(scheme_end + colon + 1..at, HIDDEN);
        }
    }
    let password = url.split_once('?').and_then(|(_, query)| {
        query
            .split('&')
            .find_map(|pair| pair.strip_prefix("password="))
            .filter(|it| !it.is_empty())
            .map(String::from)
    });
    if let Some(password) = password {
        url = url.replace(
            &format!("password={password}"),
            &format!("password={HIDDEN}"),
        );
    }
    url
}

/// Whether a database error means "not now" rather than "not this": a full disk, an I/O
/// failure, a lost or refused connection, a database shutting down or out of resources.
pub fn is_unavailable(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            if db
                .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
                .is_some()
            {
                // SQLSTATE classes: 08 connection exception, 53 insufficient resources (53100
                // disk full), 57P0x the server shutting down or starting, 55000 a database
                // that does not take connections now.
                return code.starts_with("08")
                    || code.starts_with("53")
                    || code.starts_with("57P")
                    || code == "55000";
            }
            // SQLite primary result codes (the low byte of extended ones): BUSY 5, LOCKED 6,
            // NOMEM 7, READONLY 8, IOERR 10, FULL 13, CANTOPEN 14.
            code.parse::<i64>()
                .is_ok_and(|number| matches!(number & 0xff, 5 | 6 | 7 | 8 | 10 | 13 | 14))
        }
        _ => false,
    }
}

/// Copies the SQLite WAL back into the database file, off the writers' path: every 10 ms
/// while the log grows, every 250 ms when it does not. A passive checkpoint never blocks the
/// writer or readers. Under steady writes it never catches up with the last commit, so the
/// log can only start again from its beginning after a checkpoint on the writer's own
/// thread (the automatic one, between two of its commits); keeping close behind makes that
/// one short: the few frames since the last pass, and a database file already synced. Once
/// a second, as before, left the writer a thousand pages to copy and sync, a stall every
/// command waiting behind it saw (p99 of incident commands 12-13 ms with a pass every
/// 250 ms, 9-10.6 ms with this).
pub async fn checkpoints(pool: AnyPool, mut closing: tokio::sync::watch::Receiver<bool>) {
    const IDLE: Duration = Duration::from_millis(250);
    const BUSY: Duration = Duration::from_millis(10);
    let mut wait = IDLE;
    // The log's length and how much of it is copied, after the last pass.
    let mut last = (0_i64, 0_i64);
    loop {
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = closing.changed() => return,
        }
        match sqlx::query_as::<_, (i64, i64, i64)>("PRAGMA wal_checkpoint(PASSIVE)")
            .fetch_one(&pool)
            .await
        {
            Ok((_, log, copied)) => {
                wait = if log > 0 && (log, copied) != last {
                    BUSY
                } else {
                    IDLE
                };
                last = (log, copied);
            }
            Err(err) => {
                tracing::warn!(error = %err, "WAL checkpoint failed");
                wait = IDLE;
            }
        }
    }
}

/// The statement that opens a write transaction: SQLite takes the write lock up front so a
/// read-then-write transaction never fails to upgrade.
pub fn begin_write(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "BEGIN IMMEDIATE",
        Backend::Postgres => "BEGIN",
    }
}

/// The first statement of a paging transaction (a batch of alert events, an escalation
/// pass, an acknowledge). On PostgreSQL its statements are planned with their parameters
/// each time (`plan_cache_mode = force_custom_plan`, for this transaction only). A
/// connection keeps a prepared statement's generic plan until the table's statistics
/// change, and autovacuum looks at most once a minute: a plan made while `alerts` was
/// small (a new install, the first minute of a storm) kept scanning the whole table as it
/// grew. Measured under a storm on a fresh database: one sequential scan of `alerts` per
/// batch (1,899 scans, 10.9 million rows read in 15 s), PostgreSQL's backends two thirds
/// of the machine's CPU, largely evaluating `open_key = ANY(…)` on every row. Planning a
/// paging statement costs a fraction of that.
pub fn begin_paging(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => begin_write(backend),
        Backend::Postgres => "BEGIN; SET LOCAL plan_cache_mode = force_custom_plan",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let table = [
            (
                "firebreak.db",
                "sqlite://firebreak.db?mode=rwc",
                Backend::Sqlite,
            ),
            (
                "sqlite:data/x.db",
                "sqlite://data/x.db?mode=rwc",
                Backend::Sqlite,
            ),
            (
                "sqlite://x.db?mode=ro",
                "sqlite://x.db?mode=ro",
                Backend::Sqlite,
            ),
            ("postgres://u@h/db", "postgres://u@h/db", Backend::Postgres),
        ];
        for (input, url, backend) in table {
            assert_eq!(normalize_url(input), (url.to_string(), backend), "{input}");
        }
    }
}
