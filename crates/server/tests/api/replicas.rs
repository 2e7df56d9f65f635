//! Two servers writing to one PostgreSQL database: each writer keeps the incidents it
//! committed and must notice when the other has moved one on (by its stored `last_hash`).

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp};

/// Updates posted alternately through two replicas land as one unbroken chain: neither writer
/// appends after the version of the incident it last saw when the other has written since.
/// Each answer carries the incident's new version, and the whole incident unless the request
/// said `Prefer: return=minimal`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_through_two_replicas_keep_one_chain_postgres() {
    let Some(app) = TestApp::spawn(Backend::Postgres).await else {
        return;
    };
    let replica = app.spawn_replica().await;
    app.declare(json!({"title": "Written from two places"}))
        .await;
    let mut last_seq = 0;
    for round in 0..6 {
        let base = if round % 2 == 0 {
            &app.base
        } else {
            &replica.base
        };
        // Half of them ask for the short answer.
        let minimal = round % 3 == 0;
        let mut request = app
            .http
            .post(format!("{base}/api/v1/incidents/INC-1/updates"))
            .bearer_auth(&app.write)
            .json(&json!({"message": format!("update {round}")}));
        if minimal {
            request = request.header("Prefer", "return=minimal");
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        let answer: Value = response.json().await.unwrap();
        let seq = answer["last_seq"].as_i64().unwrap();
        assert!(seq > last_seq, "round {round}: {seq} after {last_seq}");
        assert_eq!(answer["reference"], "INC-1");
        assert_eq!(
            answer["events"][0]["body"]["message"],
            format!("update {round}")
        );
        assert_eq!(answer.get("incident").is_none(), minimal, "{answer}");
        if !minimal {
            assert_eq!(answer["incident"]["last_seq"].as_i64(), Some(seq));
        }
        last_seq = seq;
    }
    let (status, verification) = app.get("/api/v1/incidents/INC-1/timeline/verify").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(verification["valid"], json!(true), "{verification}");
    let (_, incident) = app.get("/api/v1/incidents/INC-1").await;
    assert_eq!(incident["last_seq"].as_i64(), Some(last_seq));
    replica.stop().await;
    app.stop().await;
}
