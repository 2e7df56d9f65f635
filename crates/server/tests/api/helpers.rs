//! `TestApp`: a real Firebreak on a fresh database, plus tokens of each scope.
//!
//! SQLite runs always. PostgreSQL runs when `TEST_POSTGRES_URL` is set (each test gets its
//! own new database); when `FIREBREAK_REQUIRE_POSTGRES=1` and it is not set, the test fails
//! instead of silently skipping.

use firebreak_core::token::Scope;
use firebreak_server::Settings;
use firebreak_store::Store;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use sqlx::Connection;
use tokio::sync::oneshot;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub admin: String,
    pub write: String,
    pub read: String,
    pub database_url: String,
    /// A second handle on the same database, for tokens and direct checks.
    pub store: Store,
    pub settings: Settings,
    stop: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    _dir: Option<tempfile::TempDir>,
}

pub struct Replica {
    pub base: String,
    stop: oneshot::Sender<()>,
    server: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Replica {
    pub async fn stop(self) {
        let _ = self.stop.send(());
        self.server.await.unwrap().unwrap();
    }
}

/// A fresh PostgreSQL database URL, or `None` when PostgreSQL tests are not configured.
pub async fn fresh_postgres_url() -> Option<String> {
    let Ok(admin_url) = std::env::var("TEST_POSTGRES_URL") else {
        if std::env::var("FIREBREAK_REQUIRE_POSTGRES").as_deref() == Ok("1") {
            panic!("FIREBREAK_REQUIRE_POSTGRES=1 but TEST_POSTGRES_URL is not set");
        }
        eprintln!("TEST_POSTGRES_URL not set: skipping the PostgreSQL run of this test");
        return None;
    };
    let name = format!("fbt_{}", uuid::Uuid::now_v7().simple());
    let mut conn = sqlx::PgConnection::connect(&admin_url)
        .await
        .expect("connect to TEST_POSTGRES_URL");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .expect("create test database");
    let base = admin_url
        .rsplit_once('/')
        .map(|(base, _)| base.to_string())
        .unwrap_or(admin_url);
    Some(format!("{base}/{name}"))
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Option<TestApp> {
        TestApp::spawn_with(backend, |_| {}).await
    }

    pub async fn spawn_with(
        backend: Backend,
        configure: impl FnOnce(&mut Settings),
    ) -> Option<TestApp> {
        let (database_url, dir) = match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                (
                    format!("sqlite:{}", dir.path().join("test.db").display()),
                    Some(dir),
                )
            }
            Backend::Postgres => (fresh_postgres_url().await?, None),
        };
        let mut settings = Settings {
            database_url: database_url.clone().into(),
            ..Settings::default()
        };
        settings.webhooks.backoff_base_ms = 10;
        settings.webhooks.backoff_max_ms = 40;
        settings.webhooks.poll_interval_ms = 20;
        settings.webhooks.timeout_ms = 2_000;
        // Most tests count events; the default rules would add several to every major
        // declare. Their own tests (freeze.rs, rules.rs) turn them back on.
        settings.rules = Vec::new();
        settings.playbooks = Vec::new();
        settings.people.join_on_action = false;
        // The tests' receivers (webhooks, trackers, SMTP) listen on 127.0.0.1.
        settings.outbound.allow_private = true;
        configure(&mut settings);
        let store = Store::open(firebreak_server::store_options(&settings))
            .await
            .expect("open store");
        let admin = person_token(&store, "admin@test.example", "admin", Scope::Admin).await;
        let write = person_token(&store, "writer@test.example", "responder", Scope::Write).await;
        let read = person_token(&store, "reader@test.example", "viewer", Scope::Read).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(firebreak_server::serve(
            settings.clone(),
            listener,
            async move {
                let _ = stopped.await;
            },
        ));
        Some(TestApp {
            base,
            http: firebreak_integrations::http::client(std::time::Duration::from_secs(30)).unwrap(),
            admin,
            write,
            read,
            database_url,
            store,
            settings,
            stop: Some(stop),
            server: Some(server),
            _dir: dir,
        })
    }

    /// Sends a request with a token; returns the status and the JSON body (Null if none).
    pub async fn call(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request");
        let status = response.status();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(&self.write.clone(), Method::POST, path, Some(body))
            .await
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(&self.read.clone(), Method::GET, path, None).await
    }

    /// Declares an incident and returns it, asserting success.
    pub async fn declare(&self, body: Value) -> Value {
        let (status, incident) = self.post("/api/v1/incidents", body).await;
        assert_eq!(status, StatusCode::CREATED, "{incident}");
        incident
    }

    /// A second server on the same database, as a scale-out replica would run.
    pub async fn spawn_replica(&self) -> Replica {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(firebreak_server::serve(
            self.settings.clone(),
            listener,
            async move {
                let _ = stopped.await;
            },
        ));
        Replica { base, stop, server }
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.unwrap().unwrap();
        }
    }

    /// Stops the server and its store, then starts both again on the same database and
    /// settings (same tokens, a new port): what a restart of the process does.
    pub async fn restart(mut self) -> TestApp {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.unwrap().unwrap();
        }
        self.store.close().await;
        self.store = Store::open(firebreak_server::store_options(&self.settings))
            .await
            .expect("reopen store");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        self.base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        self.server = Some(tokio::spawn(firebreak_server::serve(
            self.settings.clone(),
            listener,
            async move {
                let _ = stopped.await;
            },
        )));
        self.stop = Some(stop);
        self
    }
}

/// Runs `$body` (an async closure over `TestApp`) as two tests: `sqlite` and `postgres`.
#[macro_export]
macro_rules! both_backends {
    // With settings of its own: `configure` is a `fn(&mut Settings)`.
    ($name:ident, configure = $configure:expr, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let backend = $crate::helpers::Backend::Sqlite;
                let app = $crate::helpers::TestApp::spawn_with(backend, $configure)
                    .await
                    .unwrap();
                ($body)(app).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let backend = $crate::helpers::Backend::Postgres;
                if let Some(app) = $crate::helpers::TestApp::spawn_with(backend, $configure).await {
                    ($body)(app).await;
                }
            }
        }
    };
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let app = $crate::helpers::TestApp::spawn($crate::helpers::Backend::Sqlite)
                    .await
                    .unwrap();
                ($body)(app).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(app) =
                    $crate::helpers::TestApp::spawn($crate::helpers::Backend::Postgres).await
                {
                    ($body)(app).await;
                }
            }
        }
    };
}

/// Creates a person (who cannot sign in with a password) and a token acting as them.
pub async fn person_token(store: &Store, email: &str, role: &str, scope: Scope) -> String {
    let now = firebreak_store::clock::now();
    let person = firebreak_core::person::parse_person(firebreak_core::person::RawPerson {
        email: Some(email.into()),
        name: Some(email.split('@').next().unwrap().into()),
        time_zone: None,
        role: Some(role.into()),
    })
    .unwrap();
    let user = match store.user_by_email(email).await.unwrap() {
        Some(user) => user,
        None => store.create_user(&person, "!", now).await.unwrap(),
    };
    store
        .create_token(email, scope, Some(&user), now)
        .await
        .unwrap()
        .secret
}

impl TestApp {
    /// A signed-in browser session for `email` (the person must exist): the cookie header
    /// value and the session's CSRF token.
    /// Disables the person's account, as an admin does.
    pub async fn disable(&self, email: &str) {
        let user = self.store.user_by_email(email).await.unwrap().unwrap();
        let patch = firebreak_store::UserPatch {
            disabled: Some(true),
            ..Default::default()
        };
        self.store
            .update_user(user.id, &patch, firebreak_store::clock::now())
            .await
            .unwrap();
    }

    pub async fn session(&self, email: &str) -> (String, String) {
        let user = self.store.user_by_email(email).await.unwrap().unwrap();
        let session = self
            .store
            .create_session(
                user.id,
                "test",
                jiff::SignedDuration::from_hours(1),
                firebreak_store::clock::now(),
            )
            .await
            .unwrap();
        (
            format!("fb_session={}", session.secret),
            session.session.csrf_token,
        )
    }

    /// A page (or any GET) as a browser with `cookie` would fetch it, without following
    /// redirects: the status and the body text.
    pub async fn page(&self, cookie: &str, path: &str) -> (StatusCode, String) {
        let response = no_redirects()
            .get(format!("{}{path}", self.base))
            .header("Cookie", cookie)
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.text().await.unwrap_or_default())
    }

    /// A form POST as a browser with `cookie` would send it.
    pub async fn form(
        &self,
        cookie: &str,
        path: &str,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        let body: Vec<String> = fields
            .iter()
            .map(|(key, value)| format!("{key}={}", urlencode(value)))
            .collect();
        no_redirects()
            .post(format!("{}{path}", self.base))
            .header("Cookie", cookie)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body.join("&"))
            .send()
            .await
            .unwrap()
    }
}

pub fn no_redirects() -> reqwest::Client {
    firebreak_integrations::http::install_crypto_provider();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (byte as char).to_string()
            }
            b' ' => "+".to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// One rule like the built-in "serious incident" rule (declared, raised or reopened at major
/// or worse) that does only `then`, for tests of one effect.
pub fn serious_incident_rule(
    then: firebreak_server::settings::workflow::EffectSettings,
) -> firebreak_server::settings::RuleSettings {
    let mut rule = firebreak_server::Settings::default().rules.remove(0);
    rule.then = then;
    rule
}

/// POST with an `Idempotency-Key`; the status and the JSON body.
pub async fn declare_with_key(
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

/// Polls `check` every 100 ms until it answers `Some` (a peer doing its work, not a timed
/// assertion), for up to 30 s; then fails naming `what`.
pub async fn until<T, F: Future<Output = Option<T>>>(
    what: &str,
    mut check: impl FnMut() -> F,
) -> T {
    for _ in 0..300 {
        if let Some(found) = check().await {
            return found;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("gave up waiting for {what}");
}
