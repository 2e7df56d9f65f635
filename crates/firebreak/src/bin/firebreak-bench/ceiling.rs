//! The machine's own ceilings, measured in the same run as every figure so a figure can be
//! read as a fraction of what this machine could do at that moment:
//!
//! - **HTTP**: `/healthz` (a handler that does no work, behind the same listener, layers and
//!   middleware as every route) from the same load generator and connection count;
//! - **storage**: the rows one incident command writes (its event and its outbox row),
//!   inserted raw into the same kind of database by one task, as many per transaction as the
//!   load has clients, one commit (and so one fsync) per batch — no HTTP, no domain, no
//!   chain.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{MakeRequest, Round, Rounds, percentiles, run_rounds};

/// `/healthz` under the same load as the measured phases.
pub async fn http(backend: &str, url: &str, rounds: usize, clients: usize) -> Rounds {
    println!("[{backend}] HTTP ceiling: /healthz, {clients} clients for 5 s");
    let url = url.to_string();
    let make: MakeRequest = Arc::new(move |http: &reqwest::Client, _: usize, _: usize| {
        http.get(format!("{url}/healthz"))
    });
    run_rounds(backend, rounds, clients, Duration::from_secs(5), make).await
}

/// Raw batched inserts of an event and its outbox row per "command", `batch` per commit,
/// for `rounds` rounds of 5 s, into a scratch table pair created in `database_url` (a fresh
/// database, opened with the server's own settings: WAL and `synchronous = FULL` on SQLite).
/// Rounds are in commands per second; latency is per batch commit.
pub async fn storage(
    backend: &str,
    database_url: &str,
    rounds: usize,
    batch: usize,
) -> anyhow::Result<Rounds> {
    use sqlx::Executor;
    use sqlx::any::AnyPoolOptions;
    println!("[{backend}] storage ceiling: raw inserts, {batch} commands per commit for 5 s");
    sqlx::any::install_default_drivers();
    let (url, is_sqlite) = match database_url.strip_prefix("sqlite:") {
        Some(path) => (format!("sqlite://{path}?mode=rwc"), true),
        None => (database_url.to_string(), false),
    };
    let pool = AnyPoolOptions::new()
        .max_connections(1)
        .connect(&url)
        .await?;
    let mut conn = pool.acquire().await?;
    if is_sqlite {
        conn.execute(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA temp_store = MEMORY;",
        )
        .await?;
    }
    for sql in [
        "DROP TABLE IF EXISTS ceiling_events",
        "DROP TABLE IF EXISTS ceiling_outbox",
        "CREATE TABLE ceiling_events (incident_id TEXT NOT NULL, seq BIGINT NOT NULL, kind TEXT NOT NULL, \
         actor TEXT NOT NULL, observed_at BIGINT NOT NULL, occurred_at BIGINT NOT NULL, body TEXT NOT NULL, \
         prev_hash TEXT NOT NULL, hash TEXT NOT NULL, PRIMARY KEY (incident_id, seq))",
        "CREATE TABLE ceiling_outbox (id BIGINT PRIMARY KEY, incident_id TEXT NOT NULL, seq BIGINT NOT NULL, \
         kind TEXT NOT NULL, private BIGINT NOT NULL, created_at BIGINT NOT NULL)",
    ] {
        conn.execute(sql).await?;
    }
    let params = |rows: usize, width: usize| -> String {
        (0..rows)
            .map(|row| {
                let cells: Vec<String> = (1..=width)
                    .map(|col| {
                        if is_sqlite {
                            "?".to_string()
                        } else {
                            format!("${}", row * width + col)
                        }
                    })
                    .collect();
                format!("({})", cells.join(", "))
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let events_sql = format!(
        "INSERT INTO ceiling_events (incident_id, seq, kind, actor, observed_at, occurred_at, body, prev_hash, hash) VALUES {}",
        params(batch, 9)
    );
    let outbox_sql = format!(
        "INSERT INTO ceiling_outbox (id, incident_id, seq, kind, private, created_at) VALUES {}",
        params(batch, 6)
    );
    let hash = "0".repeat(64);
    let mut next: i64 = 0;
    let mut results = Vec::new();
    for _ in 0..rounds.max(1) {
        let started = Instant::now();
        let mut latencies = Vec::new();
        while started.elapsed() < Duration::from_secs(5) {
            let sent = Instant::now();
            let mut tx = sqlx::Connection::begin(&mut *conn).await?;
            let mut events = sqlx::query(sqlx::AssertSqlSafe(events_sql.as_str()));
            let mut outbox = sqlx::query(sqlx::AssertSqlSafe(outbox_sql.as_str()));
            for _ in 0..batch {
                next += 1;
                // Fifty incidents, as the command phase uses.
                let incident = format!("0190c0de-0000-7000-8000-{:012}", next % 50);
                let body = format!(r#"{{"text":"note {next}"}}"#);
                events = events
                    .bind(incident.clone())
                    .bind(next)
                    .bind("note_added")
                    .bind("admin@example.com")
                    .bind(next)
                    .bind(next)
                    .bind(body)
                    .bind(hash.clone())
                    .bind(hash.clone());
                outbox = outbox
                    .bind(next)
                    .bind(incident)
                    .bind(next)
                    .bind("note_added")
                    .bind(0_i64)
                    .bind(next);
            }
            events.execute(&mut *tx).await?;
            outbox.execute(&mut *tx).await?;
            tx.commit().await?;
            latencies.push(sent.elapsed().as_micros() as u64);
        }
        let elapsed = started.elapsed();
        let n_ok = latencies.len() * batch;
        let (p50_ms, p99_ms) = percentiles(&mut latencies);
        let per_second = n_ok as f64 / elapsed.as_secs_f64();
        println!(
            "[{backend}]   round: {per_second:.0} commands/s, commit p50 {p50_ms:.2} ms, p99 {p99_ms:.2} ms"
        );
        results.push(Round {
            per_second,
            p50_ms,
            p99_ms,
            n_ok,
            n_failed: 0,
        });
    }
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM ceiling_events")
        .fetch_one(&mut *conn)
        .await?;
    anyhow::ensure!(count == next, "the ceiling lost rows: {count} of {next}");
    for sql in ["DROP TABLE ceiling_events", "DROP TABLE ceiling_outbox"] {
        conn.execute(sql).await?;
    }
    results.sort_by(|a, b| a.p99_ms.total_cmp(&b.p99_ms));
    Ok(Rounds(results))
}

/// `figure ÷ ceiling` as a percentage, for the tables.
pub fn fraction(figure: Option<f64>, ceiling: Option<f64>) -> String {
    match (figure, ceiling) {
        (Some(figure), Some(ceiling)) if ceiling > 0.0 => {
            format!("{:.0} %", figure / ceiling * 100.0)
        }
        _ => "—".into(),
    }
}
