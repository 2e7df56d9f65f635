//! Pages that wake people, end to end against the fake provider and the fake ntfy, with the
//! delivery worker driven by a chosen "now": a phone number verified by SMS and one by a call,
//! a push topic; an alert pages by push at once, SMS after 2 minutes and a call after 5; a
//! reply `1a` acknowledges (the call is then never placed); a second alert is acknowledged by
//! pressing 4 in the call; a third resolved by a push button (once); delivery reports; bad
//! signatures change nothing; STOP / START; and a storm of 50 alerts to one number sends at
//! most the rate limit, grouped.

use jiff::{SignedDuration, Timestamp};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::fake_phone::{self, FakePhone};
use crate::helpers::{Backend, TestApp};

const PUBLIC: &str = "https://firebreak.example.test";
const SMS_NUMBER: &str = "+14155550100";
const VOICE_NUMBER: &str = "+14155550101";

async fn spawn(backend: Backend, phone: &FakePhone) -> Option<TestApp> {
    let base = phone.base.clone();
    TestApp::spawn_with(backend, move |settings| {
        settings.workers = false;
        settings.public_url = PUBLIC.into();
        settings.paging.pages_per_person_per_hour = 1000;
        settings.paging.flap_threshold = 0;
        for provider in [&mut settings.paging.sms, &mut settings.paging.voice] {
            provider.api_base_url = base.clone();
            provider.account_sid = fake_phone::SID.into();
            provider.auth_token = fake_phone::TOKEN.into();
            provider.from = fake_phone::FROM.into();
        }
        settings.paging.ntfy.server_url = format!("{base}/ntfy");
        settings.paging.ntfy.token = fake_phone::NTFY_TOKEN.into();
    })
    .await
}

fn worker(app: &TestApp) -> firebreak_server::workers::DeliveryWorker {
    let mut worker = crate::webhooks::manual_worker(app);
    worker.phones =
        firebreak_server::paging::wake::Phones::from_settings(&app.settings, &worker.client);
    worker
}

/// A provider callback as the provider sends it: form encoded, signed over the public URL.
async fn callback(
    app: &TestApp,
    path: &str,
    params: &[(&str, &str)],
    token: &str,
) -> (StatusCode, String) {
    let params: Vec<(String, String)> = params
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    let signature =
        firebreak_integrations::twilio::signature(token, &format!("{PUBLIC}{path}"), &params);
    let body = params
        .iter()
        .map(|(a, b)| {
            format!(
                "{}={}",
                crate::helpers::urlencode(a),
                crate::helpers::urlencode(b)
            )
        })
        .collect::<Vec<_>>()
        .join("&");
    let response = app
        .http
        .post(format!("{}{path}", app.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("X-Twilio-Signature", signature)
        .body(body)
        .send()
        .await
        .unwrap();
    (response.status(), response.text().await.unwrap())
}

async fn add_phone(app: &TestApp, phone: &FakePhone, kind: &str, number: &str) -> String {
    let (status, method) = app
        .post(
            "/api/v1/me/contact-methods",
            json!({"kind": kind, "address": number}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{method}");
    assert_eq!(method["verified"], false);
    let number = method["address"].as_str().unwrap().to_string();
    let number = number.as_str();
    let id = method["id"].as_str().unwrap().to_string();
    // Not usable by a rule until verified.
    let (status, body) = app
        .post(
            "/api/v1/me/notification-rules",
            json!({"contact_method": id, "delay_minutes": 0}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = app
        .post(
            &format!("/api/v1/me/contact-methods/{id}/send-code"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    // One a minute.
    let (status, _) = app
        .post(
            &format!("/api/v1/me/contact-methods/{id}/send-code"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let code: String = if kind == "sms" {
        let text = phone
            .messages_to(number)
            .last()
            .unwrap()
            .get("Body")
            .unwrap()
            .to_string();
        text.chars().filter(char::is_ascii_digit).take(6).collect()
    } else {
        // The call reads the code digit by digit ("1. 2. 3. …"), twice.
        let twiml = phone
            .calls_to(number)
            .last()
            .unwrap()
            .get("Twiml")
            .unwrap()
            .to_string();
        let spoken = twiml.split("code is:").nth(1).unwrap();
        spoken
            .chars()
            .filter(char::is_ascii_digit)
            .take(6)
            .collect()
    };
    assert_eq!(code.len(), 6);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let (status, body) = app
        .post(
            &format!("/api/v1/me/contact-methods/{id}/verify"),
            json!({"code": wrong}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = app
        .post(
            &format!("/api/v1/me/contact-methods/{id}/verify"),
            json!({"code": code}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["verified"], true);
    id
}

async fn rule(app: &TestApp, method: &str, delay: i64) -> String {
    let (status, body) = app
        .post(
            "/api/v1/me/notification-rules",
            json!({"contact_method": method, "delay_minutes": delay}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["id"].as_str().unwrap().to_string()
}

async fn service_key(app: &TestApp) -> String {
    crate::chat_pages::writer_service(app, "checkout").await
}

/// Triggers an alert; answers its id and when it was opened.
async fn trigger(app: &TestApp, key: &str, dedup: &str) -> (String, Timestamp) {
    let (status, body) = crate::paging::enqueue(
        app,
        json!({"routing_key": key, "event_action": "trigger", "dedup_key": dedup,
               "payload": {"summary": format!("Checkout 5xx on {dedup}"), "source": "lb-1", "severity": "critical"}}),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let alerts = crate::paging::open_alerts(app).await;
    let alert = alerts.iter().find(|it| it["dedup_key"] == dedup).unwrap();
    (
        alert["id"].as_str().unwrap().to_string(),
        alert["created_at"].as_str().unwrap().parse().unwrap(),
    )
}

async fn alert(app: &TestApp, id: &str) -> Value {
    app.get(&format!("/api/v1/alerts/{id}")).await.1
}

fn log_kinds(alert: &Value) -> Vec<String> {
    alert["log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|it| it["kind"].as_str().unwrap().to_string())
        .collect()
}

fn mins(at: Timestamp, minutes: i64) -> Timestamp {
    at + SignedDuration::from_secs(minutes * 60 + 1)
}

async fn wake_up_pages(backend: Backend) {
    let phone = FakePhone::start().await;
    let Some(app) = spawn(backend, &phone).await else {
        return;
    };
    phone.connect(PUBLIC, &app.base);
    let worker = worker(&app);
    let sms = add_phone(&app, &phone, "sms", "+1 (415) 555-0100").await;
    let voice = add_phone(&app, &phone, "voice", "+1 415 555 0101").await;
    let (status, push) = app
        .post("/api/v1/me/contact-methods", json!({"kind": "push"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{push}");
    let topic = push["address"].as_str().unwrap().to_string();
    assert!(
        topic.starts_with("firebreak-") && topic.len() > 20,
        "{push}"
    );
    assert!(push["subscribe"].as_str().unwrap().ends_with(&topic));
    // Shown once: later reads show only its start.
    let (_, methods) = app
        .call(&app.write, Method::GET, "/api/v1/me/contact-methods", None)
        .await;
    let listed = methods
        .as_array()
        .unwrap()
        .iter()
        .find(|it| it["id"] == push["id"])
        .unwrap();
    assert_ne!(listed["address"], topic.as_str());
    assert_eq!(push["verified"], false, "{push}");
    let push = push["id"].as_str().unwrap().to_string();
    // A code pushed to the topic, typed back, proves the phone is subscribed.
    let (status, body) = app
        .post(
            &format!("/api/v1/me/contact-methods/{push}/send-code"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let sent = phone.pushes().last().unwrap().clone();
    assert_eq!(sent["topic"], topic.as_str());
    let code: String = sent["message"]
        .as_str()
        .unwrap()
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    assert_eq!(code.len(), 6, "{sent}");
    let (status, body) = app
        .post(
            &format!("/api/v1/me/contact-methods/{push}/verify"),
            json!({"code": code}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let pushes_before = phone.pushes().len();
    // Push now, SMS after 2 minutes, a call after 5.
    let push_rule = rule(&app, &push, 0).await;
    rule(&app, &sms, 2).await;
    let voice_rule = rule(&app, &voice, 5).await;
    let key = service_key(&app).await;

    // Alert A: push at once; SMS at 2 min; "1a" acknowledges; the call is never placed.
    let (a, opened) = trigger(&app, &key, "a").await;
    worker.run_once(mins(opened, 0)).await.unwrap();
    let pushes: Vec<Value> = phone.pushes().into_iter().skip(pushes_before).collect();
    assert_eq!(pushes.len(), 1, "{pushes:?}");
    assert_eq!(pushes[0]["topic"], topic.as_str());
    assert_eq!(pushes[0]["priority"], 5);
    assert_eq!(pushes[0]["actions"].as_array().unwrap().len(), 2);
    assert!(
        phone.messages_to(SMS_NUMBER).len() == 1,
        "only the verification code so far"
    );
    worker.run_once(mins(opened, 2)).await.unwrap();
    let texts = phone.messages_to(SMS_NUMBER);
    let page = texts.last().unwrap();
    let body = page.get("Body").unwrap();
    assert!(
        body.starts_with("Firebreak ALERT: Checkout 5xx on a"),
        "{body}"
    );
    assert!(body.contains("Reply 1a to ack"), "{body}");
    assert_eq!(
        page.get("StatusCallback"),
        Some(&*format!("{PUBLIC}/integrations/twilio/status"))
    );
    let answer = phone.text_in(SMS_NUMBER, "1a").await;
    assert!(
        answer.contains("<Message>Acknowledged: Checkout 5xx on a</Message>"),
        "{answer}"
    );
    let acked = alert(&app, &a).await;
    assert_eq!(acked["status"], "acknowledged");
    assert_eq!(acked["acknowledged_by"], "writer@test.example");
    let kinds = log_kinds(&acked);
    for kind in ["paged", "page_sent", "acknowledged"] {
        assert!(kinds.contains(&kind.to_string()), "{kind} in {kinds:?}");
    }
    worker.run_once(mins(opened, 6)).await.unwrap();
    assert!(
        phone.calls_to(VOICE_NUMBER).len() == 1,
        "only the verification call: {:?}",
        phone.calls_to(VOICE_NUMBER)
    );

    // A reply again about the same alert says what happened; an unknown number gets nothing.
    let again = phone.text_in(SMS_NUMBER, "1a").await;
    assert!(again.contains("Not done"), "{again}");
    let stranger = phone.text_in("+14155559999", "1a").await;
    assert!(!stranger.contains("<Message>"), "{stranger}");

    // Delivery reports: signed ones update the page; a bad signature changes nothing.
    let sid = page.sid.clone();
    let (status, _) = callback(
        &app,
        "/integrations/twilio/status",
        &[
            ("MessageSid", &sid),
            ("MessageStatus", "delivered"),
            ("To", SMS_NUMBER),
        ],
        "wrong-token",
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(!log_kinds(&alert(&app, &a).await).contains(&"page_delivery".to_string()));
    assert_eq!(
        phone.report(&sid, "sent", None).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        phone.report(&sid, "delivered", None).await,
        StatusCode::NO_CONTENT
    );
    // A late "sent" after "delivered" does not move it back.
    assert_eq!(
        phone.report(&sid, "sent", None).await,
        StatusCode::NO_CONTENT
    );
    let delivered = alert(&app, &a).await;
    let entry = delivered["log"]
        .as_array()
        .unwrap()
        .iter()
        .find(|it| it["kind"] == "page_delivery")
        .unwrap()
        .clone();
    assert_eq!(entry["detail"]["delivery"], "sent");
    let deliveries: Vec<Value> = delivered["log"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|it| it["kind"] == "page_delivery")
        .cloned()
        .collect();
    assert_eq!(deliveries.len(), 2, "{deliveries:?}");
    assert_eq!(deliveries[1]["detail"]["delivery"], "delivered");
    // A forged reply is refused too.
    let (status, _) = callback(
        &app,
        "/integrations/twilio/sms",
        &[("From", SMS_NUMBER), ("Body", "c")],
        "wrong-token",
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(alert(&app, &a).await["status"], "acknowledged");

    // Alert B: nobody answers the SMS; the call at 5 minutes is answered and 4 pressed.
    let (b, opened) = trigger(&app, &key, "b").await;
    worker.run_once(mins(opened, 5)).await.unwrap();
    let calls = phone.calls_to(VOICE_NUMBER);
    assert_eq!(calls.len(), 2, "{calls:?}");
    let call = calls.last().unwrap();
    let url = call.get("Url").unwrap().to_string();
    assert!(
        url.starts_with(&format!("{PUBLIC}/integrations/twilio/voice?page=")),
        "{url}"
    );
    assert_eq!(
        call.form
            .iter()
            .filter(|(k, _)| k == "StatusCallbackEvent")
            .count(),
        4
    );
    let twiml = phone.answer(&call.sid).await;
    assert!(twiml.contains("<Gather numDigits=\"1\""), "{twiml}");
    assert!(twiml.contains("Checkout 5xx on b"), "{twiml}");
    assert!(twiml.contains("To acknowledge, press 4."), "{twiml}");
    // `*` repeats the menu; a key not in it says so; 4 acknowledges and says it.
    let repeat = phone.press(&call.sid, &twiml, "*").await;
    assert!(repeat.contains("To acknowledge, press 4."), "{repeat}");
    let wrong = phone.press(&call.sid, &repeat, "9").await;
    assert!(wrong.contains("not in the menu"), "{wrong}");
    assert_eq!(alert(&app, &b).await["status"], "triggered");
    let done = phone.press(&call.sid, &wrong, "4").await;
    assert!(done.contains("Acknowledged: Checkout 5xx on b"), "{done}");
    assert!(done.contains("<Hangup/>"), "{done}");
    let acked = alert(&app, &b).await;
    assert_eq!(acked["status"], "acknowledged");
    assert_eq!(acked["acknowledged_by"], "writer@test.example");
    // The call's own reports are recorded; answered again later, it says what became of it.
    assert_eq!(
        phone.report(&call.sid, "completed", None).await,
        StatusCode::NO_CONTENT
    );
    let later = phone.answer(&call.sid).await;
    assert!(later.contains("already acknowledged"), "{later}");
    // A forged key press changes nothing.
    let forged_path = url.strip_prefix(PUBLIC).unwrap().to_string();
    let (status, _) = callback(
        &app,
        &forged_path,
        &[("CallSid", &call.sid), ("Digits", "6")],
        "wrong-token",
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(alert(&app, &b).await["status"], "acknowledged");

    // Alert C: resolved by the push button, which works once.
    let (c, opened) = trigger(&app, &key, "c").await;
    worker.run_once(mins(opened, 0)).await.unwrap();
    let pushed = phone.pushes().last().unwrap().clone();
    assert_eq!(pushed["actions"][0]["method"], "POST");
    let (status, said) = phone.tap(&pushed, "Resolve").await;
    assert_eq!(status, StatusCode::OK, "{said}");
    assert!(
        said["message"].as_str().unwrap().starts_with("Closed"),
        "{said}"
    );
    let resolved = alert(&app, &c).await;
    assert_eq!(resolved["status"], "resolved");
    assert_eq!(resolved["resolved_by"], "writer@test.example");
    // Each button works once; the other one of a resolved alert says it is too late.
    let (status, _) = phone.tap(&pushed, "Resolve").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, said) = phone.tap(&pushed, "Acknowledge").await;
    assert_eq!(status, StatusCode::CONFLICT, "{said}");

    // STOP: no more texts to the number (the method shows it); START resumes.
    let stopped = phone.text_in(SMS_NUMBER, "STOP").await;
    assert!(stopped.contains("until you reply START"), "{stopped}");
    let (_, methods) = app
        .call(&app.write, Method::GET, "/api/v1/me/contact-methods", None)
        .await;
    let method = methods
        .as_array()
        .unwrap()
        .iter()
        .find(|it| it["id"] == sms)
        .unwrap()
        .clone();
    assert_eq!(method["stopped"], true);
    let before = phone.messages_to(SMS_NUMBER).len();
    let (_, opened) = trigger(&app, &key, "d").await;
    worker.run_once(mins(opened, 3)).await.unwrap();
    assert_eq!(
        phone.messages_to(SMS_NUMBER).len(),
        before,
        "no SMS after STOP"
    );
    let started = phone.text_in(SMS_NUMBER, "start").await;
    assert!(started.contains("again"), "{started}");
    let (_, methods) = app
        .call(&app.write, Method::GET, "/api/v1/me/contact-methods", None)
        .await;
    let method = methods
        .as_array()
        .unwrap()
        .iter()
        .find(|it| it["id"] == sms)
        .unwrap()
        .clone();
    assert_eq!(method["stopped"], false);

    // A storm: 50 alerts to one number by SMS only. At most the limit goes out, grouped.
    for id in [push_rule, voice_rule] {
        let (status, _) = app
            .call(
                &app.write,
                Method::DELETE,
                &format!("/api/v1/me/notification-rules/{id}"),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
    }
    let before = phone.messages_to(SMS_NUMBER).len();
    let mut first = None;
    for n in 0..50 {
        let (_, opened) = trigger(&app, &key, &format!("storm-{n}")).await;
        first.get_or_insert(opened);
    }
    let start = first.unwrap();
    for minutes in [2, 3, 20, 40, 80, 140] {
        worker.run_once(mins(start, minutes)).await.unwrap();
    }
    let storm: Vec<_> = phone
        .messages_to(SMS_NUMBER)
        .into_iter()
        .skip(before)
        .collect();
    assert!(
        !storm.is_empty() && storm.len() <= 5,
        "{} messages",
        storm.len()
    );
    let bodies: Vec<&str> = storm.iter().map(|it| it.get("Body").unwrap()).collect();
    assert!(
        bodies.iter().any(|it| it.contains("more alerts")),
        "{bodies:?}"
    );
    let pending: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM notifications WHERE kind = 'page' AND channel = 'sms' AND status = 'pending'",
    )
    .fetch_one(&sqlx::AnyPool::connect(&app.database_url).await.unwrap())
    .await
    .unwrap();
    assert_eq!(pending, 0, "every storm page went, in a grouped message");
    // The grouped page's code acknowledges all of its alerts.
    let code: String = bodies[0]
        .split("Reply ")
        .nth(1)
        .unwrap()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let all = phone.text_in(SMS_NUMBER, &format!("{code}aa")).await;
    assert!(all.matches("Acknowledged").count() >= 2, "{all}");

    // Replies that do nothing are answered five times, then not until a page or an action.
    for n in 0..5 {
        let said = phone.text_in(SMS_NUMBER, "what?").await;
        assert!(said.contains("did not understand"), "reply {n}: {said}");
    }
    let silent = phone.text_in(SMS_NUMBER, "what?").await;
    assert!(!silent.contains("<Message>"), "{silent}");
    let (_, opened) = trigger(&app, &key, "after-silence").await;
    worker.run_once(mins(opened, 150)).await.unwrap();
    let said = phone.text_in(SMS_NUMBER, "what?").await;
    assert!(
        said.contains("did not understand"),
        "answered again after a page: {said}"
    );

    // A disabled person's phone acts on nothing.
    let (quiet, opened) = trigger(&app, &key, "disabled-person").await;
    worker.run_once(mins(opened, 200)).await.unwrap();
    app.disable("writer@test.example").await;
    let refused = phone.text_in(SMS_NUMBER, "a").await;
    assert!(refused.contains("disabled"), "{refused}");
    assert_eq!(alert(&app, &quiet).await["status"], "triggered");

    // Retention: button tokens and reply codes go with the rest of the working rows.
    let retention = firebreak_server::workers::RetentionWorker {
        store: app.store.clone(),
        retention: firebreak_server::settings::RetentionSettings::default().retention(),
    };
    retention
        .run_once(firebreak_store::clock::now() + SignedDuration::from_hours(24 * 400))
        .await
        .unwrap();
    let pool = sqlx::AnyPool::connect(&app.database_url).await.unwrap();
    for table in ["action_tokens", "sms_codes"] {
        let left: i64 =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
                .fetch_one(&pool)
                .await
                .unwrap();
        assert_eq!(left, 0, "{table} pruned");
    }

    assert_eq!(phone.violations(), Vec::<String>::new());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wake_up_pages_sqlite() {
    wake_up_pages(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wake_up_pages_postgres() {
    wake_up_pages(Backend::Postgres).await;
}

/// A landline: the provider refuses SMS to it (21614); the page fails for good, the method
/// says why and later pages skip it (an email goes instead), while the escalation goes on.
async fn permanent_failures(backend: Backend) {
    let phone = FakePhone::start().await;
    let Some(app) = spawn(backend, &phone).await else {
        return;
    };
    phone.connect(PUBLIC, &app.base);
    let worker = worker(&app);
    let landline = fake_phone::REFUSED[0].0;
    let (_, method) = app
        .post(
            "/api/v1/me/contact-methods",
            json!({"kind": "sms", "address": landline}),
        )
        .await;
    let id = method["id"].as_str().unwrap();
    let (status, body) = app
        .post(
            &format!("/api/v1/me/contact-methods/{id}/send-code"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("landline")
            || body.to_string().contains("landline"),
        "{body}"
    );
    // Verified earlier (say, before the number was moved to a landline): pages fail for good.
    sqlx::query("UPDATE contact_methods SET verified_at = 1")
        .execute(&sqlx::AnyPool::connect(&app.database_url).await.unwrap())
        .await
        .unwrap();
    rule(&app, id, 0).await;
    let key = service_key(&app).await;
    let (a, opened) = trigger(&app, &key, "landline").await;
    worker.run_once(mins(opened, 0)).await.unwrap();
    let failed = alert(&app, &a).await;
    let entry = failed["log"]
        .as_array()
        .unwrap()
        .iter()
        .find(|it| it["kind"] == "page_failed")
        .unwrap()
        .clone();
    assert_eq!(entry["detail"]["permanent"], true, "{entry}");
    let (_, methods) = app
        .call(&app.write, Method::GET, "/api/v1/me/contact-methods", None)
        .await;
    let shown = methods
        .as_array()
        .unwrap()
        .iter()
        .find(|it| it["id"] == id)
        .unwrap()
        .clone();
    assert!(
        shown["failure"].as_str().unwrap().contains("landline"),
        "{shown}"
    );
    // The escalation goes on on time: at 30 minutes the policy takes its next pass.
    assert!(failed["next_escalation_at"].is_string(), "{failed}");
    let escalation = firebreak_server::paging::pager::EscalationWorker {
        store: app.store.clone(),
        settings: std::sync::Arc::new(app.settings.clone()),
    };
    assert_eq!(escalation.run_once(mins(opened, 29)).await.unwrap(), 0);
    assert_eq!(escalation.run_once(mins(opened, 30)).await.unwrap(), 1);
    let later = alert(&app, &a).await;
    let steps = log_kinds(&later)
        .iter()
        .filter(|it| it.as_str() == "step" || it.as_str() == "exhausted")
        .count();
    assert!(steps >= 2, "{:?}", log_kinds(&later));
    // The next page skips the failed method: an email to the person instead.
    let (b, opened) = trigger(&app, &key, "after-landline").await;
    let paged = alert(&app, &b).await;
    let entry = paged["log"]
        .as_array()
        .unwrap()
        .iter()
        .find(|it| it["kind"] == "paged")
        .unwrap()
        .clone();
    assert_eq!(entry["detail"]["channel"], "email", "{entry}");
    let _ = opened;
    app.stop().await;
}

/// The provider down (500) or taking a message but answering too late: the page is tried
/// again with backoff and goes out; a page is never lost (a late answer can make it arrive
/// twice — SMS has no idempotency key).
async fn provider_faults(backend: Backend) {
    let phone = FakePhone::start().await;
    let Some(app) = spawn(backend, &phone).await else {
        return;
    };
    phone.connect(PUBLIC, &app.base);
    let worker = worker(&app);
    let sms = add_phone(&app, &phone, "sms", SMS_NUMBER).await;
    rule(&app, &sms, 0).await;
    let key = service_key(&app).await;
    let state = |alert: String| {
        let url = app.database_url.clone();
        async move {
            let pool = sqlx::AnyPool::connect(&url).await.unwrap();
            let (status,): (String,) = sqlx::query_as(
                "SELECT status FROM notifications WHERE incident_id = $1 AND channel = 'sms'",
            )
            .bind(format!("alert:{alert}"))
            .fetch_one(&pool)
            .await
            .unwrap();
            status
        }
    };
    for (n, fault) in [
        fake_phone::Fault::Status500,
        fake_phone::Fault::Stall(std::time::Duration::from_millis(2_500)),
    ]
    .into_iter()
    .enumerate()
    {
        phone.fault(fault.clone());
        let (a, opened) = trigger(&app, &key, &format!("fault-{n}")).await;
        let before = phone.messages_to(SMS_NUMBER).len();
        worker.run_once(mins(opened, 0)).await.unwrap();
        let failed = alert(&app, &a).await;
        let entry = failed["log"]
            .as_array()
            .unwrap()
            .iter()
            .find(|it| it["kind"] == "page_failed")
            .unwrap_or_else(|| panic!("{fault:?}: {failed}"))
            .clone();
        assert_eq!(entry["detail"]["permanent"], false, "{entry}");
        assert_eq!(state(a.clone()).await, "pending", "{fault:?}: tried again");
        worker.run_once(mins(opened, 1)).await.unwrap();
        assert_eq!(state(a.clone()).await, "sent", "{fault:?}");
        let after = phone.messages_to(SMS_NUMBER).len();
        assert!(after > before, "{fault:?}: the page reached the phone");
    }
    // 429 from the provider: retried like any other passing failure.
    let (_, method) = app
        .post(
            "/api/v1/me/contact-methods",
            json!({"kind": "sms", "address": fake_phone::REFUSED[2].0}),
        )
        .await;
    let id = method["id"].as_str().unwrap();
    let (status, body) = app
        .post(
            &format!("/api/v1/me/contact-methods/{id}/send-code"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    // A code that could not be sent does not count against the one-a-minute limit.
    let (status, body) = app
        .post(
            &format!("/api/v1/me/contact-methods/{id}/send-code"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    assert_eq!(phone.violations(), Vec::<String>::new());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_faults_sqlite() {
    provider_faults(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_faults_postgres() {
    provider_faults(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permanent_failures_sqlite() {
    permanent_failures(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permanent_failures_postgres() {
    permanent_failures(Backend::Postgres).await;
}

/// The Account page does the same without JavaScript: add a number, send a code, verify it,
/// see its state; a push method shows its topic once; the Settings page says what is on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_page_adds_and_verifies_a_phone() {
    let phone = FakePhone::start().await;
    let app = spawn(Backend::Sqlite, &phone).await.unwrap();
    phone.connect(PUBLIC, &app.base);
    let (cookie, csrf) = app.session("writer@test.example").await;
    let post = |fields: Vec<(&'static str, String)>| {
        let (cookie, csrf) = (cookie.clone(), csrf.clone());
        let app = &app;
        async move {
            let mut all: Vec<(&str, String)> = vec![("csrf", csrf)];
            all.extend(fields);
            let pairs: Vec<(&str, &str)> = all.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let response = app.form(&cookie, "/account/paging", &pairs).await;
            let status = response.status();
            (status, response.text().await.unwrap())
        }
    };
    let (status, page) = post(vec![
        ("action", "contact".into()),
        ("kind", "sms".into()),
        ("address", "+1 415 555 0100".into()),
    ])
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Send a code to it"), "{page}");
    assert!(page.contains("not verified yet"));
    let methods = app
        .store
        .contact_methods("writer@test.example")
        .await
        .unwrap();
    let id = methods[0].id.clone();
    let (status, page) = post(vec![("action", "send-code".into()), ("id", id.clone())]).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("A code was sent to +14155550100"), "{page}");
    let text = phone
        .messages_to(SMS_NUMBER)
        .last()
        .unwrap()
        .get("Body")
        .unwrap()
        .to_string();
    let code: String = text.chars().filter(char::is_ascii_digit).take(6).collect();
    let (status, page) = post(vec![
        ("action", "verify".into()),
        ("id", id.clone()),
        ("code", code),
    ])
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("sms +14155550100 is verified"), "{page}");
    assert!(!page.contains("not verified yet"), "{page}");
    let (status, page) = post(vec![("action", "contact".into()), ("kind", "push".into())]).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(
        page.contains("Subscribe to this topic in the ntfy app"),
        "{page}"
    );
    // A forged form (no CSRF token) changes nothing.
    let response = app
        .form(
            &cookie,
            "/account/paging",
            &[("action", "delete-contact"), ("id", &id)],
        )
        .await;
    assert!(response.status().is_client_error());
    assert_eq!(
        app.store
            .contact_methods("writer@test.example")
            .await
            .unwrap()
            .len(),
        2
    );
    // The admin's Settings page says what is on and where the provider calls.
    let (admin_cookie, _) = app.session("admin@test.example").await;
    let (_, settings) = app.page(&admin_cookie, "/settings").await;
    assert!(settings.contains("Pages that wake people"), "{settings}");
    assert!(
        settings.contains(&format!("{PUBLIC}/integrations/twilio/sms")),
        "{settings}"
    );
    app.stop().await;
}
