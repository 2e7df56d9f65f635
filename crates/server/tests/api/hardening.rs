//! Regressions of the defects a hostile test found (issue 13), each on both backends.

use firebreak_core::token::Scope;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{TestApp, declare_with_key, person_token};

both_backends!(
    an_idempotency_key_belongs_to_its_caller,
    |app: TestApp| async move {
        let nick = person_token(&app.store, "nick@test.example", "responder", Scope::Write).await;
        let body = json!({"title": "Leaked signing key", "type": "security"});
        let (status, first) =
            declare_with_key(&app, &app.admin, "shared-key-1", body.clone()).await;
        assert_eq!(status, StatusCode::CREATED, "{first}");
        // Someone else's same key is their own key: a new incident, not the private one.
        let mine = json!({"title": "Checkout slow"});
        let (status, other) = declare_with_key(&app, &nick, "shared-key-1", mine.clone()).await;
        assert_eq!(status, StatusCode::CREATED, "{other}");
        assert_eq!(other["reference"], "INC-2");
        assert!(!other.to_string().contains("Leaked"), "{other}");
        // The owner's replay is the same incident, and a read of a private incident is audited.
        let (status, replay) = declare_with_key(&app, &app.admin, "shared-key-1", body).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(replay["id"], first["id"]);
        let path = "/api/v1/audit/private-reads?incident=INC-1";
        let (_, reads) = app.call(&app.admin, Method::GET, path, None).await;
        assert!(reads.to_string().contains("idempotent replay"), "{reads}");
        // The same key with another body is refused, as Stripe does.
        let (status, error) =
            declare_with_key(&app, &nick, "shared-key-1", json!({"title": "Else"})).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(error["error"]["code"], "idempotency_key_reused");
        // Whitespace and key order do not make a body different.
        let reordered = json!({"title": "Checkout slow"});
        let (status, again) = declare_with_key(&app, &nick, "shared-key-1", reordered).await;
        assert_eq!(
            (status, &again["reference"]),
            (StatusCode::OK, &json!("INC-2"))
        );
        app.stop().await;
    }
);

both_backends!(
    a_read_token_changes_no_paging_setup,
    |app: TestApp| async move {
        let contact = json!({"kind": "webhook", "address": "https://hooks.example/page"});
        let (status, body) = app
            .call(
                &app.read,
                Method::POST,
                "/api/v1/me/contact-methods",
                Some(contact.clone()),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert!(body.get("secret").is_none());
        let (status, method) = app
            .call(
                &app.write,
                Method::POST,
                "/api/v1/me/contact-methods",
                Some(contact),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{method}");
        let rule = json!({"contact_method": method["id"], "delay_minutes": 0});
        let (status, _) = app
            .call(
                &app.read,
                Method::POST,
                "/api/v1/me/notification-rules",
                Some(rule),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        // An admin's read token is read-only too.
        let admin_read = person_token(&app.store, "admin@test.example", "admin", Scope::Read).await;
        let feed = json!({"person": "admin@test.example"});
        let (status, _) = app
            .call(
                &admin_read,
                Method::POST,
                "/api/v1/calendar-feeds",
                Some(feed),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        app.stop().await;
    }
);

both_backends!(
    a_page_link_follows_the_same_rule_as_the_api,
    |app: TestApp| async move {
        use sqlx::Connection;
        let (_, key) = crate::paging::setup(&app, 5).await;
        let event = json!({"routing_key": key, "event_action": "trigger", "dedup_key": "db",
            "payload": {"summary": "db down", "source": "db-1", "severity": "critical"}});
        assert_eq!(
            crate::paging::enqueue(&app, event).await.0,
            StatusCode::ACCEPTED
        );
        let alert = crate::paging::open_alerts(&app).await[0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let (status, _) = app
            .call(
                &app.read,
                Method::POST,
                &format!("/api/v1/alerts/{alert}/ack"),
                None,
            )
            .await;
        assert_eq!(
            status,
            StatusCode::FORBIDDEN,
            "a viewer may not acknowledge"
        );
        // A page link made out to the same viewer may not either.
        let hash = firebreak_core::token::hash_token("viewer-link");
        sqlx::any::install_default_drivers();
        let mut db = sqlx::AnyConnection::connect(&app.database_url)
            .await
            .unwrap();
        sqlx::query("INSERT INTO alert_links (token_hash, alert_id, person, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(hash).bind(alert.clone()).bind("reader@test.example").bind(i64::MAX)
            .execute(&mut db).await.unwrap();
        let response = app
            .http
            .post(format!("{}/alerts/{alert}/respond", app.base))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body("t=viewer-link&action=resolve")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        let (_, it) = app.get(&format!("/api/v1/alerts/{alert}")).await;
        assert_eq!(it["status"], "triggered");
        app.stop().await;
    }
);

both_backends!(
    insights_count_only_what_the_reader_may_see,
    |app: TestApp| async move {
        let private = json!({"title": "Vault unsealed", "type": "security", "services": ["vault"]});
        let (status, _) = app
            .call(&app.admin, Method::POST, "/api/v1/incidents", Some(private))
            .await;
        assert_eq!(status, StatusCode::CREATED);
        app.declare(json!({"title": "Checkout slow", "services": ["checkout"]}))
            .await;
        let (_, mine) = app.get("/api/v1/insights").await;
        assert!(!mine.to_string().contains("vault"), "{mine}");
        assert!(mine.to_string().contains("checkout"));
        let csv = app
            .http
            .get(format!("{}/api/v1/insights.csv", app.base))
            .bearer_auth(&app.read)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(!csv.contains("vault") && csv.contains("checkout"), "{csv}");
        let (cookie, _) = app.session("reader@test.example").await;
        let (_, page) = app.page(&cookie, "/insights").await;
        assert!(!page.contains("vault") && page.contains("checkout"));
        let (_, all) = app
            .call(&app.admin, Method::GET, "/api/v1/insights", None)
            .await;
        assert!(
            all.to_string().contains("vault"),
            "an admin sees everything"
        );
        app.stop().await;
    }
);

both_backends!(
    a_private_incident_is_missing_to_a_merge_and_to_an_alert,
    |app: TestApp| async move {
        let private = json!({"title": "Leaked signing key", "type": "security"});
        let (_, leaked) = app
            .call(&app.admin, Method::POST, "/api/v1/incidents", Some(private))
            .await;
        app.declare(json!({"title": "Duplicate page", "status": "triage"}))
            .await;
        let merge = |into: &str| json!({"status": "merged", "merged_into": into});
        let (status, missing) = app
            .call(
                &app.write,
                Method::PATCH,
                "/api/v1/incidents/INC-2",
                Some(merge("INC-999")),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        let (status, hidden) = app
            .call(
                &app.write,
                Method::PATCH,
                "/api/v1/incidents/INC-2",
                Some(merge("INC-1")),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{hidden}");
        assert_eq!(
            hidden["error"]["fields"]["merged_into"],
            "there is no incident INC-1"
        );
        assert_eq!(
            missing["error"]["fields"]["merged_into"],
            "there is no incident INC-999"
        );
        // An alert linked to the private incident does not name it to a non-member.
        let (_, key) = crate::paging::setup(&app, 5).await;
        let event = json!({"routing_key": key, "event_action": "trigger", "dedup_key": "k",
            "payload": {"summary": "vault sealed", "source": "v-1", "severity": "critical"}});
        crate::paging::enqueue(&app, event).await;
        let alert = crate::paging::open_alerts(&app).await[0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let incident_id = leaked["id"].as_str().unwrap();
        let now = firebreak_store::clock::now();
        app.store
            .link_alert_incident(&alert, incident_id, "admin@test.example", now)
            .await
            .unwrap();
        let (_, seen) = app.get(&format!("/api/v1/alerts/{alert}")).await;
        assert!(!seen.to_string().contains(incident_id), "{seen}");
        let (_, list) = app.get("/api/v1/alerts").await;
        assert!(!list.to_string().contains(incident_id), "{list}");
        let (_, by_admin) = app
            .call(
                &app.admin,
                Method::GET,
                &format!("/api/v1/alerts/{alert}"),
                None,
            )
            .await;
        assert_eq!(by_admin["incident_id"], incident_id);
        app.stop().await;
    }
);

both_backends!(
    closing_a_live_incident_is_an_invalid_transition,
    |app: TestApp| async move {
        app.declare(json!({"title": "Checkout down"})).await;
        let (status, _) = app
            .call(
                &app.write,
                Method::PATCH,
                "/api/v1/incidents/INC-1",
                Some(json!({"status": "identified"})),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        let (status, refused) = app
            .call(
                &app.write,
                Method::PATCH,
                "/api/v1/incidents/INC-1",
                Some(json!({"status": "closed"})),
            )
            .await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(refused["error"]["code"], "invalid_transition", "{refused}");
        app.stop().await;
    }
);

both_backends!(
    text_with_a_nul_is_refused_everywhere,
    |app: TestApp| async move {
        let (status, body) = app
            .post("/api/v1/incidents", json!({"title": "nul\u{0}here"}))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        app.declare(json!({"title": "Clean"})).await;
        let (status, _) = app
            .post(
                "/api/v1/incidents/INC-1/timeline",
                json!({"text": "a\u{0}"}),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        let service = json!({"name": "svc\u{0}"});
        let (status, _) = app
            .call(&app.admin, Method::POST, "/api/v1/services", Some(service))
            .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "not a 500 on PostgreSQL"
        );
        // An escaped backslash followed by u0000 is ordinary text.
        let (status, _) = app
            .post(
                "/api/v1/incidents/INC-1/timeline",
                json!({"text": "C:\\u0000"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
        app.stop().await;
    }
);

/// Settings holding every kind of secret.
fn with_secrets(settings: &mut firebreak_server::Settings) {
    use firebreak_server::settings::Secret;
    settings.smtp.password = Some(Secret::new("smtp-hunter2"));
    settings.trackers.github.token = Secret::new("ghp-hunter2");
    settings.trackers.jira.token = Secret::new("jira-hunter2");
    settings.targets = vec![firebreak_server::settings::workflow::TargetSettings {
        name: "ops".into(),
        webhook_url: Some("https://hooks.example/ops".into()),
        webhook_secret: Secret::new("whsec-hunter2"),
        email: vec![],
    }];
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_never_show_their_secrets() {
    let app = TestApp::spawn_with(crate::helpers::Backend::Sqlite, with_secrets)
        .await
        .unwrap();
    let debug = format!("{:?}", app.settings);
    let (cookie, _) = app.session("admin@test.example").await;
    let (status, page) = app.page(&cookie, "/settings").await;
    assert_eq!(status, StatusCode::OK);
    for shown in [&debug, &page] {
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("•••"));
    }
    app.stop().await;
}

both_backends!(
    pages_are_served_with_security_headers,
    |app: TestApp| async move {
        let page = app
            .http
            .get(format!("{}/login", app.base))
            .send()
            .await
            .unwrap();
        let headers = page.headers();
        let policy = headers["content-security-policy"].to_str().unwrap();
        assert!(
            policy.contains("script-src 'self'") && !policy.contains("unsafe-eval"),
            "{policy}"
        );
        assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["referrer-policy"], "no-referrer");
        assert_eq!(headers["x-frame-options"], "DENY");
        let api = app
            .http
            .get(format!("{}/api/v1/incidents", app.base))
            .bearer_auth(&app.read)
            .send()
            .await
            .unwrap();
        assert_eq!(api.headers()["x-content-type-options"], "nosniff");
        app.stop().await;
    }
);

both_backends!(
    every_api_error_is_json_and_the_document_says_so,
    |app: TestApp| async move {
        let json_error = |response: reqwest::Response| async move {
            let status = response.status();
            let kind = response
                .headers()
                .get("content-type")
                .map(|it| it.to_str().unwrap().to_string());
            let body: Value = response.json().await.unwrap_or(Value::Null);
            assert_eq!(kind.as_deref(), Some("application/json"), "{status}");
            assert!(body["error"]["request_id"].is_string(), "{body}");
            (
                status,
                body["error"]["code"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        };
        let send = |method: Method, path: &str| {
            app.http
                .request(method, format!("{}{path}", app.base))
                .bearer_auth(&app.admin)
        };
        let (status, _) = json_error(
            send(Method::GET, "/api/v1/incidents/%ff")
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert!(
            status == StatusCode::BAD_REQUEST || status == StatusCode::NOT_FOUND,
            "{status}"
        );
        let (status, code) = json_error(
            send(Method::DELETE, "/api/v1/incidents")
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed")
        );
        let big = format!("{{\"x\": \"{}\"}}", "a".repeat(300 * 1024));
        let response = app
            .http
            .post(format!("{}/v2/enqueue", app.base))
            .header("content-type", "application/json")
            .body(big)
            .send()
            .await
            .unwrap();
        let (status, _) = json_error(response).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        for limit in ["0", "-1", "201"] {
            let (status, _) = app.get(&format!("/api/v1/incidents?limit={limit}")).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "limit={limit}");
        }
        let (_, document) = app.get("/api/v1/openapi.json").await;
        for (path, operations) in document["paths"].as_object().unwrap() {
            for (method, operation) in operations.as_object().unwrap() {
                for parameter in operation["parameters"].as_array().into_iter().flatten() {
                    let name = parameter["name"].as_str().unwrap();
                    let in_path = path.contains(&format!("{{{name}}}"));
                    assert_eq!(parameter["in"] == "path", in_path, "{method} {path} {name}");
                }
                if operation.get("security").is_some() {
                    assert!(
                        operation["responses"].get("401").is_some(),
                        "{method} {path}"
                    );
                }
                if operation.get("requestBody").is_some() {
                    assert!(
                        operation["responses"].get("415").is_some(),
                        "{method} {path}"
                    );
                }
            }
        }
        let schemas = document["components"]["schemas"].as_object().unwrap();
        assert!(
            schemas.contains_key("FollowupPatchBody")
                && schemas.contains_key("NotificationRuleBody")
        );
        app.stop().await;
    }
);
