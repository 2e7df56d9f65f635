//! The database's size over simulated days: a day of traffic (incidents with notes and
//! updates, webhook deliveries, alerts that page and resolve, idempotent declares), then the
//! retention pass as it would run a hundred days later, three times. The working tables' rows return
//! to zero and the file stops growing by them; only the timeline (never pruned) adds up.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use serde_json::{Value, json};

use super::paging::smtp_sink;
use super::{run_load, spawn, start_with};

/// One simulated day.
const INCIDENTS: usize = 100;
const NOTES_SECONDS: u64 = 4;
const ALERTS: usize = 1_000;

pub async fn bench_retention(
    binary: &std::path::Path,
    backend: &str,
    database_url: &str,
) -> anyhow::Result<Value> {
    let token = spawn::create_admin_token(binary, database_url, "bench-retention")?;
    let (smtp_port, _) = smtp_sink().await?;
    let smtp_port = smtp_port.to_string();
    let env = [
        ("FIREBREAK_SMTP__HOST", "127.0.0.1"),
        ("FIREBREAK_SMTP__PORT", smtp_port.as_str()),
        ("FIREBREAK_OUTBOUND__ALLOW_PRIVATE", "true"),
        ("FIREBREAK_PAGING__EVENTS_PER_MINUTE_PER_KEY", "1000000000"),
        ("FIREBREAK_PAGING__PAGES_PER_PERSON_PER_HOUR", "1000000000"),
    ];
    let (server, _) = start_with(binary, database_url, &env).await?;
    let url = server.url.clone();
    let http = reqwest::Client::new();
    let hook_url = webhook_sink().await?;
    http.post(format!("{url}/api/v1/webhooks"))
        .bearer_auth(&token)
        .json(&json!({"url": hook_url, "event_kinds": []}))
        .send()
        .await?
        .error_for_status()?;
    let post = |path: String, body: Value| {
        http.post(format!("{url}{path}"))
            .bearer_auth(&token)
            .json(&body)
    };
    post(
        "/api/v1/escalation-policies".into(),
        json!({"name": "bench", "steps": [
        {"targets": [{"type": "person", "id": "oncall@example.com"}], "delay_minutes": 1}]}),
    )
    .send()
    .await?
    .error_for_status()?;
    post(
        "/api/v1/services".into(),
        json!({"name": "bench", "escalation_policy": "bench"}),
    )
    .send()
    .await?
    .error_for_status()?;
    let key: Value = post("/api/v1/services/bench/integration-keys".into(), json!({}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let key = key["key"].as_str().context("integration key")?.to_string();
    let store =
        firebreak_store::Store::open(firebreak_store::StoreOptions::new(database_url)).await?;
    let retention = firebreak_server::settings::RetentionSettings::default().retention();
    let mut days = Vec::new();
    let mut simulated_now = firebreak_store::clock::now();
    for day in 1..=3 {
        println!("[{backend}] retention: day {day} of traffic");
        simulate_day(&http, &url, &token, &key, day).await?;
        super::outbox_settled(&http, &url, &token).await?;
        let gauges = [
            "firebreak_webhook_deliveries_pending",
            "firebreak_notifications_pending",
        ];
        super::settled(&http, (&url, &token), &gauges).await?;
        let (before, bytes_before) = store.table_sizes().await?;
        // A hundred days later, past every default retention but the audit's year.
        simulated_now += jiff::SignedDuration::from_hours(24 * 100);
        let mut n_pruned = 0;
        loop {
            let pruned = store.prune(&retention, simulated_now, 1_000).await?;
            n_pruned += pruned.total();
            if pruned.total() == 0 {
                break;
            }
        }
        if backend == "sqlite" {
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(&pool_of(database_url).await?)
                .await?;
        }
        let (after, bytes_after) = store.table_sizes().await?;
        let file_bytes = database_url
            .strip_prefix("sqlite:")
            .and_then(|path| std::fs::metadata(path).ok())
            .map(|it| it.len());
        let rows = |sizes: &[(&str, i64)]| {
            sizes
                .iter()
                .map(|(t, n)| (t.to_string(), json!(n)))
                .collect::<serde_json::Map<_, _>>()
        };
        println!(
            "[{backend}] retention: day {day}: {:.1} MiB of data with the day's rows, {n_pruned} pruned, {:.1} MiB after; file {:.1} MiB",
            bytes_before as f64 / 1_048_576.0,
            bytes_after as f64 / 1_048_576.0,
            file_bytes.unwrap_or(0) as f64 / 1_048_576.0
        );
        days.push(json!({"day": day, "bytes_before_pruning": bytes_before, "bytes_after_pruning": bytes_after, "file_bytes": file_bytes,
            "pruned": n_pruned, "rows_before": rows(&before), "rows_after": rows(&after)}));
    }
    store.close().await;
    server.stop().await?;
    Ok(json!({"days": days}))
}

/// A sqlite pool on the same file, for the checkpoint that lets the file size be read.
async fn pool_of(database_url: &str) -> anyhow::Result<sqlx::SqlitePool> {
    let path = database_url.trim_start_matches("sqlite:");
    Ok(sqlx::SqlitePool::connect(&format!("sqlite://{path}")).await?)
}

async fn simulate_day(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    key: &str,
    day: usize,
) -> anyhow::Result<()> {
    let mut references = Vec::new();
    for idx in 0..INCIDENTS {
        let incident: Value = http
            .post(format!("{url}/api/v1/incidents"))
            .bearer_auth(token)
            .header("Idempotency-Key", format!("day-{day}-{idx}"))
            .json(&json!({"title": format!("day {day} incident {idx}"), "severity": "minor"}))
            .send()
            .await?
            .json()
            .await?;
        references.push(
            incident["reference"]
                .as_str()
                .context("reference")?
                .to_string(),
        );
    }
    let references = Arc::new(references);
    let notes: super::MakeRequest = {
        let (url, token) = (url.to_string(), token.to_string());
        Arc::new(
            move |http: &reqwest::Client, client_idx: usize, round: usize| {
                let reference = &references[(client_idx * 7 + round) % references.len()];
                http.post(format!("{url}/api/v1/incidents/{reference}/timeline"))
                    .bearer_auth(&token)
                    .json(&json!({"text": format!("note {client_idx}/{round}")}))
            },
        )
    };
    run_load(16, Duration::from_secs(NOTES_SECONDS), notes).await;
    for idx in 0..ALERTS {
        let dedup = format!("day-{day}-{idx}");
        for action in ["trigger", "resolve"] {
            http.post(format!("{url}/v2/enqueue"))
                .json(&json!({"routing_key": key, "event_action": action, "dedup_key": dedup,
                    "payload": {"summary": "bench alert", "source": "bench", "severity": "critical"}}))
                .send()
                .await?;
        }
    }
    Ok(())
}

/// A webhook receiver that answers 200 to everything.
async fn webhook_sink() -> anyhow::Result<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/hook", listener.local_addr()?);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buffer = vec![0u8; 65536];
                while let Ok(n) = stream.read(&mut buffer).await {
                    if n == 0 {
                        break;
                    }
                    let reply = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
                    if stream.write_all(reply).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    Ok(url)
}

/// The retention rows of the results table.
pub fn print_rows(retention: &Value) {
    let Some(days) = retention["days"].as_array() else {
        return;
    };
    let mib = |day: &Value, key: &str| day[key].as_f64().unwrap_or(f64::NAN) / 1_048_576.0;
    let sizes: Vec<String> = days
        .iter()
        .map(|day| {
            format!(
                "{:.1} → {:.1} (file {:.1})",
                mib(day, "bytes_before_pruning"),
                mib(day, "bytes_after_pruning"),
                mib(day, "file_bytes")
            )
        })
        .collect();
    let working_left: i64 = days
        .last()
        .and_then(|day| day["rows_after"].as_object())
        .map(|rows| {
            rows.iter()
                .filter(|(table, _)| *table != "events")
                .map(|(_, n)| n.as_i64().unwrap_or(0))
                .sum()
        })
        .unwrap_or(-1);
    println!(
        "| database data over 3 simulated days (each: its traffic → after retention 100 days later), MiB | {} ; working rows left {working_left} | bounded | {} |",
        sizes.join(" · "),
        super::verdict(working_left == 0)
    );
}
