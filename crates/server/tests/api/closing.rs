//! Closing is decided in core inside the write transaction: the status table first, then
//! what learning owes, read under the lock a follow-up or post-mortem change takes.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::Connection;

use crate::both_backends;
use crate::helpers::TestApp;
use firebreak_server::workers::ClockWorker;

/// INC-1 in learning, its post-mortem published and its one follow-up done: ready to close.
/// Answers the follow-up's id.
async fn ready_to_close(app: &TestApp) -> String {
    app.declare(json!({"title": "Checkout down"})).await;
    let patch = |status: &str| {
        app.call(
            &app.write,
            Method::PATCH,
            "/api/v1/incidents/INC-1",
            Some(json!({ "status": status })),
        )
    };
    assert_eq!(patch("resolved").await.0, StatusCode::OK);
    let clock = ClockWorker {
        store: app.store.clone(),
    };
    clock.run_once(firebreak_store::clock::now()).await.unwrap();
    assert_eq!(patch("learning").await.0, StatusCode::OK);
    for status in ["in_review", "published"] {
        let (code, body) = app
            .post(
                "/api/v1/incidents/INC-1/postmortem/status",
                json!({ "status": status }),
            )
            .await;
        assert_eq!(code, StatusCode::OK, "{body}");
    }
    let (code, followup) = app
        .post(
            "/api/v1/incidents/INC-1/followups",
            json!({"title": "Add a migration check", "owner": "writer@test.example", "due_in": "72h"}),
        )
        .await;
    assert_eq!(code, StatusCode::CREATED, "{followup}");
    let id = followup["id"].as_str().unwrap().to_string();
    let (code, done) = app
        .call(
            &app.write,
            Method::PATCH,
            &format!("/api/v1/followups/{id}"),
            Some(json!({"status": "done"})),
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{done}");
    id
}

async fn close(app: &TestApp) -> (StatusCode, Value) {
    app.call(
        &app.write,
        Method::PATCH,
        "/api/v1/incidents/INC-1",
        Some(json!({"status": "closed"})),
    )
    .await
}

both_backends!(
    a_follow_up_reopened_while_a_close_waits_keeps_the_incident_open,
    |app: TestApp| async move {
        let id = ready_to_close(&app).await;
        // Reopen the follow-up in a transaction held open, taking the lock the store takes
        // for every follow-up change (`lock_incident`: the incident's row on PostgreSQL; a
        // write transaction on SQLite).
        sqlx::any::install_default_drivers();
        let postgres = app.database_url.starts_with("postgres");
        let mut db = sqlx::AnyConnection::connect(&app.database_url)
            .await
            .unwrap();
        let begin = if postgres { "BEGIN" } else { "BEGIN IMMEDIATE" };
        sqlx::raw_sql(begin).execute(&mut db).await.unwrap();
        if postgres {
            sqlx::query("SELECT id FROM incidents WHERE number = 1 FOR UPDATE")
                .fetch_all(&mut db)
                .await
                .unwrap();
        }
        sqlx::query("UPDATE followups SET status = 'open', done_at = NULL WHERE id = $1")
            .bind(id.clone())
            .execute(&mut db)
            .await
            .unwrap();
        // The close arrives while the reopen is not committed yet...
        let closing = {
            let base = app.base.clone();
            let token = app.write.clone();
            let http = app.http.clone();
            tokio::spawn(async move {
                let response = http
                    .patch(format!("{base}/api/v1/incidents/INC-1"))
                    .bearer_auth(token)
                    .json(&json!({"status": "closed"}))
                    .send()
                    .await
                    .unwrap();
                let status = response.status();
                (status, response.json::<Value>().await.unwrap())
            })
        };
        // ...and reaches the writer, which waits for the lock. On PostgreSQL that is seen
        // in pg_stat_activity; on SQLite the writer's BEGIN IMMEDIATE waits on the busy
        // timeout, and a request that had not got there yet would read after the commit,
        // which answers the same.
        if postgres {
            let mut waiting = 0i64;
            for _ in 0..200 {
                waiting = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM pg_stat_activity \
                     WHERE datname = current_database() AND wait_event_type = 'Lock'",
                )
                .fetch_one(&mut db)
                .await
                .unwrap();
                if waiting > 0 {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(25)).await;
            }
            assert!(waiting > 0, "the close never waited for the lock");
        } else {
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            assert!(
                !closing.is_finished(),
                "the close did not wait for the lock"
            );
        }
        sqlx::raw_sql("COMMIT").execute(&mut db).await.unwrap();
        let (status, refused) = closing.await.unwrap();
        assert_eq!(status, StatusCode::CONFLICT, "{refused}");
        assert_eq!(refused["error"]["code"], "not_ready_to_close", "{refused}");
        let (_, incident) = app.get("/api/v1/incidents/INC-1").await;
        assert_eq!(incident["status"], "learning");
        // Done again, it closes.
        let (code, _) = app
            .call(
                &app.write,
                Method::PATCH,
                &format!("/api/v1/followups/{id}"),
                Some(json!({"status": "done"})),
            )
            .await;
        assert_eq!(code, StatusCode::OK);
        let (status, closed) = close(&app).await;
        assert_eq!(status, StatusCode::OK, "{closed}");
        app.stop().await;
    }
);

both_backends!(
    closing_from_a_live_status_is_an_invalid_transition_whatever_learning_owes,
    |app: TestApp| async move {
        app.declare(json!({"title": "Checkout down"})).await;
        for status in ["identified", "monitoring"] {
            app.call(
                &app.write,
                Method::PATCH,
                "/api/v1/incidents/INC-1",
                Some(json!({ "status": status })),
            )
            .await;
            let (code, refused) = close(&app).await;
            assert_eq!(code, StatusCode::CONFLICT);
            assert_eq!(refused["error"]["code"], "invalid_transition", "{refused}");
        }
        // From resolved the move exists; what is missing is said.
        app.call(
            &app.write,
            Method::PATCH,
            "/api/v1/incidents/INC-1",
            Some(json!({"status": "resolved"})),
        )
        .await;
        let (code, refused) = close(&app).await;
        assert_eq!(code, StatusCode::CONFLICT);
        assert_eq!(refused["error"]["code"], "not_ready_to_close", "{refused}");
        assert_eq!(
            refused["error"]["message"],
            "INC-1 cannot close yet: there is no post-mortem"
        );
        // A status update that closes is held to the same rule.
        let (code, refused) = app
            .post(
                "/api/v1/incidents/INC-1/updates",
                json!({"message": "All done", "status": "closed"}),
            )
            .await;
        assert_eq!(code, StatusCode::CONFLICT);
        assert_eq!(refused["error"]["code"], "not_ready_to_close", "{refused}");
        app.stop().await;
    }
);
