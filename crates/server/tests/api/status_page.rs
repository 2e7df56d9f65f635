//! The public status page: components, a published incident with its updates, the page, and
//! Statuspage v2 compatible JSON — shapes compared field for field with a fixture written from
//! the research document; served from memory, so it answers with the database gone.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, TestApp};

const FIXTURE: &str = include_str!("fixtures/statuspage-summary.json");

/// Fails unless `ours` has exactly the keys of `fixture` at every level, with the same JSON
/// types (`null` stands for "nullable"). Array elements are compared with the fixture element
/// of the same kind (a group with a group).
fn same_shape(fixture: &Value, ours: &Value, path: &str) {
    match (fixture, ours) {
        (Value::Object(f), Value::Object(o)) => {
            let mut fk: Vec<&String> = f.keys().collect();
            let mut ok: Vec<&String> = o.keys().collect();
            fk.sort();
            ok.sort();
            assert_eq!(fk, ok, "keys at {path}");
            for (key, value) in f {
                same_shape(value, &o[key], &format!("{path}.{key}"));
            }
        }
        (Value::Array(f), Value::Array(o)) => {
            for (idx, item) in o.iter().enumerate() {
                let model = f
                    .iter()
                    .find(|it| it.get("group") == item.get("group"))
                    .or(f.first());
                if let Some(model) = model {
                    same_shape(model, item, &format!("{path}[{idx}]"));
                }
            }
        }
        (Value::Null, _) | (_, Value::Null) => {}
        (Value::String(_), Value::String(_))
        | (Value::Number(_), Value::Number(_))
        | (Value::Bool(_), Value::Bool(_)) => {}
        (f, o) => panic!("type at {path}: fixture {f}, ours {o}"),
    }
}

async fn public(app: &TestApp, path: &str) -> (StatusCode, reqwest::header::HeaderMap, String) {
    let response = app
        .http
        .get(format!("{}{path}", app.base))
        .send()
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    (status, headers, response.text().await.unwrap())
}

async fn json_doc(app: &TestApp, path: &str) -> Value {
    let (status, _, body) = public(app, path).await;
    assert_eq!(status, StatusCode::OK, "{path}");
    serde_json::from_str(&body).unwrap()
}

async fn create(app: &TestApp, body: Value) -> Value {
    let (status, component) = app.post("/api/v1/status/components", body).await;
    assert_eq!(status, StatusCode::CREATED, "{component}");
    component
}

/// The research document's example page, built through the API.
async fn example_page(app: &TestApp) -> (String, String) {
    let regions = create(app, json!({"name": "Regions", "group": true})).await;
    let eu = create(
        app,
        json!({"name": "eu-west", "description": "Frankfurt", "group_id": regions["id"]}),
    )
    .await;
    create(
        app,
        json!({"name": "API", "description": "REST and GraphQL"}),
    )
    .await;
    let eu_id = eu["id"].as_str().unwrap().to_string();
    let (status, published) = app
        .post(
            "/api/v1/status/incidents",
            json!({
                "incident": "INC-1",
                "name": "Elevated error rates in eu-west",
                "impact": "minor",
                "body": "We are investigating elevated 5xx responses in eu-west.",
                "components": { eu_id.clone(): "major_outage" },
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{published}");
    let id = published["id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 12);
    let (status, updated) = app
        .post(
            &format!("/api/v1/status/incidents/{id}/updates"),
            json!({
                "status": "identified",
                "body": "A faulty load-balancer config was rolled back; error rates are falling.",
                "components": { eu_id.clone(): "partial_outage" },
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    (id, eu_id)
}

both_backends!(status_page_end_to_end, |app: TestApp| async move {
    // Before anything: an empty, operational page.
    let empty = json_doc(&app, "/status/api/v2/status.json").await;
    assert_eq!(
        empty["status"],
        json!({"indicator": "none", "description": "All Systems Operational"})
    );
    app.declare(json!({"title": "eu-west 5xx", "severity": "major"}))
        .await;
    // Bad input is a clear 422 and changes nothing.
    let bad = [
        json!({"name": ""}),
        json!({"name": "x", "status": "on_fire"}),
        json!({"name": "x", "group_id": "nope"}),
        json!({"name": "x", "colour": "red"}),
    ];
    for body in bad {
        let (status, error) = app.post("/api/v1/status/components", body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body} → {error}");
    }
    let (id, eu_id) = example_page(&app).await;
    let (status, error) = app
        .post(
            "/api/v1/status/incidents",
            json!({"name": "x", "body": "y", "components": {"nope": "major_outage"}}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    let (status, _) = app
        .call(
            &app.read,
            Method::POST,
            "/api/v1/status/components",
            Some(json!({"name": "x"})),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "viewers may not change the page"
    );

    // summary.json matches the fixture field for field, and its values follow the rules.
    let summary = json_doc(&app, "/status/api/v2/summary.json").await;
    let fixture: Value = serde_json::from_str(FIXTURE).unwrap();
    same_shape(&fixture, &summary, "summary");
    assert_eq!(summary["status"], fixture["status"]);
    let by_name = |name: &str| -> Value {
        summary["components"]
            .as_array()
            .unwrap()
            .iter()
            .find(|it| it["name"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(by_name("Regions")["status"], "partial_outage");
    assert_eq!(by_name("Regions")["components"], json!([eu_id]));
    assert_eq!(by_name("eu-west")["status"], "partial_outage");
    assert_eq!(by_name("API")["status"], "operational");
    let incident = &summary["incidents"][0];
    assert_eq!(incident["id"], id);
    assert_eq!(incident["status"], "identified");
    let updates = incident["incident_updates"].as_array().unwrap();
    assert_eq!(updates[0]["status"], "identified", "newest first");
    assert_eq!(
        updates[0]["affected_components"][0],
        json!({"code": eu_id, "name": "Regions - eu-west", "old_status": "major_outage", "new_status": "partial_outage"})
    );
    assert!(
        summary["page"]["updated_at"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    // Every v2 document has its envelope.
    for (path, key) in [
        ("status.json", "status"),
        ("components.json", "components"),
        ("incidents.json", "incidents"),
        ("incidents/unresolved.json", "incidents"),
        ("scheduled-maintenances.json", "scheduled_maintenances"),
        (
            "scheduled-maintenances/upcoming.json",
            "scheduled_maintenances",
        ),
        (
            "scheduled-maintenances/active.json",
            "scheduled_maintenances",
        ),
    ] {
        let doc = json_doc(&app, &format!("/status/api/v2/{path}")).await;
        same_shape(&fixture["page"], &doc["page"], path);
        assert!(!doc[key].is_null(), "{path}");
    }

    // The page: banner in words, the incident and its updates, components with uptime bars.
    let (status, headers, html) = public(&app, "/status").await;
    assert_eq!(status, StatusCode::OK);
    for needle in [
        "Minor Service Outage",
        "Elevated error rates in eu-west",
        "A faulty load-balancer config was rolled back",
        "Regions",
        "eu-west",
        "Partial outage",
        "uptime",
    ] {
        assert!(html.contains(needle), "{needle}");
    }
    // Cached by anyone, revalidated cheaply.
    let etag = headers["etag"].to_str().unwrap().to_string();
    assert!(
        headers["cache-control"]
            .to_str()
            .unwrap()
            .contains("stale-if-error")
    );
    let not_modified = app
        .http
        .get(format!("{}/status", app.base))
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(not_modified.status(), StatusCode::NOT_MODIFIED);
    let (_, headers, _) = public(&app, "/status/api/v2/summary.json").await;
    assert_eq!(headers["access-control-allow-origin"], "*");
    let (status, _, page) = public(&app, &format!("/status/incidents/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("We are investigating elevated 5xx responses"));
    assert_eq!(public(&app, "/status/nope").await.0, StatusCode::NOT_FOUND);
    // The archive by month.
    let month = firebreak_store::clock::now().strftime("%Y-%m").to_string();
    let (status, _, index) = public(&app, "/status/history").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        index.contains(&format!("/status/history/{month}")),
        "{index}"
    );
    let (status, _, archive) = public(&app, &format!("/status/history/{month}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(archive.contains("Elevated error rates in eu-west"));

    // Resolved, components back to operational: the page says so at once.
    let (status, _) = app
        .post(
            &format!("/api/v1/status/incidents/{id}/updates"),
            json!({"status": "resolved", "body": "Error rates are back to normal.", "components": {eu_id.clone(): "operational"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let status_doc = json_doc(&app, "/status/api/v2/status.json").await;
    assert_eq!(status_doc["status"]["indicator"], "none");
    let unresolved = json_doc(&app, "/status/api/v2/incidents/unresolved.json").await;
    assert_eq!(unresolved["incidents"], json!([]));
    let all = json_doc(&app, "/status/api/v2/incidents.json").await;
    assert_eq!(all["incidents"][0]["status"], "resolved");
    assert!(all["incidents"][0]["resolved_at"].is_string());
    let (_, _, html) = public(&app, "/status").await;
    assert!(html.contains("All Systems Operational"));
    assert!(
        html.contains("Error rates are back to normal."),
        "in the history"
    );
    // What customers were told is on the internal incident's timeline, word for word.
    let (_, timeline) = app.get("/api/v1/incidents/INC-1/timeline").await;
    let told: Vec<(String, String)> = timeline["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|it| it["kind"] == "status_page_updated")
        .map(|it| {
            (
                it["body"]["status"].as_str().unwrap().to_string(),
                it["body"]["body"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        told.iter().map(|it| it.0.as_str()).collect::<Vec<_>>(),
        ["investigating", "identified", "resolved"]
    );
    assert_eq!(told[2].1, "Error rates are back to normal.");
    // The API lists it with its link to the internal incident.
    let (_, list) = app.get("/api/v1/status/incidents").await;
    assert_eq!(list[0]["updates"].as_array().unwrap().len(), 3);
    assert!(list[0]["incident_id"].is_string());
});

/// With the database unreachable, the page and its JSON keep answering with the last content.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_survives_losing_the_database() {
    let Some(app) = TestApp::spawn(Backend::Postgres).await else {
        return;
    };
    app.declare(json!({"title": "eu-west 5xx", "severity": "major"}))
        .await;
    example_page(&app).await;
    let (_, before_headers, before) = public(&app, "/status/api/v2/summary.json").await;
    let (_, _, page_before) = public(&app, "/status").await;
    let name = app.database_url.rsplit('/').next().unwrap().to_string();
    let admin_url = app.database_url.replace(&format!("/{name}"), "/postgres");
    let admin = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(&admin_url)
        .await
        .unwrap();
    // Refuse new connections and cut the open ones: the database is gone for the server.
    for sql in [
        format!("ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS false"),
        format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()"
        ),
    ] {
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&admin)
            .await
            .unwrap();
    }
    let (status, _) = app.get("/api/v1/incidents").await;
    assert!(
        status.is_server_error(),
        "the API really lost its database: {status}"
    );
    let (status, headers, after) = public(&app, "/status/api/v2/summary.json").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(after, before);
    assert_eq!(headers["etag"], before_headers["etag"]);
    let (status, _, page_after) = public(&app, "/status").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page_after, page_before);
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS true"
    )))
    .execute(&admin)
    .await
    .unwrap();
}

/// What Python's feedparser (a real feed parser, installed by `scripts/test`) makes of a feed.
fn parse_feed(text: &str) -> Value {
    use std::io::Write;
    let python = std::env::var("FIREBREAK_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = "import sys, json, feedparser\n\
        d = feedparser.parse(sys.stdin.buffer.read())\n\
        print(json.dumps({'bozo': bool(d.bozo), 'error': str(d.get('bozo_exception', '')), 'version': d.version,\n\
          'title': d.feed.get('title'), 'entries': [{'title': e.get('title'), 'link': e.get('link'),\n\
          'id': e.get('id'), 'content': (e.get('content') or [{}])[0].get('value') or e.get('summary')} for e in d.entries]}))";
    let mut child = std::process::Command::new(&python)
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|err| panic!("cannot run {python}: {err}"));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "feedparser failed (is it installed? scripts/test installs it)"
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

both_backends!(feeds_are_valid_atom_and_rss, |app: TestApp| async move {
    app.declare(json!({"title": "eu-west 5xx", "severity": "major"}))
        .await;
    let (id, _) = example_page(&app).await;
    for (path, version, content_type) in [
        ("/status/history.atom", "atom10", "application/atom+xml"),
        ("/status/history.rss", "rss20", "application/rss+xml"),
    ] {
        let (status, headers, body) = public(&app, path).await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with(content_type)
        );
        let feed = parse_feed(&body);
        assert_eq!(feed["bozo"], false, "{path}: {}", feed["error"]);
        assert_eq!(feed["version"], version);
        assert_eq!(feed["title"], "Status - Incident History");
        let entries = feed["entries"].as_array().unwrap();
        assert_eq!(entries.len(), 1, "one entry per incident");
        assert_eq!(entries[0]["title"], "Elevated error rates in eu-west");
        assert!(
            entries[0]["link"]
                .as_str()
                .unwrap()
                .ends_with(&format!("/status/incidents/{id}"))
        );
        let content = entries[0]["content"].as_str().unwrap();
        // Every update, newest first, with its label.
        let identified = content.find("<strong>Identified</strong>").unwrap();
        let investigating = content.find("<strong>Investigating</strong>").unwrap();
        assert!(identified < investigating, "{content}");
    }
});

// A newcomer's path through the UI forms: add a component, publish the incident from its
// room, update and resolve it — each step visible on /status, in summary.json and the feed.
both_backends!(status_page_from_the_ui, |app: TestApp| async move {
    app.declare(json!({"title": "Card payments failing", "severity": "major"}))
        .await;
    let (cookie, csrf) = app.session("writer@test.example").await;
    let (status, html) = app.page(&cookie, "/status-page").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Add a component"));
    let response = app
        .form(
            &cookie,
            "/status-page/components",
            &[
                ("csrf", &csrf),
                ("name", "Checkout"),
                ("description", "Payments"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, components) = app.get("/api/v1/status/components").await;
    let checkout = components[0]["id"].as_str().unwrap().to_string();
    let field = format!("component:{checkout}");
    let steps = [
        (
            "investigating",
            "major_outage",
            "We are investigating failed card payments.",
        ),
        (
            "identified",
            "partial_outage",
            "A bad release; rolling it back.",
        ),
        ("resolved", "operational", "Card payments work again."),
    ];
    for (idx, (status, component, body)) in steps.iter().enumerate() {
        let response = if idx == 0 {
            // From the incident room's Status page panel.
            app.form(
                &cookie,
                "/status-page/incidents",
                &[
                    ("csrf", &csrf),
                    ("incident", "INC-1"),
                    ("name", "Card payments failing"),
                    ("impact", "major"),
                    ("body", body),
                    (&field, component),
                ],
            )
            .await
        } else {
            let (_, list) = app.get("/api/v1/status/incidents").await;
            let id = list[0]["id"].as_str().unwrap().to_string();
            app.form(
                &cookie,
                &format!("/status-page/incidents/{id}/updates"),
                &[
                    ("csrf", &csrf),
                    ("status", status),
                    ("body", body),
                    (&field, component),
                    ("back", "/incidents/INC-1#status-page"),
                ],
            )
            .await
        };
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{status}");
        assert_eq!(
            response.headers()["location"],
            "/incidents/INC-1#status-page"
        );
        let (_, _, page) = public(&app, "/status").await;
        assert!(page.contains(body), "{status} on /status");
        let summary = json_doc(&app, "/status/api/v2/summary.json").await;
        assert_eq!(summary["components"][0]["status"], *component, "{status}");
        let (_, _, atom) = public(&app, "/status/history.atom").await;
        assert!(atom.contains(body), "{status} in the feed");
    }
    let summary = json_doc(&app, "/status/api/v2/summary.json").await;
    assert_eq!(summary["status"]["indicator"], "none");
    assert_eq!(summary["incidents"], json!([]));
    // The room shows the public face.
    let (_, room) = app.page(&cookie, "/incidents/INC-1").await;
    assert!(room.contains("Public as"), "the room shows its public face");
    // A bad form is a clear error; viewers may not publish.
    let response = app
        .form(
            &cookie,
            "/status-page/incidents",
            &[("csrf", &csrf), ("name", "x"), ("body", "")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let (viewer, viewer_csrf) = app.session("reader@test.example").await;
    let response = app
        .form(
            &viewer,
            "/status-page/components",
            &[("csrf", &viewer_csrf), ("name", "Sneaky")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
});

// Maintenance windows: components go under maintenance at the start and back at the end,
// by the clock's step with a chosen "now"; the v2 documents list them as upcoming, active,
// then completed.
both_backends!(maintenance_windows_on_time, |app: TestApp| async move {
    let api = create(&app, json!({"name": "API"})).await;
    let api_id = api["id"].as_str().unwrap().to_string();
    let now = firebreak_store::clock::now();
    let from = now + jiff::SignedDuration::from_hours(2);
    let until = from + jiff::SignedDuration::from_hours(1);
    let (status, bad) = app
        .post(
            "/api/v1/status/maintenances",
            json!({"name": "x", "body": "y", "scheduled_for": until.to_string(), "scheduled_until": from.to_string()}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    let (status, window) = app
        .post(
            "/api/v1/status/maintenances",
            json!({
                "name": "Database failover test",
                "body": "We will fail the primary database over to the standby.",
                "scheduled_for": from.to_string(),
                "scheduled_until": until.to_string(),
                "components": [api_id],
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{window}");
    let id = window["id"].as_str().unwrap().to_string();
    let upcoming = json_doc(&app, "/status/api/v2/scheduled-maintenances/upcoming.json").await;
    let fixture: Value = serde_json::from_str(FIXTURE).unwrap();
    let entry = &upcoming["scheduled_maintenances"][0];
    assert_eq!(entry["status"], "scheduled");
    assert_eq!(entry["impact"], "maintenance");
    assert!(entry["scheduled_for"].as_str().unwrap().ends_with('Z'));
    assert_eq!(entry["components"][0]["id"], api_id);
    // Same shape as an incident, plus the two window fields.
    let mut shape = fixture["incidents"][0].clone();
    shape["scheduled_for"] = json!("");
    shape["scheduled_until"] = json!("");
    same_shape(&shape, entry, "maintenance");
    let summary = json_doc(&app, "/status/api/v2/summary.json").await;
    assert_eq!(summary["scheduled_maintenances"][0]["id"], id);
    // An incident status on a maintenance window is refused.
    let (status, _) = app
        .post(
            &format!("/api/v1/status/incidents/{id}/updates"),
            json!({"status": "investigating", "body": "x"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    let step = |minutes: i64| now + jiff::SignedDuration::from_mins(minutes);
    // Before the window: nothing moves.
    assert_eq!(app.store.advance_maintenances(step(60)).await.unwrap(), 0);
    assert_eq!(component_status(&app).await, "operational");
    // At the start: under maintenance, once (a second step at the same moment does nothing).
    assert_eq!(app.store.advance_maintenances(step(121)).await.unwrap(), 1);
    assert_eq!(app.store.advance_maintenances(step(122)).await.unwrap(), 0);
    assert_eq!(component_status(&app).await, "under_maintenance");
    // At the end: operational again, completed.
    assert_eq!(app.store.advance_maintenances(step(181)).await.unwrap(), 1);
    assert_eq!(component_status(&app).await, "operational");
    let (_, list) = app.get("/api/v1/status/incidents").await;
    let done = list
        .as_array()
        .unwrap()
        .iter()
        .find(|it| it["id"] == id)
        .unwrap();
    assert_eq!(done["status"], "completed");
    let statuses: Vec<&str> = done["updates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|it| it["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["completed", "in_progress", "scheduled"]);
});

async fn component_status(app: &TestApp) -> String {
    let (_, list) = app.get("/api/v1/status/components").await;
    list[0]["status"].as_str().unwrap().to_string()
}

/// A form POST to a public page (no session), answering the status and the page text.
async fn public_form(app: &TestApp, path: &str, fields: &[(&str, &str)]) -> (StatusCode, String) {
    let body: Vec<String> = fields
        .iter()
        .map(|(key, value)| {
            format!(
                "{}={}",
                crate::helpers::urlencode(key),
                crate::helpers::urlencode(value)
            )
        })
        .collect();
    let response = app
        .http
        .post(format!("{}{path}", app.base))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(body.join("&"))
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.text().await.unwrap())
}

/// The value of `token=` in the first link to `path` in a message.
fn token_in(message: &str, path: &str) -> String {
    // Quoted-printable soft line breaks would split long links; undo them first.
    let text = message
        .replace("=\r\n", "")
        .replace("=\n", "")
        .replace("=3D", "=");
    let start = text
        .find(&format!("{path}?token="))
        .unwrap_or_else(|| panic!("{path} in {text}"));
    text[start + path.len() + 7..]
        .chars()
        .take_while(|it| it.is_ascii_hexdigit())
        .collect()
}

/// Email subscription end to end against a real SMTP server: double opt-in, a message per
/// public update (throttled while it flaps, never the resolve), per-component choice,
/// one-click unsubscribe; and a signed webhook subscriber.
async fn subscribers(backend: Backend) {
    let smtp = crate::smtp::SmtpServer::start().await;
    let (hook_url, mut received) = crate::webhooks::start_receiver(0).await;
    let Some(app) = TestApp::spawn_with(backend, |settings| {
        settings.workers = false;
        settings.smtp.host = "127.0.0.1".into();
        settings.smtp.port = smtp.port;
    })
    .await
    else {
        return;
    };
    let deliver = || async {
        crate::webhooks::manual_worker(&app)
            .run_once(firebreak_store::clock::now())
            .await
            .unwrap()
    };
    let checkout = create(&app, json!({"name": "Checkout"})).await;
    let search = create(&app, json!({"name": "Search"})).await;
    let (checkout, search) = (
        checkout["id"].as_str().unwrap().to_string(),
        search["id"].as_str().unwrap().to_string(),
    );
    // A fan subscribes from the page's form, and someone else only for Search.
    let (status, page) =
        public_form(&app, "/status/subscribe", &[("email", "fan@test.example")]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Check your inbox"), "{page}");
    let search_field = format!("component:{search}");
    public_form(
        &app,
        "/status/subscribe",
        &[("email", "search-only@test.example"), (&search_field, "on")],
    )
    .await;
    let (status, _) = public_form(&app, "/status/subscribe", &[("email", "nope")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    deliver().await;
    let mail = smtp.messages();
    assert_eq!(mail.len(), 2, "only the confirmations: {mail:?}");
    let to_fan = mail
        .iter()
        .find(|it| it.contains("To: fan@test.example"))
        .unwrap();
    let token = token_in(to_fan, "/subscriptions/confirm");
    // The link shows a button; pressing it confirms. The search-only subscriber confirms too.
    let (status, _, form) = public(
        &app,
        &format!("/status/subscriptions/confirm?token={token}"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(form.contains("Confirm"));
    let (status, done) =
        public_form(&app, "/status/subscriptions/confirm", &[("token", &token)]).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert!(done.contains("Subscribed"));
    let (status, _) =
        public_form(&app, "/status/subscriptions/confirm", &[("token", &token)]).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a link works once");
    let to_search = mail
        .iter()
        .find(|it| it.contains("To: search-only@test.example"))
        .unwrap();
    let search_token = token_in(to_search, "/subscriptions/confirm");
    public_form(
        &app,
        "/status/subscriptions/confirm",
        &[("token", &search_token)],
    )
    .await;
    // A webhook subscriber, added by an admin, gets its secret once.
    let (status, hook) = app
        .call(
            &app.admin,
            Method::POST,
            "/api/v1/status/subscribers",
            Some(json!({"webhook_url": hook_url, "secret": crate::webhooks::SECRET})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{hook}");
    assert!(hook["secret"].is_string());
    let (_, list) = app
        .call(&app.admin, Method::GET, "/api/v1/status/subscribers", None)
        .await;
    assert_eq!(list.as_array().unwrap().len(), 3);
    assert!(
        list.to_string().find("secret").is_none(),
        "secrets are shown once"
    );

    // An incident on Checkout: the fan and the webhook hear of it; the Search-only one not.
    let (status, published) = app
        .post(
            "/api/v1/status/incidents",
            json!({"name": "Card payments failing", "body": "We are investigating.", "components": {checkout.clone(): "major_outage"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let id = published["id"].as_str().unwrap().to_string();
    deliver().await;
    let mail = smtp.messages();
    let updates: Vec<&String> = mail
        .iter()
        .filter(|it| it.contains("Card payments failing"))
        .collect();
    assert_eq!(updates.len(), 1, "{mail:?}");
    assert!(updates[0].contains("To: fan@test.example"));
    assert!(updates[0].contains("We are investigating."));
    let hook = received
        .try_recv()
        .expect("the webhook subscriber was called");
    assert!(hook.signature_ok, "signed with its own secret");
    assert_eq!(hook.body["incident"]["name"], "Card payments failing");
    // Flapping: another update within the throttle sends nothing; the resolve always does.
    let update = |status: &str, body: &str| {
        let app = &app;
        let path = format!("/api/v1/status/incidents/{id}/updates");
        let body = json!({"status": status, "body": body, "components": {checkout.clone(): "operational"}});
        async move { app.post(&path, body).await }
    };
    update("identified", "Rolling back.").await;
    deliver().await;
    assert_eq!(
        smtp.messages()
            .iter()
            .filter(|it| it.contains("Rolling back."))
            .count(),
        0,
        "throttled"
    );
    update("resolved", "Payments work again.").await;
    deliver().await;
    let mail = smtp.messages();
    let resolved: Vec<&String> = mail
        .iter()
        .filter(|it| it.contains("Payments work again."))
        .collect();
    assert_eq!(resolved.len(), 1);
    // One click unsubscribes.
    let token = token_in(resolved[0], "/unsubscribe");
    let (status, done) = public_form(&app, "/status/unsubscribe", &[("token", &token)]).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert!(done.contains("Unsubscribed"));
    app.post(
        "/api/v1/status/incidents",
        json!({"name": "Search is slow", "body": "Looking into it.", "components": {search.clone(): "degraded_performance"}}),
    )
    .await;
    deliver().await;
    let mail = smtp.messages();
    let slow: Vec<&String> = mail
        .iter()
        .filter(|it| it.contains("Search is slow"))
        .collect();
    assert_eq!(slow.len(), 1, "only the Search subscriber: {slow:?}");
    assert!(slow[0].contains("To: search-only@test.example"));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribers_sqlite() {
    subscribers(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribers_postgres() {
    subscribers(Backend::Postgres).await;
}

// `serve --status-page-only`: a second process on the same database serves the page and its
// JSON, and nothing else.
both_backends!(a_status_page_only_process, |app: TestApp| async move {
    app.declare(json!({"title": "eu-west 5xx", "severity": "major"}))
        .await;
    example_page(&app).await;
    let mut settings = app.settings.clone();
    settings.status_page_only = true;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(firebreak_server::serve(settings, listener, async move {
        let _ = stopped.await;
    }));
    let token = app.admin.clone();
    let get = |path: &str| {
        let url = format!("{base}{path}");
        let http = app.http.clone();
        let token = token.clone();
        async move { http.get(url).bearer_auth(token).send().await.unwrap() }
    };
    let page = get("/status").await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("Elevated error rates in eu-west")
    );
    let summary: Value = get("/status/api/v2/summary.json")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(summary["status"]["indicator"], "minor");
    for path in ["/api/v1/incidents", "/incidents", "/login", "/status-page"] {
        assert_eq!(get(path).await.status(), StatusCode::NOT_FOUND, "{path}");
    }
    assert_eq!(get("/healthz").await.status(), StatusCode::OK);
    let _ = stop.send(());
    server.await.unwrap().unwrap();
});
