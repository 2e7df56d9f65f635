//! Declare, list, show, patch, updates, roles, timestamps, idempotency, bad input.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::both_backends;
use crate::helpers::TestApp;

both_backends!(declare_show_and_list, |app: TestApp| async move {
    let (status, incident) = app
        .post(
            "/api/v1/incidents",
            json!({
                "title": "Checkout returns 500",
                "summary": "Card payments fail for everyone",
                "severity": "critical",
                "impact": "outage",
                "affected": {"text": "All shoppers", "count": 1200},
                "services": ["checkout", "payments"],
                "mode": "real"
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{incident}");
    assert_eq!(incident["reference"], "INC-1");
    assert_eq!(incident["status"], "investigating");
    assert_eq!(incident["affected"]["count"], 1200);
    assert_eq!(incident["last_seq"], 1);
    assert!(incident["timestamps"]["declared"]["observed"].is_string());
    let id = incident["id"].as_str().unwrap().to_string();

    let (status, by_ref) = app.get("/api/v1/incidents/inc-1").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(by_ref["id"], id);
    let (status, by_id) = app.get(&format!("/api/v1/incidents/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(by_id["reference"], "INC-1");

    app.declare(json!({"title": "Search is slow", "severity": "minor"}))
        .await;
    app.declare(json!({"title": "Login emails delayed"})).await;
    let (_, page) = app.get("/api/v1/incidents?limit=2").await;
    let refs: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|it| it["reference"].as_str().unwrap())
        .collect();
    assert_eq!(refs, ["INC-3", "INC-2"]);
    let cursor = page["next_cursor"].as_str().unwrap();
    let (_, page) = app
        .get(&format!("/api/v1/incidents?limit=2&cursor={cursor}"))
        .await;
    assert_eq!(page["items"][0]["reference"], "INC-1");
    assert!(page["next_cursor"].is_null());

    let (_, page) = app.get("/api/v1/incidents?severity=minor,critical").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let (_, page) = app.get("/api/v1/incidents?q=SEARCH").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["items"][0]["title"], "Search is slow");
    let (_, page) = app.get("/api/v1/incidents?q=100%25").await;
    assert_eq!(
        page["items"].as_array().unwrap().len(),
        0,
        "a literal % matches nothing here"
    );
    let (_, page) = app.get("/api/v1/incidents?status=resolved").await;
    assert!(page["items"].as_array().unwrap().is_empty());
    app.stop().await;
});

both_backends!(bad_input_is_a_clear_4xx, |app: TestApp| async move {
    let (status, body) = app
        .post("/api/v1/incidents", json!({"summary": "no title"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["code"], "validation_failed");
    assert_eq!(body["error"]["fields"]["title"], "title is required");
    assert!(body["error"]["request_id"].is_string());

    let (status, body) = app
        .post(
            "/api/v1/incidents",
            json!({"title": "x", "severity": "sev0"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body["error"]["fields"]["severity"]
            .as_str()
            .unwrap()
            .contains("critical, major, minor")
    );

    let (status, body) = app
        .post("/api/v1/incidents", json!({"title": "x".repeat(201)}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");

    let (status, body) = app
        .post("/api/v1/incidents", json!({"title": "x", "colour": "red"}))
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown fields are refused: {body}"
    );

    let response = app
        .http
        .post(format!("{}/api/v1/incidents", app.base))
        .bearer_auth(&app.write)
        .header("Content-Type", "application/json")
        .body("{\"title\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "malformed_json");

    let huge = json!({"title": "big", "summary": "x".repeat(300 * 1024)});
    let (status, body) = app.post("/api/v1/incidents", huge).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body["error"]["code"], "payload_too_large");

    let (status, body) = app.get("/api/v1/incidents/INC-404").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "not_found");
    let (status, _) = app.get("/api/v1/incidents/not-a-reference").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = app.get("/api/v1/incidents?status=open").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = app.get("/api/v1/incidents?limit=abc").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    // A forbidden transition names both states, and nothing is written.
    app.declare(json!({"title": "Disk full"})).await;
    let (status, _) = app
        .post(
            "/api/v1/incidents/INC-1/updates",
            json!({"message": "fixed", "status": "resolved"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = app
        .call(
            &app.write,
            Method::PATCH,
            "/api/v1/incidents/INC-1",
            Some(json!({"status": "declined"})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"]["code"], "invalid_transition");
    assert_eq!(
        body["error"]["message"],
        "cannot move an incident from resolved to declined"
    );
    let (_, incident) = app.get("/api/v1/incidents/INC-1").await;
    assert_eq!(incident["status"], "resolved");
    assert_eq!(incident["last_seq"], 3);
    app.stop().await;
});

both_backends!(
    lifecycle_roles_updates_and_timestamps,
    |app: TestApp| async move {
        let incident = app
            .declare(json!({"title": "API latency", "status": "triage"}))
            .await;
        assert_eq!(incident["status"], "triage");
        assert!(incident["timestamps"]["acknowledged"]["observed"].is_null());

        let (status, result) = app
        .post("/api/v1/incidents/INC-1/updates", json!({"message": "Looking into it", "status": "investigating", "next_update_in_minutes": 30, "public": true}))
        .await;
        assert_eq!(status, StatusCode::CREATED, "{result}");
        let kinds: Vec<&str> = result["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|it| it["kind"].as_str().unwrap())
            .collect();
        assert_eq!(kinds, ["status_changed", "update_posted"]);
        let incident = &result["incident"];
        assert!(incident["timestamps"]["acknowledged"]["observed"].is_string());
        let due: jiff::Timestamp = incident["next_update_due"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        let minutes = due.duration_since(firebreak_store::clock::now()).as_secs() / 60;
        assert!(
            (28..=30).contains(&minutes),
            "next update due in {minutes} minutes"
        );
        assert_eq!(incident["update_overdue"], false);

        let assign = |user: &str| json!({"user": user});
        let (status, result) = app
            .call(
                &app.write,
                Method::PUT,
                "/api/v1/incidents/INC-1/roles/lead",
                Some(assign("alice")),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(result["incident"]["roles"]["lead"], "alice");
        let (_, result) = app
            .call(
                &app.write,
                Method::PUT,
                "/api/v1/incidents/INC-1/roles/lead",
                Some(assign("bob")),
            )
            .await;
        assert_eq!(
            result["events"][0]["body"]["previous"], "alice",
            "a handoff records the previous holder"
        );
        let (status, body) = app
            .call(
                &app.write,
                Method::PUT,
                "/api/v1/incidents/INC-1/roles/captain",
                Some(assign("x")),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let (status, result) = app
            .call(
                &app.write,
                Method::DELETE,
                "/api/v1/incidents/INC-1/roles/lead",
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert!(result["incident"]["roles"]["lead"].is_null());

        let (status, result) = app
            .call(
                &app.write,
                Method::PATCH,
                "/api/v1/incidents/INC-1",
                Some(json!({"severity": "critical", "summary": "p99 at 8 s"})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{result}");
        assert_eq!(result["incident"]["severity"], "critical");

        let (_, result) = app
            .post(
                "/api/v1/incidents/INC-1/updates",
                json!({"message": "Mitigated", "status": "monitoring"}),
            )
            .await;
        assert!(result["incident"]["timestamps"]["mitigated"]["observed"].is_string());
        let (_, result) = app
            .post(
                "/api/v1/incidents/INC-1/updates",
                json!({"message": "All clear", "status": "resolved"}),
            )
            .await;
        let incident = &result["incident"];
        assert_eq!(incident["status"], "resolved");
        assert!(incident["next_update_due"].is_null());
        let observed = incident["timestamps"]["resolved"]["observed"].clone();

        let (status, result) = app
            .call(
                &app.write,
                Method::PUT,
                "/api/v1/incidents/INC-1/timestamps/resolved",
                Some(json!({"at": "2026-01-02T03:04:05Z", "note": "graphs"})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{result}");
        assert_eq!(
            result["incident"]["timestamps"]["resolved"]["observed"], observed,
            "the observed time stays"
        );
        assert_eq!(
            result["incident"]["timestamps"]["resolved"]["asserted"],
            "2026-01-02T03:04:05Z"
        );
        let (status, _) = app
            .call(
                &app.write,
                Method::PUT,
                "/api/v1/incidents/INC-1/timestamps/resolved",
                Some(json!({"at": "yesterday"})),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

        // Reopen, then close for good.
        let (_, result) = app
            .post(
                "/api/v1/incidents/INC-1/updates",
                json!({"message": "It is back", "status": "investigating"}),
            )
            .await;
        assert_eq!(result["incident"]["status"], "investigating");
        assert!(result["incident"]["timestamps"]["resolved"]["observed"].is_null());

        // Merge: only from triage, only into an existing incident.
        app.declare(json!({"title": "Duplicate page", "status": "triage"}))
            .await;
        let (status, body) = app
            .call(
                &app.write,
                Method::PATCH,
                "/api/v1/incidents/INC-2",
                Some(json!({"status": "merged", "merged_into": "INC-99"})),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let (status, result) = app
            .call(
                &app.write,
                Method::PATCH,
                "/api/v1/incidents/INC-2",
                Some(json!({"status": "merged", "merged_into": "INC-1"})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{result}");
        assert_eq!(result["incident"]["merged_into"], "INC-1");
        app.stop().await;
    }
);

both_backends!(
    idempotent_declare_under_concurrency,
    |app: TestApp| async move {
        let app = std::sync::Arc::new(app);
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let app = app.clone();
            tasks.push(tokio::spawn(async move {
                let response = app
                    .http
                    .post(format!("{}/api/v1/incidents", app.base))
                    .bearer_auth(&app.write)
                    .header("Idempotency-Key", "alert-7f3a")
                    .json(&json!({"title": "Disk full on db-1"}))
                    .send()
                    .await
                    .unwrap();
                let status = response.status();
                let body: serde_json::Value = response.json().await.unwrap();
                (status, body["id"].as_str().unwrap().to_string())
            }));
        }
        let mut ids = std::collections::BTreeSet::new();
        let mut n_created = 0;
        for task in tasks {
            let (status, id) = task.await.unwrap();
            assert!(
                status == StatusCode::CREATED || status == StatusCode::OK,
                "{status}"
            );
            n_created += usize::from(status == StatusCode::CREATED);
            ids.insert(id);
        }
        assert_eq!(ids.len(), 1, "one key, one incident");
        assert_eq!(n_created, 1);
        let (_, page) = app.get("/api/v1/incidents").await;
        assert_eq!(page["items"].as_array().unwrap().len(), 1);
        // A different key is a different incident, with the next reference.
        let second = app.declare(json!({"title": "Disk full on db-2"})).await;
        assert_eq!(second["reference"], "INC-2");
        std::sync::Arc::into_inner(app).unwrap().stop().await;
    }
);
