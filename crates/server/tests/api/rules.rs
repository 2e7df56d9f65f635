//! Workflow rules end to end: the default rules on a major incident add the playbook, set the
//! cadence, freeze deploys, require roles and notify the announcement target by webhook and
//! by email (a real SMTP server) — each once, even across a restart.

use firebreak_server::settings::TargetSettings;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp};
use crate::smtp::SmtpServer;
use crate::webhooks::{SECRET, start_receiver};

async fn kinds(app: &TestApp, key: &str) -> Vec<String> {
    let (_, timeline) = app.get(&format!("/api/v1/incidents/{key}/timeline")).await;
    timeline["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|it| it["kind"].as_str().unwrap().to_string())
        .collect()
}

fn count(kinds: &[String], kind: &str) -> usize {
    kinds.iter().filter(|it| *it == kind).count()
}

async fn default_rules(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let (hook_url, mut received) = start_receiver(0).await;
    let defaults = firebreak_server::Settings::default();
    let Some(app) = TestApp::spawn_with(backend, |settings| {
        // Workers are driven step by step below, so "once" is counted exactly.
        settings.workers = false;
        settings.rules = defaults.rules.clone();
        settings.playbooks = defaults.playbooks.clone();
        settings.targets = vec![TargetSettings {
            name: "announcements".into(),
            webhook_url: Some(hook_url.clone()),
            webhook_secret: SECRET.into(),
            email: vec!["everyone@test.example".into()],
        }];
        settings.smtp.host = "127.0.0.1".into();
        settings.smtp.port = smtp.port;
        settings.public_url = "https://firebreak.test.example".into();
    })
    .await
    else {
        return;
    };
    let before = firebreak_store::clock::now();
    let major = app
        .declare(json!({"title": "Checkout is down", "severity": "major", "summary": "Card payments fail"}))
        .await;
    // The playbook, the cadence, the freeze and the required roles, at once.
    assert_eq!(major["playbooks"], json!(["serious incident"]));
    assert_eq!(major["tasks"].as_array().unwrap().len(), 11);
    assert_eq!(major["cadence_minutes"], 60);
    let due: jiff::Timestamp = major["next_update_due"].as_str().unwrap().parse().unwrap();
    let minutes = due.duration_since(before).as_mins();
    assert!(
        (59..=60).contains(&minutes),
        "first update due in an hour, got {minutes}"
    );
    assert!(major["deploy_freeze"].is_object(), "{major}");
    assert_eq!(major["missing_roles"], json!(["lead", "comms"]));
    let (_, freeze) = app.get("/api/v1/freeze").await;
    assert_eq!(freeze["frozen"], true);
    let timeline = kinds(&app, "INC-1").await;
    assert_eq!(
        timeline,
        [
            "declared",
            "rule_fired",
            "playbook_added",
            "cadence_set",
            "freeze_started",
            "roles_required"
        ]
    );
    let (_, events) = app.get("/api/v1/incidents/INC-1/timeline").await;
    let fired = &events["items"][1];
    assert_eq!(fired["actor"], "firebreak");
    assert_eq!(fired["body"]["rule"], "serious incident");
    assert_eq!(fired["body"]["trigger"], "declared");
    assert_eq!(fired["body"]["notify"], json!(["announcements"]));

    // A restart before anything was sent: nothing is lost and nothing fires again.
    let app = app.restart().await;
    let step = crate::webhooks::manual_worker(&app)
        .run_once(firebreak_store::clock::now())
        .await
        .unwrap();
    assert_eq!(step.delivered, 2, "{step:?}");
    let hook = received.try_recv().expect("the webhook target was called");
    assert!(hook.signature_ok);
    assert_eq!(hook.body["target"], "announcements");
    assert_eq!(hook.body["kind"], "rule_fired");
    assert_eq!(
        hook.body["subject"],
        "[INC-1 · major] Checkout is down — declared"
    );
    assert!(
        hook.body["text"]
            .as_str()
            .unwrap()
            .contains("https://firebreak.test.example/incidents/INC-1"),
        "{}",
        hook.body["text"]
    );
    let mail = smtp.messages();
    assert_eq!(mail.len(), 1, "{mail:?}");
    assert!(mail[0].contains("To: everyone@test.example"), "{}", mail[0]);
    assert!(
        mail[0].contains("Subject: [INC-1 =?utf-8?") || mail[0].contains("Subject: [INC-1"),
        "{}",
        mail[0]
    );
    assert!(mail[0].contains("Card payments fail"), "{}", mail[0]);

    // Another restart and more worker steps: still exactly once.
    let app = app.restart().await;
    let again = crate::webhooks::manual_worker(&app)
        .run_once(firebreak_store::clock::now())
        .await
        .unwrap();
    assert_eq!(again.delivered + again.failed, 0, "{again:?}");
    assert!(received.try_recv().is_err());
    assert_eq!(smtp.messages().len(), 1);
    let timeline = kinds(&app, "INC-1").await;
    for kind in [
        "rule_fired",
        "playbook_added",
        "freeze_started",
        "cadence_set",
    ] {
        assert_eq!(count(&timeline, kind), 1, "{kind} in {timeline:?}");
    }
    let (_, sent) = app.get("/api/v1/incidents/INC-1/notifications").await;
    let sent = sent.as_array().unwrap();
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert!(sent.iter().all(|it| it["status"] == "sent"), "{sent:?}");

    // A minor incident matches no rule; raising it to critical fires the rule once more
    // (and announces the raise), resolving a major one announces the all-clear.
    app.declare(json!({"title": "Slow search", "severity": "minor"}))
        .await;
    assert_eq!(kinds(&app, "INC-2").await, ["declared"]);
    let (status, raised) = app
        .call(
            &app.write,
            Method::PATCH,
            "/api/v1/incidents/INC-2",
            Some(json!({"severity": "critical"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{raised}");
    assert_eq!(raised["incident"]["cadence_minutes"], 30);
    let (status, _) = app
        .call(
            &app.write,
            Method::PATCH,
            "/api/v1/incidents/INC-1",
            Some(json!({"status": "resolved"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let resolved = kinds(&app, "INC-1").await;
    assert_eq!(count(&resolved, "rule_fired"), 2, "{resolved:?}");
    assert_eq!(count(&resolved, "freeze_ended"), 1, "{resolved:?}");
    crate::webhooks::manual_worker(&app)
        .run_once(firebreak_store::clock::now())
        .await
        .unwrap();
    let subjects: Vec<String> = smtp
        .messages()
        .iter()
        .filter_map(|it| it.lines().find(|line| line.starts_with("Subject:")))
        .map(String::from)
        .collect();
    assert_eq!(subjects.len(), 3, "{subjects:?}");
    let mut hooks = Vec::new();
    while let Ok(it) = received.try_recv() {
        hooks.push(it.body["subject"].as_str().unwrap().to_string());
    }
    hooks.sort();
    assert_eq!(
        hooks,
        [
            "[INC-1 · major] Checkout is down — resolved",
            "[INC-2 · critical] Slow search — severity raised",
        ]
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_rules_sqlite() {
    default_rules(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_rules_postgres() {
    default_rules(Backend::Postgres).await;
}

/// The workflow in effect is readable, without secrets; admins add playbooks and rules
/// through the API, checked like the settings file, live at once and after a restart.
async fn workflow_api(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |settings| {
        let defaults = firebreak_server::Settings::default();
        settings.rules = defaults.rules;
        settings.targets[0].webhook_url = Some("http://127.0.0.1:9/hook".into());
        settings.targets[0].webhook_secret = "do-not-show".into();
    })
    .await
    else {
        return;
    };
    let (status, workflow) = app.get("/api/v1/workflow").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(workflow["rules"][0]["name"], "serious incident");
    assert_eq!(workflow["rules"][0]["source"], "config");
    assert_eq!(
        workflow["rules"][0]["when"],
        json!(["declared", "severity_raised", "reopened"])
    );
    assert_eq!(workflow["rules"][0]["if"]["severity_at_least"], "major");
    assert_eq!(workflow["rules"][0]["then"]["freeze_deploys"], true);
    assert_eq!(workflow["targets"][0]["name"], "announcements");
    assert!(!workflow.to_string().contains("do-not-show"));
    let (status, _) = app
        .call("", Method::GET, "/api/v1/workflow", None::<Value>)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // A playbook and a rule that adds it to security incidents, made by an admin.
    let put = |path: &str, body: Value| {
        let app = &app;
        let path = format!("/api/v1/workflow/{path}");
        async move { app.call(&app.admin, Method::PUT, &path, Some(body)).await }
    };
    let playbook = json!({"tasks": [{"title": "Rotate the leaked credentials", "role": "lead", "due_minutes": 15}]});
    let (status, body) = put("playbooks/security", playbook.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, _) = put("playbooks/security", playbook.clone()).await;
    assert_eq!(status, StatusCode::OK, "replacing is 200");
    let rule = json!({
        "when": ["declared"],
        "if": {"types": ["security"]},
        "then": {"add_playbooks": ["security"], "set_cadence_minutes": 20},
    });
    let (status, body) = put("rules/security", rule.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // Only admins; the file's own rules are managed there; a bad rule is a clear 422.
    let (status, _) = app
        .call(
            &app.write,
            Method::PUT,
            "/api/v1/workflow/rules/x",
            Some(rule.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = put("rules/serious incident", rule.clone()).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["code"], "managed_in_config");
    let (status, body) = put(
        "rules/broken",
        json!({"when": ["declard"], "then": {"freeze_deploys": true}}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("unknown trigger \"declard\""),
        "{body}"
    );
    let (status, body) = put(
        "rules/broken",
        json!({"when": ["declared"], "then": {"notify": ["nowhere"]}}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = put(
        "rules/broken",
        json!({"when": ["declared"], "then": {"explode": true}}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (_, workflow) = app.get("/api/v1/workflow").await;
    let names: Vec<(&str, &str)> = workflow["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|it| (it["name"].as_str().unwrap(), it["source"].as_str().unwrap()))
        .collect();
    assert_eq!(
        names,
        [
            ("serious incident", "config"),
            ("all-clear", "config"),
            ("security", "api")
        ]
    );

    // On PostgreSQL every other replica hears of the change (this test's own store handle is
    // one) and rebuilds its rules.
    if backend == Backend::Postgres {
        let mut heard = false;
        for _ in 0..100 {
            if app
                .store
                .catalog()
                .rules
                .iter()
                .any(|it| it.name == "security")
            {
                heard = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert!(heard, "the other replica did not reload the rules");
    }

    // The new rule runs at once…
    let incident = app
        .declare(json!({"title": "Leaked key", "severity": "minor", "type": "security"}))
        .await;
    assert_eq!(incident["playbooks"], json!(["security"]));
    assert_eq!(incident["cadence_minutes"], 20);
    // …and after a restart, read back from the database.
    let app = app.restart().await;
    let incident = app
        .declare(json!({"title": "Another leaked key", "severity": "minor", "type": "security"}))
        .await;
    assert_eq!(incident["playbooks"], json!(["security"]));

    // A playbook a rule still uses cannot go; without the rule it can.
    let delete = |path: &str| {
        let app = &app;
        let path = format!("/api/v1/workflow/{path}");
        async move { app.call(&app.admin, Method::DELETE, &path, None).await }
    };
    let (status, body) = delete("playbooks/security").await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(delete("rules/security").await.0, StatusCode::NO_CONTENT);
    assert_eq!(delete("playbooks/security").await.0, StatusCode::NO_CONTENT);
    assert_eq!(delete("playbooks/security").await.0, StatusCode::NOT_FOUND);
    let incident = app
        .declare(json!({"title": "Third leaked key", "severity": "minor", "type": "security"}))
        .await;
    assert_eq!(incident["playbooks"], json!([]));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workflow_api_sqlite() {
    workflow_api(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workflow_api_postgres() {
    workflow_api(Backend::Postgres).await;
}

/// The Workflow page: admins see the rules and make their own from forms; others may not.
async fn workflow_page(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |settings| {
        settings.rules = firebreak_server::Settings::default().rules;
        settings.targets[0].webhook_url = Some("http://127.0.0.1:9/hook".into());
        settings.targets[0].webhook_secret = "target-secret-xyz".into();
        settings.smtp.password = Some("smtp-password-xyz".into());
    })
    .await
    else {
        return;
    };
    let (cookie, csrf) = app.session("admin@test.example").await;
    let (status, html) = app.page(&cookie, "/workflow").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("serious incident") && html.contains("settings file"));
    // Neither page shows a secret.
    let (_, settings_page) = app.page(&cookie, "/settings").await;
    for page in [&html, &settings_page] {
        assert!(!page.contains("target-secret-xyz") && !page.contains("smtp-password-xyz"));
    }
    assert!(
        settings_page.contains("smtp.host"),
        "the settings page lists smtp"
    );
    let response = app
        .form(
            &cookie,
            "/workflow/playbooks",
            &[
                ("csrf", &csrf),
                ("name", "security"),
                ("type:security", "on"),
                (
                    "tasks",
                    "Rotate the leaked credentials | lead | 15\nReview access logs",
                ),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let response = app
        .form(
            &cookie,
            "/workflow/rules",
            &[
                ("csrf", &csrf),
                ("name", "security"),
                ("when:declared", "on"),
                ("type:security", "on"),
                ("add_matching_playbooks", "on"),
                ("cadence", "minutes"),
                ("cadence_minutes", "20"),
                ("notify:announcements", "on"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, workflow) = app.get("/api/v1/workflow").await;
    let rule = workflow["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|it| it["name"] == "security")
        .unwrap()
        .clone();
    assert_eq!(rule["source"], "api");
    assert_eq!(rule["if"]["types"], json!(["security"]));
    assert_eq!(rule["then"]["set_cadence_minutes"], 20);
    assert_eq!(rule["then"]["notify"], json!(["announcements"]));
    let playbook = workflow["playbooks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|it| it["name"] == "security")
        .unwrap()
        .clone();
    assert_eq!(playbook["tasks"][0]["due_minutes"], 15);
    assert_eq!(playbook["tasks"][1]["title"], "Review access logs");
    // The edit form comes back filled.
    let (_, html) = app.page(&cookie, "/workflow?rule=security").await;
    assert!(html.contains("Change rule “security”"), "{html}");
    // A bad task line is a clear error, and nothing is stored.
    let response = app
        .form(
            &cookie,
            "/workflow/playbooks",
            &[
                ("csrf", &csrf),
                ("name", "broken"),
                ("tasks", "Call | lead | soon"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let (_, workflow) = app.get("/api/v1/workflow").await;
    assert!(!workflow.to_string().contains("broken"));
    // Deleting from the page; a responder may not even look.
    let response = app
        .form(
            &cookie,
            "/workflow/rules/security/delete",
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (cookie, _) = app.session("writer@test.example").await;
    let (status, _) = app.page(&cookie, "/workflow").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workflow_page_sqlite() {
    workflow_page(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workflow_page_postgres() {
    workflow_page(Backend::Postgres).await;
}
