//! The timeline: append-only entries, pagination, and the hash chain catching tampering.

use reqwest::StatusCode;
use serde_json::json;
use sqlx::Connection;

use crate::both_backends;
use crate::helpers::TestApp;

both_backends!(append_page_and_verify, |app: TestApp| async move {
    app.declare(json!({"title": "Queue backlog"})).await;
    let (status, note) = app
        .post(
            "/api/v1/incidents/INC-1/timeline",
            json!({"text": "Consumers are at 100% CPU"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{note}");
    assert_eq!(note["seq"], 2);
    assert_eq!(note["kind"], "note");
    let (_, pinned) = app
        .post("/api/v1/incidents/INC-1/timeline", json!({"kind": "message_pinned", "text": "Restarting consumers now", "author": "sam", "occurred_at": "2026-01-01T10:00:00Z"}))
        .await;
    assert_eq!(pinned["occurred_at"], "2026-01-01T10:00:00Z");
    assert_ne!(
        pinned["observed_at"], pinned["occurred_at"],
        "both clocks are kept"
    );
    let (_, correction) = app
        .post(
            "/api/v1/incidents/INC-1/timeline",
            json!({"kind": "correction", "text": "It was 10:05", "corrects": 3}),
        )
        .await;
    assert_eq!(correction["body"]["corrects"], 3);
    let (status, _) = app
        .post(
            "/api/v1/incidents/INC-1/timeline",
            json!({"kind": "correction", "text": "x", "corrects": 99}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = app
        .post(
            "/api/v1/incidents/INC-1/timeline",
            json!({"kind": "edit", "text": "x"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = app
        .post("/api/v1/incidents/INC-1/timeline", json!({"text": ""}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    let (_, page) = app.get("/api/v1/incidents/INC-1/timeline?limit=2").await;
    let seqs: Vec<i64> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|it| it["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, [1, 2]);
    assert_eq!(page["next_cursor"], "2");
    let (_, page) = app.get("/api/v1/incidents/INC-1/timeline?after=2").await;
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert!(page["next_cursor"].is_null());
    assert_eq!(items[0]["prev_hash"], seqs_hash(&app, 2).await);

    let (status, verification) = app.get("/api/v1/incidents/INC-1/timeline/verify").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(verification["valid"], true);
    assert_eq!(verification["n_events"], 4);
    app.stop().await;
});

async fn seqs_hash(app: &TestApp, seq: i64) -> serde_json::Value {
    let (_, page) = app
        .get(&format!(
            "/api/v1/incidents/INC-1/timeline?after={}&limit=1",
            seq - 1
        ))
        .await;
    page["items"][0]["hash"].clone()
}

both_backends!(
    tampering_in_the_database_is_detected,
    |app: TestApp| async move {
        let incident = app.declare(json!({"title": "Payment errors"})).await;
        for text in ["first", "second", "third"] {
            app.post("/api/v1/incidents/INC-1/timeline", json!({"text": text}))
                .await;
        }
        let (_, verification) = app.get("/api/v1/incidents/INC-1/timeline/verify").await;
        assert_eq!(verification["valid"], true);

        // Someone with database access rewrites history.
        let id = incident["id"].as_str().unwrap();
        let sql = format!(
            "UPDATE events SET body = '{{\"text\":\"nothing happened\"}}' WHERE incident_id = '{id}' AND seq = 3"
        );
        sqlx::any::install_default_drivers();
        let url = match app.database_url.strip_prefix("sqlite:") {
            Some(path) => format!("sqlite://{path}"),
            None => app.database_url.clone(),
        };
        let mut conn = sqlx::AnyConnection::connect(&url).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&mut conn)
            .await
            .unwrap();
        let (status, verification) = app.get("/api/v1/incidents/INC-1/timeline/verify").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(verification["valid"], false);
        assert_eq!(verification["first_bad_seq"], 3);
        assert_eq!(
            verification["reason"],
            "hash does not match the event's contents"
        );
        app.stop().await;
    }
);
