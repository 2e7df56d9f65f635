//! Pages by chat: a `slack` or `matrix` contact method gets the page as a direct message, and
//! acknowledging from it (Slack's button, Matrix's ✅ or `!inc ack`) acts as that person,
//! written in the alert's log like the API's acknowledge.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::TestApp;

/// A service `name` whose policy pages writer@test.example (then waits 30 minutes); answers
/// an integration key for it.
pub(crate) async fn writer_service(app: &TestApp, name: &str) -> String {
    let admin = app.admin.clone();
    let (status, body) = app
        .call(
            &admin,
            Method::POST,
            "/api/v1/escalation-policies",
            Some(json!({"name": "writer", "steps": [
                {"targets": [{"type": "person", "id": "writer@test.example"}], "delay_minutes": 30}]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = app
        .call(
            &admin,
            Method::POST,
            "/api/v1/services",
            Some(json!({"name": name, "escalation_policy": "writer"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (_, key) = app
        .call(
            &admin,
            Method::POST,
            &format!("/api/v1/services/{name}/integration-keys"),
            Some(json!({})),
        )
        .await;
    key["key"].as_str().unwrap().to_string()
}

/// A service paging writer@test.example by `kind` at `address`; triggers one alert and
/// answers its id.
pub(crate) async fn page_writer(app: &TestApp, kind: &str, address: &str) -> String {
    let key = writer_service(app, "api").await;
    let (status, method) = app
        .post(
            "/api/v1/me/contact-methods",
            json!({"kind": kind, "address": address}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{method}");
    let (status, body) = app
        .post(
            "/api/v1/me/notification-rules",
            json!({"contact_method": method["id"], "delay_minutes": 0}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = crate::paging::enqueue(
        app,
        json!({"routing_key": key, "event_action": "trigger", "dedup_key": "db-down",
               "payload": {"summary": "Database is down", "source": "db-1", "severity": "critical"}}),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let alerts = crate::paging::open_alerts(app).await;
    alerts[0]["id"].as_str().unwrap().to_string()
}

/// The alert once acknowledged.
pub(crate) async fn acknowledged(app: &TestApp, alert: &str) -> Option<Value> {
    let (_, it) = app.get(&format!("/api/v1/alerts/{alert}")).await;
    (it["status"] == "acknowledged").then_some(it)
}

#[tokio::test]
async fn contact_methods_for_chat_are_checked() {
    let app = TestApp::spawn(crate::helpers::Backend::Sqlite)
        .await
        .unwrap();
    for (kind, address, ok) in [
        ("slack", "U012AB3CD", true),
        ("slack", "writer@test.example", false),
        ("slack", "u012ab3cd", false),
        ("matrix", "@writer:example.org", true),
        ("matrix", "writer:example.org", false),
        ("matrix", "@writer", false),
        ("sms", "555-1234", false),
        ("pigeon", "+15551234567", false),
    ] {
        let (status, body) = app
            .post(
                "/api/v1/me/contact-methods",
                json!({"kind": kind, "address": address}),
            )
            .await;
        let want = if ok {
            StatusCode::CREATED
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        };
        assert_eq!(status, want, "{kind} {address}: {body}");
    }
    app.stop().await;
}
