//! Paging: the PagerDuty Events v2 and Opsgenie contracts (their exact answers, including
//! errors), Alertmanager's webhook and PagerDuty bodies as a real Alertmanager sends them,
//! dedup per service, heartbeats, quiet alerts, editing services and owed auto-declares.
//! Escalation and pages are in `pages.rs`.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, TestApp};

pub(crate) fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/api/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A policy (ana, then bo after `delay` minutes), a service on it, and a key: (service, key).
pub(crate) async fn setup(app: &TestApp, delay: i64) -> (String, String) {
    let admin = app.admin.clone();
    let (status, policy) = app
        .call(
            &admin,
            Method::POST,
            "/api/v1/escalation-policies",
            Some(json!({"name": "payments", "steps": [
                {"targets": [{"type": "person", "id": "ana@test.example"}], "delay_minutes": delay},
                {"targets": [{"type": "person", "id": "bo@test.example"}], "delay_minutes": delay},
            ]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{policy}");
    let (status, service) = app
        .call(
            &admin,
            Method::POST,
            "/api/v1/services",
            Some(json!({"name": "payments", "escalation_policy": "payments",
                        "runbook_url": "https://runbooks.example/payments"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{service}");
    let (status, key) = app
        .call(
            &admin,
            Method::POST,
            "/api/v1/services/payments/integration-keys",
            Some(json!({"name": "alertmanager"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{key}");
    let secret = key["key"].as_str().unwrap().to_string();
    assert_eq!(secret.len(), 32);
    (service["id"].as_str().unwrap().to_string(), secret)
}

pub(crate) async fn raw(
    app: &TestApp,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (StatusCode, Value) {
    let mut request = app
        .http
        .post(format!("{}{path}", app.base))
        .header("Content-Type", "application/json")
        .body(body.to_string());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

pub(crate) async fn enqueue(app: &TestApp, event: Value) -> (StatusCode, Value) {
    raw(app, "/v2/enqueue", &[], &event.to_string()).await
}

pub(crate) async fn open_alerts(app: &TestApp) -> Vec<Value> {
    app.get("/api/v1/alerts?status=all")
        .await
        .1
        .as_array()
        .unwrap()
        .clone()
}

async fn pagerduty_contract(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |settings| {
        settings.workers = false;
        settings.paging.events_per_minute_per_key = 12;
    })
    .await
    else {
        return;
    };
    let (_, key) = setup(&app, 5).await;
    let trigger = |dedup: &str| {
        json!({"routing_key": key, "event_action": "trigger", "dedup_key": dedup,
               "payload": {"summary": "Disk /var is 97% full", "source": "db-1", "severity": "critical",
                           "timestamp": "2015-07-17T08:42:58.315+0000",
                           "custom_details": {"free": [3, "%"], "nested": {"deep": true}}},
               "links": [{"href": "https://grafana.example/d/1", "text": "Dashboard"}]})
    };
    // Accepted: the exact 202 body, the dedup key echoed.
    let (status, body) = enqueue(&app, trigger("srv01/HTTP")).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(
        body,
        json!({"status": "success", "message": "Event processed", "dedup_key": "srv01/HTTP"})
    );
    // A repeat is counted on the same alert, not a new one.
    assert_eq!(
        enqueue(&app, trigger("srv01/HTTP")).await.0,
        StatusCode::ACCEPTED
    );
    let alerts = open_alerts(&app).await;
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0]["count"], 2);
    assert_eq!(alerts[0]["severity"], "critical");
    assert_eq!(
        alerts[0]["details"]["custom_details"]["nested"]["deep"],
        true
    );
    assert_eq!(alerts[0]["links"][0]["href"], "https://grafana.example/d/1");
    // Without a dedup key, PagerDuty makes one and answers it.
    let mut anonymous = trigger("x");
    anonymous.as_object_mut().unwrap().remove("dedup_key");
    let (_, body) = enqueue(&app, anonymous).await;
    assert!(body["dedup_key"].as_str().unwrap().len() >= 16, "{body}");
    // Acknowledge, resolve; a trigger after the resolve opens a new alert; an acknowledge of
    // a resolved key is dropped but accepted.
    for action in ["acknowledge", "resolve"] {
        let (status, _) = enqueue(
            &app,
            json!({"routing_key": key, "event_action": action, "dedup_key": "srv01/HTTP"}),
        )
        .await;
        assert_eq!(status, StatusCode::ACCEPTED);
    }
    let first = open_alerts(&app)
        .await
        .into_iter()
        .find(|it| it["dedup_key"] == "srv01/HTTP")
        .unwrap();
    assert_eq!(first["status"], "resolved");
    assert!(first["acknowledged_at"].is_string());
    assert_eq!(
        enqueue(&app, trigger("srv01/HTTP")).await.0,
        StatusCode::ACCEPTED
    );
    let (status, _) = enqueue(
        &app,
        json!({"routing_key": key, "event_action": "acknowledge", "dedup_key": "never-seen"}),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let same_key: Vec<Value> = open_alerts(&app)
        .await
        .into_iter()
        .filter(|it| it["dedup_key"] == "srv01/HTTP")
        .collect();
    assert_eq!(same_key.len(), 2, "a new alert after the resolve");

    // The 400 answers, exactly.
    let (status, body) = raw(&app, "/v2/enqueue", &[], "{not json").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"status": "Unrecognized object", "message": "Event object format is unrecognized", "errors": ["JSON parse error"]})
    );
    let mut short = trigger("a");
    short["routing_key"] = json!("abc");
    let (status, body) = enqueue(&app, short).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"status": "invalid event", "message": "Event object is invalid",
               "errors": ["Length of 'routing_key' is incorrect (should be 32 characters)"]})
    );
    let mut no_summary = trigger("a");
    no_summary["payload"]
        .as_object_mut()
        .unwrap()
        .remove("summary");
    no_summary["payload"]["severity"] = json!("fatal");
    let (status, body) = enqueue(&app, no_summary).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["status"], "invalid event");
    assert_eq!(body["errors"].as_array().unwrap().len(), 2, "{body}");
    let mut unknown = trigger("a");
    unknown["routing_key"] = json!("0123456789abcdef0123456789abcdef");
    let (status, body) = enqueue(&app, unknown).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["errors"], json!(["Invalid routing key"]));

    // What a real Alertmanager's pagerduty receiver sends (captured from 0.25.0).
    let captured = fixture("alertmanager-pagerduty-example.json");
    let mut firing = captured["firing"].clone();
    firing["routing_key"] = json!(key);
    let (status, body) = enqueue(&app, firing).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let mut resolved = captured["resolved"].clone();
    resolved["routing_key"] = json!(key);
    assert_eq!(enqueue(&app, resolved).await.0, StatusCode::ACCEPTED);
    let from_am = open_alerts(&app)
        .await
        .into_iter()
        .find(|it| it["summary"].as_str().unwrap().contains("DiskFull"))
        .unwrap();
    assert_eq!(from_am["status"], "resolved");

    // 429 past the per-key limit (12 a minute here); the sender retries later.
    let mut last = StatusCode::ACCEPTED;
    for _ in 0..5 {
        last = enqueue(&app, trigger("storm")).await.0;
    }
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pagerduty_events_v2_contract_sqlite() {
    pagerduty_contract(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pagerduty_events_v2_contract_postgres() {
    pagerduty_contract(Backend::Postgres).await;
}

async fn opsgenie_and_alertmanager(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |settings| settings.workers = false).await else {
        return;
    };
    let (_, key) = setup(&app, 5).await;
    let auth = format!("GenieKey {key}");
    let genie = |path: &'static str, body: Value| {
        let (app, auth) = (&app, auth.clone());
        async move { raw(app, path, &[("Authorization", &auth)], &body.to_string()).await }
    };
    let (status, body) = raw(
        &app,
        "/v2/alerts",
        &[],
        &json!({"message": "x"}).to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["message"], "Could not authenticate");
    assert!(body["requestId"].is_string() && body["took"].is_number());
    let (status, body) = genie("/v2/alerts", json!({"alias": "db-1-disk"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        body["message"],
        "Request body is not processable. Please check the errors."
    );
    assert_eq!(
        body["errors"],
        json!({"message": "Message can not be empty."})
    );
    let create = json!({"message": "Disk almost full on db-1", "alias": "db-1-disk",
                        "description": "97%", "priority": "P1", "tags": ["db"],
                        "details": {"host": "db-1"}});
    let (status, body) = genie("/v2/alerts", create.clone()).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(body["result"], "Request will be processed");
    assert!(body["requestId"].is_string() && body["took"].is_number());
    genie("/v2/alerts", create).await;
    let alert = open_alerts(&app).await[0].clone();
    assert_eq!(
        (alert["count"].as_i64(), alert["severity"].as_str()),
        (Some(2), Some("critical"))
    );
    let (status, _) = genie(
        "/v2/alerts/db-1-disk/acknowledge?identifierType=alias",
        json!({"user": "ops", "note": "looking"}),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(open_alerts(&app).await[0]["status"], "acknowledged");
    let (status, _) = genie("/v2/alerts/db-1-disk/close?identifierType=alias", json!({})).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(open_alerts(&app).await[0]["status"], "resolved");
    let (status, _) = genie("/v2/alerts/db-1-disk/close?identifierType=tiny", json!({})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // Alertmanager's webhook (captured from 0.25.0): each alert by fingerprint.
    let captured = fixture("alertmanager-webhook-example.json");
    let path = format!("/integrations/alertmanager/{key}");
    let (status, body) = raw(&app, &path, &[], &captured["firing"].to_string()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["alerts"][0]["result"], "opened");
    let (_, body) = raw(&app, &path, &[], &captured["firing"].to_string()).await;
    assert_eq!(
        body["alerts"][0]["result"], "counted",
        "a repeat is idempotent"
    );
    let (_, body) = raw(&app, &path, &[], &captured["resolved"].to_string()).await;
    assert_eq!(body["alerts"][0]["result"], "resolved");
    let disk = open_alerts(&app)
        .await
        .into_iter()
        .find(|it| it["dedup_key"] == "26e8990aa96b06f0")
        .unwrap();
    assert_eq!(disk["summary"], "DiskFull: Disk /var is 97% full");
    assert_eq!(disk["severity"], "critical");
    assert_eq!(disk["links"][1]["href"], "http://127.0.0.1/runbooks/disk");
    let (status, _) = raw(
        &app,
        "/integrations/alertmanager/not-a-key",
        &[],
        &captured["firing"].to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = raw(&app, &path, &[], "{\"alerts\": 3}").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // The services page: admins make a key (shown once), a policy from JSON, a team, a service.
    let (cookie, csrf) = app.session("admin@test.example").await;
    let (_, page) = app.page(&cookie, "/services").await;
    assert!(
        page.contains("payments") && page.contains("Make an integration key"),
        "{page}"
    );
    let made = app
        .form(
            &cookie,
            "/services/payments/keys",
            &[("csrf", &csrf), ("name", "grafana")],
        )
        .await
        .text()
        .await
        .unwrap();
    let start = made.find("<p><code>").unwrap() + "<p><code>".len();
    let grafana_key = &made[start..start + 32];
    assert!(grafana_key.chars().all(|c| c.is_ascii_hexdigit()), "{made}");
    let (status, body) = app
        .post(
            "/api/v1/alerts",
            json!({"integration_key": grafana_key, "summary": "From the new key"}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let policy = json!({"name": "backend", "steps": [
        {"targets": [{"type": "person", "id": "cy@test.example"}], "delay_minutes": 3}]});
    for (path, fields) in [
        ("/services/policies", vec![("policy", policy.to_string())]),
        (
            "/services/teams",
            vec![
                ("name", "Backend".to_string()),
                ("members", "cy@test.example, dee@test.example".to_string()),
            ],
        ),
        (
            "/services",
            vec![
                ("name", "search".to_string()),
                ("policy", "backend".to_string()),
                ("team", "Backend".to_string()),
            ],
        ),
    ] {
        let mut all = vec![("csrf", csrf.clone())];
        all.extend(fields);
        let refs: Vec<(&str, &str)> = all.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let response = app.form(&cookie, path, &refs).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
    }
    let (_, page) = app.page(&cookie, "/services").await;
    assert!(page.contains("1. cy@test.example (then 3 min)"), "{page}");
    assert!(page.contains("search") && page.contains("cy@test.example, dee@test.example"));
    let (_, service) = app.get("/api/v1/services/search").await;
    assert!(service["escalation_policy_id"].is_string() && service["team_id"].is_string());

    // Generic JSON, and a revoked key is refused everywhere.
    let (status, body) = app
        .post(
            "/api/v1/alerts",
            json!({"integration_key": key, "summary": "Queue backlog", "dedup_key": "queue"}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["result"], "opened");
    let (_, keys) = app
        .call(
            &app.admin,
            Method::GET,
            "/api/v1/services/payments/integration-keys",
            None,
        )
        .await;
    let key_id = keys[0]["id"].as_str().unwrap();
    assert!(keys[0]["key"].is_null(), "a key is shown once");
    let (status, _) = app
        .call(
            &app.admin,
            Method::DELETE,
            &format!("/api/v1/services/payments/integration-keys/{key_id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app
        .post(
            "/api/v1/alerts",
            json!({"integration_key": key, "summary": "again"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opsgenie_and_alertmanager_sqlite() {
    opsgenie_and_alertmanager(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opsgenie_and_alertmanager_postgres() {
    opsgenie_and_alertmanager(Backend::Postgres).await;
}

// A heartbeat monitor: a missed ping raises an alert (once, paged), the next ping resolves it.
both_backends!(heartbeats, |app: TestApp| async move {
    let (_, key) = setup(&app, 5).await;
    let (status, created) = app
        .call(
            &app.admin,
            Method::POST,
            "/api/v1/services/payments/heartbeats",
            Some(json!({"name": "nightly-backup", "interval_minutes": 60})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert!(
        created["ping_url"]
            .as_str()
            .unwrap()
            .ends_with("/integrations/heartbeat/{key}/nightly-backup")
    );
    for (body, field) in [
        (json!({"name": "has space", "interval_minutes": 5}), "name"),
        (
            json!({"name": "ok", "interval_minutes": 0}),
            "interval_minutes",
        ),
    ] {
        let (status, error) = app
            .call(
                &app.admin,
                Method::POST,
                "/api/v1/services/payments/heartbeats",
                Some(body),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
        assert!(error["error"]["fields"][field].is_string(), "{error}");
    }
    let ping = |name: &'static str| {
        let (app, key) = (&app, key.clone());
        async move {
            app.http
                .post(format!("{}/integrations/heartbeat/{key}/{name}", app.base))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(ping("nightly-backup").await, StatusCode::OK);
    assert_eq!(ping("no-such").await, StatusCode::NOT_FOUND);
    let worker = firebreak_server::paging::pager::EscalationWorker {
        store: app.store.clone(),
        settings: std::sync::Arc::new(app.settings.clone()),
    };
    let later =
        |minutes: i64| firebreak_store::clock::now() + jiff::SignedDuration::from_mins(minutes);
    assert_eq!(
        worker.check_heartbeats(later(30)).await.unwrap(),
        0,
        "not due yet"
    );
    assert_eq!(worker.check_heartbeats(later(61)).await.unwrap(), 1);
    assert_eq!(worker.check_heartbeats(later(62)).await.unwrap(), 0, "once");
    let alerts = open_alerts(&app).await;
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0]["dedup_key"], "heartbeat/nightly-backup");
    assert!(alerts[0]["summary"].as_str().unwrap().contains("missed"));
    let (_, it) = app
        .get(&format!(
            "/api/v1/alerts/{}",
            alerts[0]["id"].as_str().unwrap()
        ))
        .await;
    assert!(
        it["log"]
            .as_array()
            .unwrap()
            .iter()
            .any(|entry| entry["kind"] == "paged"),
        "{it}"
    );
    let (_, list) = app.get("/api/v1/services/payments/heartbeats").await;
    assert_eq!(list[0]["missed"], true);
    // The next ping resolves it.
    assert_eq!(ping("nightly-backup").await, StatusCode::OK);
    assert_eq!(open_alerts(&app).await[0]["status"], "resolved");
    let (_, list) = app.get("/api/v1/services/payments/heartbeats").await;
    assert_eq!(list[0]["missed"], false);
});

pub(crate) fn log_kinds(alert: &Value) -> Vec<String> {
    alert["log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|it| {
            let reason = it["detail"]["reason"].as_str().unwrap_or("");
            format!("{} {reason}", it["kind"].as_str().unwrap())
                .trim()
                .to_string()
        })
        .collect()
}

// Silences and maintenance windows, flapping, storm grouping and the auto-declare rule: the
// alert is always kept; whether anyone is paged is in its log.
both_backends!(quiet_alerts, |app: TestApp| async move {
    let (_, key) = setup(&app, 5).await;
    let send = |key: String, dedup: &'static str, severity: &'static str| {
        let app = &app;
        async move {
            let (status, body) = app
                .post(
                    "/api/v1/alerts",
                    json!({"integration_key": key, "summary": format!("{dedup} fired"), "dedup_key": dedup, "severity": severity}),
                )
                .await;
            assert_eq!(status, StatusCode::ACCEPTED, "{body}");
            let id = body["alert_id"].as_str().unwrap().to_string();
            app.get(&format!("/api/v1/alerts/{id}")).await.1
        }
    };
    let resolve = |key: String, dedup: &'static str| {
        let app = &app;
        async move {
            app.post(
                "/api/v1/alerts",
                json!({"integration_key": key, "action": "resolve", "dedup_key": dedup}),
            )
            .await;
        }
    };
    // A maintenance window on the service: kept, not paged; ended, paging is back.
    let (status, bad) = app
        .post("/api/v1/silences", json!({"duration_minutes": 30}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    let (status, window) = app
        .post(
            "/api/v1/silences",
            json!({"service": "payments", "duration_minutes": 30, "comment": "database upgrade"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{window}");
    let quiet = send(key.clone(), "during-upgrade", "critical").await;
    assert_eq!(log_kinds(&quiet), ["triggered", "not_paged silenced"]);
    assert!(quiet["next_escalation_at"].is_null());
    let (_, listed) = app.get("/api/v1/silences").await;
    assert_eq!(listed[0]["comment"], "database upgrade");
    let (status, _) = app
        .call(
            &app.write,
            Method::DELETE,
            &format!("/api/v1/silences/{}", window["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let loud = send(key.clone(), "after-upgrade", "critical").await;
    assert!(log_kinds(&loud).contains(&"paged".to_string()), "{loud}");
    // A silence by text, on every service.
    app.post(
        "/api/v1/silences",
        json!({"matching": "DISKFULL", "duration_minutes": 10}),
    )
    .await;
    let disk = send(key.clone(), "diskfull-db-1", "critical").await;
    assert_eq!(log_kinds(&disk)[1], "not_paged silenced");
    // Flapping: the fourth opening of one key within 30 minutes pages nobody.
    for round in 0..4 {
        let alert = send(key.clone(), "flappy", "error").await;
        let paged = log_kinds(&alert).contains(&"paged".to_string());
        assert_eq!(paged, round < 3, "round {round}: {alert}");
        resolve(key.clone(), "flappy").await;
    }
    // A service that groups storms (10 minutes) and opens an incident for critical alerts.
    let (status, body) = app
        .call(
            &app.admin,
            Method::POST,
            "/api/v1/services",
            Some(json!({"name": "storms", "escalation_policy": "payments",
                        "group_window_minutes": 10, "auto_declare_severity": "critical"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, _) = app
        .call(
            &app.admin,
            Method::POST,
            "/api/v1/services",
            Some(json!({"name": "bad", "auto_declare_severity": "fatal"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, storm_key) = app
        .call(
            &app.admin,
            Method::POST,
            "/api/v1/services/storms/integration-keys",
            Some(json!({})),
        )
        .await;
    let storm_key = storm_key["key"].as_str().unwrap().to_string();
    let first = send(storm_key.clone(), "node-1-down", "warning").await;
    assert!(log_kinds(&first).contains(&"paged".to_string()));
    assert!(
        first["incident_id"].is_null(),
        "a warning opens no incident"
    );
    let second = send(storm_key.clone(), "node-2-down", "critical").await;
    assert!(
        log_kinds(&second)
            .iter()
            .any(|it| it.starts_with("not_paged grouped")),
        "{second}"
    );
    assert!(
        second["incident_id"].is_string(),
        "a critical alert opens an incident"
    );
    let (_, incident) = app.get("/api/v1/incidents/INC-1").await;
    assert_eq!(incident["status"], "triage");
    assert_eq!(incident["title"], "node-2-down fired");
    assert_eq!(incident["services"], json!(["storms"]));
    // The storm's alerts follow its first: acknowledged with it, resolved with it.
    let (first_id, second_id) = (
        first["id"].as_str().unwrap().to_string(),
        second["id"].as_str().unwrap().to_string(),
    );
    let (status, _) = app
        .post(&format!("/api/v1/alerts/{first_id}/ack"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, member) = app.get(&format!("/api/v1/alerts/{second_id}")).await;
    assert_eq!(member["status"], "acknowledged", "{member}");
    resolve(storm_key.clone(), "node-1-down").await;
    let (_, member) = app.get(&format!("/api/v1/alerts/{second_id}")).await;
    assert_eq!(member["status"], "resolved", "{member}");
    assert!(
        member["log"]
            .as_array()
            .unwrap()
            .iter()
            .any(|it| it["kind"] == "resolved" && it["detail"]["with_group"] == first_id.as_str()),
        "{member}"
    );
});

// A service is changed in place: its policy, runbook, storm window and auto-declare; its
// keys keep working. Bad changes are refused and change nothing.
both_backends!(services_are_edited, |app: TestApp| async move {
    let (service_id, key) = setup(&app, 5).await;
    let admin = app.admin.clone();
    let (status, _) = app
        .call(
            &admin,
            Method::POST,
            "/api/v1/escalation-policies",
            Some(json!({"name": "backup-only", "steps": [
                {"targets": [{"type": "person", "id": "bo@test.example"}], "delay_minutes": 5}]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, other) = app
        .call(
            &admin,
            Method::POST,
            "/api/v1/services",
            Some(json!({"name": "web"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{other}");
    let body = json!({"name": "payments-api", "escalation_policy": "backup-only",
                      "runbook_url": "https://runbooks.example/payments-v2",
                      "depends_on": ["web"], "group_window_minutes": 15});
    let (status, saved) = app
        .call(
            &admin,
            Method::PUT,
            "/api/v1/services/payments",
            Some(body.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(saved["id"], service_id.as_str());
    assert_eq!(saved["name"], "payments-api");
    assert_eq!(saved["depends_on"], json!([other["id"]]));
    assert_eq!(saved["group_window_minutes"], 15);
    // The key still works, and the new policy pages bo.
    let (status, sent) = enqueue(
        &app,
        json!({"routing_key": key, "event_action": "trigger", "dedup_key": "after-edit",
               "payload": {"summary": "after the edit", "source": "x", "severity": "error"}}),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{sent}");
    let alert = &open_alerts(&app).await[0];
    let (_, it) = app
        .get(&format!("/api/v1/alerts/{}", alert["id"].as_str().unwrap()))
        .await;
    assert!(
        it["log"]
            .as_array()
            .unwrap()
            .iter()
            .any(|entry| entry["kind"] == "paged" && entry["detail"]["person"] == "bo@test.example"),
        "{it}"
    );
    // Refused: a name another service has, itself as a dependency, an unknown service, a
    // responder.
    for (path, body, expected) in [
        (
            "/api/v1/services/payments-api",
            json!({"name": "web"}),
            StatusCode::CONFLICT,
        ),
        (
            "/api/v1/services/payments-api",
            json!({"name": "payments-api", "depends_on": ["payments-api"]}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "/api/v1/services/no-such",
            json!({"name": "x"}),
            StatusCode::NOT_FOUND,
        ),
    ] {
        let (status, error) = app.call(&admin, Method::PUT, path, Some(body)).await;
        assert_eq!(status, expected, "{path}: {error}");
    }
    let (status, _) = app
        .call(
            &app.write,
            Method::PUT,
            "/api/v1/services/payments-api",
            Some(json!({"name": "mine"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, unchanged) = app.get("/api/v1/services/payments-api").await;
    assert_eq!(
        unchanged["escalation_policy_id"],
        saved["escalation_policy_id"]
    );
    assert_eq!(unchanged["depends_on"], saved["depends_on"]);

    // The Services page edits it too (dependencies stay as they are).
    let (cookie, csrf) = app.session("admin@test.example").await;
    let (_, page) = app.page(&cookie, "/services").await;
    assert!(page.contains("Edit payments-api"), "{page}");
    let response = app
        .form(
            &cookie,
            &format!("/services/{service_id}/edit"),
            &[
                ("csrf", &csrf),
                ("name", "payments-api"),
                ("policy", "payments"),
                ("team", ""),
                ("runbook_url", ""),
                ("group_window_minutes", "0"),
                ("auto_declare_severity", "critical"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, now) = app.get("/api/v1/services/payments-api").await;
    assert_eq!(now["auto_declare_severity"], "critical");
    assert_eq!(now["group_window_minutes"], 0);
    assert_eq!(now["depends_on"], saved["depends_on"]);
    let response = app
        .form(
            &cookie,
            &format!("/services/{service_id}/edit"),
            &[
                ("csrf", &csrf),
                ("name", "payments-api"),
                ("group_window_minutes", "soon"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
});

// An auto-declare the request did not make is made by the escalation worker: here for a
// missed heartbeat, whose alert is raised by the worker itself. Once, and linked.
both_backends!(owed_declares, |app: TestApp| async move {
    let (_, _) = setup(&app, 5).await;
    let (status, saved) = app
        .call(
            &app.admin,
            Method::PUT,
            "/api/v1/services/payments",
            Some(json!({"name": "payments", "escalation_policy": "payments",
                        "auto_declare_severity": "critical"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    let (status, _) = app
        .call(
            &app.admin,
            Method::POST,
            "/api/v1/services/payments/heartbeats",
            Some(json!({"name": "nightly-backup", "interval_minutes": 60})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let worker = firebreak_server::paging::pager::EscalationWorker {
        store: app.store.clone(),
        settings: std::sync::Arc::new(app.settings.clone()),
    };
    let later =
        |minutes: i64| firebreak_store::clock::now() + jiff::SignedDuration::from_mins(minutes);
    worker.run_once(later(61)).await.unwrap();
    let alerts = open_alerts(&app).await;
    assert_eq!(alerts.len(), 1);
    assert!(alerts[0]["incident_id"].is_string(), "{alerts:?}");
    let (_, incident) = app.get("/api/v1/incidents/INC-1").await;
    assert_eq!(incident["status"], "triage");
    assert_eq!(incident["services"], json!(["payments"]));
    assert_eq!(
        worker.declare_owed(later(62)).await.unwrap(),
        0,
        "nothing owed any more"
    );
    let (_, list) = app.get("/api/v1/incidents").await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1), "{list}");
});

// A person whose account is disabled (they left, or were locked out) is not paged: the
// alert's log says so, and the step's other people are paged as usual.
both_backends!(
    a_disabled_person_is_not_paged,
    configure = |settings: &mut firebreak_server::Settings| settings.workers = false,
    |app: TestApp| async move {
        let (status, policy) = app
            .call(
                &app.admin,
                Method::POST,
                "/api/v1/escalation-policies",
                Some(json!({"name": "gone", "steps": [{"targets": [
                    {"type": "person", "id": "writer@test.example"},
                    {"type": "person", "id": "ana@test.example"}], "delay_minutes": 5}]})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{policy}");
        app.call(
            &app.admin,
            Method::POST,
            "/api/v1/services",
            Some(json!({"name": "ledger", "escalation_policy": "gone"})),
        )
        .await;
        let (_, key) = app
            .call(
                &app.admin,
                Method::POST,
                "/api/v1/services/ledger/integration-keys",
                Some(json!({"name": "pd"})),
            )
            .await;
        app.disable("writer@test.example").await;
        let response = app
            .http
            .post(format!("{}/v2/enqueue", app.base))
            .json(&json!({"routing_key": key["key"], "event_action": "trigger", "dedup_key": "ledger-1",
                          "payload": {"summary": "Ledger behind", "source": "ledger-1", "severity": "error"}}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        let id = open_alerts(&app).await[0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let (_, it) = app.get(&format!("/api/v1/alerts/{id}")).await;
        let entries = it["log"].as_array().unwrap();
        let about = |person: &str, kind: &str| {
            entries
                .iter()
                .any(|e| e["kind"] == kind && e["detail"]["person"] == person)
        };
        assert!(about("writer@test.example", "not_paged"), "{it}");
        assert!(!about("writer@test.example", "paged"), "{it}");
        assert!(about("ana@test.example", "paged"), "{it}");
    }
);
