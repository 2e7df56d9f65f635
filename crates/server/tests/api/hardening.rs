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
        if settings.database_url.starts_with("sqlite:") {
            let mounted = std::process::Command::new("mount")
                .args(["-t", "tmpfs", "-o", "size=6m", "tmpfs"])
                .arg(&dir)
                .status()
                .expect("run mount");
            assert!(
                mounted.success(),
                "this test mounts a small tmpfs to fill: run it as root"
            );
            settings.database_url = format!("sqlite:{}", dir.join("full.db").display());
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
