//! Follow-ups: created with a quick-pick due time, listed for everyone overdue first,
//! reminded once per stage (owner before due, owner when overdue, then the lead), done or
//! won't-do.

use firebreak_server::workers::ClockWorker;
use jiff::SignedDuration;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::both_backends;
use crate::helpers::TestApp;

both_backends!(followups_and_reminders, |app: TestApp| async move {
    app.declare(json!({"title": "Checkout is down", "severity": "major"}))
        .await;
    app.call(
        &app.write,
        Method::PUT,
        "/api/v1/incidents/INC-1/roles/lead",
        Some(json!({"user": "lead@test.example"})),
    )
    .await;
    let add = |body: serde_json::Value| {
        let app = &app;
        async move { app.post("/api/v1/incidents/INC-1/followups", body).await }
    };
    for bad in [
        json!({"title": "", "owner": "owner@test.example"}),
        json!({"title": "x", "owner": "nobody"}),
        json!({"title": "x", "owner": "owner@test.example", "due_in": "soon"}),
        json!({"title": "x", "owner": "owner@test.example", "kind": "magic"}),
    ] {
        assert_eq!(
            add(bad.clone()).await.0,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad}"
        );
    }
    let created_at = firebreak_store::clock::now();
    let (status, followup) = add(json!({
        "title": "Add a migration check to the deploy pipeline",
        "owner": "owner@test.example",
        "due_in": "48h",
        "kind": "process",
        "priority": "high",
    }))
    .await;
    assert_eq!(status, StatusCode::CREATED, "{followup}");
    let id = followup["id"].as_str().unwrap().to_string();
    add(json!({"title": "Later", "owner": "owner@test.example", "due_in": "1w"})).await;
    let (_, list) = app.get("/api/v1/followups").await;
    assert_eq!(list[0]["id"], id, "the earliest due first");

    let clock = ClockWorker {
        store: app.store.clone(),
    };
    let at = |hours: i64| created_at + SignedDuration::from_hours(hours);
    let reminders = || async {
        app.store
            .incident_notifications(&format!("followup:{id}"))
            .await
            .unwrap()
            .into_iter()
            .map(|it| (it.seq, it.address))
            .collect::<Vec<_>>()
    };
    clock.run_once(at(10)).await.unwrap();
    assert_eq!(reminders().await, vec![]);
    clock.run_once(at(30)).await.unwrap();
    clock.run_once(at(31)).await.unwrap();
    assert_eq!(
        reminders().await,
        vec![(1, "owner@test.example".to_string())]
    );
    clock.run_once(at(49)).await.unwrap();
    clock.run_once(at(50)).await.unwrap();
    assert_eq!(reminders().await.len(), 2);
    assert_eq!(reminders().await[1], (2, "owner@test.example".to_string()));
    clock.run_once(at(73)).await.unwrap();
    clock.run_once(at(100)).await.unwrap();
    let sent = reminders().await;
    assert_eq!(sent.len(), 3, "{sent:?}");
    assert_eq!(
        sent[2],
        (3, "lead@test.example".to_string()),
        "then the lead"
    );

    // Done: nothing more; won't-do is an explicit, recorded choice.
    let (status, done) = app
        .call(
            &app.write,
            Method::PATCH,
            &format!("/api/v1/followups/{id}"),
            Some(json!({"status": "done"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert!(done["done_at"].is_string());
    let (_, open) = app.get("/api/v1/followups").await;
    assert_eq!(open.as_array().unwrap().len(), 1);
    let (_, all) = app.get("/api/v1/followups?status=all").await;
    assert_eq!(all.as_array().unwrap().len(), 2);
    let (status, _) = app
        .call(
            &app.write,
            Method::PATCH,
            "/api/v1/followups/nope",
            Some(json!({"status": "done"})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The page: add one from the post-mortem page's form, see it, mark it won't-do.
    let (cookie, csrf) = app.session("writer@test.example").await;
    let response = app
        .form(
            &cookie,
            "/incidents/INC-1/followups",
            &[
                ("csrf", &csrf),
                ("title", "Document the rollback"),
                ("owner", "owner@test.example"),
                ("due_in", "24h"),
                ("kind", "process"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (status, page) = app.page(&cookie, "/followups").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Document the rollback"), "{page}");
    let (_, open) = app.get("/api/v1/followups").await;
    let new_id = open
        .as_array()
        .unwrap()
        .iter()
        .find(|it| it["title"] == "Document the rollback")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let response = app
        .form(
            &cookie,
            &format!("/followups/{new_id}"),
            &[("csrf", &csrf), ("status", "wont_do")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, one) = app.get("/api/v1/incidents/INC-1/followups").await;
    let wont = one
        .as_array()
        .unwrap()
        .iter()
        .find(|it| it["id"] == new_id.as_str())
        .unwrap()
        .clone();
    assert_eq!(wont["status"], "wont_do");
});

/// Export to GitHub Issues and Jira, against mock servers that check the request shape and
/// the auth header; the status is read back (closed on GitHub → done here).
async fn export_to_trackers(backend: crate::helpers::Backend) {
    use wiremock::matchers::{basic_auth, bearer_token, body_partial_json, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let github = MockServer::start().await;
    let jira = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/platform/issues"))
        .and(bearer_token("gh-token"))
        .and(body_partial_json(json!({"title": "Add a migration check", "labels": ["follow-up"]})))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "number": 17, "html_url": "https://github.example/acme/platform/issues/17", "state": "open"})))
        .expect(1)
        .mount(&github)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/platform/issues/17"))
        .and(bearer_token("gh-token"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"number": 17, "state": "closed"})),
        )
        .mount(&github)
        .await;
    Mock::given(method("POST"))
        .and(path("/rest/api/3/issue"))
        .and(basic_auth("ops@test.example", "jira-token"))
        .and(body_partial_json(json!({"fields": {
            "project": {"key": "OPS"}, "summary": "Document the rollback", "issuetype": {"name": "Task"},
            "description": {"type": "doc", "version": 1}}})))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": "10001", "key": "OPS-12"})))
        .expect(1)
        .mount(&jira)
        .await;
    Mock::given(method("GET"))
        .and(path("/rest/api/3/issue/OPS-12"))
        .and(basic_auth("ops@test.example", "jira-token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "key": "OPS-12", "fields": {"status": {"statusCategory": {"key": "indeterminate"}}}})))
        .mount(&jira)
        .await;
    let (github_url, jira_url) = (github.uri(), jira.uri());
    let Some(app) = TestApp::spawn_with(backend, |settings| {
        settings.trackers.github.base_url = github_url.clone();
        settings.trackers.github.repo = "acme/platform".into();
        settings.trackers.github.token = "gh-token".into();
        settings.trackers.jira.base_url = jira_url.clone();
        settings.trackers.jira.email = "ops@test.example".into();
        settings.trackers.jira.token = "jira-token".into();
        settings.trackers.jira.project = "OPS".into();
        settings.workers = false;
    })
    .await
    else {
        return;
    };
    app.declare(json!({"title": "Checkout is down", "severity": "major"}))
        .await;
    let mut ids = Vec::new();
    for title in ["Add a migration check", "Document the rollback"] {
        let (_, created) = app
            .post(
                "/api/v1/incidents/INC-1/followups",
                json!({"title": title, "owner": "owner@test.example", "due_in": "72h"}),
            )
            .await;
        ids.push(created["id"].as_str().unwrap().to_string());
    }
    let export = |id: &str, to: &str| {
        let app = &app;
        let path = format!("/api/v1/followups/{id}/export");
        let body = json!({ "to": to });
        async move { app.post(&path, body).await }
    };
    let (status, exported) = export(&ids[0], "github").await;
    assert_eq!(status, StatusCode::OK, "{exported}");
    assert_eq!(
        exported["external_url"],
        "https://github.example/acme/platform/issues/17"
    );
    let (status, again) = export(&ids[0], "github").await;
    assert_eq!(status, StatusCode::CONFLICT, "{again}");
    // The second one from the follow-ups page, as a person would.
    let (cookie, csrf) = app.session("writer@test.example").await;
    let (_, page) = app.page(&cookie, "/followups").await;
    assert!(page.contains("Export to Jira"), "{page}");
    assert!(page.contains("https://github.example/acme/platform/issues/17"));
    let response = app
        .form(
            &cookie,
            &format!("/followups/{}", ids[1]),
            &[("csrf", &csrf), ("export", "jira")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, page) = app.page(&cookie, "/followups").await;
    assert!(page.contains("/browse/OPS-12\">tracked</a>"), "{page}");
    assert!(!page.contains("Export to Jira"), "nothing left to export");
    let (status, _) = export(&ids[1], "trello").await;
    assert_eq!(status, StatusCode::CONFLICT, "already exported comes first");
    // Reading the status back: the GitHub issue is closed, the Jira one is in progress.
    let worker = firebreak_server::followups::trackers::TrackerWorker {
        store: app.store.clone(),
        trackers: firebreak_server::followups::trackers::Trackers::from_settings(&app.settings)
            .unwrap(),
    };
    assert_eq!(
        worker
            .run_once(firebreak_store::clock::now())
            .await
            .unwrap(),
        1
    );
    let (_, list) = app.get("/api/v1/incidents/INC-1/followups").await;
    let status_of = |id: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|it| it["id"] == id)
            .unwrap()["status"]
            .clone()
    };
    assert_eq!(status_of(&ids[0]), "done");
    assert_eq!(status_of(&ids[1]), "open");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_to_trackers_sqlite() {
    export_to_trackers(crate::helpers::Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_to_trackers_postgres() {
    export_to_trackers(crate::helpers::Backend::Postgres).await;
}
