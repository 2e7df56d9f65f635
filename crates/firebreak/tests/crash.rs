//! Crash safety: the real binary is killed with SIGKILL in the middle of a burst of
//! concurrent writes; after a restart every write that was answered 2xx is there and every
//! hash chain verifies. Runs on SQLite, and on PostgreSQL when `TEST_POSTGRES_URL` is set.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};
use sqlx::Connection;
use tokio::sync::Mutex;

use common::{create_token, start};

/// Everything the server acknowledged with a 2xx.
#[derive(Default)]
struct Acked {
    /// (incident id, reference)
    incidents: Vec<(String, String)>,
    /// (incident reference, seq, hash) of each acknowledged event.
    events: Vec<(String, i64, String)>,
}

async fn burst(
    url: String,
    token: String,
    acked: Arc<Mutex<Acked>>,
    n_ok: Arc<AtomicUsize>,
    worker_idx: usize,
) {
    let http = firebreak_integrations::http::client(std::time::Duration::from_secs(10)).unwrap();
    let mut own: Vec<String> = Vec::new();
    for round in 0.. {
        let declare = round % 4 == 0 || own.is_empty();
        let request = if declare {
            http.post(format!("{url}/api/v1/incidents"))
                .json(&json!({"title": format!("burst {worker_idx}/{round}")}))
        } else {
            let reference = &own[round % own.len()];
            http.post(format!("{url}/api/v1/incidents/{reference}/updates"))
                .json(&json!({"message": format!("update {round}"), "next_update_in_minutes": 15}))
        };
        let Ok(response) = request.bearer_auth(&token).send().await else {
            return;
        };
        if !response.status().is_success() {
            return;
        }
        let Ok(body) = response.json::<Value>().await else {
            return;
        };
        let mut acked = acked.lock().await;
        if declare {
            let reference = body["reference"].as_str().unwrap().to_string();
            acked
                .incidents
                .push((body["id"].as_str().unwrap().to_string(), reference.clone()));
            // The declare may carry follow-ups (the deploy-freeze rule): the incident's
            // newest event is what the answer vouches for.
            acked.events.push((
                reference.clone(),
                body["last_seq"].as_i64().unwrap(),
                body["last_hash"].as_str().unwrap().to_string(),
            ));
            own.push(reference);
        } else {
            for event in body["events"].as_array().unwrap() {
                acked.events.push((
                    event["incident_reference"].as_str().unwrap().to_string(),
                    event["seq"].as_i64().unwrap(),
                    event["hash"].as_str().unwrap().to_string(),
                ));
            }
        }
        n_ok.fetch_add(1, Ordering::SeqCst);
    }
}

async fn crash_and_recover(database_url: String) {
    let token = create_token(&database_url);
    let (mut child, url) = start(&database_url).await;
    let acked = Arc::new(Mutex::new(Acked::default()));
    let n_ok = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for worker_idx in 0..16 {
        tasks.push(tokio::spawn(burst(
            url.clone(),
            token.clone(),
            acked.clone(),
            n_ok.clone(),
            worker_idx,
        )));
    }
    // Kill mid-burst: once enough writes were acknowledged, while requests are in flight.
    let mut ticks = tokio::time::interval(std::time::Duration::from_millis(5));
    while n_ok.load(Ordering::SeqCst) < 400 {
        ticks.tick().await;
    }
    child.start_kill().unwrap(); // SIGKILL
    child.wait().await.unwrap();
    for task in tasks {
        task.await.unwrap();
    }
    let acked = acked.lock().await;
    assert!(acked.events.len() >= 400);

    let (mut child, url) = start(&database_url).await;
    let http = firebreak_integrations::http::client(std::time::Duration::from_secs(10)).unwrap();
    let get = |path: String| {
        let http = http.clone();
        let token = token.clone();
        async move {
            let response = http.get(path).bearer_auth(token).send().await.unwrap();
            assert!(response.status().is_success());
            response.json::<Value>().await.unwrap()
        }
    };
    for (id, reference) in &acked.incidents {
        let incident = get(format!("{url}/api/v1/incidents/{id}")).await;
        assert_eq!(incident["reference"], reference.as_str());
        let verification = get(format!(
            "{url}/api/v1/incidents/{reference}/timeline/verify"
        ))
        .await;
        assert_eq!(verification["valid"], true, "{reference}: {verification}");
    }
    let mut timelines: std::collections::HashMap<String, Vec<Value>> = Default::default();
    for (reference, seq, hash) in &acked.events {
        if !timelines.contains_key(reference) {
            let page = get(format!(
                "{url}/api/v1/incidents/{reference}/timeline?limit=1000"
            ))
            .await;
            timelines.insert(reference.clone(), page["items"].as_array().unwrap().clone());
        }
        let events = &timelines[reference];
        let stored = events
            .iter()
            .find(|it| it["seq"] == *seq)
            .unwrap_or_else(|| panic!("{reference} #{seq} was acknowledged but is gone"));
        assert_eq!(
            stored["hash"],
            hash.as_str(),
            "{reference} #{seq} is the event that was acknowledged"
        );
    }
    child.start_kill().unwrap();
    child.wait().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_burst_loses_no_acknowledged_write_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    crash_and_recover(format!("sqlite:{}", dir.path().join("crash.db").display())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_burst_loses_no_acknowledged_write_postgres() {
    let Ok(admin_url) = std::env::var("TEST_POSTGRES_URL") else {
        if std::env::var("FIREBREAK_REQUIRE_POSTGRES").as_deref() == Ok("1") {
            panic!("FIREBREAK_REQUIRE_POSTGRES=1 but TEST_POSTGRES_URL is not set");
        }
        eprintln!("TEST_POSTGRES_URL not set: skipping the PostgreSQL crash test");
        return;
    };
    let name = format!("fbt_{}", uuid::Uuid::now_v7().simple());
    let mut conn = sqlx::PgConnection::connect(&admin_url).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .unwrap();
    let base = admin_url
        .rsplit_once('/')
        .map(|(base, _)| base.to_string())
        .unwrap();
    crash_and_recover(format!("{base}/{name}")).await;
}
