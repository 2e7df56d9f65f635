//! The action register over HTTP: two people for every risky step.

use firebreak_core::token::Scope;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::both_backends;
use crate::helpers::{TestApp, person_token};

both_backends!(two_person_approval, |app: TestApp| async move {
    let bo = person_token(&app.store, "bo@test.example", "responder", Scope::Write).await;
    app.declare(json!({"title": "Orders stuck in pending"}))
        .await;
    let base = "/api/v1/incidents/INC-1/actions";
    let (status, body) = app
        .post(
            base,
            json!({"kind": "data_fix", "title": "UPDATE orders …", "risk": "high"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body["error"]["fields"]["rollback_plan"].is_string());
    let (status, result) = app
        .post(
            base,
            json!({"kind": "data_fix", "title": "UPDATE orders SET status = 'paid' …",
                   "target": "orders on db-1", "risk": "high",
                   "rollback_plan": "restore from snapshot orders-0947"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{result}");
    assert_eq!(result["events"][0]["kind"], "action_proposed");
    assert_eq!(result["incident"]["actions"][0]["status"], "proposed");
    assert_eq!(result["incident"]["actions"][0]["destructive"], true);

    // The proposer cannot approve their own action.
    let (status, body) = app.post(&format!("{base}/1/approve"), json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"]["code"], "self_approval");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("cannot also approve"),
        "{body}"
    );
    let (status, _) = app
        .call(&app.read, Method::POST, &format!("{base}/1/approve"), None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "viewers do not approve");
    let (status, _) = app
        .call(&bo, Method::POST, &format!("{base}/x/approve"), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // A second person approves: the event names both.
    let (status, result) = app
        .call(&bo, Method::POST, &format!("{base}/1/approve"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{result}");
    let body = &result["events"][0]["body"];
    assert_eq!(body["proposed_by"], "writer@test.example");
    assert_eq!(body["approved_by"], "bo@test.example");

    // A data fix starts only with its checklist; then it is announced and finished.
    let (status, body) = app
        .post(&format!("{base}/1/start"), json!({"backup_taken": true}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, result) = app
        .post(
            &format!("{base}/1/start"),
            json!({"backup_taken": true, "tried_on_sample": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(result["events"][0]["kind"], "action_started");
    let (status, _) = app.post(&format!("{base}/1/approve"), json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "already started");
    let (status, result) = app
        .post(
            &format!("{base}/1/finish"),
            json!({"succeeded": true, "result": "412 orders fixed", "output": "UPDATE 412"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(result["incident"]["actions"][0]["status"], "succeeded");
    let (status, actions) = app.get(base).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(actions[0]["approved_by"], "bo@test.example");
    assert_eq!(actions[0]["result"], "412 orders fixed");
    let (_, timeline) = app.get("/api/v1/incidents/INC-1/timeline").await;
    let kinds: Vec<&str> = timeline["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|it| it["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "declared",
            "action_proposed",
            "action_approved",
            "action_started",
            "action_finished"
        ]
    );
    app.stop().await;
});
