//! `firebreak serve --demo` on a fresh database shows the whole loop: incidents, and around
//! them services with keys, a follow-the-sun schedule with someone on call now, an escalation
//! policy, an alert that paged the person on call (its log says who and why), an acknowledged
//! one, a heartbeat, a published post-mortem and an overdue follow-up; loaded once.

use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};

mod common;

/// Starts `serve --demo`; answers the child, its URL and the admin token it printed.
async fn demo(database_url: &str) -> (tokio::process::Child, String, String) {
    let mut child = tokio::process::Command::new(common::BIN)
        .args([
            "serve",
            "--demo",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            database_url,
        ])
        .env("FIREBREAK_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut token, mut url) = (None, None);
    while token.is_none() || url.is_none() {
        let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
            .await
            .unwrap()
            .unwrap()
            .expect("firebreak exited before it was ready");
        if let Some(rest) = line.strip_prefix("Admin token (shown once): ") {
            token = Some(rest.trim().to_string());
        }
        if let Some(rest) = line.strip_prefix("Firebreak is listening on ") {
            url = rest.split_whitespace().next().map(String::from);
        }
    }
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, url.unwrap(), token.unwrap())
}

async fn get(url: &str, token: &str, path: &str) -> Value {
    let response = firebreak_integrations::http::client(Duration::from_secs(30))
        .unwrap()
        .get(format!("{url}/api/v1{path}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "{path}: {}",
        response.status()
    );
    response.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_shows_the_whole_loop() {
    let dir = tempfile::tempdir().unwrap();
    let database_url = format!("sqlite:{}", dir.path().join("demo.db").display());
    let (child, url, token) = demo(&database_url).await;
    let services = get(&url, &token, "/services").await;
    let names: Vec<&str> = services
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|it| it["name"].as_str())
        .collect();
    for name in ["checkout", "payments", "search"] {
        assert!(names.contains(&name), "{names:?}");
    }
    let alerts = get(&url, &token, "/alerts?status=all").await;
    let alerts = alerts.as_array().unwrap();
    assert!(
        alerts.iter().any(|it| it["status"] == "acknowledged"),
        "{alerts:?}"
    );
    let triggered = alerts
        .iter()
        .find(|it| it["status"] == "triggered")
        .expect("a triggered alert");
    let id = triggered["id"].as_str().unwrap();
    let one = get(&url, &token, &format!("/alerts/{id}")).await;
    let paged = one["log"]
        .as_array()
        .unwrap()
        .iter()
        .find(|it| it["kind"] == "paged")
        .unwrap_or_else(|| panic!("the alert paged someone: {one}"))
        .clone();
    assert!(
        paged["detail"]["why"]
            .as_str()
            .unwrap()
            .contains("on call in schedule"),
        "{paged}"
    );
    // Someone is on call now, whatever the hour (follow the sun).
    let oncall = get(&url, &token, "/oncall").await;
    assert!(
        oncall.to_string().contains("@example.com"),
        "somebody is on call: {oncall}"
    );
    let followups = get(&url, &token, "/followups").await;
    assert!(!followups.as_array().unwrap().is_empty(), "{followups}");
    let incidents = get(&url, &token, "/incidents").await;
    let resolved = incidents["items"]
        .as_array()
        .or(incidents.as_array())
        .unwrap()
        .iter()
        .find(|it| it["status"] == "resolved")
        .unwrap()
        .clone();
    let reference = resolved["reference"].as_str().unwrap();
    let postmortem = get(&url, &token, &format!("/incidents/{reference}/postmortem")).await;
    assert_eq!(postmortem["status"], "published", "{postmortem}");
    drop(child);
    // Loaded once: a second start adds nothing.
    let (child, url, token) = demo(&database_url).await;
    let again = get(&url, &token, "/services").await;
    assert_eq!(
        again.as_array().unwrap().len(),
        services.as_array().unwrap().len()
    );
    drop(child);
}
