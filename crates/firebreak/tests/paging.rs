//! Three `firebreak serve` processes on one PostgreSQL database: 500 alerts, each sent twice
//! through two different processes, become 500 alerts and exactly 500 pages, delivered once
//! each to a real SMTP server by the three processes' delivery workers together.

mod common;

#[path = "../../server/tests/api/smtp.rs"]
mod smtp;

use std::collections::HashMap;
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{Value, json};
use sqlx::Connection;

const ALERTS: usize = 500;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_servers_page_every_alert_exactly_once() {
    let Ok(admin_url) = std::env::var("TEST_POSTGRES_URL") else {
        if std::env::var("FIREBREAK_REQUIRE_POSTGRES").as_deref() == Ok("1") {
            panic!("FIREBREAK_REQUIRE_POSTGRES=1 but TEST_POSTGRES_URL is not set");
        }
        eprintln!("TEST_POSTGRES_URL not set: skipping the three-server paging test");
        return;
    };
    let name = format!("fbt_{}", uuid::Uuid::now_v7().simple());
    let mut conn = sqlx::PgConnection::connect(&admin_url).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .unwrap();
    let base = admin_url.rsplit_once('/').unwrap().0.to_string();
    let database_url = format!("{base}/{name}");
    let token = common::create_token(&database_url);
    let smtp = smtp::SmtpServer::start().await;
    let port = smtp.port.to_string();
    let env = [
        ("FIREBREAK_SMTP__HOST", "127.0.0.1"),
        ("FIREBREAK_SMTP__PORT", port.as_str()),
        ("FIREBREAK_PAGING__EVENTS_PER_MINUTE_PER_KEY", "100000"),
        ("FIREBREAK_PAGING__PAGES_PER_PERSON_PER_HOUR", "100000"),
    ];
    let mut servers = Vec::new();
    let mut urls = Vec::new();
    for _ in 0..3 {
        let (child, url) = common::start_with(&database_url, &env).await;
        servers.push(child);
        urls.push(url);
    }
    firebreak_integrations::http::install_crypto_provider();
    let http = reqwest::Client::new();
    let admin = |path: &str, body: Value| {
        let request = http
            .post(format!("{}/api/v1{path}", urls[0]))
            .bearer_auth(&token)
            .json(&body);
        async move {
            let response = request.send().await.unwrap();
            let status = response.status();
            let body: Value = response.json().await.unwrap();
            assert!(status.is_success(), "{status}: {body}");
            body
        }
    };
    admin(
        "/escalation-policies",
        json!({"name": "primary", "steps": [
            {"targets": [{"type": "person", "id": "ana@example.com"}], "delay_minutes": 30}]}),
    )
    .await;
    admin(
        "/services",
        json!({"name": "api", "escalation_policy": "primary"}),
    )
    .await;
    let key = admin("/services/api/integration-keys", json!({})).await["key"]
        .as_str()
        .unwrap()
        .to_string();

    // Every alert twice, through two different processes, 16 at a time.
    let sends = (0..ALERTS * 2).map(|n| {
        let (i, copy) = (n / 2, n % 2);
        let url = urls[(i + copy) % 3].clone();
        let request = http.post(format!("{url}/v2/enqueue")).json(&json!({
            "routing_key": key, "event_action": "trigger", "dedup_key": format!("alert-{i}"),
            "payload": {"summary": format!("alert-{i} fired"), "source": "test", "severity": "critical"}}));
        async move { request.send().await.map(|it| it.status()) }
    });
    let statuses: Vec<_> = futures_util::stream::iter(sends)
        .buffer_unordered(16)
        .collect()
        .await;
    assert!(
        statuses
            .iter()
            .all(|it| it.as_ref().is_ok_and(|s| s.as_u16() == 202)),
        "every event accepted"
    );

    // Wait for the three delivery workers to send everything queued.
    let mut db = sqlx::PgConnection::connect(&database_url).await.unwrap();
    let mut settled = false;
    for _ in 0..600 {
        let pending: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM notifications WHERE kind = 'page' AND status <> 'sent'",
        )
        .fetch_one(&mut db)
        .await
        .unwrap();
        if pending == 0 && smtp.messages().len() >= ALERTS {
            settled = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(settled, "pages still pending after 60 s");
    let alerts: Vec<(String, i64)> = sqlx::query_as("SELECT dedup_key, count FROM alerts")
        .fetch_all(&mut db)
        .await
        .unwrap();
    assert_eq!(alerts.len(), ALERTS, "one alert per dedup key");
    assert!(
        alerts.iter().all(|(_, count)| *count == 2),
        "each counted twice"
    );
    // Exactly one email per alert: every summary once.
    let mail = smtp.messages();
    assert_eq!(mail.len(), ALERTS, "exactly one page per alert");
    let mut seen: HashMap<String, usize> = HashMap::new();
    for message in &mail {
        let subject = message
            .lines()
            .find_map(|line| line.strip_prefix("Subject: "))
            .unwrap_or_default()
            .to_string();
        *seen.entry(subject).or_default() += 1;
    }
    assert_eq!(seen.len(), ALERTS, "every alert paged");
    assert!(seen.values().all(|n| *n == 1));
    for mut server in servers {
        let _ = server.start_kill();
        let _ = server.wait().await;
    }
}
