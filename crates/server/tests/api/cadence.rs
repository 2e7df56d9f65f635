//! Update cadence: the default interval per severity, one reminder before an update is due
//! and one overdue notice after, each once per due time; a new update starts over.

use firebreak_server::workers::ClockWorker;
use jiff::{SignedDuration, Timestamp};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{Backend, TestApp};

async fn kinds(app: &TestApp) -> Vec<String> {
    let (_, timeline) = app.get("/api/v1/incidents/INC-1/timeline").await;
    timeline["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|it| it["kind"].as_str().unwrap().to_string())
        .collect()
}

async fn due(app: &TestApp) -> Timestamp {
    let (_, incident) = app.get("/api/v1/incidents/INC-1").await;
    incident["next_update_due"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

async fn update_cadence(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |settings| {
        settings.workers = false;
        // Only the cadence here; the nudges have their own test.
        settings.people.break_after_minutes = 100_000;
        settings.people.food_after_minutes = 100_000;
    })
    .await
    else {
        return;
    };
    let worker = ClockWorker {
        store: app.store.clone(),
    };
    app.declare(json!({"title": "Search is slow", "severity": "minor"}))
        .await;
    app.call(
        &app.write,
        Method::PUT,
        "/api/v1/incidents/INC-1/roles/comms",
        Some(json!({"user": "bo@test.example"})),
    )
    .await;
    let posted_at = firebreak_store::clock::now();
    let (status, _) = app
        .post(
            "/api/v1/incidents/INC-1/updates",
            json!({"message": "Looking into it"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let first_due = due(&app).await;
    let cadence = first_due.duration_since(posted_at);
    assert!(
        cadence >= SignedDuration::from_mins(240) && cadence < SignedDuration::from_mins(241),
        "minor incidents: every 4 hours by default, got {cadence:?}"
    );

    let at = |due: Timestamp, minutes: i64| due + SignedDuration::from_mins(minutes);
    // (when, notices recorded)
    let steps = [(-6, 0), (-4, 1), (-3, 0), (-1, 0), (1, 1), (2, 0), (30, 0)];
    for (minutes, expected) in steps {
        let n = worker.run_once(at(first_due, minutes)).await.unwrap();
        assert_eq!(n, expected, "{minutes} min from the due time");
    }
    // Another replica's worker at the same moment owes nothing either.
    let replica = ClockWorker {
        store: app.store.clone(),
    };
    assert_eq!(replica.run_once(at(first_due, 31)).await.unwrap(), 0);
    let kinds_now = kinds(&app).await;
    let n_reminders = kinds_now
        .iter()
        .filter(|it| *it == "update_reminder")
        .count();
    let n_overdue = kinds_now
        .iter()
        .filter(|it| *it == "update_overdue")
        .count();
    assert_eq!((n_reminders, n_overdue), (1, 1), "{kinds_now:?}");
    let (_, timeline) = app.get("/api/v1/incidents/INC-1/timeline").await;
    let reminder = timeline["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|it| it["kind"] == "update_reminder")
        .unwrap()
        .clone();
    assert_eq!(
        reminder["body"]["to"], "bo@test.example",
        "the comms lead is reminded"
    );
    assert_eq!(reminder["actor"], "firebreak");

    // Posting an update sets a new due time and starts the cycle again.
    app.post(
        "/api/v1/incidents/INC-1/updates",
        json!({"message": "Index rebuilt", "next_update_in_minutes": 30}),
    )
    .await;
    let second_due = due(&app).await;
    assert_ne!(second_due, first_due);
    assert_eq!(worker.run_once(at(second_due, -10)).await.unwrap(), 0);
    assert_eq!(worker.run_once(at(second_due, -2)).await.unwrap(), 1);
    // Resolved incidents owe nothing.
    app.post(
        "/api/v1/incidents/INC-1/updates",
        json!({"message": "Fixed", "status": "resolved"}),
    )
    .await;
    assert_eq!(worker.run_once(at(second_due, 5)).await.unwrap(), 0);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_cadence_sqlite() {
    update_cadence(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_cadence_postgres() {
    update_cadence(Backend::Postgres).await;
}
