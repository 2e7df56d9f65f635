//! End to end in a real browser: Debian's chromium driven through chromedriver (WebDriver,
//! via fantoccini) against the real server on a real SQLite file.
//!
//! The test script installs `chromium` and `chromium-driver`; without them this test fails
//! rather than skipping. Screenshots land in `target/tmp/screenshots/`.

mod driver;
mod room;

use std::time::Duration;

use driver::{Browser, Driver};
use fantoccini::Locator;
use firebreak_core::person::{RawPerson, parse_person};
use firebreak_server::Settings;
use firebreak_store::{Store, StoreOptions};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

const PASSWORD: &str = "correct horse battery";

struct Server {
    base: String,
    addr: std::net::SocketAddr,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

async fn start(settings: &Settings, listener: TcpListener) -> Server {
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(firebreak_server::serve(
        settings.clone(),
        listener,
        async move {
            let _ = stopped.await;
        },
    ));
    Server {
        base: format!("http://{addr}"),
        addr,
        stop,
        task,
    }
}

impl Server {
    async fn shut_down(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

async fn person(store: &Store, email: &str, name: &str, role: &str) {
    let person = parse_person(RawPerson {
        email: Some(email.into()),
        name: Some(name.into()),
        time_zone: Some("Europe/Berlin".into()),
        role: Some(role.into()),
    })
    .unwrap();
    let hash = firebreak_server::auth::hash_password(PASSWORD).unwrap();
    store
        .create_user(&person, &hash, firebreak_store::clock::now())
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incident_room_in_a_real_browser() {
    let driver = Driver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let database_url = format!("sqlite:{}", dir.path().join("browser.db").display());
    let settings = Settings {
        database_url: database_url.clone().into(),
        ..Settings::default()
    };
    let store = Store::open(StoreOptions::new(database_url.clone()))
        .await
        .unwrap();
    person(&store, "ana@example.com", "Ana Responder", "responder").await;
    person(&store, "boss@example.com", "Bo Admin", "admin").await;
    person(&store, "vic@example.com", "Vic Viewer", "viewer").await;
    let server = start(&settings, TcpListener::bind("127.0.0.1:0").await.unwrap()).await;
    let base = server.base.clone();

    // A responder signs in, is sent back where they wanted to go, and declares from the form.
    let ana = driver.browser(1280, 900).await;
    ana.goto(&format!("{base}/incidents/new")).await;
    assert!(
        ana.url().await.contains("/login?next="),
        "signed out → sign in"
    );
    ana.sign_in("ana@example.com", PASSWORD).await;
    assert!(
        ana.url().await.ends_with("/incidents/new"),
        "back to the declare form"
    );
    let checked = ana
        .find(Locator::Css("input[name=severity]:checked"))
        .await
        .attr("value")
        .await
        .unwrap();
    assert_eq!(
        checked.as_deref(),
        Some("major"),
        "a severity is preselected"
    );
    ana.fill("#title", "Checkout returns 500 for card payments")
        .await;
    ana.click("form[action='/incidents'] button[type=submit]")
        .await;
    ana.wait_for_url_ending("/incidents/INC-1").await;
    ana.wait_for(Locator::XPath("//h1[contains(., 'INC-1')]"))
        .await;

    // A second person watches the same room; what Ana posts appears there without a reload.
    let bo = driver.browser(1280, 900).await;
    bo.goto(&format!("{base}/login")).await;
    bo.sign_in("boss@example.com", PASSWORD).await;
    bo.goto(&format!("{base}/incidents/INC-1")).await;
    bo.wait_for(Locator::XPath("//span[@id='live-state' and .='Live']"))
        .await;
    ana.fill(
        "#message",
        "Card payments fail at checkout; rolling back release 42.",
    )
    .await;
    ana.click("form[action$='/update'] button[type=submit]")
        .await;
    ana.wait_for(Locator::XPath(
        "//ol[@id='timeline']/li[@data-kind='update_posted']",
    ))
    .await;
    bo.wait_for(Locator::XPath(
        "//li[@data-kind='update_posted' and contains(., 'rolling back release 42')]",
    ))
    .await;
    // The header follows: the update set the next one due.
    bo.wait_for(Locator::XPath(
        "//span[@data-due and starts-with(., 'due in')]",
    ))
    .await;
    ana.click("form[action$='/take-lead'] button").await;
    bo.wait_for(Locator::XPath(
        "//li[@data-kind='role_assigned' and contains(., 'Ana Responder is now lead')]",
    ))
    .await;
    bo.wait_for(Locator::XPath("//dd[.='Ana Responder']")).await;

    // People: declaring made Ana a participant; the rules want a comms lead too. Bo joins
    // from his room and Ana's header follows; Bo keeps leadership informed by digest.
    bo.wait_for(Locator::XPath(
        "//span[@id='missing-roles' and .='needs: comms']",
    ))
    .await;
    bo.wait_for(Locator::XPath(
        "//ul[@id='participants']//strong[.='Ana Responder']",
    ))
    .await;
    bo.open("#people-panel").await;
    bo.click("#people-panel button[value=join]").await;
    bo.wait_for(Locator::XPath(
        "//ul[@id='participants']//strong[.='Bo Admin']",
    ))
    .await;
    ana.wait_for(Locator::XPath(
        "//dd[@id='in-incident' and contains(., 'Bo Admin')]",
    ))
    .await;
    bo.fill("#stakeholder-who", "leadership@example.com").await;
    bo.click("#people-panel input[value=passive]").await;
    bo.click("form[action$='/stakeholders']:not(.inline) button[type=submit]")
        .await;
    bo.wait_for(Locator::XPath(
        "//ul[@id='stakeholders']/li[contains(., 'leadership@example.com · digest')]",
    ))
    .await;

    // The playbook gave the major incident its tasks; Ana ticks one off, Bo sees it live.
    ana.open("#s-tasks").await;
    ana.open("#task-2 details.task-more").await;
    ana.fill("#note-2", "#inc-1-checkout").await;
    ana.click("#task-2 details button[value=done]").await;
    ana.wait_for(Locator::XPath(
        "//li[@id='task-2' and contains(@class, 'done')]",
    ))
    .await;
    bo.wait_for(Locator::XPath(
        "//li[@data-kind='task_closed' and contains(., 'Ana Responder marked task #2 done')]",
    ))
    .await;
    bo.wait_for(Locator::XPath("//li[@id='task-2']//span[.='done']"))
        .await;

    // The action register: Ana proposes, cannot approve her own, Bo approves from his room.
    ana.open("#s-actions").await;
    ana.open("#propose").await;
    ana.fill("#action-title", "systemctl restart checkout-api")
        .await;
    ana.fill("#action-target", "checkout-api-1").await;
    ana.click("form[action$='/actions'] button[type=submit]")
        .await;
    ana.wait_for(Locator::XPath(
        "//div[@id='action-1']//p[contains(., 'Waiting for someone else')]",
    ))
    .await;
    assert_eq!(
        ana.count("#action-1 button[value=approve]").await,
        0,
        "no self-approval"
    );
    bo.open("#s-actions").await;
    bo.click("#action-1 button[value=approve]").await;
    bo.wait_for(Locator::XPath(
        "//li[@data-kind='action_approved' and contains(., 'Bo Admin approved action #1 proposed by Ana Responder')]",
    ))
    .await;
    ana.wait_for(Locator::XPath(
        "//div[@id='action-1']//button[@value='start']",
    ))
    .await;

    // A network blip: the server goes away, events are written meanwhile, the server comes
    // back on the same address; the open room reconnects and catches up.
    let addr = server.addr;
    server.shut_down().await;
    bo.wait_for(Locator::XPath(
        "//span[@id='live-state' and .='Reconnecting…']",
    ))
    .await;
    let note = firebreak_core::Command::Append {
        entry: firebreak_core::command::Entry::Note {
            text: "Written while the browser was cut off".into(),
        },
        occurred_at: None,
    };
    let key = firebreak_store::IncidentKey::parse("INC-1").unwrap();
    store
        .execute_command(key, "ana@example.com", firebreak_core::Access::All, note)
        .await
        .unwrap();
    let server = start(&settings, rebind(addr).await).await;
    bo.wait_for_long(Locator::XPath(
        "//li[@data-kind='note' and contains(., 'while the browser was cut off')]",
    ))
    .await;
    bo.wait_for(Locator::XPath("//span[@id='live-state' and .='Live']"))
        .await;

    // The public status page, with JavaScript off, at phone width: a component, an incident
    // published from the room's incident, and the page read without signing in.
    let token = store
        .create_token(
            "ci",
            firebreak_core::token::Scope::Write,
            store
                .user_by_email("boss@example.com")
                .await
                .unwrap()
                .as_ref(),
            firebreak_store::clock::now(),
        )
        .await
        .unwrap()
        .secret;
    let http = firebreak_integrations::http::client(Duration::from_secs(10)).unwrap();
    let component: serde_json::Value = http
        .post(format!("{base}/api/v1/status/components"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"name": "Checkout", "description": "Card and wallet payments"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let published = http
        .post(format!("{base}/api/v1/status/incidents"))
        .bearer_auth(&token)
        .json(&serde_json::json!({
            "incident": "INC-1", "name": "Card payments failing", "impact": "major",
            "body": "Card payments fail at checkout. We are rolling back the last release.",
            "components": { component["id"].as_str().unwrap(): "major_outage" },
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(published.status(), reqwest::StatusCode::CREATED);
    let reader = driver.browser_without_js(390, 844).await;
    reader.goto(&format!("{base}/status")).await;
    reader
        .wait_for(Locator::XPath(
            "//p[@id='banner' and contains(., 'Major System Outage')]",
        ))
        .await;
    reader
        .wait_for(Locator::XPath("//h3/a[.='Card payments failing']"))
        .await;
    assert!(
        reader.count(".bars li").await >= 30,
        "the uptime bar renders without JavaScript"
    );
    reader.screenshot("status-page-phone").await;

    // Screenshots of the places people spend their night in.
    bo.screenshot("incident-room").await;
    // The admin's Workflow page: the built-in rules, and a playbook made from the form.
    bo.goto(&format!("{base}/workflow")).await;
    bo.fill("#playbook-name", "security").await;
    bo.fill(
        "#playbook-tasks",
        "Rotate the leaked credentials | lead | 15\nReview access logs",
    )
    .await;
    bo.click("#playbook-form button[type=submit]").await;
    bo.wait_for(Locator::XPath(
        "//details/summary[contains(., 'security') and contains(., '2 tasks')]",
    ))
    .await;
    bo.screenshot("workflow").await;
    bo.goto(&format!("{base}/insights")).await;
    bo.wait_for(Locator::Css("svg#by-week")).await;
    bo.screenshot("insights").await;
    // On call: the admin saves the example schedule; the week ahead shows, ana first.
    bo.goto(&format!("{base}/oncall")).await;
    bo.click("section[aria-labelledby=h-write] details summary")
        .await;
    bo.click("form[action='/oncall/schedules'] button[type=submit]")
        .await;
    bo.wait_for(Locator::XPath(
        "//p[contains(@class, 'oncall-now') and contains(., 'until')]",
    ))
    .await;
    bo.screenshot("oncall").await;
    bo.goto(&format!("{base}/incidents/INC-1")).await;
    ana.goto(&format!("{base}/")).await;
    ana.wait_for(Locator::XPath("//a[contains(., 'INC-1')]"))
        .await;
    ana.screenshot("dashboard").await;
    let phone = driver.browser(390, 844).await;
    phone.goto(&format!("{base}/login")).await;
    phone.sign_in("ana@example.com", PASSWORD).await;
    phone.goto(&format!("{base}/incidents/INC-1")).await;
    let fits = phone
        .execute("return document.documentElement.scrollWidth <= window.innerWidth + 1;")
        .await;
    assert_eq!(
        fits,
        serde_json::Value::Bool(true),
        "no sideways scrolling at 390 px"
    );
    phone.screenshot("incident-room-phone").await;
    phone.goto(&format!("{base}/")).await;
    phone.screenshot("dashboard-phone").await;
    // Dark when the system is dark.
    let night = driver.browser_with(1280, 900, &["--force-dark-mode"]).await;
    night.goto(&format!("{base}/login")).await;
    night.sign_in("ana@example.com", PASSWORD).await;
    night.goto(&format!("{base}/incidents/INC-1")).await;
    let background = night
        .execute("return getComputedStyle(document.body).backgroundColor;")
        .await;
    assert_eq!(
        background,
        serde_json::json!("rgb(21, 23, 26)"),
        "dark palette"
    );
    night.screenshot("incident-room-dark").await;
    night.close().await;

    // A private (security) incident: the viewer cannot find it, not even by its address.
    ana.goto(&format!("{base}/incidents/new")).await;
    ana.fill("#title", "Leaked signing key").await;
    ana.click("main details summary").await;
    ana.select("#incident_type", "security").await;
    ana.click("main details button[type=submit]").await;
    ana.wait_for_url_ending("/incidents/INC-2").await;
    ana.wait_for(Locator::XPath("//span[contains(@class, 'private')]"))
        .await;
    let vic = driver.browser(1280, 900).await;
    vic.goto(&format!("{base}/login")).await;
    vic.sign_in("vic@example.com", PASSWORD).await;
    vic.goto(&format!("{base}/incidents/INC-2")).await;
    vic.wait_for(Locator::XPath("//h1[.='Not found']")).await;
    for page in ["/", "/incidents", "/incidents?q=signing"] {
        vic.goto(&format!("{base}{page}")).await;
        let html = vic.source().await;
        if !page.contains("?q=") {
            assert!(html.contains("INC-1"), "{page} shows the public incident");
        }
        assert!(
            !html.contains("INC-2") && !html.contains("Leaked"),
            "{page}"
        );
    }
    vic.goto(&format!("{base}/incidents/INC-1")).await;
    let forms = vic.count("form[action$='/update']").await;
    assert_eq!(forms, 0, "viewers read; they get no composer");

    // How Ana is paged: a webhook (its secret shown once), used five minutes after a page.
    ana.goto(&format!("{base}/account")).await;
    ana.select("#contact-kind", "webhook").await;
    ana.fill("#contact-address", "https://pager.example.com/ana")
        .await;
    ana.click("form:has(input[name=action][value=contact]) button[type=submit]")
        .await;
    ana.wait_for(Locator::XPath(
        "//*[contains(., 'signed with this secret (shown once)')]",
    ))
    .await;
    ana.goto(&format!("{base}/account")).await;
    ana.fill("#rule-delay", "5").await;
    ana.click("form:has(input[name=action][value=rule]) button[type=submit]")
        .await;
    ana.wait_for(Locator::XPath(
        "//li[contains(., 'after 5 min by webhook https://pager.example.com/ana')]",
    ))
    .await;
    ana.screenshot("account-paging").await;

    // A form posted without its CSRF token is refused, and nothing is declared.
    ana.goto(&format!("{base}/incidents/new")).await;
    ana.execute("document.querySelector(\"form[action='/incidents'] input[name=csrf]\").remove(); return true;")
        .await;
    ana.fill("#title", "Forged declaration").await;
    ana.click("form[action='/incidents'] button[type=submit]")
        .await;
    ana.wait_for(Locator::XPath("//h1[.='Not allowed']")).await;
    let page = store
        .incidents(&firebreak_store::IncidentFilter::visible_to(
            firebreak_core::Access::All,
        ))
        .await
        .unwrap();
    assert_eq!(page.items.len(), 2, "the forged form declared nothing");

    for browser in [ana, bo, vic, phone] {
        browser.close().await;
    }
    server.shut_down().await;
    store.close().await;
    driver.stop().await;
}

/// Binds the address a stopped server used (the kernel may need a moment to release it).
async fn rebind(addr: std::net::SocketAddr) -> TcpListener {
    for _ in 0..100 {
        if let Ok(listener) = TcpListener::bind(addr).await {
            return listener;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("could not bind {addr} again");
}

impl Browser {
    async fn sign_in(&self, email: &str, password: &str) {
        self.wait_for(Locator::Css("#email")).await;
        self.fill("#email", email).await;
        self.fill("#password", password).await;
        self.click("form[action='/login'] button[type=submit]")
            .await;
        self.wait_for(Locator::Css("header.top")).await;
    }
}

/// On call made with forms only: an admin writes a schedule (a layer, then a second one with
/// weekday hours), sees its picture, and writes an escalation policy step by step that pages
/// whoever the schedule has on call, then adds a step.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_call_made_with_forms() {
    let driver = Driver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let database_url = format!("sqlite:{}", dir.path().join("forms.db").display());
    let settings = Settings {
        database_url: database_url.clone().into(),
        ..Settings::default()
    };
    let store = Store::open(StoreOptions::new(database_url.clone()))
        .await
        .unwrap();
    person(&store, "boss@example.com", "Bo Admin", "admin").await;
    let server = start(&settings, TcpListener::bind("127.0.0.1:0").await.unwrap()).await;
    let base = server.base.clone();
    let bo = driver.browser(1400, 1000).await;
    bo.goto(&format!("{base}/login")).await;
    bo.sign_in("boss@example.com", PASSWORD).await;
    bo.goto(&format!("{base}/oncall")).await;
    let new = "section[aria-labelledby=h-write] form.schedule-form";
    bo.fill(&format!("{new} input[name=name]"), "Platform")
        .await;
    bo.fill(&format!("{new} input[name=time_zone]"), "Europe/Berlin")
        .await;
    bo.fill(&format!("{new} input[name=layer0_name]"), "weekly")
        .await;
    let today = firebreak_store::clock::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date();
    bo.execute(&format!(
        "document.querySelector('{new} input[name=layer0_start]').value = '{today}T09:00'"
    ))
    .await;
    bo.fill(&format!("{new} input[name=layer0_shift]"), "1w")
        .await;
    bo.fill(
        &format!("{new} textarea[name=layer0_participants]"),
        "ana@example.com\nbo@example.com",
    )
    .await;
    bo.click(&format!("{new} button[type=submit]")).await;
    // Saved: the page comes back with the schedule on it.
    bo.wait_for(Locator::XPath("//h2[contains(., 'Platform')]"))
        .await;
    let saved = store.schedule("Platform").await.unwrap();
    assert!(saved.layers.contains("ana@example.com"), "{}", saved.layers);
    assert!(saved.layers.contains("\"1w\""), "{}", saved.layers);

    // Change it: a second layer, weekdays 09:00–17:00 only.
    let id = saved.id.clone();
    bo.click(&format!("#schedule-{id} details.edit-schedule summary"))
        .await;
    let edit = format!("#schedule-{id} form.schedule-form");
    bo.fill(&format!("{edit} input[name=layer1_name]"), "office hours")
        .await;
    bo.execute(&format!(
        "document.querySelector('{edit} input[name=layer1_start]').value = '{today}T09:00'"
    ))
    .await;
    bo.fill(&format!("{edit} input[name=layer1_shift]"), "1d")
        .await;
    bo.fill(
        &format!("{edit} textarea[name=layer1_participants]"),
        "cy@example.com",
    )
    .await;
    for day in ["mon", "tue", "wed", "thu", "fri"] {
        bo.click(&format!("{edit} input[name=layer1_day_{day}]"))
            .await;
    }
    bo.execute(&format!(
        "document.querySelector('{edit} input[name=layer1_from]').value = '09:00'; \
         document.querySelector('{edit} input[name=layer1_to]').value = '17:00'"
    ))
    .await;
    bo.click(&format!("{edit} button[type=submit]")).await;
    bo.wait_for(Locator::Css(&format!(
        "#picture-{id} g.lane[data-name='office hours']"
    )))
    .await;
    let changed = store.schedule(&id).await.unwrap();
    let layers: serde_json::Value = serde_json::from_str(&changed.layers).unwrap();
    assert_eq!(layers.as_array().unwrap().len(), 2, "{layers}");
    assert_eq!(layers[1]["windows"][0]["from"], "09:00", "{layers}");
    assert_eq!(layers[1]["windows"][0]["days"].as_array().unwrap().len(), 5);
    // The picture: a lane per layer and who is on call.
    bo.wait_for(Locator::Css(&format!("#picture-{id}"))).await;
    assert_eq!(bo.count(&format!("#picture-{id} g.lane")).await, 3);
    bo.screenshot("oncall-forms").await;

    // An escalation policy, step by step: the schedule's person on call, then Bo.
    bo.goto(&format!("{base}/services")).await;
    let form = "details.policy-form[open] form";
    bo.fill(&format!("{form} input[name=name]"), "platform")
        .await;
    bo.select(&format!("{form} select[name=step0_schedule]"), &id)
        .await;
    bo.fill(&format!("{form} input[name=step0_delay]"), "10")
        .await;
    bo.click(&format!("{form} button[type=submit]")).await;
    bo.wait_for(Locator::XPath(
        "//summary[contains(., 'Change “platform”')]",
    ))
    .await;
    let policy = store.policy("platform").await.unwrap();
    assert_eq!(policy.policy.steps.len(), 1);
    assert_eq!(policy.policy.steps[0].targets[0].kind, "schedule");
    assert_eq!(policy.policy.steps[0].delay_minutes, 10);
    // Change it: add a second step paging Bo after 5 minutes, and repeat once.
    bo.click("details.policy-form:not([open]) summary").await;
    let edit = "details.policy-form[open] form";
    bo.fill(
        &format!("{edit} textarea[name=step1_people]"),
        "boss@example.com",
    )
    .await;
    bo.fill(&format!("{edit} input[name=step1_delay]"), "5")
        .await;
    bo.fill(&format!("{edit} input[name=repeat]"), "1").await;
    bo.click(&format!("{edit} button[type=submit]")).await;
    bo.wait_for(Locator::XPath(
        "//li[strong[text()='platform'] and contains(., 'repeats 1 time')]",
    ))
    .await;
    let policy = store.policy("platform").await.unwrap();
    assert_eq!(policy.policy.steps.len(), 2, "{:?}", policy.policy);
    assert_eq!(policy.policy.steps[1].targets[0].id, "boss@example.com");
    assert_eq!(policy.policy.repeat, 1);
    bo.close().await;
    server.shut_down().await;
    store.close().await;
    driver.stop().await;
}

/// The demo's data (`--demo`: incidents, people, services, on call, alerts) on a fresh SQLite
/// file, served; sign in as `login`.
struct Demo {
    _dir: tempfile::TempDir,
    store: Store,
    server: Server,
    login: firebreak_server::demo::DemoLogin,
}

impl Demo {
    async fn start() -> Demo {
        let dir = tempfile::tempdir().unwrap();
        let database_url = format!("sqlite:{}", dir.path().join("demo.db").display());
        let settings = Settings {
            database_url: database_url.into(),
            ..Settings::default()
        };
        let store = Store::open(firebreak_server::store_options(&settings))
            .await
            .unwrap();
        let login = firebreak_server::demo::login(&store).await.unwrap();
        assert!(
            firebreak_server::demo::load(&store, &settings)
                .await
                .unwrap()
        );
        let server = start(&settings, TcpListener::bind("127.0.0.1:0").await.unwrap()).await;
        Demo {
            _dir: dir,
            store,
            server,
            login,
        }
    }

    /// The demo's incidents, newest first.
    async fn incidents(&self) -> Vec<firebreak_core::Incident> {
        self.store
            .incidents(&firebreak_store::IncidentFilter {
                limit: 10,
                ..firebreak_store::IncidentFilter::visible_to(firebreak_core::Access::All)
            })
            .await
            .unwrap()
            .items
    }

    async fn stop(self) {
        self.server.shut_down().await;
        self.store.close().await;
    }
}

/// axe-core (the npm package, `FIREBREAK_AXE` names its `axe.min.js`; `scripts/test`
/// installs it) loaded into every page, signed in as the demo's admin, at desktop and phone
/// width: no serious or critical violation anywhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_passes_axe() {
    let axe = std::env::var("FIREBREAK_AXE")
        .expect("FIREBREAK_AXE names axe-core's axe.min.js (scripts/test installs it from npm)");
    let axe = std::fs::read_to_string(&axe).unwrap_or_else(|err| panic!("{axe}: {err}"));
    let driver = Driver::start().await;
    let demo = Demo::start().await;
    let (store, login, base) = (&demo.store, &demo.login, demo.server.base.clone());
    let live = demo.incidents().await;
    let room = format!("/incidents/{}", live[0].reference);
    let alert = store.alerts(false, 1).await.unwrap()[0].id.clone();
    let mut pages: Vec<String> = [
        "/",
        "/incidents",
        "/incidents/new",
        "/alerts",
        "/services",
        "/oncall",
        "/postmortems",
        "/followups",
        "/insights",
        "/status-page",
        "/people",
        "/import",
        "/tokens",
        "/audit",
        "/workflow",
        "/settings",
        "/account",
        "/status",
    ]
    .iter()
    .map(|it| it.to_string())
    .collect();
    pages.push(room.clone());
    pages.push(format!("{room}/postmortem"));
    pages.push(format!("/alerts/{alert}"));
    // The check can fail: a page with an image without a text alternative is caught.
    let probe = driver.browser(800, 600).await;
    probe
        .goto("data:text/html,<html lang=en><title>t</title><main><img src=x.png></main></html>")
        .await;
    let caught = run_axe(&probe, &axe).await;
    assert!(
        caught.iter().any(|it| it.contains("image-alt")),
        "{caught:?}"
    );
    probe.close().await;
    let mut found = Vec::new();
    // The navigation is one line at 1024 px (every link's top is the first one's).
    let laptop = driver.browser(1024, 768).await;
    laptop.goto(&format!("{base}/login")).await;
    laptop.sign_in(&login.email, &login.password).await;
    let lines = laptop
        .execute(
            "const tops = [...document.querySelectorAll('header.top .nav-wide a, header.top .nav-wide summary')] \
             .filter(a => a.checkVisibility()).map(a => a.getBoundingClientRect().top); \
             return Math.max(...tops) - Math.min(...tops) < 10 ? tops.length : -1;",
        )
        .await;
    laptop.screenshot("dashboard-1024").await;
    // Dashboard … Insights, Status page, Admin: ten on one line.
    assert_eq!(
        lines,
        serde_json::json!(10),
        "the navigation is one line at 1024 px"
    );
    laptop.close().await;
    for (width, height) in [(1400, 1000), (390, 844)] {
        let browser = driver.browser(width, height).await;
        browser.goto(&format!("{base}/login")).await;
        let violations = run_axe(&browser, &axe).await;
        found.extend(
            violations
                .into_iter()
                .map(|it| format!("{width}px /login: {it}")),
        );
        browser.sign_in(&login.email, &login.password).await;
        for page in &pages {
            browser.goto(&format!("{base}{page}")).await;
            let violations = run_axe(&browser, &axe).await;
            found.extend(
                violations
                    .into_iter()
                    .map(|it| format!("{width}px {page}: {it}")),
            );
        }
        browser.close().await;
    }
    assert!(
        found.is_empty(),
        "serious or critical axe violations:\n{}",
        found.join("\n")
    );
    demo.stop().await;
    driver.stop().await;
}

/// The serious and critical violations axe finds on the page as it is.
async fn run_axe(browser: &Browser, axe: &str) -> Vec<String> {
    browser.execute(axe).await;
    let answer = browser
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, {resultTypes: ['violations']}).then(result => done(JSON.stringify(
               result.violations
                 .filter(v => v.impact === 'serious' || v.impact === 'critical')
                 .map(v => v.impact + ' ' + v.id + ': ' + v.help + ' — ' +
                      v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | ')))),
               err => done(JSON.stringify(['axe failed: ' + err])));",
        )
        .await;
    serde_json::from_str(answer.as_str().unwrap_or("[]")).unwrap()
}
