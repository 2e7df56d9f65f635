//! Follow-ups: created with a quick-pick due time, listed for everyone overdue first,
//! reminded once per stage (owner before due, owner when overdue, then the lead), done or
//! won't-do.

use firebreak_server::workers::ClockWorker;
use jiff::SignedDuration;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::both_backends;
use crate::helpers::TestApp;

both_backends!(followups_and_reminders, |app: TestApp| async move {
    app.declare(json!({"title": "Checkout is down", "severity": "major"}))
        .await;
    app.call(
        &app.write,
        Method::PUT,
        "/api/v1/incidents/INC-1/roles/lead",
        Some(json!({"user": "lead@test.example"})),
    )
    .await;
    let add = |body: serde_json::Value| {
        let app = &app;
        async move { app.post("/api/v1/incidents/INC-1/followups", body).await }
    };
    for bad in [
        json!({"title": "", "owner": "owner@test.example"}),
        json!({"title": "x", "owner": "nobody"}),
        json!({"title": "x", "owner": "owner@test.example", "due_in": "soon"}),
        json!({"title": "x", "owner": "owner@test.example", "kind": "magic"}),
    ] {
        assert_eq!(
            add(bad.clone()).await.0,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad}"
        );
    }
    let created_at = firebreak_store::clock::now();
    let (status, followup) = add(json!({
        "title": "Add a migration check to the deploy pipeline",
        "owner": "owner@test.example",
        "due_in": "48h",
        "kind": "process",
        "priority": "high",
    }))
    .await;
    assert_eq!(status, StatusCode::CREATED, "{followup}");
    let id = followup["id"].as_str().unwrap().to_string();
    add(json!({"title": "Later", "owner": "owner@test.example", "due_in": "1w"})).await;
    let (_, list) = app.get("/api/v1/followups").await;
    assert_eq!(list[0]["id"], id, "the earliest due first");

    let clock = ClockWorker {
        store: app.store.clone(),
    };
    let at = |hours: i64| created_at + SignedDuration::from_hours(hours);
    let reminders = || async {
        app.store
            .incident_notifications(&format!("followup:{id}"))
            .await
            .unwrap()
            .into_iter()
            .map(|it| (it.seq, it.address))
            .collect::<Vec<_>>()
    };
    clock.run_once(at(10)).await.unwrap();
    assert_eq!(reminders().await, vec![]);
    clock.run_once(at(30)).await.unwrap();
    clock.run_once(at(31)).await.unwrap();
    assert_eq!(
        reminders().await,
        vec![(1, "owner@test.example".to_string())]
    );
    clock.run_once(at(49)).await.unwrap();
    clock.run_once(at(50)).await.unwrap();
    assert_eq!(reminders().await.len(), 2);
    assert_eq!(reminders().await[1], (2, "owner@test.example".to_string()));
    clock.run_once(at(73)).await.unwrap();
    clock.run_once(at(100)).await.unwrap();
    let sent = reminders().await;
    assert_eq!(sent.len(), 3, "{sent:?}");
    assert_eq!(
        sent[2],
        (3, "lead@test.example".to_string()),
        "then the lead"
    );

    // Done: nothing more; won't-do is an explicit, recorded choice.
    let (status, done) = app
        .call(
            &app.write,
            Method::PATCH,
            &format!("/api/v1/followups/{id}"),
            Some(json!({"status": "done"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert!(done["done_at"].is_string());
    let (_, open) = app.get("/api/v1/followups").await;
    assert_eq!(open.as_array().unwrap().len(), 1);
    let (_, all) = app.get("/api/v1/followups?status=all").await;
    assert_eq!(all.as_array().unwrap().len(), 2);
    let (status, _) = app
        .call(
            &app.write,
            Method::PATCH,
            "/api/v1/followups/nope",
            Some(json!({"status": "done"})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The page: add one from the post-mortem page's form, see it, mark it won't-do.
    let (cookie, csrf) = app.session("writer@test.example").await;
    let response = app
        .form(
            &cookie,
            "/incidents/INC-1/followups",
            &[
                ("csrf", &csrf),
                ("title", "Document the rollback"),
                ("owner", "owner@test.example"),
                ("due_in", "24h"),
                ("kind", "process"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (status, page) = app.page(&cookie, "/followups").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Document the rollback"), "{page}");
    let (_, open) = app.get("/api/v1/followups").await;
    let new_id = open
        .as_array()
        .unwrap()
        .iter()
        .find(|it| it["title"] == "Document the rollback")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let response = app
        .form(
            &cookie,
            &format!("/followups/{new_id}"),
            &[("csrf", &csrf), ("status", "wont_do")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, one) = app.get("/api/v1/incidents/INC-1/followups").await;
    let wont = one
        .as_array()
        .unwrap()
        .iter()
        .find(|it| it["id"] == new_id.as_str())
        .unwrap()
        .clone();
    assert_eq!(wont["status"], "wont_do");
});
