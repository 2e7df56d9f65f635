//! Server-Sent Events: a connected client sees events appended by other requests.

use reqwest::StatusCode;
use serde_json::json;

use crate::both_backends;
use crate::helpers::{Backend, TestApp};

/// Reads the stream until `n` SSE events arrived; returns (id, event name, data) of each.
async fn read_events(
    mut response: reqwest::Response,
    n: usize,
) -> Vec<(String, String, serde_json::Value)> {
    let mut buffer = String::new();
    let mut events = Vec::new();
    let deadline = std::time::Duration::from_secs(20);
    while events.len() < n {
        let chunk = tokio::time::timeout(deadline, response.chunk())
            .await
            .expect("an event within the deadline")
            .unwrap()
            .expect("stream open");
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            let mut id = String::new();
            let mut name = String::new();
            let mut data = String::new();
            for line in block.lines() {
                if let Some(value) = line.strip_prefix("id:") {
                    id = value.trim().into();
                } else if let Some(value) = line.strip_prefix("event:") {
                    name = value.trim().into();
                } else if let Some(value) = line.strip_prefix("data:") {
                    data.push_str(value.trim());
                }
            }
            if !data.is_empty() {
                events.push((id, name, serde_json::from_str(&data).unwrap()));
            }
        }
    }
    events
}

both_backends!(live_events_and_resume, |app: TestApp| async move {
    app.declare(json!({"title": "Edge 502s"})).await;
    let response = app
        .http
        .get(format!("{}/api/v1/incidents/INC-1/events", app.base))
        .bearer_auth(&app.read)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    // The handler subscribed before answering, so anything committed from here on arrives.
    let (status, _) = app
        .post(
            "/api/v1/incidents/INC-1/timeline",
            json!({"text": "CDN purge started"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    app.post(
        "/api/v1/incidents/INC-1/updates",
        json!({"message": "Purge done", "status": "monitoring"}),
    )
    .await;
    let events = read_events(response, 3).await;
    let seen: Vec<(&str, &str)> = events
        .iter()
        .map(|(id, name, _)| (id.as_str(), name.as_str()))
        .collect();
    assert_eq!(
        seen,
        [
            ("2", "note"),
            ("3", "status_changed"),
            ("4", "update_posted")
        ]
    );
    assert_eq!(events[0].2["body"]["text"], "CDN purge started");

    // After a network blip, Last-Event-ID resumes exactly after the last event seen.
    let response = app
        .http
        .get(format!("{}/api/v1/incidents/INC-1/events", app.base))
        .bearer_auth(&app.read)
        .header("Last-Event-ID", "2")
        .send()
        .await
        .unwrap();
    let events = read_events(response, 2).await;
    let ids: Vec<&str> = events.iter().map(|(id, _, _)| id.as_str()).collect();
    assert_eq!(ids, ["3", "4"]);

    let response = app
        .http
        .get(format!("{}/api/v1/incidents/INC-9/events", app.base))
        .bearer_auth(&app.read)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    app.stop().await;
});

/// Scale-out: a client connected to one replica sees events committed by another.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_reach_clients_of_another_replica_postgres() {
    let Some(app) = TestApp::spawn(Backend::Postgres).await else {
        return;
    };
    let replica = app.spawn_replica().await;
    app.declare(json!({"title": "Replicated"})).await;
    let response = app
        .http
        .get(format!("{}/api/v1/incidents/INC-1/events", replica.base))
        .bearer_auth(&app.read)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    // Committed through the first server; the replica hears it through LISTEN/NOTIFY.
    app.post(
        "/api/v1/incidents/INC-1/timeline",
        json!({"text": "seen everywhere"}),
    )
    .await;
    let events = read_events(response, 1).await;
    assert_eq!(events[0].0, "2");
    assert_eq!(events[0].2["body"]["text"], "seen everywhere");
    replica.stop().await;
    app.stop().await;
}
