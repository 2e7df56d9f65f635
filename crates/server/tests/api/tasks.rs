//! Playbooks add tasks to serious incidents once; tasks are done or skipped with a note.

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

async fn playbooks_and_tasks(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |settings| {
        settings.playbooks = firebreak_server::Settings::default().playbooks;
        settings.rules = vec![crate::helpers::serious_incident_rule(
            firebreak_server::settings::workflow::EffectSettings {
                add_matching_playbooks: true,
                ..Default::default()
            },
        )];
    })
    .await
    else {
        return;
    };
    let major = app
        .declare(json!({"title": "Checkout down", "severity": "major"}))
        .await;
    assert_eq!(major["playbooks"], json!(["serious incident"]));
    assert_eq!(major["tasks"].as_array().unwrap().len(), 11);
    assert_eq!(
        major["tasks"][0]["title"],
        "Pick an incident lead and a comms lead"
    );
    assert_eq!(major["tasks"][2]["role"], "comms");
    assert!(major["tasks"][0]["due"].is_string());
    let minor = app
        .declare(json!({"title": "Typo on the status page", "severity": "minor"}))
        .await;
    assert!(minor["tasks"].as_array().unwrap().is_empty());

    // Done and skipped, each with a note; every change is an event.
    let (status, result) = app
        .post(
            "/api/v1/incidents/INC-1/tasks/2/done",
            json!({"note": "#inc-1-checkout"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{result}");
    assert_eq!(kinds(&result), ["task_closed"]);
    assert_eq!(result["events"][0]["body"]["by"], "writer@test.example");
    let (_, result) = app
        .post(
            "/api/v1/incidents/INC-1/tasks/4/skip",
            json!({"note": "no meetings today"}),
        )
        .await;
    assert_eq!(result["incident"]["tasks"][3]["status"], "skipped");
    assert_eq!(result["incident"]["tasks"][3]["note"], "no meetings today");
    let (status, _) = app
        .post("/api/v1/incidents/INC-1/tasks/99/done", json!({}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = app
        .post("/api/v1/incidents/INC-1/tasks/two/done", json!({}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app
        .call(
            &app.read,
            Method::POST,
            "/api/v1/incidents/INC-1/tasks/3/done",
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, result) = app
        .post(
            "/api/v1/incidents/INC-1/tasks",
            json!({"title": "Page the database team", "assignee": "bo@test.example", "due_in_minutes": 10}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(result["incident"]["tasks"][11]["number"], 12);
    let (_, tasks) = app.get("/api/v1/incidents/INC-1/tasks").await;
    assert_eq!(tasks.as_array().unwrap().len(), 12);

    // Raising the minor incident brings the playbook along, once.
    let (_, result) = app
        .call(
            &app.write,
            Method::PATCH,
            "/api/v1/incidents/INC-2",
            Some(json!({"severity": "critical"})),
        )
        .await;
    assert_eq!(
        kinds(&result),
        ["severity_changed", "rule_fired", "playbook_added"]
    );
    let (_, result) = app
        .call(
            &app.write,
            Method::PATCH,
            "/api/v1/incidents/INC-2",
            Some(json!({"severity": "major"})),
        )
        .await;
    assert_eq!(kinds(&result), ["severity_changed"], "not twice");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn playbooks_and_tasks_sqlite() {
    playbooks_and_tasks(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn playbooks_and_tasks_postgres() {
    playbooks_and_tasks(Backend::Postgres).await;
}
