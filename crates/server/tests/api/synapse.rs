//! A real Matrix homeserver for tests: Synapse from PyPI, in the virtualenv `scripts/test`
//! makes (`FIREBREAK_TEST_SYNAPSE` is its Python). SQLite in a file, the client listener
//! only, no federation, rate limits raised; users registered with the shared secret through
//! the admin API. A missing Synapse fails the test loudly.

use std::time::Duration;

use hmac::{KeyInit, Mac};
use reqwest::Method;
use serde_json::{Value, json};

const SECRET: &str = "firebreak-test-registration-secret";

pub struct Synapse {
    pub url: String,
    port: u16,
    dir: tempfile::TempDir,
    child: Option<tokio::process::Child>,
    http: reqwest::Client,
}

/// A Matrix account for a test.
#[derive(Clone, Debug)]
pub struct MatrixUser {
    pub user_id: String,
    pub token: String,
}

fn python() -> String {
    std::env::var("FIREBREAK_TEST_SYNAPSE").unwrap_or_else(|_| {
        panic!(
            "FIREBREAK_TEST_SYNAPSE is not set: it names the Python of a virtualenv with \
             matrix-synapse installed (scripts/test makes one)"
        )
    })
}

fn config(dir: &std::path::Path, port: u16) -> String {
    let path = |name: &str| dir.join(name).display().to_string();
    let limit = "{per_second: 1000, burst_count: 1000}";
    format!(
        "server_name: \"localhost\"\n\
         pid_file: \"{pid}\"\n\
         listeners:\n  - port: {port}\n    bind_addresses: ['127.0.0.1']\n    type: http\n    tls: false\n    x_forwarded: false\n    resources:\n      - names: [client]\n        compress: false\n\
         database:\n  name: sqlite3\n  args:\n    database: \"{db}\"\n\
         media_store_path: \"{media}\"\n\
         registration_shared_secret: \"{SECRET}\"\n\
         macaroon_secret_key: \"firebreak-test-macaroon\"\n\
         form_secret: \"firebreak-test-form\"\n\
         signing_key_path: \"{key}\"\n\
         report_stats: false\n\
         trusted_key_servers: []\n\
         suppress_key_server_warning: true\n\
         federation_domain_whitelist: []\n\
         rc_message: {limit}\n\
         rc_registration: {limit}\n\
         rc_login:\n  address: {limit}\n  account: {limit}\n  failed_attempts: {limit}\n\
         rc_joins:\n  local: {limit}\n  remote: {limit}\n\
         rc_invites:\n  per_room: {limit}\n  per_user: {limit}\n  per_issuer: {limit}\n\
         rc_room_creation: {limit}\n",
        pid = path("synapse.pid"),
        db = path("homeserver.db"),
        media = path("media"),
        key = path("signing.key"),
    )
}

impl Synapse {
    pub async fn start() -> Synapse {
        let dir = tempfile::tempdir().unwrap();
        let port = {
            let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            probe.local_addr().unwrap().port()
        };
        std::fs::write(dir.path().join("homeserver.yaml"), config(dir.path(), port)).unwrap();
        // An ed25519 signing key is a name and 32 random bytes (unpadded base64).
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).unwrap();
        std::fs::write(
            dir.path().join("signing.key"),
            format!("ed25519 a_test {}\n", base64_unpadded(&seed)),
        )
        .unwrap();
        let mut synapse = Synapse {
            url: format!("http://127.0.0.1:{port}"),
            port,
            dir,
            child: None,
            http: firebreak_integrations::http::client(Duration::from_secs(30)).unwrap(),
        };
        synapse.launch().await;
        synapse
    }

    async fn launch(&mut self) {
        let python = python();
        let log = std::fs::File::create(self.dir.path().join("synapse.log")).unwrap();
        let child = tokio::process::Command::new(&python)
            .args(["-m", "synapse.app.homeserver", "-c"])
            .arg(self.dir.path().join("homeserver.yaml"))
            .current_dir(self.dir.path())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start Synapse with {python}: {err}"));
        self.child = Some(child);
        for _ in 0..300 {
            if let Ok(response) = self
                .http
                .get(format!("{}/_matrix/client/versions", self.url))
                .send()
                .await
                && response.status().is_success()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let log = std::fs::read_to_string(self.dir.path().join("synapse.log")).unwrap_or_default();
        panic!("Synapse did not answer on port {}:\n{log}", self.port);
    }

    /// Stops the homeserver (SIGKILL: an outage, not a shutdown).
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
            let _ = child.wait().await;
        }
    }

    /// Starts it again on the same port and database.
    pub async fn restart(&mut self) {
        self.stop().await;
        self.launch().await;
    }

    /// Registers a user through the shared-secret admin API.
    pub async fn register(&self, name: &str) -> MatrixUser {
        let url = format!("{}/_synapse/admin/v1/register", self.url);
        let nonce: Value = self
            .http
            .get(&url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let nonce = nonce["nonce"].as_str().unwrap().to_string();
        let password = format!("{name}-password");
        let mut mac =
            <hmac::Hmac<sha1::Sha1> as KeyInit>::new_from_slice(SECRET.as_bytes()).unwrap();
        mac.update(format!("{nonce}\0{name}\0{password}\0notadmin").as_bytes());
        let mac = hex::encode(mac.finalize().into_bytes());
        let body = json!({"nonce": nonce, "username": name, "password": password, "admin": false, "mac": mac});
        let answer: Value = self
            .http
            .post(&url)
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        MatrixUser {
            user_id: answer["user_id"]
                .as_str()
                .unwrap_or_else(|| panic!("{answer}"))
                .into(),
            token: answer["access_token"].as_str().unwrap().into(),
        }
    }

    /// A client-server call as `user`; the status and the JSON body.
    pub async fn call(
        &self,
        user: &MatrixUser,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self
            .http
            .request(method, format!("{}/_matrix/client/v3{path}", self.url))
            .bearer_auth(&user.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Sends an event as `user`; its event id.
    pub async fn send(&self, user: &MatrixUser, room: &str, kind: &str, content: Value) -> String {
        let path = format!(
            "/rooms/{}/send/{kind}/{}",
            enc(room),
            uuid::Uuid::now_v7().simple()
        );
        let (status, answer) = self.call(user, Method::PUT, &path, Some(content)).await;
        assert_eq!(status, 200, "{answer}");
        answer["event_id"].as_str().unwrap().to_string()
    }

    pub async fn join(&self, user: &MatrixUser, room: &str) {
        let (status, answer) = self
            .call(
                user,
                Method::POST,
                &format!("/join/{}", enc(room)),
                Some(json!({})),
            )
            .await;
        assert_eq!(status, 200, "{answer}");
    }

    /// The room's messages, oldest first (the newest 200).
    pub async fn messages(&self, user: &MatrixUser, room: &str) -> Vec<Value> {
        let path = format!("/rooms/{}/messages?dir=b&limit=200", enc(room));
        let (status, answer) = self.call(user, Method::GET, &path, None).await;
        assert_eq!(status, 200, "{answer}");
        let mut events: Vec<Value> = answer["chunk"].as_array().cloned().unwrap_or_default();
        events.reverse();
        events
    }

    /// Rooms `user` is invited to.
    pub async fn invites(&self, user: &MatrixUser) -> Vec<String> {
        // Synapse caches identical initial syncs for a while, so each call asks with a
        // filter of its own (one that filters out nothing real).
        let filter = json!({"presence": {"not_types": [format!("x.poll.{}", uuid::Uuid::now_v7().simple())]}});
        let path = format!("/sync?timeout=0&filter={}", enc(&filter.to_string()));
        let (_, answer) = self.call(user, Method::GET, &path, None).await;
        answer["rooms"]["invite"]
            .as_object()
            .map(|it| it.keys().cloned().collect())
            .unwrap_or_default()
    }
}

pub fn enc(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn base64_unpadded(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}
