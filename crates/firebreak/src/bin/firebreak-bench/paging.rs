//! Paging: ingest through `/v2/enqueue`, alert → page at a steady rate (2,000 alerts/s on
//! SQLite, 1,000 on PostgreSQL), and escalation
//! lateness with 100,000 pending timers; pages go to an SMTP sink in the runner.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::{Value, json};

use super::{MakeRequest, Options, percentiles, run_rounds, start_with};

/// Services (each with its own policy, person and key) the paging scenarios spread alerts over.
const SERVICES: usize = 100;

/// Paging: ingest throughput through `/v2/enqueue` (every event a new alert that pages), the
/// latency from an alert sent to its page queued at a steady 1,000 alerts/s (the page is
/// queued in the alert's own transaction, so it is the answer's latency), and escalation
/// lateness: 100,000 pending timers, 1,000 of them due over 10 s, each escalated by the
/// server's worker — how late, from the alert's log.
pub async fn bench_paging(
    binary: &std::path::Path,
    backend: &str,
    database_url: &str,
    token: &str,
    options: &Options,
) -> anyhow::Result<Value> {
    use sqlx::Connection;
    // Pages are delivered while alerts arrive, as they would be: to an SMTP server that
    // takes every message.
    let (smtp_port, delivered) = smtp_sink().await?;
    let smtp_port = smtp_port.to_string();
    let env = [
        ("FIREBREAK_PAGING__EVENTS_PER_MINUTE_PER_KEY", "1000000000"),
        ("FIREBREAK_PAGING__PAGES_PER_PERSON_PER_HOUR", "1000000000"),
        ("FIREBREAK_SMTP__HOST", "127.0.0.1"),
        ("FIREBREAK_SMTP__PORT", smtp_port.as_str()),
    ];
    let (server, _) = start_with(binary, database_url, &env).await?;
    let url = server.url.clone();
    let http = reqwest::Client::new();
    let post = |path: &str, body: Value| {
        http.post(format!("{url}/api/v1{path}"))
            .bearer_auth(token)
            .json(&body)
    };
    // A storm pages many people: 100 services, each on its own policy paging its own person
    // (then a backup), each with a key; events go round the keys.
    let mut keys = Vec::new();
    let mut service_id = String::new();
    for n in 0..SERVICES {
        post(
            "/escalation-policies",
            json!({"name": format!("bench-{n}"), "steps": [
                {"targets": [{"type": "person", "id": format!("oncall-{n}@example.com")}], "delay_minutes": 1},
                {"targets": [{"type": "person", "id": "backup@example.com"}], "delay_minutes": 1}]}),
        )
        .send()
        .await?
        .error_for_status()?;
        let service: Value = post(
            "/services",
            json!({"name": format!("bench-{n}"), "escalation_policy": format!("bench-{n}")}),
        )
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
        service_id = service["id"].as_str().context("service id")?.to_string();
        let key: Value = post(&format!("/services/bench-{n}/integration-keys"), json!({}))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        keys.push(key["key"].as_str().context("integration key")?.to_string());
    }
    let keys = Arc::new(keys);
    let event = move |n: usize, dedup: String| {
        json!({"routing_key": keys[n % SERVICES], "event_action": "trigger", "dedup_key": dedup,
               "payload": {"summary": "bench alert", "source": "bench", "severity": "critical"}})
    };

    println!(
        "[{backend}] paging: /v2/enqueue, {} clients for 5 s, every event a new alert",
        options.clients
    );
    let ingest = {
        let (url, event) = (url.clone(), event.clone());
        let make: MakeRequest =
            Arc::new(move |http: &reqwest::Client, client: usize, round: usize| {
                http.post(format!("{url}/v2/enqueue"))
                    .json(&event(client + round, format!("load-{client}-{round}")))
            });
        run_rounds(backend, 1, options.clients, Duration::from_secs(5), make).await
    };

    // DESIGN.md §5: 2,000 alerts/s on SQLite, 1,000 on PostgreSQL.
    let rate: usize = if backend == "sqlite" { 2_000 } else { 1_000 };
    println!(
        "[{backend}] paging: {rate} alerts/s for 5 s over {} connections, alert → page queued",
        options.clients
    );
    // Paced, as a monitoring system sends: event n is due at start + n ms, sent by one of 64
    // connections (Alertmanager keeps a few; none opens a connection per alert). Latency
    // counts from when the event was due, so an event that waits for a free connection
    // because the server fell behind is as late as it really is.
    let steady = {
        let events = rate * 5;
        let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let started = tokio::time::Instant::now();
        let senders = (0..options.clients).map(|_| {
            let (next, http, url, event) = (next.clone(), http.clone(), url.clone(), event.clone());
            tokio::spawn(async move {
                let mut results = Vec::new();
                loop {
                    let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if n >= events {
                        return results;
                    }
                    let due = started + Duration::from_micros((n * 1_000_000 / rate) as u64);
                    tokio::time::sleep_until(due).await;
                    let ok = http
                        .post(format!("{url}/v2/enqueue"))
                        .json(&event(n, format!("steady-{n}")))
                        .send()
                        .await
                        .is_ok_and(|it| it.status().as_u16() == 202);
                    results.push((ok, due.elapsed().as_micros() as u64));
                }
            })
        });
        let mut latencies = Vec::new();
        let mut failed = 0;
        for sender in futures_util::future::join_all(senders).await {
            for (ok, took) in sender? {
                if ok {
                    latencies.push(took);
                } else {
                    failed += 1;
                }
            }
        }
        let achieved = events as f64 / started.elapsed().as_secs_f64();
        let (p50, p99) = percentiles(&mut latencies);
        println!(
            "[{backend}]   {achieved:.0}/s achieved, p50 {p50:.2} ms, p99 {p99:.2} ms, {failed} failed"
        );
        json!({"offered_per_second": rate, "achieved_per_second": achieved, "p50_ms": p50, "p99_ms": p99, "failed": failed})
    };
    sqlx::any::install_default_drivers();
    let mut db = sqlx::AnyConnection::connect(database_url).await?;
    let count = |sql: &'static str| sqlx::query_scalar::<_, i64>(sql);
    let pages = count(
        "SELECT COUNT(*) FROM notifications WHERE kind = 'page' AND incident_id LIKE 'alert:%'",
    )
    .fetch_one(&mut db)
    .await?;
    let alerts = count("SELECT COUNT(*) FROM alerts")
        .fetch_one(&mut db)
        .await?;

    println!("[{backend}] paging: 100,000 pending timers, 1,000 due over 10 s from 10 s on");
    let policy = r#"{"steps":[{"targets":[{"type":"person","id":"oncall@example.com"}],"delay_minutes":1},{"targets":[{"type":"person","id":"backup@example.com"}],"delay_minutes":1}],"repeat":0}"#;
    let now_us = firebreak_store::clock::now().as_microsecond();
    let series = |name: &str, n: i64, spacing: i64| {
        let columns = "id, service_id, dedup_key, open_key, status, summary, severity, source, details, links, \
            count, created_at, updated_at, policy, step, pass, next_escalation_at";
        let values = format!(
            "'{name}-' || i, $1, '{name}-' || i, $1 || '/{name}-' || i, 'triggered', 'bench timer', 'error', \
             'bench', '{{}}', '[]', 1, $2, $2, $3, 0, 0, $4 + i * {spacing}"
        );
        if database_url.starts_with("sqlite:") {
            format!(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {n}) \
                 INSERT INTO alerts ({columns}) SELECT {values} FROM n"
            )
        } else {
            format!(
                "INSERT INTO alerts ({columns}) SELECT {values} FROM generate_series(1::bigint, {n}) AS i"
            )
        }
    };
    sqlx::query(sqlx::AssertSqlSafe(series("far", 99_000, 1_000_000)))
        .bind(service_id.clone())
        .bind(now_us)
        .bind(policy)
        .bind(now_us + 3_600_000_000)
        .execute(&mut db)
        .await?;
    // Due from 10 s on: a timer is always made at least a minute ahead (the shortest step),
    // so a worker polling every 5 s has seen it before it is due.
    let near_base = firebreak_store::clock::now().as_microsecond() + 10_000_000;
    sqlx::query(sqlx::AssertSqlSafe(series("near", 1_000, 10_000)))
        .bind(service_id.clone())
        .bind(now_us)
        .bind(policy)
        .bind(near_base)
        .execute(&mut db)
        .await?;
    let waited = Instant::now();
    loop {
        let done = count(
            "SELECT COUNT(*) FROM alert_log WHERE kind = 'escalated' AND alert_id LIKE 'near-%'",
        )
        .fetch_one(&mut db)
        .await?;
        if done >= 1_000 || waited.elapsed() > Duration::from_secs(60) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT alert_id, at FROM alert_log WHERE kind = 'escalated' AND alert_id LIKE 'near-%'",
    )
    .fetch_all(&mut db)
    .await?;
    let mut lateness: Vec<u64> = rows
        .iter()
        .filter_map(|(id, at)| {
            let i: i64 = id.strip_prefix("near-")?.parse().ok()?;
            u64::try_from(at - (near_base + i * 10_000)).ok()
        })
        .collect();
    let escalated = lateness.len();
    let max_ms = lateness.iter().max().copied().unwrap_or(0) as f64 / 1000.0;
    let (late_p50, late_p99) = percentiles(&mut lateness);
    println!(
        "[{backend}]   {escalated} of 1,000 escalated; lateness p50 {late_p50:.1} ms, p99 {late_p99:.1} ms, max {max_ms:.1} ms"
    );
    server.stop().await?;
    let delivered = delivered.load(std::sync::atomic::Ordering::Relaxed);
    println!("[{backend}]   {delivered} pages delivered to the SMTP server during the run");
    Ok(json!({
        "pages_delivered": delivered,
        "ingest": ingest.to_json(),
        "steady": steady,
        "alerts": alerts,
        "pages_queued": pages,
        "escalation": {"pending_timers": 100_000, "due": 1_000, "escalated": escalated,
                       "lateness_p50_ms": late_p50, "lateness_p99_ms": late_p99, "lateness_max_ms": max_ms},
    }))
}

/// An SMTP server that accepts every message (and counts them): its port and the count.
pub async fn smtp_sink() -> anyhow::Result<(u16, Arc<std::sync::atomic::AtomicUsize>)> {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = count.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let counter = counter.clone();
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read).lines();
                let _ = write.write_all(b"220 bench ESMTP\r\n").await;
                let mut in_data = false;
                while let Ok(Some(line)) = lines.next_line().await {
                    let answer: &[u8] = if in_data {
                        if line != "." {
                            continue;
                        }
                        in_data = false;
                        counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        b"250 OK\r\n"
                    } else {
                        let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
                        match verb.as_str() {
                            "EHLO" => b"250-bench\r\n250 8BITMIME\r\n",
                            "DATA" => {
                                in_data = true;
                                b"354 go ahead\r\n"
                            }
                            "QUIT" => {
                                let _ = write.write_all(b"221 bye\r\n").await;
                                return;
                            }
                            _ => b"250 OK\r\n",
                        }
                    };
                    if write.write_all(answer).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    Ok((port, count))
}
