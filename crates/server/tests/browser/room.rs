//! The incident room built around the next action, in a real browser on the demo's data.

use fantoccini::Locator;
use std::time::Duration;

use crate::Demo;
use crate::driver::{Browser, Driver};

/// Where an element is on the screen, and the screen (`window.inner*`), as numbers.
async fn in_view(browser: &Browser, css: &str) -> bool {
    browser.wait_for(Locator::Css(css)).await;
    let script = format!(
        "const r = document.querySelector({}).getBoundingClientRect(); \
         return r.width > 0 && r.top >= 0 && r.left >= 0 && \
                r.bottom <= window.innerHeight && r.right <= window.innerWidth;",
        serde_json::json!(css)
    );
    browser.execute(&script).await == serde_json::json!(true)
}

/// The incident room built around the next action, on the demo's live major incident: at
/// desktop and phone width the two buttons people press most are on the first screen, the
/// room is not much taller than a screen, the composer keeps a half-written update while the
/// room refreshes live, the timeline is newest first and filterable, the side sections
/// remember being open, a task is done with one click, `l` takes the lead and the catch-up box
/// says what changed since the reader last looked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incident_room_around_the_next_action() {
    let driver = Driver::start().await;
    let demo = Demo::start().await;
    let (store, login, base) = (&demo.store, &demo.login, demo.server.base.clone());
    let major = demo
        .incidents()
        .await
        .into_iter()
        .find(|it| it.title.starts_with("Search results slow"))
        .expect("the demo's live major incident");
    assert_eq!(major.severity, "major");
    let reference = major.reference.to_string();
    let room = format!("{base}/incidents/{reference}");
    let key = firebreak_store::IncidentKey::parse(&reference).unwrap();
    let note = |text: &str| firebreak_core::Command::Append {
        entry: firebreak_core::command::Entry::Note { text: text.into() },
        occurred_at: None,
    };

    // Desktop: the first screen has Post update and I'll take lead; the room is under 1.5
    // screens tall.
    let wide = driver.browser(1400, 1000).await;
    wide.goto(&format!("{base}/login")).await;
    wide.sign_in(&login.email, &login.password).await;
    wide.goto(&room).await;
    wide.wait_for(Locator::XPath("//span[@id='live-state' and .='Live']"))
        .await;
    assert!(
        in_view(&wide, "#post-update").await,
        "Post update on screen"
    );
    assert!(
        in_view(&wide, "#take-lead").await,
        "I'll take lead on screen"
    );
    let screens = wide
        .execute("return document.documentElement.scrollHeight / window.innerHeight;")
        .await
        .as_f64()
        .unwrap();
    wide.screenshot("room").await;
    let parts = wide
        .execute(
            "return ['room-head', 'composer', 'timeline-section', 'catch-up'].map(id => \
             id + ' ' + Math.round(document.getElementById(id).getBoundingClientRect().bottom)) \
             .join(', ') + ' of ' + window.innerHeight + ' ' + [...document.querySelectorAll('#timeline li')].map(li => li.dataset.kind + ':' + Math.round(li.getBoundingClientRect().height)).join(' ');",
        )
        .await;
    assert!(
        screens < 1.5,
        "the room is {screens:.2} screens tall (bottoms: {parts})"
    );
    // Newest first: the first event shown is the last one written.
    let first = wide
        .execute("return Number(document.querySelector('#timeline li').dataset.seq);")
        .await;
    assert_eq!(first, serde_json::json!(major.last_seq), "newest first");

    // The header's Post update puts the cursor in the composer; half an update is written
    // when a colleague changes the severity and adds a task. The header, the side and the
    // timeline follow live; the half-written update stays.
    wide.click("#post-update").await;
    let focused = wide.execute("return document.activeElement.id;").await;
    assert_eq!(focused, serde_json::json!("message"));
    let half = "EU search is recovering after the eu-3 compaction; still wat";
    wide.find(Locator::Css("#message"))
        .await
        .send_keys(half)
        .await
        .unwrap();
    wide.open("#s-tasks").await;
    // Lee (through the API, so the server sees it live) raises the severity and adds a task.
    let lee = store
        .user_by_email("lee@example.com")
        .await
        .unwrap()
        .expect("the demo's Lee");
    let lee_token = store
        .create_token(
            "lee",
            firebreak_core::token::Scope::Write,
            Some(&lee),
            firebreak_store::clock::now(),
        )
        .await
        .unwrap()
        .secret;
    let http = firebreak_integrations::http::client(Duration::from_secs(10)).unwrap();
    let api = format!("{base}/api/v1/incidents/{reference}");
    let raised = http
        .patch(&api)
        .bearer_auth(&lee_token)
        .json(&serde_json::json!({"severity": "critical"}))
        .send()
        .await
        .unwrap();
    assert!(raised.status().is_success(), "{:?}", raised.text().await);
    let added = http
        .post(format!("{api}/tasks"))
        .bearer_auth(&lee_token)
        .json(&serde_json::json!({"title": "Ask the search vendor about eu-3"}))
        .send()
        .await
        .unwrap();
    assert!(added.status().is_success(), "{:?}", added.text().await);
    wide.wait_for(Locator::XPath(
        "//ol[@id='timeline']/li[@data-kind='severity_changed']",
    ))
    .await;
    wide.wait_for(Locator::XPath(
        "//section[@id='room-head']//span[contains(., 'severity: critical')]",
    ))
    .await;
    wide.wait_for(Locator::XPath(
        "//details[@id='s-tasks' and @open]//li[contains(., 'Ask the search vendor')]",
    ))
    .await;
    wide.wait_for(Locator::XPath(
        "//ol[@id='timeline']/li[1][@data-kind='task_added']",
    ))
    .await;
    let kept = wide
        .execute("return document.getElementById('message').value;")
        .await;
    assert_eq!(kept, serde_json::json!(half), "the draft survives");
    wide.find(Locator::Css("#message"))
        .await
        .send_keys("ching it.")
        .await
        .unwrap();
    wide.click("#compose-update button[type=submit]").await;
    wide.wait_for(Locator::XPath(
        "//ol[@id='timeline']/li[@data-kind='update_posted' and contains(., 'still watching it.')]",
    ))
    .await;
    let cleared = wide
        .execute("return document.getElementById('message').value;")
        .await;
    assert_eq!(cleared, serde_json::json!(""), "a posted draft is gone");

    // Tasks are a checklist: one click marks one done; the section stayed open across the
    // reload because the reader left it open.
    let open_task = wide
        .execute("return document.querySelector('#s-tasks li.task:not(.done)').id;")
        .await;
    let open_task = open_task.as_str().unwrap().to_string();
    wide.click(&format!("#{open_task} form.tick button")).await;
    wide.wait_for(Locator::XPath(&format!(
        "//details[@id='s-tasks' and @open]//li[@id='{open_task}' and contains(@class, 'done')]"
    )))
    .await;

    // The filter: key moments and updates only, without a round trip.
    wide.click("input[name=tl-show][value=updates]").await;
    let others = wide
        .execute(
            "return [...document.querySelectorAll('#timeline li')].filter(li => \
             li.offsetParent !== null && li.dataset.kind !== 'update_posted').length;",
        )
        .await;
    assert_eq!(others, serde_json::json!(0), "updates only");
    wide.click("input[name=tl-show][value=all]").await;

    // `l` takes the lead; the header then offers to hand it over.
    wide.execute("document.activeElement.blur(); return true;")
        .await;
    wide.press('l').await;
    wide.wait_for(Locator::XPath(
        "//ol[@id='timeline']/li[@data-kind='role_assigned' and contains(., 'Demo Admin is now lead')]",
    ))
    .await;
    wide.wait_for(Locator::Css("#room-head #hand-over")).await;
    wide.press('?').await;
    wide.wait_for(Locator::XPath("//dialog[@id='keys-help' and @open]"))
        .await;
    wide.screenshot("room-keys").await;

    // Catching up: away from the room while something happens, back to a box that says so.
    // (Meanwhile, the demo's dashboard and on-call pages for the README.)
    wide.goto(&format!("{base}/oncall")).await;
    wide.wait_for(Locator::Css("svg")).await;
    wide.screenshot("demo-oncall").await;
    wide.goto(&format!("{base}/")).await;
    wide.screenshot("demo-dashboard").await;
    store
        .execute_command(
            key,
            "lee@example.com",
            firebreak_core::Access::All,
            note("Vendor confirms a stuck compaction on eu-3."),
        )
        .await
        .unwrap();
    wide.goto(&room).await;
    wide.wait_for(Locator::XPath(
        "//p[@id='since-you-looked' and starts-with(., '1 event since you last looked')]",
    ))
    .await;
    assert_eq!(wide.count("#timeline li.unseen").await, 1);
    wide.close().await;

    // Phone: the same two buttons on the first screen; Post update brings the composer.
    let phone = driver.browser(390, 844).await;
    phone.goto(&format!("{base}/login")).await;
    phone.sign_in(&login.email, &login.password).await;
    let other = demo
        .incidents()
        .await
        .into_iter()
        .find(|it| it.status.is_live() && it.reference.to_string() != reference)
        .expect("another live demo incident");
    phone
        .goto(&format!("{base}/incidents/{}", other.reference))
        .await;
    assert!(
        in_view(&phone, "#post-update").await,
        "Post update on screen"
    );
    assert!(
        in_view(&phone, "#take-lead").await,
        "I'll take lead on screen"
    );
    phone.screenshot("room-phone").await;
    phone.goto(&format!("{base}/")).await;
    phone.screenshot("demo-dashboard-phone").await;
    phone
        .goto(&format!("{base}/incidents/{}", other.reference))
        .await;
    phone.click("#post-update").await;
    phone
        .fill("#message", "Looking into it from my phone.")
        .await;
    assert!(
        in_view(&phone, "#compose-update button[type=submit]").await,
        "the composer's button is on screen"
    );
    phone.click("#compose-update button[type=submit]").await;
    phone
        .wait_for(Locator::XPath(
            "//ol[@id='timeline']/li[@data-kind='update_posted' and contains(., 'from my phone')]",
        ))
        .await;
    phone.click("#take-lead").await;
    phone
        .wait_for(Locator::XPath(
            "//ol[@id='timeline']/li[@data-kind='role_assigned' and contains(., 'Demo Admin is now lead')]",
        ))
        .await;
    phone.close().await;

    // Without JavaScript every form is still there and works: the composer's three forms
    // show one under the other, the side sections open by their summaries.
    let plain = driver.browser_without_js(1400, 1000).await;
    plain.goto(&format!("{base}/login")).await;
    plain.sign_in(&login.email, &login.password).await;
    plain.goto(&room).await;
    for form in ["#compose-update", "#compose-note", "#compose-change"] {
        assert!(
            plain
                .find(Locator::Css(form))
                .await
                .is_displayed()
                .await
                .unwrap(),
            "{form} shows without script"
        );
    }
    plain.fill("#note", "Posted without script.").await;
    plain.click("#compose-note button[type=submit]").await;
    plain
        .wait_for(Locator::XPath(
            "//ol[@id='timeline']/li[@data-kind='note' and contains(., 'without script')]",
        ))
        .await;
    plain.close().await;

    demo.stop().await;
    driver.stop().await;
}
