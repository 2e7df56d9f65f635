//! chromedriver and headless chromium, started for the test and stopped after it.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator, elements::Element};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(15);

pub struct Driver {
    url: String,
    child: tokio::process::Child,
}

fn program(env: &str, default: &str) -> PathBuf {
    let path = std::env::var_os(env)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(default));
    assert!(
        path.exists(),
        "{} not found: install Debian's chromium and chromium-driver (./scripts/test does), or set {env}",
        path.display()
    );
    path
}

impl Driver {
    pub async fn start() -> Driver {
        let chromedriver = program("FIREBREAK_CHROMEDRIVER", "/usr/bin/chromedriver");
        let port = {
            let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            probe.local_addr().unwrap().port()
        };
        // Its own process group, so chromedriver and every chromium it started can be
        // killed together even when a failing test never closes its sessions.
        let child = tokio::process::Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .expect("start chromedriver");
        let url = format!("http://127.0.0.1:{port}");
        // chromedriver is ready when it accepts connections.
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return Driver { url, child };
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("chromedriver did not start listening on {port}");
    }

    pub async fn browser(&self, width: u32, height: u32) -> Browser {
        self.browser_with(width, height, &[]).await
    }

    /// A browser with extra chromium switches (e.g. `--force-dark-mode`).
    pub async fn browser_with(&self, width: u32, height: u32, extra: &[&str]) -> Browser {
        self.open(width, height, extra, json!({})).await
    }

    /// A browser with JavaScript turned off, as some readers of a status page have it.
    pub async fn browser_without_js(&self, width: u32, height: u32) -> Browser {
        let prefs = json!({ "profile.managed_default_content_settings.javascript": 2 });
        self.open(width, height, &[], prefs).await
    }

    async fn open(&self, width: u32, height: u32, extra: &[&str], prefs: Value) -> Browser {
        let chromium = program("FIREBREAK_CHROMIUM", "/usr/bin/chromium");
        let mut args = vec![
            "--headless=new".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--no-first-run".into(),
            "--hide-scrollbars".into(),
            format!("--window-size={width},{height}"),
        ];
        args.extend(extra.iter().map(|it| it.to_string()));
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("browserName".into(), json!("chrome"));
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({ "binary": chromium, "args": args, "prefs": prefs }),
        );
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .expect("start a chromium session");
        client
            .set_window_size(width, height)
            .await
            .expect("size the window");
        Browser { client }
    }

    pub async fn stop(self) {
        drop(self);
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // Only a real process group id, written after `--` so that `kill` cannot read the
        // negative number as an option: `kill -KILL -N` without it has signalled every
        // process on the machine (`kill(-1)`).
        if let Some(pid) = self.child.id().filter(|it| *it > 1) {
            let _ = std::process::Command::new("kill")
                .args(["-s", "KILL", "--", &format!("-{pid}")])
                .status();
        }
    }
}

/// One browser session (its own cookies) with the few steps the tests need; every failure
/// panics with what was expected.
pub struct Browser {
    client: Client,
}

impl Browser {
    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect(url);
    }

    pub async fn url(&self) -> String {
        self.client.current_url().await.unwrap().to_string()
    }

    pub async fn source(&self) -> String {
        self.client.source().await.unwrap()
    }

    pub async fn find(&self, locator: Locator<'_>) -> Element {
        self.client
            .find(locator)
            .await
            .unwrap_or_else(|err| panic!("{locator:?}: {err}"))
    }

    pub async fn count(&self, css: &str) -> usize {
        self.client
            .find_all(Locator::Css(css))
            .await
            .map(|it| it.len())
            .unwrap_or(0)
    }

    async fn wait_at_most(&self, locator: Locator<'_>, timeout: Duration) -> Element {
        match self
            .client
            .wait()
            .at_most(timeout)
            .every(Duration::from_millis(50))
            .for_element(locator)
            .await
        {
            Ok(element) => element,
            Err(err) => {
                let html = self.source().await;
                panic!(
                    "waited {timeout:?} for {locator:?} on {}: {err}\n{}",
                    self.url().await,
                    &html[..html.len().min(3000)]
                )
            }
        }
    }

    pub async fn wait_for(&self, locator: Locator<'_>) -> Element {
        self.wait_at_most(locator, WAIT).await
    }

    /// For what depends on the page's own reconnect backoff.
    pub async fn wait_for_long(&self, locator: Locator<'_>) -> Element {
        self.wait_at_most(locator, Duration::from_secs(45)).await
    }

    pub async fn wait_for_url_ending(&self, suffix: &str) {
        for _ in 0..300 {
            if self.url().await.ends_with(suffix) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "expected to arrive at …{suffix}, but am at {}",
            self.url().await
        );
    }

    pub async fn fill(&self, css: &str, text: &str) {
        let element = self.wait_for(Locator::Css(css)).await;
        element.clear().await.unwrap();
        element.send_keys(text).await.unwrap();
    }

    pub async fn click(&self, css: &str) {
        self.wait_for(Locator::Css(css))
            .await
            .click()
            .await
            .unwrap_or_else(|err| panic!("click {css}: {err}"));
    }

    pub async fn select(&self, css: &str, value: &str) {
        let select = self.wait_for(Locator::Css(css)).await;
        select
            .select_by_value(value)
            .await
            .unwrap_or_else(|err| panic!("select {value} in {css}: {err}"));
    }

    /// Opens a folded section (a `<details>`) as a person does, by clicking its summary.
    pub async fn open(&self, css: &str) {
        self.wait_for(Locator::Css(css)).await;
        let script = format!(
            "const d = document.querySelector({}); \
             if (!d.open) d.querySelector(':scope > summary').click(); return d.open;",
            json!(css)
        );
        assert_eq!(self.execute(&script).await, json!(true), "open {css}");
    }

    /// Presses and releases one key on whatever has the focus (a keyboard shortcut).
    pub async fn press(&self, key: char) {
        use fantoccini::actions::{InputSource, KeyAction, KeyActions};
        let actions = KeyActions::new("keyboard".into())
            .then(KeyAction::Down { value: key })
            .then(KeyAction::Up { value: key });
        self.client
            .perform_actions(actions)
            .await
            .unwrap_or_else(|err| panic!("press {key}: {err}"));
    }

    pub async fn execute(&self, script: &str) -> Value {
        self.client.execute(script, Vec::new()).await.unwrap()
    }

    /// Runs a script whose last argument is the callback it answers through.
    pub async fn execute_async(&self, script: &str) -> Value {
        self.client.execute_async(script, Vec::new()).await.unwrap()
    }

    /// Saves a PNG under `target/tmp/screenshots/`.
    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.unwrap();
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }

    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}
