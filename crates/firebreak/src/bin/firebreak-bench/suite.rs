//! One pass of the core scenarios for one binary on its own fresh database: cold start and
//! idle RSS, the HTTP ceiling, incident commands, timeline reads at 10,000 events, the whole
//! timeline and its verification, the public status page (and, on PostgreSQL, with the
//! database gone), and RSS after the load. Passes of several binaries alternate, and their
//! rounds are pooled per binary (`Suite::merge`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::bail;
use serde_json::{Value, json};

use super::{
    MakeRequest, Options, Round, Rounds, Writes, ceiling, percentiles, run_rounds, start,
    writes_and_reads,
};

/// What passes of the suite measured for one binary: every load round of each phase, and
/// each single figure once per pass.
#[derive(Default)]
pub struct Suite {
    pub phases: BTreeMap<&'static str, Vec<Round>>,
    pub scalars: BTreeMap<&'static str, Vec<f64>>,
}

impl Suite {
    pub fn merge(&mut self, other: Suite) {
        for (name, rounds) in other.phases {
            self.phases.entry(name).or_default().extend(rounds);
        }
        for (name, values) in other.scalars {
            self.scalars.entry(name).or_default().extend(values);
        }
    }

    /// Each phase as its rounds sorted by p99 (median and worst), each figure as the median
    /// of its passes.
    pub fn to_json(&self) -> Value {
        let mut out = serde_json::Map::new();
        for (name, rounds) in &self.phases {
            let mut rounds = rounds.clone();
            rounds.sort_by(|a, b| a.p99_ms.total_cmp(&b.p99_ms));
            out.insert(name.to_string(), Rounds(rounds).to_json());
        }
        for (name, values) in &self.scalars {
            let mut values = values.clone();
            values.sort_by(f64::total_cmp);
            out.insert(name.to_string(), json!(values[values.len() / 2]));
        }
        Value::Object(out)
    }
}

pub async fn core_suite(
    binary: &std::path::Path,
    backend: &str,
    database_url: &str,
    token: &str,
    options: &Options,
) -> anyhow::Result<Suite> {
    // Cold start: process spawn to first healthy answer, on an already-migrated database.
    let mut starts = Vec::new();
    for _ in 0..5 {
        let (server, took) = start(binary, database_url).await?;
        starts.push(took);
        server.stop().await?;
    }
    starts.sort();
    let cold_start_ms = starts[starts.len() / 2].as_secs_f64() * 1000.0;

    let (server, _) = start(binary, database_url).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle_rss_mib = server.rss_kib().unwrap_or(0) as f64 / 1024.0;
    let url = server.url.clone();
    let http = reqwest::Client::new();
    let http_ceiling = ceiling::http(backend, &url, options.rounds, options.clients).await;

    let Writes {
        commands,
        reads,
        outbox_settle_s,
        big_ref,
    } = writes_and_reads(&http, (&url, token), backend, options).await?;

    let mut full_reads = Vec::new();
    for _ in 0..20 {
        let started = Instant::now();
        let mut after = 0;
        loop {
            let page: Value = http
                .get(format!(
                    "{url}/api/v1/incidents/{big_ref}/timeline?after={after}&limit=1000"
                ))
                .bearer_auth(token)
                .send()
                .await?
                .json()
                .await?;
            match page["next_cursor"]
                .as_str()
                .and_then(|it| it.parse::<i64>().ok())
            {
                Some(next) => after = next,
                None => break,
            }
        }
        full_reads.push(started.elapsed().as_micros() as u64);
    }
    let (full_p50, full_p99) = percentiles(&mut full_reads);
    let verify_started = Instant::now();
    let verification: Value = http
        .get(format!("{url}/api/v1/incidents/{big_ref}/timeline/verify"))
        .bearer_auth(token)
        .send()
        .await?
        .json()
        .await?;
    let verify_ms = verify_started.elapsed().as_secs_f64() * 1000.0;
    if verification["valid"] != json!(true) {
        bail!("the chain did not verify after the benchmark: {verification}");
    }
    // The public status page: a few components and a published incident, then many readers
    // on keep-alive connections, as during an outage.
    let mut first_component = String::new();
    for name in ["Website", "API", "Checkout", "Search", "Email delivery"] {
        let component: Value = http
            .post(format!("{url}/api/v1/status/components"))
            .bearer_auth(token)
            .json(&json!({"name": name}))
            .send()
            .await?
            .json()
            .await?;
        if first_component.is_empty() {
            first_component = component["id"].as_str().unwrap_or("").to_string();
        }
    }
    http.post(format!("{url}/api/v1/status/incidents"))
        .bearer_auth(token)
        .json(
            &json!({"name": "Elevated errors on the website", "impact": "major",
            "body": "We are investigating elevated error rates.",
            "components": {first_component: "partial_outage"}}),
        )
        .send()
        .await?
        .error_for_status()?;
    let public_page = |path: &'static str| {
        let url = url.clone();
        let make: MakeRequest = Arc::new(move |http: &reqwest::Client, _: usize, _: usize| {
            // As browsers ask (every one accepts gzip).
            http.get(format!("{url}{path}"))
                .header("accept-encoding", "gzip")
        });
        make
    };
    println!(
        "[{backend}] status page: /status, {} clients on keep-alive connections for 5 s",
        options.clients
    );
    let status_page = run_rounds(
        backend,
        options.rounds,
        options.clients,
        Duration::from_secs(5),
        public_page("/status"),
    )
    .await;
    println!("[{backend}] status page: /status/api/v2/summary.json");
    let summary_json = run_rounds(
        backend,
        options.rounds,
        options.clients,
        Duration::from_secs(5),
        public_page("/status/api/v2/summary.json"),
    )
    .await;
    // On PostgreSQL: take the database away and read the page again.
    let db_gone = match database_url.strip_prefix("postgres://") {
        Some(_) => {
            use sqlx::Connection;
            let name = database_url.rsplit('/').next().unwrap_or("").to_string();
            let admin_url = database_url.replace(&format!("/{name}"), "/postgres");
            let mut admin = sqlx::PgConnection::connect(&admin_url).await?;
            for sql in [
                format!("ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS false"),
                format!(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()"
                ),
            ] {
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .execute(&mut admin)
                    .await?;
            }
            println!("[{backend}] status page with the database gone");
            let gone = run_rounds(
                backend,
                1,
                options.clients,
                Duration::from_secs(5),
                public_page("/status/api/v2/summary.json"),
            )
            .await;
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS true"
            )))
            .execute(&mut admin)
            .await?;
            Some(gone)
        }
        None => None,
    };
    let loaded_rss_mib = server.rss_kib().unwrap_or(0) as f64 / 1024.0;
    // The SQLite write-ahead log should stay bounded under sustained writes.
    let wal_mib = database_url
        .strip_prefix("sqlite:")
        .and_then(|path| std::fs::metadata(format!("{path}-wal")).ok())
        .map(|it| it.len() as f64 / (1024.0 * 1024.0));
    server.stop().await?;
    let mut suite = Suite::default();
    for (name, rounds) in [
        ("http_ceiling", http_ceiling),
        ("commands", commands),
        ("timeline_page_100", reads),
        ("status_page", status_page),
        ("summary_json", summary_json),
    ] {
        suite.phases.insert(name, rounds.0);
    }
    if let Some(gone) = db_gone {
        suite.phases.insert("summary_json_database_gone", gone.0);
    }
    for (name, value) in [
        ("timeline_full_10000_p50_ms", full_p50),
        ("timeline_full_10000_p99_ms", full_p99),
        ("verify_10000_ms", verify_ms),
        ("idle_rss_mib", idle_rss_mib),
        ("rss_after_load_mib", loaded_rss_mib),
        ("outbox_settle_s", outbox_settle_s),
        ("cold_start_ms", cold_start_ms),
    ] {
        suite.scalars.entry(name).or_default().push(value);
    }
    if let Some(wal) = wal_mib {
        suite
            .scalars
            .entry("sqlite_wal_mib_after_load")
            .or_default()
            .push(wal);
    }
    Ok(suite)
}
