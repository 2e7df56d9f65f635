//! Deploy freeze: the default rule (critical and major), by hand, and what pipelines see.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp};

fn kinds(result: &Value) -> Vec<&str> {
    result["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|it| it["kind"].as_str().unwrap())
        .collect()
}

async fn frozen(app: &TestApp) -> (bool, Vec<String>) {
    let (status, body) = app.get("/api/v1/freeze").await;
    assert_eq!(status, StatusCode::OK);
    let refs = body["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|it| it["incident"].as_str().unwrap_or("private").to_string())
        .collect();
    (body["frozen"].as_bool().unwrap(), refs)
}

async fn deploy_freeze(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |settings| {
        settings.rules = vec![crate::helpers::serious_incident_rule(
            firebreak_server::settings::workflow::EffectSettings {
                freeze_deploys: true,
                ..Default::default()
            },
        )];
    })
    .await
    else {
        return;
    };
    assert_eq!(frozen(&app).await, (false, vec![]));
    // A minor incident does not freeze; a major one does, as its own timeline event.
    app.declare(json!({"title": "Slow admin page", "severity": "minor"}))
        .await;
    let major = app
        .declare(json!({"title": "Checkout down", "severity": "major"}))
        .await;
    assert_eq!(
        major["deploy_freeze"]["reason"],
        "major incident is live (rule)"
    );
    let (_, timeline) = app.get("/api/v1/incidents/INC-2/timeline").await;
    let events: Vec<&str> = timeline["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|it| it["kind"].as_str().unwrap())
        .collect();
    assert_eq!(events, ["declared", "rule_fired", "freeze_started"]);
    assert_eq!(frozen(&app).await, (true, vec!["INC-2".to_string()]));

    // Raising the minor one to critical freezes for it too.
    let (status, result) = app
        .call(
            &app.write,
            Method::PATCH,
            "/api/v1/incidents/INC-1",
            Some(json!({"severity": "critical"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        kinds(&result),
        ["severity_changed", "rule_fired", "freeze_started"]
    );

    // Lifted by hand: the rule does not put it back on the next update.
    let (status, result) = app
        .post(
            "/api/v1/incidents/INC-1/freeze",
            json!({"on": false, "reason": "only the admin UI is affected"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(kinds(&result), ["freeze_ended"]);
    app.post(
        "/api/v1/incidents/INC-1/updates",
        json!({"message": "still slow"}),
    )
    .await;
    assert_eq!(frozen(&app).await, (true, vec!["INC-2".to_string()]));
    let (_, result) = app
        .post("/api/v1/incidents/INC-1/freeze", json!({"on": false}))
        .await;
    assert!(kinds(&result).is_empty(), "lifting twice changes nothing");
    let (status, _) = app
        .post("/api/v1/incidents/INC-1/freeze", json!({"on": "yes"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = app
        .call(
            &app.read,
            Method::POST,
            "/api/v1/incidents/INC-2/freeze",
            Some(json!({"on": false})),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "viewers read the freeze, never lift it"
    );

    // Resolving ends the freeze (rule); reopening a major incident freezes again.
    let (_, result) = app
        .post(
            "/api/v1/incidents/INC-2/updates",
            json!({"message": "Fixed", "status": "resolved"}),
        )
        .await;
    assert_eq!(
        kinds(&result),
        ["status_changed", "update_posted", "freeze_ended"]
    );
    assert_eq!(frozen(&app).await, (false, vec![]));
    let (_, result) = app
        .call(
            &app.write,
            Method::PATCH,
            "/api/v1/incidents/INC-2",
            Some(json!({"status": "investigating"})),
        )
        .await;
    assert_eq!(
        kinds(&result),
        ["status_changed", "rule_fired", "freeze_started"]
    );

    // A private incident freezes deploys for everyone, without telling who may not see it.
    app.call(
        &app.write,
        Method::PATCH,
        "/api/v1/incidents/INC-2",
        Some(json!({"private": true})),
    )
    .await;
    let (_, body) = app.get("/api/v1/freeze").await;
    assert_eq!(body["frozen"], true);
    assert_eq!(body["reasons"][0]["title"], "a private incident");
    assert!(body["reasons"][0]["incident"].is_null());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_freeze_sqlite() {
    deploy_freeze(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_freeze_postgres() {
    deploy_freeze(Backend::Postgres).await;
}
