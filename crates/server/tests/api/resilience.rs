//! Staying up: a full disk and a lost PostgreSQL (503, then recovery), slow and idle
//! connections, a panic in the writer, a lost commit answer, and retention.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{TestApp, declare_with_key};

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
