//! The incident room at 100,000 events (DESIGN.md §5: the room page under 100 ms), `/head`
//! (under 10 ms), and the server's memory after reading it (below 100 MiB) — for this build
//! and, with `--baseline`, a previous release's binary in the same run, each on its own fresh
//! database.

use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::{Value, json};

use super::{Options, Server, outbox_settled, percentiles, run_load, spawn, start};

const EVENTS: i64 = 100_000;

/// This build's figures, and the baseline's beside them when one was given.
pub async fn bench_room(
    binary: &std::path::Path,
    backend: &str,
    options: &Options,
) -> anyhow::Result<Value> {
    let dir = tempfile::tempdir()?;
    let mut runs = vec![("this build", binary.to_path_buf())];
    if let Some(baseline) = &options.baseline {
        runs.push(("baseline", baseline.clone()));
    }
    let mut results = serde_json::Map::new();
    for (idx, (label, binary)) in runs.into_iter().enumerate() {
        let database_url = match (backend, &options.postgres) {
            ("postgres", Some(admin)) => {
                super::fresh_postgres(admin, &format!("_room{idx}")).await?
            }
            _ => format!(
                "sqlite:{}",
                dir.path().join(format!("room{idx}.db")).display()
            ),
        };
        let run = one(&binary, backend, label, &database_url).await?;
        results.insert(label.to_string(), run);
    }
    Ok(Value::Object(results))
}

async fn one(
    binary: &std::path::Path,
    backend: &str,
    label: &str,
    database_url: &str,
) -> anyhow::Result<Value> {
    println!("[{backend}] room ({label}): filling one incident to {EVENTS} events");
    let token = spawn::create_admin_token(binary, database_url, "bench-room")?;
    let (server, _) = start(binary, database_url).await?;
    let url = server.url.clone();
    let http = reqwest::Client::new();
    let incident: Value = http
        .post(format!("{url}/api/v1/incidents"))
        .bearer_auth(&token)
        .json(&json!({"title": "a hundred thousand events"}))
        .send()
        .await?
        .json()
        .await?;
    let reference = incident["reference"]
        .as_str()
        .context("reference")?
        .to_string();
    let fill: super::MakeRequest = {
        let (url, token, reference) = (url.clone(), token.clone(), reference.clone());
        std::sync::Arc::new(
            move |http: &reqwest::Client, client_idx: usize, round: usize| {
                http.post(format!("{url}/api/v1/incidents/{reference}/timeline"))
                    .bearer_auth(&token)
                    .json(&json!({"text": format!("fill {client_idx}/{round}")}))
            },
        )
    };
    let n_events = loop {
        let now: Value = http
            .get(format!("{url}/api/v1/incidents/{reference}"))
            .bearer_auth(&token)
            .send()
            .await?
            .json()
            .await?;
        let last_seq = now["last_seq"].as_i64().unwrap_or(0);
        if last_seq >= EVENTS {
            break last_seq;
        }
        run_load(64, Duration::from_secs(2), fill.clone()).await;
    };
    outbox_settled(&http, &url, &token).await?;
    // A restart: nothing is verified or cached yet, as after a deploy.
    server.stop().await?;
    let (server, _) = start(binary, database_url).await?;
    let url = server.url.clone();
    let rss_before_mib = rss_mib(&server);
    let get = |path: String| {
        let request = http.get(format!("{url}{path}")).bearer_auth(&token);
        async move {
            let started = Instant::now();
            let response = request.send().await?.error_for_status()?;
            let body = response.text().await?;
            Ok::<_, anyhow::Error>((started.elapsed().as_micros() as u64, body))
        }
    };
    let room_path = format!("/incidents/{reference}");
    let head_path = format!("/incidents/{reference}/head");
    let (first_us, _) = get(room_path.clone()).await?;
    // The rest of the chain is verified in the background; wait for it, up to two minutes.
    let verified = format!("chain verified ({n_events} events)");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (_, head) = get(head_path.clone()).await?;
        if head.contains(&verified) || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let mut room = timed(20, Duration::from_secs(20), || get(room_path.clone())).await?;
    let mut head = timed(50, Duration::from_secs(20), || get(head_path.clone())).await?;
    let (room_p50, room_p99) = percentiles(&mut room);
    let (head_p50, head_p99) = percentiles(&mut head);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_after_mib = rss_mib(&server);
    let peak_mib = peak_rss_mib(&server);
    println!(
        "[{backend}] room ({label}): first load {:.0} ms; room p50 {room_p50:.1} ms p99 {room_p99:.1} ms ({} loads); \
         /head p50 {head_p50:.2} ms p99 {head_p99:.2} ms; RSS {rss_before_mib:.0} → {rss_after_mib:.0} MiB (peak {peak_mib:.0})",
        first_us as f64 / 1000.0,
        room.len()
    );
    server.stop().await?;
    Ok(json!({
        "events": n_events,
        "first_load_ms": first_us as f64 / 1000.0,
        "room_p50_ms": room_p50, "room_p99_ms": room_p99, "room_loads": room.len(),
        "head_p50_ms": head_p50, "head_p99_ms": head_p99, "head_loads": head.len(),
        "rss_before_mib": rss_before_mib, "rss_after_mib": rss_after_mib, "rss_peak_mib": peak_mib,
    }))
}

/// Up to `n` sequential requests, or as many as fit in `budget`; their latencies.
async fn timed<F, Fut>(n: usize, budget: Duration, mut request: F) -> anyhow::Result<Vec<u64>>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<(u64, String)>>,
{
    let deadline = Instant::now() + budget;
    let mut latencies = Vec::with_capacity(n);
    while latencies.len() < n && (latencies.is_empty() || Instant::now() < deadline) {
        latencies.push(request().await?.0);
    }
    Ok(latencies)
}

fn rss_mib(server: &Server) -> f64 {
    server.rss_kib().unwrap_or(0) as f64 / 1024.0
}

fn peak_rss_mib(server: &Server) -> f64 {
    server.status_kib("VmHWM:").unwrap_or(0) as f64 / 1024.0
}

/// The room rows of the results table.
pub fn print_rows(room: &Value) {
    if room.is_null() {
        return;
    }
    let this = &room["this build"];
    let base = &room["baseline"];
    let f = |run: &Value, key: &str| run[key].as_f64().unwrap_or(f64::NAN);
    let beside = |key: &str, unit: &str| {
        if base.is_null() {
            String::new()
        } else {
            format!(" (baseline {:.1} {unit})", f(base, key))
        }
    };
    let room_p99 = f(this, "room_p99_ms");
    println!(
        "| incident room page, 100,000 events | p50 {:.1} ms, p99 {room_p99:.1} ms{} | < 100 ms | {} |",
        f(this, "room_p50_ms"),
        beside("room_p99_ms", "ms p99"),
        super::verdict(room_p99 < 100.0)
    );
    let head_p99 = f(this, "head_p99_ms");
    println!(
        "| room header `/head`, 100,000 events | p50 {:.2} ms, p99 {head_p99:.2} ms{} | < 10 ms | {} |",
        f(this, "head_p50_ms"),
        beside("head_p99_ms", "ms p99"),
        super::verdict(head_p99 < 10.0)
    );
    let rss = f(this, "rss_after_mib");
    println!(
        "| RSS after reading the room (peak) | {rss:.0} MiB ({:.0} MiB){} | < 100 MiB | {} |",
        f(this, "rss_peak_mib"),
        beside("rss_after_mib", "MiB"),
        super::verdict(rss < 100.0)
    );
}
