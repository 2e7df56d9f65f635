//! Regressions of the defects a hostile test found (issue 13), each on both backends.

use firebreak_core::token::Scope;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{TestApp, person_token};

/// POST with an `Idempotency-Key`; the status and the JSON body.
async fn declare_with_key(
    app: &TestApp,
    token: &str,
    key: &str,
    body: Value,
) -> (StatusCode, Value) {
    let response = app
        .http
        .post(format!("{}/api/v1/incidents", app.base))
        .bearer_auth(token)
        .header("Idempotency-Key", key)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

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

/// Takes the database away: on SQLite the disk fills up (a small tmpfs holds the database and
/// a filler file grows until the disk is full); on PostgreSQL the database stops taking
/// connections and the app's connections are cut. `heal` gives it back.
struct Outage {
    sqlite_dir: Option<std::path::PathBuf>,
    postgres_db: Option<String>,
}

impl Outage {
    /// Settings for an app whose database can be taken away: SQLite on its own small tmpfs.
    fn prepare(settings: &mut firebreak_server::Settings) -> std::path::PathBuf {
        let dir = tempfile::tempdir().unwrap().keep();
        if settings.database_url.is_sqlite() {
            let mounted = std::process::Command::new("mount")
                .args(["-t", "tmpfs", "-o", "size=6m", "tmpfs"])
                .arg(&dir)
                .status()
                .expect("run mount");
            assert!(
                mounted.success(),
                "this test mounts a small tmpfs to fill: run it as root"
            );
            settings.database_url = format!("sqlite:{}", dir.join("full.db").display()).into();
        }
        dir
    }

    async fn start(app: &TestApp, dir: std::path::PathBuf) -> Outage {
        if app.database_url.starts_with("sqlite:") {
            use std::io::Write;
            let mut filler = std::fs::File::create(dir.join("filler")).unwrap();
            let chunk = vec![7u8; 16 * 1024];
            while filler
                .write_all(&chunk)
                .and_then(|_| filler.sync_all())
                .is_ok()
            {}
            return Outage {
                sqlite_dir: Some(dir),
                postgres_db: None,
            };
        }
        let name = app.database_url.rsplit('/').next().unwrap().to_string();
        admin_sql(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false")).await;
        admin_sql(&format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
        ))
        .await;
        Outage {
            sqlite_dir: None,
            postgres_db: Some(name),
        }
    }

    async fn heal(&self) {
        if let Some(dir) = &self.sqlite_dir {
            std::fs::remove_file(dir.join("filler")).unwrap();
        }
        if let Some(name) = &self.postgres_db {
            admin_sql(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true")).await;
        }
    }

    fn unmount(&self) {
        if let Some(dir) = &self.sqlite_dir {
            let _ = std::process::Command::new("umount").arg(dir).status();
        }
    }
}

async fn admin_sql(sql: &str) {
    use sqlx::Connection;
    let url = std::env::var("TEST_POSTGRES_URL").unwrap();
    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
        .execute(&mut conn)
        .await
        .unwrap();
}

async fn readyz(app: &TestApp) -> StatusCode {
    let response = app
        .http
        .get(format!("{}/readyz", app.base))
        .send()
        .await
        .unwrap();
    response.status()
}

async fn writes_fail_with_503_and_recover(backend: crate::helpers::Backend) {
    let mut dir = None;
    let Some(app) =
        TestApp::spawn_with(backend, |settings| dir = Some(Outage::prepare(settings))).await
    else {
        return;
    };
    app.declare(json!({"title": "Before the outage"})).await;
    let outage = Outage::start(&app, dir.unwrap()).await;
    let summary = "x".repeat(4000);
    let mut refused = None;
    for _ in 0..2000 {
        let body = json!({"title": "During the outage", "summary": summary});
        let response = app
            .http
            .post(format!("{}/api/v1/incidents", app.base))
            .bearer_auth(&app.write)
            .json(&body)
            .send()
            .await
            .unwrap();
        if response.status() != StatusCode::CREATED {
            refused = Some(response);
            break;
        }
    }
    let refused = refused.expect("some write fails while the database is gone");
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(refused.headers()["retry-after"], "5");
    let error: Value = refused.json().await.unwrap();
    assert_eq!(error["error"]["code"], "unavailable");
    assert_eq!(
        readyz(&app).await,
        StatusCode::SERVICE_UNAVAILABLE,
        "not ready while writes fail"
    );
    outage.heal().await;
    // Writes work again at once, on every pooled connection, with no restart.
    for n in 0..6 {
        let (status, body) = app
            .post("/api/v1/incidents", json!({"title": format!("After {n}")}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    assert_eq!(readyz(&app).await, StatusCode::OK);
    app.stop().await;
    outage.unmount();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_writes_fail_with_503_on_a_full_disk_and_recover_when_space_returns() {
    writes_fail_with_503_and_recover(crate::helpers::Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_writes_fail_with_503_in_an_outage_and_recover_after_it() {
    writes_fail_with_503_and_recover(crate::helpers::Backend::Postgres).await;
}

both_backends!(
    a_panic_in_a_write_fails_that_write_only,
    |app: TestApp| async move {
        use firebreak_core::command::Entry;
        use firebreak_core::{Access, Command, Reference};
        use firebreak_store::{IncidentKey, StoreError};
        app.declare(json!({"title": "Queue backlog"})).await;
        let key = IncidentKey::Reference(Reference(1));
        // Three writes reach the writer together; the middle one panics while it is decided.
        let note = |text: &str| Command::Append {
            entry: Entry::Note { text: text.into() },
            occurred_at: None,
        };
        let before = app
            .store
            .execute_command(key, "a@test.example", Access::All, note("one"));
        let panics = app.store.execute(
            key,
            "b@test.example",
            Access::All,
            Box::new(|_, _| panic!("injected for the test")),
        );
        let after = app
            .store
            .execute_command(key, "c@test.example", Access::All, note("two"));
        let (before, panics, after) = tokio::join!(before, panics, after);
        assert!(matches!(panics, Err(StoreError::Panicked(ref it)) if it.contains("injected")));
        assert!(before.is_ok() && after.is_ok(), "its neighbours commit");
        // The writer keeps serving, and the chain is whole.
        let (status, _) = app
            .post("/api/v1/incidents/INC-1/timeline", json!({"text": "three"}))
            .await;
        assert_eq!(status, StatusCode::CREATED);
        let (_, verified) = app.get("/api/v1/incidents/INC-1/timeline/verify").await;
        assert_eq!(verified["valid"], true, "{verified}");
        app.stop().await;
    }
);

/// Small limits: 1 s for headers, 2 s for a body, 8 connections and 2 reserved.
fn limited(settings: &mut firebreak_server::Settings) {
    settings.limits.header_read_timeout_seconds = 1;
    settings.limits.body_read_timeout_seconds = 2;
    settings.limits.max_connections = 8;
    settings.limits.reserved_connections = 2;
}

/// Reads until the server closes the connection (or 10 s pass); what it sent.
async fn read_until_closed(stream: &mut tokio::net::TcpStream) -> Option<String> {
    use tokio::io::AsyncReadExt;
    let mut seen = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.read_to_end(&mut seen),
    );
    read.await
        .ok()
        .map(|_| String::from_utf8_lossy(&seen).into_owned())
}

both_backends!(
    idle_and_slow_connections_are_closed,
    configure = limited,
    |app: TestApp| async move {
        use tokio::io::AsyncWriteExt;
        let addr = app.base.trim_start_matches("http://").to_string();
        // Nothing sent at all, and half a header: both closed after the header deadline.
        let mut idle = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let mut slow_header = tokio::net::TcpStream::connect(&addr).await.unwrap();
        slow_header
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        assert!(
            read_until_closed(&mut idle).await.is_some(),
            "idle connection closed"
        );
        assert!(
            read_until_closed(&mut slow_header).await.is_some(),
            "slow header closed"
        );
        // A body that stops coming: 408 after the body deadline.
        let mut slow_body = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let head = format!(
            "POST /api/v1/incidents HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
             Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"title\"",
            app.write
        );
        slow_body.write_all(head.as_bytes()).await.unwrap();
        let answer = read_until_closed(&mut slow_body).await.expect("closed");
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        assert!(answer.contains("request_timeout"), "{answer}");
        app.stop().await;
    }
);

both_backends!(
    a_full_server_keeps_room_for_health_and_the_status_page,
    configure = limited,
    |app: TestApp| async move {
        let addr = app.base.trim_start_matches("http://").to_string();
        // Eight idle connections take every ordinary slot.
        let mut held = Vec::new();
        for _ in 0..8 {
            held.push(tokio::net::TcpStream::connect(&addr).await.unwrap());
        }
        // Let the server accept them all before the next ones arrive.
        let (status, _) = app.get("/healthz").await;
        assert_eq!(
            status,
            StatusCode::OK,
            "health is served on a reserved connection"
        );
        let (status, body) = app.get("/api/v1/incidents").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert_eq!(body["error"]["code"], "busy");
        let page = app
            .http
            .get(format!("{}/status", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(
            page.status(),
            StatusCode::OK,
            "the status page is served too"
        );
        // Once the idle ones time out, the API answers again.
        for stream in &mut held {
            read_until_closed(stream).await.expect("closed");
        }
        let (status, _) = app.get("/api/v1/incidents").await;
        assert_eq!(status, StatusCode::OK);
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

/// The default outbound policy, plus 127.0.0.2 allowed; workers stepped by hand.
fn outbound_default(settings: &mut firebreak_server::Settings) {
    settings.outbound.allow_private = false;
    settings.outbound.allowed_networks = vec!["127.0.0.2/32".into()];
    settings.workers = false;
}

/// A bare HTTP receiver on `ip`: answers every request with `response` and counts requests.
async fn bare_receiver(
    ip: &str,
    response: String,
) -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind((ip, 0)).await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = hits.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let mut buffer = vec![0u8; 65536];
            let _ = stream.read(&mut buffer).await;
            let _ = stream.write_all(response.as_bytes()).await;
        }
    });
    (port, hits)
}

both_backends!(
    webhooks_reach_only_what_the_outbound_policy_allows,
    configure = outbound_default,
    |app: TestApp| async move {
        use std::sync::atomic::Ordering::SeqCst;
        for url in [
            "http://127.0.0.1:9/",
            "http://localhost.:9/x\u{0}",
            "http://[::1]/",
            "http://0.0.0.0/",
            "http://2130706433/",
            "http://127.1/",
            "http://10.0.0.1/",
            "http://169.254.169.254/",
            "http://[::ffff:127.0.0.1]/",
            "https://example.com/\u{1b}[2J",
            "https://example.com/\r\nX: 1",
        ] {
            let body = json!({"url": url, "event_kinds": ["declared"]});
            let (status, error) = app
                .call(&app.admin, Method::POST, "/api/v1/webhooks", Some(body))
                .await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{url}: {error}");
        }
        let contact = json!({"kind": "webhook", "address": "http://169.254.169.254/latest"});
        let (status, _) = app
            .call(
                &app.write,
                Method::POST,
                "/api/v1/me/contact-methods",
                Some(contact),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        let subscriber = json!({"webhook_url": "http://10.0.0.1/"});
        let (status, _) = app
            .call(
                &app.admin,
                Method::POST,
                "/api/v1/status/subscribers",
                Some(subscriber),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        // 127.0.0.2 is allowed here: it redirects to 127.0.0.1, which is not.
        let (target, target_hits) = bare_receiver(
            "127.0.0.1",
            "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".into(),
        )
        .await;
        let redirect = format!(
            "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:{target}/\r\nContent-Length: 0\r\n\r\n"
        );
        let (redirecting, redirect_hits) = bare_receiver("127.0.0.2", redirect).await;
        let hooks = [
            format!("http://127.0.0.2:{redirecting}/hook"),
            format!("http://localhost:{target}/hook"),
            "http://127.0.0.2:1/closed".to_string(),
        ];
        let mut ids = Vec::new();
        for url in &hooks {
            let body = json!({"url": url, "event_kinds": ["declared"]});
            let (status, hook) = app
                .call(&app.admin, Method::POST, "/api/v1/webhooks", Some(body))
                .await;
            assert_eq!(status, StatusCode::CREATED, "{url}: {hook}");
            ids.push(hook["id"].as_str().unwrap().to_string());
        }
        app.declare(json!({"title": "Something"})).await;
        crate::webhooks::manual_worker(&app)
            .run_once(firebreak_store::clock::now())
            .await
            .unwrap();
        assert_eq!(
            redirect_hits.load(SeqCst),
            1,
            "the allowed receiver was called"
        );
        assert_eq!(
            target_hits.load(SeqCst),
            0,
            "neither the redirect nor a name for loopback"
        );
        let mut last_errors = Vec::new();
        for id in &ids {
            let path = format!("/api/v1/webhooks/{id}/deliveries");
            let (_, deliveries) = app.call(&app.admin, Method::GET, &path, None).await;
            last_errors.push(
                deliveries[0]["last_error"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            );
        }
        assert_eq!(last_errors[0], "receiver answered 302");
        assert!(
            last_errors[1].contains("outbound policy"),
            "{}",
            last_errors[1]
        );
        assert_eq!(
            last_errors[2], "could not reach the receiver",
            "no port scanning"
        );
        app.stop().await;
    }
);

/// A fresh PostgreSQL database's URL with `query` appended, and the server's certificate file.
async fn postgres_with(query: &str) -> Option<(String, String)> {
    use sqlx::Connection;
    let url = crate::helpers::fresh_postgres_url().await?;
    let admin = std::env::var("TEST_POSTGRES_URL").unwrap();
    let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
    let cert: String =
        sqlx::query_scalar("SELECT setting FROM pg_settings WHERE name = 'ssl_cert_file'")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    Some((format!("{url}?{query}"), cert))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_over_tls_with_sslmode_require_and_verify_ca() {
    use sqlx::Connection;
    let Some((url, cert)) = postgres_with("sslmode=require").await else {
        return;
    };
    let app = TestApp::spawn_with(crate::helpers::Backend::Postgres, |settings| {
        settings.database_url = url.clone().into();
    })
    .await
    .unwrap();
    app.declare(json!({"title": "Over TLS"})).await;
    let name = url
        .rsplit('/')
        .next()
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_string();
    let admin = std::env::var("TEST_POSTGRES_URL").unwrap();
    let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
    let (n, all_tls): (i64, Option<bool>) = sqlx::query_as(
        "SELECT count(*), bool_and(s.ssl) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.datname = $1",
    )
    .bind(&name)
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert!(
        n > 0 && all_tls == Some(true),
        "{n} connections, all TLS: {all_tls:?}"
    );
    app.stop().await;
    // With the server's certificate as the trusted root, verify-ca connects too.
    let verified = format!(
        "{}?sslmode=verify-ca&sslrootcert={cert}",
        url.split('?').next().unwrap()
    );
    let store = firebreak_store::Store::open(firebreak_store::StoreOptions::new(verified)).await;
    assert!(store.is_ok(), "{:?}", store.err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_verify_full_without_a_trusted_root_refuses_in_one_line() {
    let Some((url, _)) = postgres_with("sslmode=verify-full").await else {
        return;
    };
    let url = url.replacen("postgres://postgres@", "postgres://postgres:pw@", 1);
    let refused = firebreak_store::Store::open(firebreak_store::StoreOptions::new(url)).await;
    let message = refused
        .err()
        .expect("an untrusted certificate is refused")
        .to_string();
    assert!(!message.contains('\n'), "{message}");
    assert!(
        message.contains("certificate is not trusted") && message.contains("sslrootcert"),
        "{message}"
    );
    assert!(
        message.contains("postgres:•••@") && !message.contains(":pw@"),
        "no password: {message}"
    );
}

both_backends!(
    retention_prunes_working_rows_and_never_events,
    |app: TestApp| async move {
        use firebreak_server::workers::RetentionWorker;
        let (url, _received) = crate::webhooks::start_receiver(0).await;
        crate::webhooks::create_hook(&app, &url, json!({"event_kinds": ["declared"]})).await;
        let private = json!({"title": "Leaked key", "type": "security"});
        let (status, _) = declare_with_key(&app, &app.admin, "retained-key", private).await;
        assert_eq!(status, StatusCode::CREATED);
        app.call(&app.admin, Method::GET, "/api/v1/incidents/INC-1", None)
            .await;
        app.declare(json!({"title": "Public, so its webhook goes out"}))
            .await;
        crate::webhooks::drain(&crate::webhooks::manual_worker(&app), 20).await;
        let (_, key) = crate::paging::setup(&app, 5).await;
        let event = json!({"routing_key": key, "event_action": "trigger", "dedup_key": "r",
            "payload": {"summary": "disk", "source": "db-1", "severity": "critical"}});
        crate::paging::enqueue(&app, event).await;
        let alert = crate::paging::open_alerts(&app).await[0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let (status, _) = app
            .call(
                &app.write,
                Method::POST,
                &format!("/api/v1/alerts/{alert}/resolve"),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        app.session("reader@test.example").await;
        let sizes = || async {
            app.store
                .table_sizes()
                .await
                .unwrap()
                .0
                .into_iter()
                .collect::<std::collections::BTreeMap<_, _>>()
        };
        let before = sizes().await;
        for table in [
            "outbox",
            "webhook_deliveries",
            "alerts",
            "alert_log",
            "idempotency_claims",
            "sessions",
            "private_reads",
        ] {
            assert!(before[table] > 0, "{table} has rows to prune: {before:?}");
        }
        let worker = RetentionWorker {
            store: app.store.clone(),
            retention: firebreak_server::settings::RetentionSettings::default().retention(),
        };
        let now = firebreak_store::clock::now();
        assert_eq!(
            worker.run_once(now).await.unwrap().total(),
            0,
            "nothing is old yet"
        );
        let later = now + jiff::SignedDuration::from_hours(24 * 400);
        worker.run_once(later).await.unwrap();
        let after = sizes().await;
        for table in [
            "outbox",
            "webhook_deliveries",
            "alerts",
            "alert_log",
            "alert_links",
            "idempotency_claims",
            "sessions",
            "private_reads",
        ] {
            assert_eq!(after[table], 0, "{table} pruned: {after:?}");
        }
        assert_eq!(
            after["events"], before["events"],
            "timeline events are never pruned"
        );
        let metrics = app
            .http
            .get(format!("{}/metrics", app.base))
            .bearer_auth(&app.read)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            metrics.contains("firebreak_table_rows{table=\"events\"}")
                && metrics.contains("firebreak_database_bytes"),
            "{metrics}"
        );
        app.stop().await;
    }
);

both_backends!(
    a_batch_whose_commit_answer_is_lost_appends_each_command_once,
    |app: TestApp| async move {
        use firebreak_core::command::Entry;
        use firebreak_core::{Access, Command, Reference};
        use firebreak_store::IncidentKey;
        app.declare(json!({"title": "Flaky network to the database"}))
            .await;
        let key = IncidentKey::Reference(Reference(1));
        let note = |text: String| Command::Append {
            entry: Entry::Note { text },
            occurred_at: None,
        };
        // The next commit happens, but the writer hears that it failed, as when the connection
        // drops between COMMIT and its answer: the retry finds each command's claim.
        app.store.lose_commit_answers(1);
        let writes = (0..5).map(|idx| {
            app.store.execute_command(
                key,
                "a@test.example",
                Access::All,
                note(format!("once {idx}")),
            )
        });
        let results = futures_util::future::join_all(writes).await;
        let (_, timeline) = app.get("/api/v1/incidents/INC-1/timeline?limit=100").await;
        let texts: Vec<String> = timeline["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|it| it["body"]["text"].as_str().map(String::from))
            .collect();
        for idx in 0..5 {
            let n = texts
                .iter()
                .filter(|it| **it == format!("once {idx}"))
                .count();
            assert_eq!(n, 1, "note {idx} appended once: {texts:?}");
        }
        assert!(
            results.iter().all(Result::is_ok),
            "every command answered from its claim"
        );
        let (_, verified) = app.get("/api/v1/incidents/INC-1/timeline/verify").await;
        assert_eq!(verified["valid"], true);
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
