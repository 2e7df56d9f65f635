//! A real Prometheus Alertmanager (Debian's `prometheus-alertmanager`, which the test command
//! installs) with a webhook receiver and a PagerDuty receiver pointed at Firebreak: a firing
//! alert becomes one alert per receiver's service and pages the person on call by email (a
//! real SMTP server); when it resolves in Alertmanager, it resolves here.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn service_with_key(app: &TestApp, name: &str) -> String {
    let admin = app.admin.clone();
    let (status, body) = app
        .call(
            &admin,
            Method::POST,
            "/api/v1/services",
            Some(json!({"name": name, "escalation_policy": "storage"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (_, key) = app
        .call(
            &admin,
            Method::POST,
            &format!("/api/v1/services/{name}/integration-keys"),
            Some(json!({"name": "alertmanager"})),
        )
        .await;
    key["key"].as_str().unwrap().to_string()
}

/// Our alerts of a service, waiting up to 30 s for `ready` to hold.
async fn wait_for(app: &TestApp, what: &str, ready: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    for _ in 0..300 {
        let (_, all) = app.get("/api/v1/alerts?status=all").await;
        let all = all.as_array().cloned().unwrap_or_default();
        if ready(&all) {
            return all;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (_, all) = app.get("/api/v1/alerts?status=all").await;
    panic!("waited 30 s for {what}; alerts: {all}");
}

async fn real_alertmanager(backend: Backend) {
    let binary = std::env::var("FIREBREAK_TEST_ALERTMANAGER")
        .unwrap_or_else(|_| "/usr/bin/prometheus-alertmanager".into());
    assert!(
        std::path::Path::new(&binary).exists(),
        "{binary} is missing: scripts/test installs Debian's prometheus-alertmanager"
    );
    let smtp = crate::smtp::SmtpServer::start().await;
    let Some(app) = TestApp::spawn_with(backend, |settings| {
        settings.workers = false;
        settings.smtp.host = "127.0.0.1".into();
        settings.smtp.port = smtp.port;
    })
    .await
    else {
        return;
    };
    let admin = app.admin.clone();
    // Ana is on call in "storage"; the policy pages whoever is.
    let (status, body) = app
        .call(
            &admin,
            Method::POST,
            "/api/v1/schedules",
            Some(json!({"name": "storage", "time_zone": "UTC", "layers": [
                {"name": "weekly", "start": "2026-01-05T09:00", "shift": "1w", "participants": ["ana@test.example"]}]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = app
        .call(
            &admin,
            Method::POST,
            "/api/v1/escalation-policies",
            Some(json!({"name": "storage", "steps": [
                {"targets": [{"type": "schedule", "id": "storage"}], "delay_minutes": 10}]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let webhook_key = service_with_key(&app, "db-webhook").await;
    let pagerduty_key = service_with_key(&app, "db-pagerduty").await;

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("alertmanager.yml");
    std::fs::write(
        &config,
        format!(
            "route:\n  receiver: webhook\n  group_wait: 1s\n  group_interval: 1s\n  repeat_interval: 1h\n  routes:\n\
             \x20   - receiver: webhook\n      continue: true\n    - receiver: pagerduty\n\
             receivers:\n  - name: webhook\n    webhook_configs:\n      - url: {base}/integrations/alertmanager/{webhook_key}\n        send_resolved: true\n\
             \x20 - name: pagerduty\n    pagerduty_configs:\n      - routing_key: {pagerduty_key}\n        url: {base}/v2/enqueue\n        send_resolved: true\n",
            base = app.base
        ),
    )
    .unwrap();
    let port = free_port();
    let mut alertmanager = tokio::process::Command::new(&binary)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--cluster.listen-address=")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|err| panic!("cannot start {binary}: {err}"));
    let am = format!("http://127.0.0.1:{port}");
    let mut ready = false;
    for _ in 0..100 {
        if let Ok(response) = app.http.get(format!("{am}/-/ready")).send().await
            && response.status().is_success()
        {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "Alertmanager did not become ready");

    // A firing alert, as Prometheus would post it.
    let labels = json!({"alertname": "DiskFull", "instance": "db-1:9100", "severity": "critical"});
    let started = (firebreak_store::clock::now() - jiff::SignedDuration::from_secs(5)).to_string();
    let post = |ends: Option<String>| {
        let (app, am, labels, started) = (&app, am.clone(), labels.clone(), started.clone());
        async move {
            let mut alert = json!({"labels": labels,
                "annotations": {"summary": "Disk /var is 97% full"},
                "startsAt": started});
            if let Some(ends) = ends {
                alert["endsAt"] = json!(ends);
            }
            let response = app
                .http
                .post(format!("{am}/api/v2/alerts"))
                .json(&json!([alert]))
                .send()
                .await
                .unwrap();
            let status = response.status();
            let text = response.text().await.unwrap_or_default();
            assert!(status.is_success(), "{status}: {text}");
        }
    };
    post(None).await;
    let both = |all: &[Value]| all.len() == 2;
    let alerts = wait_for(&app, "one alert per receiver", both).await;
    let services: std::collections::BTreeSet<&str> = alerts
        .iter()
        .map(|it| it["service_id"].as_str().unwrap())
        .collect();
    assert_eq!(services.len(), 2, "one alert on each service: {alerts:?}");
    for alert in &alerts {
        assert_eq!(alert["status"], "triggered");
        assert!(
            alert["summary"].as_str().unwrap().contains("DiskFull"),
            "{alert}"
        );
    }
    // Ana, on call, is paged by email — once per alert.
    crate::webhooks::manual_worker(&app)
        .run_once(firebreak_store::clock::now())
        .await
        .unwrap();
    let mail = smtp.messages();
    assert_eq!(mail.len(), 2, "one page per alert");
    assert!(mail.iter().all(|it| it.contains("To: ana@test.example")));
    // Resolved in Alertmanager: resolved here, by both receivers.
    post(Some(firebreak_store::clock::now().to_string())).await;
    wait_for(&app, "both alerts resolved", |all| {
        all.len() == 2 && all.iter().all(|it| it["status"] == "resolved")
    })
    .await;
    let _ = alertmanager.kill().await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_alertmanager_pages_and_resolves_sqlite() {
    real_alertmanager(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_alertmanager_pages_and_resolves_postgres() {
    real_alertmanager(Backend::Postgres).await;
}
