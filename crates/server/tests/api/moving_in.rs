//! Moving in from PagerDuty or Opsgenie: the senders a team keeps (integration keys kept
//! verbatim, change events, Opsgenie heartbeat pings) and shadow mode, beside the old system.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::TestApp;
use crate::paging::{log_kinds, open_alerts, setup};

/// A change event sent by PagerDuty's own Python client (`pagerduty` on PyPI, pointed at
/// this server), with the routing key it was given. The client accepts only https:// base
/// addresses and the test server speaks plain HTTP, so the address is set behind that check
/// (`_url`); the request it builds is its own.
async fn change_event_from_pagerduty_sdk(base: &str, routing_key: &str) {
    let python = std::env::var("FIREBREAK_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let out = tokio::process::Command::new(&python)
        .args([
            "-c",
            "import sys, pagerduty\n\
             client = pagerduty.EventsApiV2Client(sys.argv[2])\n\
             client._url = sys.argv[1]\n\
             client.send_change_event(\n\
               payload={'summary': 'Deployed payments 2026.12.1', 'source': 'github-actions',\n\
                        'timestamp': '2026-12-01T08:42:58.315+0000',\n\
                        'custom_details': {'sha': '9f3c2e1', 'build_number': 812}},\n\
               links=[{'href': 'https://ci.example.com/builds/812', 'text': 'build 812'}])\n",
            base,
            routing_key,
        ])
        .output()
        .await
        .unwrap_or_else(|err| panic!("cannot run {python}: {err}"));
    assert!(
        out.status.success(),
        "the pagerduty client (scripts/test installs it) sent the change event: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

// The senders a team moving from PagerDuty or Opsgenie keeps unchanged: change events from
// CI become deploys (listed, and counted by the change failure rate), and cron jobs ping
// heartbeats the Opsgenie way, with the integration key as their GenieKey.
both_backends!(vendor_senders_keep_working, |app: TestApp| async move {
    let (_, key) = setup(&app, 5).await;
    // The keys monitors already send are kept verbatim: a PagerDuty integration key and an
    // Opsgenie API key page through Firebreak unchanged.
    let pagerduty_key = "R0UT1NGKEYFR0MPAGERDUTYAAAAAAA01";
    let genie_key = "5c0c3f5e-8a6b-4d7e-9f10-2b3c4d5e6f70";
    for kept in [pagerduty_key, genie_key] {
        let (status, made) = app
            .call(
                &app.admin,
                Method::POST,
                "/api/v1/services/payments/integration-keys",
                Some(json!({"name": "moved in", "key": kept})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{made}");
        assert_eq!(made["key"], kept);
    }
    for (kept, status) in [
        (genie_key, StatusCode::CONFLICT),
        ("short", StatusCode::UNPROCESSABLE_ENTITY),
        (
            "has spaces in it and more than twenty",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let (got, body) = app
            .call(
                &app.admin,
                Method::POST,
                "/api/v1/services/payments/integration-keys",
                Some(json!({"name": "again", "key": kept})),
            )
            .await;
        assert_eq!(got, status, "{kept}: {body}");
    }
    let response = app
        .http
        .post(format!("{}/v2/enqueue", app.base))
        .json(&json!({"routing_key": pagerduty_key, "event_action": "trigger", "dedup_key": "kept-pd",
                      "payload": {"summary": "From a kept PagerDuty key", "source": "db-1", "severity": "error"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let response = app
        .http
        .post(format!("{}/v2/alerts", app.base))
        .header("Authorization", format!("GenieKey {genie_key}"))
        .json(&json!({"message": "From a kept Opsgenie key", "alias": "kept-og"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let summaries: Vec<String> = open_alerts(&app)
        .await
        .iter()
        .map(|it| it["summary"].as_str().unwrap().to_string())
        .collect();
    assert!(
        summaries.contains(&"From a kept PagerDuty key".to_string()),
        "{summaries:?}"
    );
    assert!(
        summaries.contains(&"From a kept Opsgenie key".to_string()),
        "{summaries:?}"
    );
    for dedup in ["kept-pd", "kept-og"] {
        let response = app
            .http
            .post(format!("{}/v2/enqueue", app.base))
            .json(&json!({"routing_key": pagerduty_key, "event_action": "resolve", "dedup_key": dedup}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::ACCEPTED);
    }
    change_event_from_pagerduty_sdk(&app.base, &key).await;
    let (status, deploys) = app.get("/api/v1/deploys?service=payments").await;
    assert_eq!(status, StatusCode::OK, "{deploys}");
    let deploy = &deploys[0];
    assert_eq!(deploy["version"], "9f3c2e1", "{deploy}");
    assert_eq!(deploy["via"], "pagerduty");
    assert_eq!(deploy["summary"], "Deployed payments 2026.12.1");
    assert_eq!(deploy["deployed_at"], "2026-12-01T08:42:58.315Z");
    assert_eq!(deploy["details"]["source"], "github-actions");
    assert_eq!(deploy["details"]["links"][0]["text"], "build 812");
    assert_eq!(deploy["details"]["custom_details"]["build_number"], 812);
    // Nobody is paged by a change: no alert besides the two above, both resolved.
    let alerts = open_alerts(&app).await;
    assert_eq!(alerts.len(), 2, "{alerts:?}");
    assert!(
        alerts.iter().all(|it| it["status"] == "resolved"),
        "{alerts:?}"
    );
    // PagerDuty's error bodies for what PagerDuty refuses.
    for (body, status, error) in [
        (
            json!({"routing_key": key, "payload": {"source": "ci"}}),
            StatusCode::BAD_REQUEST,
            "'payload.summary' is missing or blank",
        ),
        (
            json!({"routing_key": "b".repeat(32), "payload": {"summary": "x"}}),
            StatusCode::BAD_REQUEST,
            "Invalid routing key",
        ),
    ] {
        let response = app
            .http
            .post(format!("{}/v2/change/enqueue", app.base))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status);
        let answer: Value = response.json().await.unwrap();
        assert_eq!(answer["status"], "invalid event", "{answer}");
        assert_eq!(answer["errors"][0], error, "{answer}");
    }
    // Deploys recorded through the API list beside them, newest first, filtered and bounded.
    let (status, _) = app
        .post(
            "/api/v1/deploys",
            json!({"service": "payments", "version": "2026.12.2", "deployed_at": "2026-12-02T10:00:00Z"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, deploys) = app.get("/api/v1/deploys").await;
    let versions: Vec<&str> = deploys
        .as_array()
        .unwrap()
        .iter()
        .map(|it| it["version"].as_str().unwrap())
        .collect();
    assert_eq!(versions, ["2026.12.2", "9f3c2e1"]);
    let (_, deploys) = app
        .get("/api/v1/deploys?until=2026-12-02&since=2026-12-01")
        .await;
    assert_eq!(deploys.as_array().unwrap().len(), 1);
    for query in ["limit=0", "limit=x", "since=yesterday"] {
        let (status, error) = app.get(&format!("/api/v1/deploys?{query}")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {error}");
    }

    // Opsgenie's heartbeat ping, by name, with the key as the GenieKey.
    let (status, created) = app
        .call(
            &app.admin,
            Method::POST,
            "/api/v1/services/payments/heartbeats",
            Some(json!({"name": "nightly-backup", "interval_minutes": 60})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let genie_ping = |method: reqwest::Method, name: &'static str, auth: Option<String>| {
        let app = &app;
        async move {
            let mut request = app
                .http
                .request(method, format!("{}/v2/heartbeats/{name}/ping", app.base));
            if let Some(auth) = auth {
                request = request.header("Authorization", auth);
            }
            let response = request.send().await.unwrap();
            (response.status(), response.json::<Value>().await.unwrap())
        }
    };
    let genie = Some(format!("GenieKey {key}"));
    let (status, pong) = genie_ping(Method::GET, "nightly-backup", genie.clone()).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{pong}");
    assert_eq!(pong["result"], "PONG - Heartbeat received");
    assert!(
        pong["took"].is_number() && pong["requestId"].is_string(),
        "{pong}"
    );
    let (status, refused) = genie_ping(Method::POST, "nightly-backup", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(refused["message"], "Could not authenticate");
    let wrong = Some(format!("GenieKey {}", "c".repeat(32)));
    let (status, _) = genie_ping(Method::POST, "nightly-backup", wrong).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, unknown) = genie_ping(Method::POST, "no-such", genie.clone()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        unknown["message"],
        "Heartbeat with name [no-such] does not exist."
    );
    // A missed ping raises the alert; the next Opsgenie-style ping resolves it.
    let worker = firebreak_server::paging::pager::EscalationWorker {
        store: app.store.clone(),
        settings: std::sync::Arc::new(app.settings.clone()),
    };
    let later = firebreak_store::clock::now() + jiff::SignedDuration::from_mins(61);
    assert_eq!(worker.check_heartbeats(later).await.unwrap(), 1);
    let heartbeat_alert = || async {
        open_alerts(&app)
            .await
            .into_iter()
            .find(|it| it["dedup_key"] == "heartbeat/nightly-backup")
            .expect("the missed heartbeat's alert")
    };
    assert_eq!(heartbeat_alert().await["status"], "triggered");
    let (status, _) = genie_ping(Method::PUT, "nightly-backup", genie).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(heartbeat_alert().await["status"], "resolved");
});

// Shadow mode, for a week beside the system a team is moving from: the alert is ingested,
// deduplicated and escalated on paper — its log names whom Firebreak would have paged, step
// by step — while nothing is queued to anyone and no incident is declared. The same alert
// on a live service pages.
both_backends!(
    shadow_mode_pages_nobody,
    configure = |settings: &mut firebreak_server::Settings| settings.workers = false,
    |app: TestApp| async move {
        let (_, live_key) = setup(&app, 5).await;
        let (status, shadow) = app
            .call(
                &app.admin,
                Method::POST,
                "/api/v1/services",
                Some(json!({"name": "search", "escalation_policy": "payments",
                            "auto_declare_severity": "critical", "shadow": true})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{shadow}");
        assert_eq!(shadow["shadow"], true);
        let (_, key) = app
            .call(
                &app.admin,
                Method::POST,
                "/api/v1/services/search/integration-keys",
                Some(json!({"name": "pagerduty"})),
            )
            .await;
        let shadow_key = key["key"].as_str().unwrap().to_string();
        let trigger = |key: String| {
            let app = &app;
            async move {
                let event = json!({"routing_key": key, "event_action": "trigger", "dedup_key": "disk-full",
                    "payload": {"summary": "Disk full on search-3", "source": "search-3", "severity": "critical"}});
                let response = app
                    .http
                    .post(format!("{}/v2/enqueue", app.base))
                    .json(&event)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), StatusCode::ACCEPTED);
            }
        };
        trigger(shadow_key.clone()).await;
        trigger(shadow_key).await; // deduplicated on paper as for real
        trigger(live_key).await;
        let alerts = open_alerts(&app).await;
        let by_service = |id: &str| {
            alerts
                .iter()
                .find(|it| it["service_id"] == id)
                .unwrap_or_else(|| panic!("an alert of {id}: {alerts:?}"))
                .clone()
        };
        let on_paper = by_service(shadow["id"].as_str().unwrap());
        assert_eq!(on_paper["count"], 2, "deduplicated");
        let on_paper_id = on_paper["id"].as_str().unwrap().to_string();
        let (_, it) = app.get(&format!("/api/v1/alerts/{on_paper_id}")).await;
        let kinds = log_kinds(&it);
        assert!(
            kinds.contains(&"would_page shadow mode: nothing is sent".to_string()),
            "{kinds:?}"
        );
        assert!(!kinds.iter().any(|it| it.starts_with("paged")), "{kinds:?}");
        assert_eq!(
            it["log"]
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["kind"] == "would_page")
                .unwrap()["detail"]["person"],
            "ana@test.example"
        );
        // The policy's next step, on paper too.
        let worker = firebreak_server::paging::pager::EscalationWorker {
            store: app.store.clone(),
            settings: std::sync::Arc::new(app.settings.clone()),
        };
        let later = firebreak_store::clock::now() + jiff::SignedDuration::from_mins(6);
        worker.run_once(later).await.unwrap();
        let (_, it) = app.get(&format!("/api/v1/alerts/{on_paper_id}")).await;
        let would: Vec<&str> = it["log"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == "would_page")
            .map(|e| e["detail"]["person"].as_str().unwrap())
            .collect();
        assert_eq!(would, ["ana@test.example", "bo@test.example"]);
        // Nothing is queued for the shadow alert; the live one's pages are.
        let queued = app
            .store
            .claim_notifications(
                later + jiff::SignedDuration::from_hours(24),
                100,
                jiff::SignedDuration::from_mins(1),
            )
            .await
            .unwrap();
        assert!(!queued.is_empty(), "the live service pages");
        assert!(
            queued.iter().all(|it| !it.body.contains(&on_paper_id)),
            "nothing for the shadow alert"
        );
        // And no incident is declared by its auto-declare rule.
        let (_, incidents) = app.get("/api/v1/incidents").await;
        assert_eq!(
            incidents["items"].as_array().unwrap().len(),
            0,
            "{incidents}"
        );
    }
);

// A policy may wait before its first page (Opsgenie's first rule "after N minutes"): the
// alert's first step pages nobody, and the next step pages when the wait is over.
both_backends!(
    a_policy_waits_before_its_first_page,
    configure = |settings: &mut firebreak_server::settings::Settings| settings.workers = false,
    |app: TestApp| async move {
        let (status, policy) = app
            .call(
                &app.admin,
                Method::POST,
                "/api/v1/escalation-policies",
                Some(json!({"name": "patient", "steps": [
                    {"targets": [], "delay_minutes": 3},
                    {"targets": [{"type": "person", "id": "ana@test.example"}], "delay_minutes": 5},
                ]})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{policy}");
        // Only the first step may be a wait.
        let (status, _) = app
            .call(
                &app.admin,
                Method::POST,
                "/api/v1/escalation-policies",
                Some(json!({"name": "odd", "steps": [
                    {"targets": [{"type": "person", "id": "ana@test.example"}], "delay_minutes": 5},
                    {"targets": [], "delay_minutes": 3},
                ]})),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        let (_, _) = app
            .call(
                &app.admin,
                Method::POST,
                "/api/v1/services",
                Some(json!({"name": "patient", "escalation_policy": "patient"})),
            )
            .await;
        let (_, key) = app
            .call(
                &app.admin,
                Method::POST,
                "/api/v1/services/patient/integration-keys",
                Some(json!({"name": "monitor"})),
            )
            .await;
        let event = json!({"routing_key": key["key"], "event_action": "trigger", "dedup_key": "slow",
            "payload": {"summary": "Queue slow", "source": "q-1", "severity": "warning"}});
        let (status, _) = crate::paging::enqueue(&app, event).await;
        assert_eq!(status, StatusCode::ACCEPTED);
        let horizon = |at: jiff::Timestamp| at + jiff::SignedDuration::from_hours(24);
        let now = firebreak_store::clock::now();
        let queued = app
            .store
            .claim_notifications(horizon(now), 100, jiff::SignedDuration::from_mins(1))
            .await
            .unwrap();
        assert!(
            queued.is_empty(),
            "nobody is paged during the wait: {queued:?}"
        );
        let worker = firebreak_server::paging::pager::EscalationWorker {
            store: app.store.clone(),
            settings: std::sync::Arc::new(app.settings.clone()),
        };
        worker
            .run_once(now + jiff::SignedDuration::from_mins(4))
            .await
            .unwrap();
        let queued = app
            .store
            .claim_notifications(horizon(now), 100, jiff::SignedDuration::from_mins(1))
            .await
            .unwrap();
        assert!(
            queued.iter().any(|it| it.address == "ana@test.example"),
            "the second step pages after the wait: {queued:?}"
        );
    }
);
