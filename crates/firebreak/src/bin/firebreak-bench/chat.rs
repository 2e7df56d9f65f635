//! Chat: a burst of 100 major incidents declared at once, each of which the built-in rule
//! gives a Slack channel and a card, against a local Slack Web API that takes 20 ms per call
//! (DESIGN.md §5: every channel and card within 10 s); then status updates at 50/s, each
//! timed from when it was due to when its message reached the fake (p99 < 1 s). The previous
//! release has no chat, so there is no ratio to it; the fake's own cost per call is the
//! floor.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{percentiles, start_with};

const INCIDENTS: usize = 100;
const UPDATES_PER_SECOND: u64 = 50;
const UPDATE_SECONDS: u64 = 10;
const CALL_MS: u64 = 20;

#[derive(Default)]
struct Fake {
    channels: HashMap<String, String>,
    /// When each channel's card arrived.
    cards: HashMap<String, Instant>,
    /// When each update (by its text's token) arrived.
    updates: HashMap<String, Instant>,
    calls: u64,
}

/// A Slack Web API good enough for Firebreak's calls, taking `CALL_MS` for each.
async fn fake_slack() -> anyhow::Result<(String, Arc<Mutex<Fake>>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let api = format!("http://{}/api", listener.local_addr()?);
    let fake = Arc::new(Mutex::new(Fake::default()));
    let state = fake.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(connection(stream, state.clone()));
        }
    });
    Ok((api, fake))
}

async fn connection(mut stream: tokio::net::TcpStream, fake: Arc<Mutex<Fake>>) {
    let mut buffer = Vec::new();
    let mut chunk = vec![0u8; 65536];
    loop {
        // One request: the head, then Content-Length bytes of body.
        let head_end = loop {
            if let Some(at) = buffer.windows(4).position(|it| it == b"\r\n\r\n") {
                break at + 4;
            }
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buffer[..head_end]).to_string();
        let length: usize = head
            .lines()
            .find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse().ok())?
            })
            .unwrap_or(0);
        while buffer.len() < head_end + length {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            }
        }
        let body: Value =
            serde_json::from_slice(&buffer[head_end..head_end + length]).unwrap_or(Value::Null);
        buffer.drain(..head_end + length);
        let method = head
            .split_whitespace()
            .nth(1)
            .unwrap_or("")
            .trim_start_matches("/api/")
            .split('?')
            .next()
            .unwrap_or("")
            .to_string();
        tokio::time::sleep(Duration::from_millis(CALL_MS)).await;
        let answer = answer(&fake, &method, &body).to_string();
        let reply = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{answer}",
            answer.len()
        );
        if stream.write_all(reply.as_bytes()).await.is_err() {
            return;
        }
    }
}

fn answer(fake: &Mutex<Fake>, method: &str, body: &Value) -> Value {
    let Ok(mut fake) = fake.lock() else {
        return json!({"ok": false, "error": "internal_error"});
    };
    fake.calls += 1;
    let n = fake.calls;
    match method {
        "auth.test" => json!({"ok": true, "user_id": "UBENCH", "bot_id": "BBENCH"}),
        "users.lookupByEmail" => json!({"ok": false, "error": "users_not_found"}),
        "conversations.create" => {
            let name = body["name"].as_str().unwrap_or("").to_string();
            let id = format!("C{n:08}");
            fake.channels.insert(id.clone(), name.clone());
            json!({"ok": true, "channel": {"id": id, "name": name, "creator": "UBENCH"}})
        }
        "chat.postMessage" => {
            let channel = body["channel"].as_str().unwrap_or("").to_string();
            let text = body["text"].as_str().unwrap_or("");
            if body["blocks"].is_array() {
                fake.cards
                    .entry(channel.clone())
                    .or_insert_with(Instant::now);
            }
            if let Some(token) = text
                .split_whitespace()
                .find(|it| it.starts_with("bench-update-"))
            {
                fake.updates.insert(token.to_string(), Instant::now());
            }
            json!({"ok": true, "channel": channel, "ts": format!("1800000000.{n:06}")})
        }
        "conversations.history" => json!({"ok": true, "messages": [], "has_more": false}),
        _ => json!({"ok": true}),
    }
}

pub async fn bench_chat(
    binary: &std::path::Path,
    backend: &str,
    database_url: &str,
    token: &str,
) -> anyhow::Result<Value> {
    let (api, fake) = fake_slack().await?;
    let env = [
        ("FIREBREAK_CHAT__SLACK__BOT_TOKEN", "xoxb-bench"),
        ("FIREBREAK_CHAT__SLACK__API_BASE_URL", api.as_str()),
        ("FIREBREAK_OUTBOUND__ALLOW_PRIVATE", "true"),
    ];
    let (server, _) = start_with(binary, database_url, &env).await?;
    let url = server.url.clone();
    let http = reqwest::Client::new();

    println!("[{backend}] chat: {INCIDENTS} major incidents declared at once");
    let started = Instant::now();
    let declares = (0..INCIDENTS).map(|i| {
        let request = http
            .post(format!("{url}/api/v1/incidents"))
            .bearer_auth(token)
            .json(&json!({"title": format!("Chat bench {i}"), "severity": "major"}));
        async move {
            let answer: Value = request.send().await?.error_for_status()?.json().await?;
            anyhow::Ok(answer["reference"].as_str().unwrap_or_default().to_string())
        }
    });
    let references: Vec<String> = futures_util::future::try_join_all(declares).await?;
    let deadline = started + Duration::from_secs(60);
    let all_cards = loop {
        let (cards, last) = {
            let fake = fake.lock().map_err(|_| anyhow::anyhow!("fake poisoned"))?;
            (fake.cards.len(), fake.cards.values().max().copied())
        };
        if cards >= INCIDENTS {
            break last.context("cards")?.duration_since(started);
        }
        if Instant::now() > deadline {
            anyhow::bail!("only {cards} of {INCIDENTS} cards after 60 s");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };

    println!("[{backend}] chat: updates at {UPDATES_PER_SECOND}/s for {UPDATE_SECONDS} s");
    let total = (UPDATES_PER_SECOND * UPDATE_SECONDS) as usize;
    let interval = Duration::from_micros(1_000_000 / UPDATES_PER_SECOND);
    let begin = Instant::now() + Duration::from_millis(100);
    let mut due = HashMap::new();
    let mut sends = Vec::with_capacity(total);
    for i in 0..total {
        let at = begin + interval * i as u32;
        due.insert(format!("bench-update-{i}"), at);
        let request = http
            .post(format!(
                "{url}/api/v1/incidents/{}/updates",
                references[i % references.len()]
            ))
            .bearer_auth(token)
            .json(&json!({"message": format!("bench-update-{i} all good")}));
        sends.push(tokio::spawn(async move {
            tokio::time::sleep_until(at.into()).await;
            request
                .send()
                .await
                .map(|it| it.status().is_success())
                .unwrap_or(false)
        }));
    }
    let mut failed = 0;
    for send in sends {
        if !send.await.unwrap_or(false) {
            failed += 1;
        }
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let arrived = fake
            .lock()
            .map_err(|_| anyhow::anyhow!("fake poisoned"))?
            .updates
            .len();
        if arrived >= total - failed || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (mut latencies, calls) = {
        let fake = fake.lock().map_err(|_| anyhow::anyhow!("fake poisoned"))?;
        let latencies: Vec<u64> = fake
            .updates
            .iter()
            .filter_map(|(token, at)| Some(at.duration_since(*due.get(token)?).as_micros() as u64))
            .collect();
        (latencies, fake.calls)
    };
    let missing = total - latencies.len();
    let (p50, p99) = percentiles(&mut latencies);
    let max_ms = latencies.iter().max().copied().unwrap_or(0) as f64 / 1000.0;
    server.stop().await?;
    Ok(json!({
        "call_ms": CALL_MS,
        "burst": {"incidents": INCIDENTS, "all_cards_s": all_cards.as_secs_f64()},
        "updates": {
            "per_second": UPDATES_PER_SECOND, "sent": total, "failed": failed, "missing": missing,
            "p50_ms": p50, "p99_ms": p99, "max_ms": max_ms,
        },
        "slack_calls": calls,
    }))
}

pub fn print_rows(chat: &Value) {
    if chat.is_null() {
        return;
    }
    let f = |path: [&str; 2]| chat[path[0]][path[1]].as_f64().unwrap_or(f64::NAN);
    let all = f(["burst", "all_cards_s"]);
    println!(
        "| chat: {} major incidents declared at once → every Slack channel and card (fake Slack, {} ms per call) | {all:.2} s | < 10 s | {} |",
        chat["burst"]["incidents"],
        chat["call_ms"],
        super::verdict(all < 10.0)
    );
    let p99 = f(["updates", "p99_ms"]);
    let missing = chat["updates"]["missing"].as_u64().unwrap_or(u64::MAX);
    println!(
        "| chat: status update → its message in the channel, {}/s (from when it was due) | p50 {:.0} ms, p99 {p99:.0} ms, max {:.0} ms, {missing} missing | p99 < 1 s | {} |",
        chat["updates"]["per_second"],
        f(["updates", "p50_ms"]),
        f(["updates", "max_ms"]),
        super::verdict(p99 < 1000.0 && missing == 0)
    );
}
