//! Post-mortems: drafted from the timeline when the incident resolves (by the clock worker),
//! durations from the named timestamps, revisions with diffs and a stale-save refusal, the
//! blameless check, draft → in review → published, exports, and the page.

use firebreak_server::workers::ClockWorker;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::TestApp;

// The test steps the clock worker itself: the server's own, ticking in the background, could
// draft the post-mortem between the resolve and the check that there is none yet.
both_backends!(
    postmortem_lifecycle,
    configure = |settings: &mut firebreak_server::Settings| settings.workers = false,
    |app: TestApp| async move {
        app.declare(json!({"title": "Checkout is down", "severity": "major", "summary": "Card payments failed."}))
        .await;
        app.call(
            &app.write,
            Method::PUT,
            "/api/v1/incidents/INC-1/roles/lead",
            Some(json!({"user": "writer@test.example"})),
        )
        .await;
        app.post(
            "/api/v1/incidents/INC-1/updates",
            json!({"message": "Rolling back release 42", "status": "identified"}),
        )
        .await;
        let (status, _) = app
            .call(
                &app.write,
                Method::PATCH,
                "/api/v1/incidents/INC-1",
                Some(json!({"status": "resolved"})),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        // No post-mortem until the clock worker's step drafts it — once.
        assert_eq!(
            app.get("/api/v1/incidents/INC-1/postmortem").await.0,
            StatusCode::NOT_FOUND
        );
        let clock = ClockWorker {
            store: app.store.clone(),
        };
        clock.run_once(firebreak_store::clock::now()).await.unwrap();
        clock.run_once(firebreak_store::clock::now()).await.unwrap();
        let (status, pm) = app.get("/api/v1/incidents/INC-1/postmortem").await;
        assert_eq!(status, StatusCode::OK, "{pm}");
        assert_eq!(pm["status"], "draft");
        assert_eq!(pm["revision"], 1);
        let body = pm["body"].as_str().unwrap().to_string();
        // The durations come from the incident's named timestamps.
        let (_, incident) = app.get("/api/v1/incidents/INC-1").await;
        let at = |name: &str| -> jiff::Timestamp {
            incident["timestamps"][name]["observed"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap()
        };
        let duration = at("resolved").duration_since(at("declared"));
        let words = firebreak_core::postmortem::duration_words(duration);
        assert!(
            body.contains(&format!("**Duration (declared → resolved):** {words}")),
            "{body}"
        );
        for needle in [
            "Card payments failed.",
            "is now lead",
            "Status update · now identified: Rolling back release 42",
            "Status identified → resolved",
            "## Root cause and contributing factors",
        ] {
            assert!(body.contains(needle), "{needle:?} in\n{body}");
        }
        let (_, revisions) = app
            .get("/api/v1/incidents/INC-1/postmortem/revisions")
            .await;
        assert_eq!(revisions[0]["author"], "firebreak");

        // Editing makes revisions; a save from a stale revision is refused.
        let edited = format!(
            "{body}\nThe writer forgot to check the dashboard. It was human error.\n<script>alert(1)</script>\n"
        );
        let save = |text: String, base: i64| {
            let app = &app;
            async move {
                app.call(
                    &app.write,
                    Method::PUT,
                    "/api/v1/incidents/INC-1/postmortem",
                    Some(json!({"body": text, "base_revision": base})),
                )
                .await
            }
        };
        let (status, saved) = save(edited.clone(), 1).await;
        assert_eq!(status, StatusCode::OK, "{saved}");
        assert_eq!(saved["revision"], 2);
        let (status, stale) = save("x".into(), 1).await;
        assert_eq!(status, StatusCode::CONFLICT, "{stale}");
        let (status, _) = save("   ".into(), 2).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        // The blameless check: the lead by name, and "human error".
        let matched: Vec<&str> = saved["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|it| it["matched"].as_str().unwrap())
            .collect();
        assert_eq!(matched, ["writer forgot", "human error"]);
        // Revision 2 against 1: the added lines.
        let (_, detail) = app
            .get("/api/v1/incidents/INC-1/postmortem/revisions/2")
            .await;
        let added: Vec<&str> = detail["diff"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|it| it["change"] == "added")
            .map(|it| it["line"].as_str().unwrap())
            .collect();
        assert!(
            added.contains(&"The writer forgot to check the dashboard. It was human error."),
            "{added:?}"
        );

        // States: not straight to published; through review it is.
        let move_to = |status: &str| {
            let app = &app;
            let body = json!({ "status": status });
            async move {
                app.post("/api/v1/incidents/INC-1/postmortem/status", body)
                    .await
            }
        };
        app.call(
            &app.write,
            Method::PUT,
            "/api/v1/incidents/INC-1/stakeholders/cto@test.example",
            Some(json!({"mode": "passive"})),
        )
        .await;
        assert_eq!(move_to("published").await.0, StatusCode::CONFLICT);
        // In learning until the post-mortem is published and no follow-up is open.
        let patch_status = |status: &str| {
            let app = &app;
            let body = json!({ "status": status });
            async move {
                app.call(
                    &app.write,
                    Method::PATCH,
                    "/api/v1/incidents/INC-1",
                    Some(body),
                )
                .await
            }
        };
        assert_eq!(patch_status("learning").await.0, StatusCode::OK);
        app.post(
        "/api/v1/incidents/INC-1/followups",
        json!({"title": "Add a migration check", "owner": "writer@test.example", "due_in": "72h"}),
    )
    .await;
        let (status, refused) = patch_status("closed").await;
        assert_eq!(status, StatusCode::CONFLICT, "{refused}");
        assert_eq!(refused["error"]["code"], "not_ready_to_close");
        let message = refused["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("not published") && message.contains("1 follow-up"),
            "{message}"
        );
        assert_eq!(move_to("in_review").await.0, StatusCode::OK);
        let (status, published) = move_to("published").await;
        assert_eq!(status, StatusCode::OK);
        assert!(published["published_at"].is_string());
        // Publishing is on the timeline, and its stakeholders hear of it.
        let (_, timeline) = app.get("/api/v1/incidents/INC-1/timeline").await;
        let last = timeline["items"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()
            .clone();
        assert_eq!(last["kind"], "postmortem_published");
        assert!(
            last["body"]["url"]
                .as_str()
                .unwrap()
                .ends_with("/api/v1/incidents/INC-1/postmortem.html")
        );
        let (_, sent) = app.get("/api/v1/incidents/INC-1/notifications").await;
        let told: Vec<&str> = sent
            .as_array()
            .unwrap()
            .iter()
            .filter(|it| it["kind"] == "postmortem_published")
            .map(|it| it["address"].as_str().unwrap())
            .collect();
        assert_eq!(
            told,
            ["cto@test.example"],
            "even passive stakeholders hear of the post-mortem"
        );

        // Published; the follow-up accepted as won't-do: now it may close.
        let (_, followups) = app.get("/api/v1/incidents/INC-1/followups").await;
        let id = followups[0]["id"].as_str().unwrap().to_string();
        app.call(
            &app.write,
            Method::PATCH,
            &format!("/api/v1/followups/{id}"),
            Some(json!({"status": "wont_do"})),
        )
        .await;
        let (status, closed) = patch_status("closed").await;
        assert_eq!(status, StatusCode::OK, "{closed}");

        // Exports: the Markdown as saved, and a standalone HTML page without the script.
        let export = |path: &str| {
            let app = &app;
            let url = format!("{}/api/v1/incidents/INC-1/{path}", app.base);
            async move {
                app.http
                    .get(url)
                    .bearer_auth(&app.read)
                    .send()
                    .await
                    .unwrap()
                    .text()
                    .await
                    .unwrap()
            }
        };
        assert_eq!(export("postmortem.md").await, edited);
        let html = export("postmortem.html").await;
        assert!(
            html.contains("<h1>Post-mortem: INC-1 — Checkout is down</h1>"),
            "{html}"
        );
        assert!(!html.contains("<script>") && html.contains("&lt;script&gt;"));

        // The page: warnings, preview, and saving from the form.
        let (cookie, csrf) = app.session("writer@test.example").await;
        let (status, page) = app.page(&cookie, "/incidents/INC-1/postmortem").await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains("blame-warnings") && page.contains("human error"));
        let response = app
            .form(
                &cookie,
                "/incidents/INC-1/postmortem",
                &[
                    ("csrf", &csrf),
                    ("base_revision", "2"),
                    (
                        "body",
                        "# Rewritten\r\nThe deploy pipeline did not check for the migration.",
                    ),
                ],
            )
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let (_, pm) = app.get("/api/v1/incidents/INC-1/postmortem").await;
        assert_eq!(pm["revision"], 3);
        assert_eq!(pm["warnings"], json!([]));
        assert!(!pm["body"].as_str().unwrap().contains('\r'));
        let (status, diff) = app
            .page(&cookie, "/incidents/INC-1/postmortem/revisions/3")
            .await;
        assert_eq!(status, StatusCode::OK);
        assert!(diff.contains("d-added") && diff.contains("d-removed"));

        // On demand, for an incident still being worked on.
        app.declare(json!({"title": "Slow search", "severity": "minor"}))
            .await;
        assert_eq!(
            app.post("/api/v1/incidents/INC-2/postmortem", json!({}))
                .await
                .0,
            StatusCode::CREATED
        );
        assert_eq!(
            app.post("/api/v1/incidents/INC-2/postmortem", json!({}))
                .await
                .0,
            StatusCode::OK
        );
    }
);

// A published post-mortem goes to the status page in its customer-facing version: the
// summary, impact, root cause and actions, no internal timeline, no names.
both_backends!(postmortem_for_customers, |app: TestApp| async move {
    app.declare(json!({"title": "Checkout is down", "severity": "major"}))
        .await;
    app.declare(json!({"title": "Never public", "severity": "minor"}))
        .await;
    let (status, public) = app
        .post(
            "/api/v1/status/incidents",
            json!({"incident": "INC-1", "name": "Checkout errors",
                   "body": "We are investigating failed payments."}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{public}");
    let public_id = public["id"].as_str().unwrap().to_string();
    let body = "# Post-mortem: INC-1\n\n## Summary\n\nCard payments failed for 40 minutes.\n\n\
        ## Timeline\n\n- 09:02 ana@test.example paged the database team\n\n\
        ## Root cause and contributing factors\n\nA migration locked the orders table.\n\n\
        ## What went badly\n\n- The dashboard lagged\n\n\
        ## Action items\n\n| Action | Owner | Due | Kind |\n|---|---|---|---|\n\
        | Check migrations in CI | ana@test.example | 2026-12-01 | code |\n";
    for key in ["INC-1", "INC-2"] {
        app.post(&format!("/api/v1/incidents/{key}/postmortem"), json!({}))
            .await;
        let (status, saved) = app
            .call(
                &app.write,
                Method::PUT,
                &format!("/api/v1/incidents/{key}/postmortem"),
                Some(json!({"body": body, "base_revision": 1})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{saved}");
    }
    let share = |key: &'static str, body: Value| {
        let app = &app;
        async move {
            app.post(&format!("/api/v1/incidents/{key}/postmortem/share"), body)
                .await
        }
    };
    let (status, refused) = share("INC-1", json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert_eq!(refused["error"]["code"], "not_published");
    for key in ["INC-1", "INC-2"] {
        for state in ["in_review", "published"] {
            app.post(
                &format!("/api/v1/incidents/{key}/postmortem/status"),
                json!({ "status": state }),
            )
            .await;
        }
    }
    let (status, refused) = share("INC-2", json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert_eq!(refused["error"]["code"], "not_on_status_page");
    let (status, bad) = share("INC-1", json!({"body": "  "})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    let (status, shared) = share("INC-1", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{shared}");
    assert_eq!(shared["status"], "postmortem");
    // What the public sees, through the Statuspage-compatible JSON.
    let doc: Value = app
        .http
        .get(format!("{}/status/api/v2/incidents.json", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let incident = &doc["incidents"][0];
    assert_eq!(incident["status"], "postmortem");
    let text = incident["incident_updates"][0]["body"].as_str().unwrap();
    assert_eq!(
        text,
        "Summary\nCard payments failed for 40 minutes.\n\n\
         Root cause\nA migration locked the orders table.\n\n\
         What we are doing about it\n- Check migrations in CI"
    );
    // The page offers the customer version, says it is shared, and shares edited words.
    let (cookie, csrf) = app.session("writer@test.example").await;
    let (_, page) = app.page(&cookie, "/incidents/INC-1/postmortem").await;
    assert!(page.contains("id=\"share-done\""), "{page}");
    assert!(page.contains(&format!("/status/incidents/{public_id}")));
    let response = app
        .form(
            &cookie,
            "/incidents/INC-1/postmortem/share",
            &[
                ("csrf", &csrf),
                ("body", "A corrected summary.\r\nThanks for your patience."),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, page) = app.page(&cookie, "/incidents/INC-2/postmortem").await;
    assert!(page.contains("never on the status page"), "{page}");
    let (_, list) = app.get("/api/v1/status/incidents").await;
    let public = &list[0];
    assert_eq!(public["id"], public_id.as_str());
    let latest = public["updates"][0]["body"].as_str().unwrap_or_default();
    assert_eq!(
        latest, "A corrected summary.\nThanks for your patience.",
        "{public}"
    );
    // The internal timeline records what customers were told.
    let (_, timeline) = app.get("/api/v1/incidents/INC-1/timeline").await;
    let told = timeline["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|it| it["body"]["status"] == "postmortem")
        .count();
    assert_eq!(told, 2);
});

// The post-mortems page lists the incidents that are over with where each post-mortem
// stands, and only those the reader may see.
both_backends!(
    the_postmortems_page,
    configure = |settings: &mut firebreak_server::Settings| settings.workers = false,
    |app: TestApp| async move {
        let (status, _) = app
            .call(
                &app.admin,
                Method::POST,
                "/api/v1/incidents",
                Some(json!({"title": "Leaked signing key", "type": "security"})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
        app.declare(json!({"title": "Checkout is down", "severity": "major"}))
            .await;
        app.declare(json!({"title": "Still burning", "severity": "minor"}))
            .await;
        for (token, key) in [(&app.admin, "INC-1"), (&app.write, "INC-2")] {
            let path = format!("/api/v1/incidents/{key}");
            let (status, body) = app
                .call(
                    token,
                    Method::PATCH,
                    &path,
                    Some(json!({"status": "resolved"})),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
        }
        let (status, body) = app
            .post("/api/v1/incidents/INC-2/postmortem", json!({}))
            .await;
        assert!(status.is_success(), "{body}");

        let (cookie, _) = app.session("writer@test.example").await;
        let (status, page) = app.page(&cookie, "/postmortems").await;
        assert_eq!(status, StatusCode::OK);
        let row = page.split("id=\"pm-INC-2\"").nth(1).expect("INC-2 listed");
        let row = row.split("</tr>").next().unwrap();
        assert!(
            row.contains("Checkout is down") && row.contains(">draft<"),
            "{row}"
        );
        assert!(
            !page.contains("Still burning"),
            "a live incident is not over"
        );
        assert!(
            !page.contains("Leaked signing key") && !page.contains("pm-INC-1"),
            "a private incident stays hidden"
        );
        let (cookie, _) = app.session("admin@test.example").await;
        let (_, page) = app.page(&cookie, "/postmortems").await;
        let row = page
            .split("id=\"pm-INC-1\"")
            .nth(1)
            .expect("the admin sees INC-1");
        assert!(row.split("</tr>").next().unwrap().contains(">not started<"));
    }
);
