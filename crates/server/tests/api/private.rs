//! Private incidents on every read path — API list, get, search, timeline, verify, SSE,
//! webhooks and the UI pages — for a non-member, a member and an admin; and the audit.

use firebreak_core::token::Scope;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, TestApp, person_token};

const SECRET_WORD: &str = "zebrafish";

struct People {
    /// A responder who is not a member.
    nick: String,
    /// A responder who was added as a member.
    mia: String,
    /// A viewer who was added as a member: may read, not write.
    vera: String,
}

async fn setup(app: &TestApp) -> People {
    let nick = person_token(&app.store, "nick@test.example", "responder", Scope::Write).await;
    let mia = person_token(&app.store, "mia@test.example", "responder", Scope::Write).await;
    let vera = person_token(&app.store, "vera@test.example", "viewer", Scope::Read).await;
    // INC-1: private (security), declared by the admin.
    let (status, private) = app
        .call(
            &app.admin,
            Method::POST,
            "/api/v1/incidents",
            Some(json!({"title": "Leaked signing key", "type": "security"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(private["private"], true);
    assert_eq!(private["members"], json!(["admin@test.example"]));
    for member in ["mia@test.example", "vera@test.example"] {
        let (status, result) = app
            .call(
                &app.admin,
                Method::POST,
                "/api/v1/incidents/INC-1/members",
                Some(json!({"user": member})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{result}");
        assert_eq!(
            result["events"][0]["kind"], "member_added",
            "adding is an event"
        );
    }
    let (status, _) = app
        .call(
            &app.admin,
            Method::POST,
            "/api/v1/incidents/INC-1/members",
            Some(json!({"user": "nobody@test.example"})),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "members are people"
    );
    let (status, _) = app
        .call(
            &app.admin,
            Method::POST,
            "/api/v1/incidents/INC-1/timeline",
            Some(json!({"text": format!("key found by {SECRET_WORD} scanner")})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    // INC-2: public, with the same word in a note.
    app.declare(json!({"title": "Public checkout outage"}))
        .await;
    app.post(
        "/api/v1/incidents/INC-2/timeline",
        json!({"text": format!("{SECRET_WORD} dashboards are red")}),
    )
    .await;
    People { nick, mia, vera }
}

fn references(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|it| it["reference"].as_str().unwrap().to_string())
        .collect()
}

both_backends!(
    private_incidents_on_every_api_path,
    |app: TestApp| async move {
        let people = setup(&app).await;
        let id = {
            let (_, incident) = app
                .call(&app.admin, Method::GET, "/api/v1/incidents/INC-1", None)
                .await;
            incident["id"].as_str().unwrap().to_string()
        };
        // (who, sees the private incident)
        let callers = [
            ("non-member", people.nick.as_str(), false),
            ("member", people.mia.as_str(), true),
            ("viewer member", people.vera.as_str(), true),
            ("admin", app.admin.as_str(), true),
        ];
        for (who, token, sees) in callers {
            let (_, page) = app
                .call(token, Method::GET, "/api/v1/incidents", None)
                .await;
            let expected: Vec<&str> = if sees {
                vec!["INC-2", "INC-1"]
            } else {
                vec!["INC-2"]
            };
            assert_eq!(references(&page), expected, "{who}: list");
            let search = format!("/api/v1/incidents?q={SECRET_WORD}");
            let (status, page) = app.call(token, Method::GET, &search, None).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(references(&page), expected, "{who}: search");
            let private_only = "/api/v1/incidents?type=security";
            let (_, page) = app.call(token, Method::GET, private_only, None).await;
            assert_eq!(references(&page).len(), usize::from(sees), "{who}: filter");
            let visible = if sees {
                StatusCode::OK
            } else {
                StatusCode::NOT_FOUND
            };
            for path in [
                "/api/v1/incidents/INC-1".to_string(),
                format!("/api/v1/incidents/{id}"),
                "/api/v1/incidents/INC-1/timeline".to_string(),
                "/api/v1/incidents/INC-1/timeline/verify".to_string(),
            ] {
                let (status, body) = app.call(token, Method::GET, &path, None).await;
                assert_eq!(status, visible, "{who}: {path}");
                if !sees {
                    assert_eq!(body["error"]["code"], "not_found", "404, never 403");
                }
            }
            let response = app
                .http
                .get(format!("{}/api/v1/incidents/INC-1/events", app.base))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), visible, "{who}: SSE");
            drop(response);
        }

        // Writing is hidden the same way from non-members, and refused to viewers.
        let note = json!({"text": "let me in"});
        let (status, _) = app
            .call(
                &people.nick,
                Method::POST,
                "/api/v1/incidents/INC-1/timeline",
                Some(note.clone()),
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = app
            .call(
                &people.vera,
                Method::POST,
                "/api/v1/incidents/INC-1/timeline",
                Some(note.clone()),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _) = app
            .call(
                &people.mia,
                Method::POST,
                "/api/v1/incidents/INC-1/timeline",
                Some(note),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);

        // A live stream of the member receives what is appended.
        let response = app
            .http
            .get(format!("{}/api/v1/incidents/INC-1/events", app.base))
            .bearer_auth(&people.mia)
            .send()
            .await
            .unwrap();
        app.call(
            &app.admin,
            Method::POST,
            "/api/v1/incidents/INC-1/timeline",
            Some(json!({"text": "rotation done"})),
        )
        .await;
        let text = read_until(response, "rotation done").await;
        assert!(text.contains("event: note"));

        // Every read of the private incident was audited; the non-member's 404s were not reads.
        let (status, _) = app
            .call(
                &people.mia,
                Method::GET,
                "/api/v1/audit/private-reads",
                None,
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "the audit is for admins");
        let (status, reads) = app
            .call(
                &app.admin,
                Method::GET,
                "/api/v1/audit/private-reads?incident=INC-1&limit=1000",
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        let reads = reads.as_array().unwrap();
        let seen = |actor: &str, what: &str| {
            reads
                .iter()
                .any(|it| it["actor"] == actor && it["what"] == what && it["reference"] == "INC-1")
        };
        for what in [
            "list",
            "search",
            "GET incident",
            "GET timeline",
            "verify timeline",
            "live events",
        ] {
            assert!(seen("mia@test.example", what), "mia: {what} audited");
        }
        assert!(seen("admin@test.example", "GET incident"));
        assert!(
            !reads.iter().any(|it| it["actor"] == "nick@test.example"),
            "nothing was read by the non-member"
        );
        app.stop().await;
    }
);

/// Reads an SSE response until `needle` appears; returns everything read.
async fn read_until(mut response: reqwest::Response, needle: &str) -> String {
    let mut text = String::new();
    while !text.contains(needle) {
        let chunk = tokio::time::timeout(std::time::Duration::from_secs(20), response.chunk())
            .await
            .expect("an event within the deadline")
            .unwrap()
            .expect("stream open");
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    text
}

both_backends!(private_incidents_on_every_page, |app: TestApp| async move {
    setup(&app).await;
    // (who, email, sees)
    let people = [
        ("non-member", "nick@test.example", false),
        ("member", "mia@test.example", true),
        ("admin", "admin@test.example", true),
    ];
    for (who, email, sees) in people {
        let (cookie, _) = app.session(email).await;
        for path in ["/", "/incidents", &format!("/incidents?q={SECRET_WORD}")] {
            let (status, html) = app.page(&cookie, path).await;
            assert_eq!(status, StatusCode::OK, "{who}: {path}");
            assert!(html.contains("INC-2"), "{who}: {path} shows the public one");
            assert_eq!(html.contains("INC-1"), sees, "{who}: {path}");
            assert_eq!(html.contains("Leaked signing key"), sees, "{who}: {path}");
        }
        let visible = if sees {
            StatusCode::OK
        } else {
            StatusCode::NOT_FOUND
        };
        for path in [
            "/incidents/INC-1",
            "/incidents/INC-1/head",
            "/incidents/INC-1/print",
            "/incidents/INC-1/export.md",
            "/incidents/INC-1/export.json",
        ] {
            let (status, html) = app.page(&cookie, path).await;
            assert_eq!(status, visible, "{who}: {path}");
            assert_eq!(html.contains("Leaked signing key"), sees, "{who}: {path}");
        }
        let response = crate::helpers::no_redirects()
            .get(format!("{}/incidents/INC-1/live?after=0", app.base))
            .header("Cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), visible, "{who}: live timeline");
    }
    // The room's forms act only for those who see it.
    let (cookie, csrf) = app.session("nick@test.example").await;
    let response = app
        .form(
            &cookie,
            "/incidents/INC-1/note",
            &[("csrf", &csrf), ("text", "hi")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let (status, reads) = app
        .call(
            &app.admin,
            Method::GET,
            "/api/v1/audit/private-reads?limit=1000",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let whats: Vec<&str> = reads
        .as_array()
        .unwrap()
        .iter()
        .filter(|it| it["actor"] == "mia@test.example")
        .map(|it| it["what"].as_str().unwrap())
        .collect();
    for what in [
        "dashboard",
        "list",
        "search",
        "incident room",
        "print view",
        "export markdown",
        "export json",
        "live timeline",
    ] {
        assert!(whats.contains(&what), "mia: {what} audited, got {whats:?}");
    }
    let (cookie, _) = app.session("admin@test.example").await;
    let (status, html) = app.page(&cookie, "/audit").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("incident room") && html.contains("INC-1"));
    app.stop().await;
});

async fn webhooks_without_private_see_nothing_private(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |settings| settings.workers = false).await else {
        return;
    };
    let (public_url, mut public_seen) = crate::webhooks::start_receiver(0).await;
    let (private_url, mut private_seen) = crate::webhooks::start_receiver(0).await;
    crate::webhooks::create_hook(&app, &public_url, json!({})).await;
    crate::webhooks::create_hook(&app, &private_url, json!({"include_private": true})).await;
    setup(&app).await;
    let worker = crate::webhooks::manual_worker(&app);
    crate::webhooks::drain(&worker, 50).await;
    let mut public_refs = Vec::new();
    while let Ok(received) = public_seen.try_recv() {
        public_refs.push(
            received.body["event"]["incident_reference"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let mut private_refs = Vec::new();
    while let Ok(received) = private_seen.try_recv() {
        private_refs.push(
            received.body["event"]["incident_reference"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    assert!(
        !public_refs.is_empty() && public_refs.iter().all(|it| it == "INC-2"),
        "{public_refs:?}"
    );
    assert!(
        private_refs.contains(&"INC-1".to_string()),
        "{private_refs:?}"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_without_private_see_nothing_private_sqlite() {
    webhooks_without_private_see_nothing_private(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_without_private_see_nothing_private_postgres() {
    webhooks_without_private_see_nothing_private(Backend::Postgres).await;
}
