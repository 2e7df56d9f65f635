//! Chat against a fake Slack that checks every call against Slack's published method facts
//! (`fake_slack.rs`): a major incident gets a channel with its people invited, the card with
//! buttons and the announcement; updates arrive and the card is edited; slash commands,
//! buttons, modals and pins come back signed (once by Python's `slack_sdk`, Slack's own
//! signer) and apply once however often Slack retries; stale, unsigned and tampered requests
//! are refused; rate limits, an HTML outage and a post accepted but stalled past the client
//! timeout end in exactly one message.

use std::time::Duration;

use firebreak_integrations::chat::slack::signature;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::fake_slack::{FakeSlack, Fault};
use crate::helpers::{Backend, TestApp, until, urlencode};

const SECRET: &str = "test-signing-secret";
const ANNOUNCE: &str = "CANNOUNCE";
const WRITER: &str = "UWRITER";
const READER: &str = "UREADER";
const STRANGER: &str = "USTRANGER";

async fn fake() -> FakeSlack {
    let fake = FakeSlack::start().await;
    fake.add_user(WRITER, "writer@test.example");
    fake.add_user(READER, "reader@test.example");
    fake.add_user(STRANGER, "stranger@elsewhere.example");
    fake.add_channel(ANNOUNCE, "incidents", "UADMIN");
    fake
}

async fn app(fake: &FakeSlack, backend: Backend) -> Option<TestApp> {
    let api = fake.api.clone();
    TestApp::spawn_with(backend, move |settings| {
        settings.rules = firebreak_server::Settings::default().rules;
        settings.people.join_on_action = true;
        settings.chat.slack.bot_token = firebreak_server::settings::Secret::new("xoxb-test");
        settings.chat.slack.signing_secret = firebreak_server::settings::Secret::new(SECRET);
        settings.chat.slack.announcement_channel = ANNOUNCE.into();
        settings.chat.slack.api_base_url = api;
        settings.webhooks.max_attempts = 1000;
    })
    .await
}

fn now() -> String {
    firebreak_store::clock::now().as_second().to_string()
}

/// POSTs `body` to a Slack endpoint of Firebreak, signed with `signed_as` (the timestamp
/// and signature), with extra headers.
async fn send(
    app: &TestApp,
    path: &str,
    body: &str,
    signed: Option<(String, String)>,
    retry: Option<&str>,
) -> (StatusCode, String) {
    let content_type = if body.starts_with('{') {
        "application/json"
    } else {
        "application/x-www-form-urlencoded"
    };
    let mut request = app
        .http
        .post(format!("{}{path}", app.base))
        .header("Content-Type", content_type)
        .body(body.to_string());
    if let Some((timestamp, sig)) = signed {
        request = request
            .header("X-Slack-Request-Timestamp", timestamp)
            .header("X-Slack-Signature", sig);
    }
    if let Some(n) = retry {
        request = request
            .header("X-Slack-Retry-Num", n)
            .header("X-Slack-Retry-Reason", "http_timeout");
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.text().await.unwrap())
}

fn signed(body: &str) -> Option<(String, String)> {
    let timestamp = now();
    let sig = signature(SECRET, &timestamp, body.as_bytes());
    Some((timestamp, sig))
}

/// The signature Slack's own SDK makes (python `slack_sdk.signature.SignatureVerifier`).
fn signed_by_slack_sdk(body: &str) -> Option<(String, String)> {
    let timestamp = now();
    let python = std::env::var("FIREBREAK_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let out = std::process::Command::new(&python)
        .args([
            "-c",
            "import sys; from slack_sdk.signature import SignatureVerifier; \
             print(SignatureVerifier(sys.argv[1]).generate_signature(timestamp=sys.argv[2], body=sys.stdin.read()))",
            SECRET,
            &timestamp,
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(body.as_bytes())?;
            child.wait_with_output()
        })
        .unwrap_or_else(|err| panic!("cannot run {python} with slack_sdk: {err}"));
    assert!(
        out.status.success(),
        "slack_sdk is installed (scripts/test installs it)"
    );
    Some((
        timestamp,
        String::from_utf8(out.stdout).unwrap().trim().to_string(),
    ))
}

fn slash(user: &str, channel: &str, text: &str) -> String {
    format!(
        "token=ignored&team_id=T1&team_domain=acme&channel_id={channel}&channel_name=x&user_id={user}&user_name=x&command=%2Finc&text={}&api_app_id=A1&is_enterprise_install=false&response_url={}&trigger_id=13345224609.738474920.8088930838d88f008e0",
        urlencode(text),
        urlencode("https://hooks.slack.com/commands/T1/1/x"),
    )
}

fn interaction(payload: Value) -> String {
    format!("payload={}", urlencode(&payload.to_string()))
}

fn event(event_id: &str, event: Value) -> String {
    json!({
        "token": "ignored", "team_id": "T1", "api_app_id": "A1", "type": "event_callback",
        "event_id": event_id, "event_time": 1_800_000_000, "event": event,
        "authorizations": [{"team_id": "T1", "user_id": crate::fake_slack::BOT_USER, "is_bot": true}],
    })
    .to_string()
}

async fn timeline(app: &TestApp, reference: &str) -> Vec<Value> {
    let (_, page) = app
        .get(&format!("/api/v1/incidents/{reference}/timeline?limit=200"))
        .await;
    page["items"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn a_major_incident_runs_in_a_slack_channel() {
    let fake = fake().await;
    let app = app(&fake, Backend::Sqlite).await.unwrap();
    let incident = app
        .declare(json!({"title": "Checkout fails", "severity": "major"}))
        .await;
    let reference = incident["reference"].as_str().unwrap().to_string();

    // One channel, named by the rules, the declarer invited, the topic set, the card posted.
    let channel = until("the channel and its card", || async {
        let channel = fake.channel_named("inc-1-checkout-fails")?;
        (!fake.messages(&channel.id).is_empty()).then_some(channel)
    })
    .await;
    assert!(channel.members.contains(&WRITER.to_string()), "{channel:?}");
    assert!(
        channel.topic.starts_with("major · investigating"),
        "{}",
        channel.topic
    );
    let card = fake.messages(&channel.id)[0].clone();
    assert!(card.text.contains("INC-1: Checkout fails"));
    let buttons: Vec<&str> = card
        .blocks
        .as_array()
        .unwrap()
        .iter()
        .filter(|it| it["type"] == "actions")
        .flat_map(|it| it["elements"].as_array().unwrap())
        .map(|it| it["action_id"].as_str().unwrap())
        .collect();
    assert_eq!(buttons, ["inc:lead", "inc:update", "inc:resolve"]);
    assert_eq!(
        card.metadata["event_type"], "firebreak_work",
        "posts carry their work id"
    );
    until("the announcement", || async {
        (fake.messages(ANNOUNCE).len() == 1).then_some(())
    })
    .await;

    // A status update reaches the channel; the card is edited, not re-posted.
    let (status, _) = app
        .post(
            &format!("/api/v1/incidents/{reference}/updates"),
            json!({"message": "Rolled back", "next_update_in_minutes": 30}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    until("the update and the card's edit", || async {
        let messages = fake.messages(&channel.id);
        let update = messages
            .iter()
            .filter(|it| it.text.contains("Rolled back"))
            .count();
        (update == 1 && messages[0].edits > 0).then_some(())
    })
    .await;

    // A slash command, signed by Slack's own SDK, runs as the linked person.
    let body = slash(WRITER, &channel.id, "note the cache is cold");
    let (status, answer) = send(
        &app,
        "/chat/slack/commands",
        &body,
        signed_by_slack_sdk(&body),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert!(answer.contains("done"), "{answer}");
    let notes: Vec<Value> = timeline(&app, &reference)
        .await
        .into_iter()
        .filter(|it| it["kind"] == "note")
        .collect();
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0]["actor"], "writer@test.example");

    // A viewer and an unlinked user are told why not; nothing is written.
    let body = slash(READER, &channel.id, "note from a viewer");
    let (_, answer) = send(&app, "/chat/slack/commands", &body, signed(&body), None).await;
    assert!(
        answer.contains("Not done") && answer.contains("responder"),
        "{answer}"
    );
    let body = slash(STRANGER, &channel.id, "note from a stranger");
    let (_, answer) = send(&app, "/chat/slack/commands", &body, signed(&body), None).await;
    assert!(answer.contains("I don't know who"), "{answer}");
    let body = slash(WRITER, &channel.id, "frobnicate");
    let (_, answer) = send(&app, "/chat/slack/commands", &body, signed(&body), None).await;
    assert!(answer.contains("I don't know `frobnicate`"), "{answer}");
    assert_eq!(
        timeline(&app, &reference)
            .await
            .iter()
            .filter(|it| it["kind"] == "note")
            .count(),
        1
    );

    // Unsigned, stale and tampered requests are refused before anything happens.
    let body = slash(WRITER, &channel.id, "note sneaky");
    let (status, _) = send(&app, "/chat/slack/commands", &body, None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let stale = (
        (firebreak_store::clock::now().as_second() - 301).to_string(),
        signature(
            SECRET,
            &(firebreak_store::clock::now().as_second() - 301).to_string(),
            body.as_bytes(),
        ),
    );
    let (status, _) = send(&app, "/chat/slack/commands", &body, Some(stale), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let tampered = slash(WRITER, &channel.id, "note changed after signing");
    let (status, _) = send(&app, "/chat/slack/commands", &tampered, signed(&body), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        timeline(&app, &reference)
            .await
            .iter()
            .filter(|it| it["kind"] == "note")
            .count(),
        1
    );

    // 📌 pins a message into the timeline; Slack's retry of the same event applies once.
    let ts = fake.human_message(&channel.id, WRITER, "error rate back under 1%");
    let pinned = event(
        "Ev0001",
        json!({"type": "reaction_added", "user": WRITER, "reaction": "pushpin", "item": {"type": "message", "channel": channel.id, "ts": ts}, "item_user": WRITER, "event_ts": ts}),
    );
    let (status, _) = send(&app, "/chat/slack/events", &pinned, signed(&pinned), None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = send(
        &app,
        "/chat/slack/events",
        &pinned,
        signed(&pinned),
        Some("1"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let pin = until("the pin", || async {
        timeline(&app, &reference)
            .await
            .into_iter()
            .find(|it| it["kind"] == "message_pinned")
    })
    .await;
    assert_eq!(pin["body"]["text"], "error rate back under 1%");
    assert_eq!(pin["body"]["author"], "writer@test.example");
    assert!(pin["body"]["link"].as_str().unwrap().contains("/archives/"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        timeline(&app, &reference)
            .await
            .iter()
            .filter(|it| it["kind"] == "message_pinned")
            .count(),
        1,
        "a retried event applies once"
    );
    // Removing the reaction appends a correction.
    let unpinned = event(
        "Ev0002",
        json!({"type": "reaction_removed", "user": WRITER, "reaction": "pushpin", "item": {"type": "message", "channel": channel.id, "ts": ts}, "event_ts": ts}),
    );
    send(
        &app,
        "/chat/slack/events",
        &unpinned,
        signed(&unpinned),
        None,
    )
    .await;
    let correction = until("the unpin's correction", || async {
        timeline(&app, &reference)
            .await
            .into_iter()
            .find(|it| it["kind"] == "correction")
    })
    .await;
    assert_eq!(correction["body"]["corrects"], pin["seq"]);

    // Slack checks the Request URL once.
    let check = json!({"token": "x", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", "type": "url_verification"}).to_string();
    let (status, answer) = send(&app, "/chat/slack/events", &check, signed(&check), None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(answer.contains("3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"));

    // `/inc declare` alone opens the declare form; submitting it declares.
    let body = slash(WRITER, &channel.id, "declare");
    let (status, _) = send(&app, "/chat/slack/commands", &body, signed(&body), None).await;
    assert_eq!(status, StatusCode::OK);
    let opened = fake.calls_of("views.open");
    assert_eq!(opened.len(), 1);
    assert_eq!(opened[0]["view"]["callback_id"], "declare");
    let submit = interaction(json!({
        "type": "view_submission", "user": {"id": WRITER}, "api_app_id": "A1", "trigger_id": "t",
        "view": {"id": "V1", "callback_id": "declare", "private_metadata": "", "hash": "h",
            "state": {"values": {"title": {"title": {"type": "plain_text_input", "value": "Payments are down"}},
                "severity": {"severity": {"type": "static_select", "selected_option": {"value": "critical"}}}}}},
    }));
    let (status, answer) = send(
        &app,
        "/chat/slack/interactions",
        &submit,
        signed(&submit),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let (_, second) = app.get("/api/v1/incidents/INC-2").await;
    assert_eq!(second["title"], "Payments are down");
    assert_eq!(second["severity"], "critical");
    until("INC-2's channel", || async {
        fake.channel_named("inc-2-payments-are-down")
    })
    .await;

    // The card's Resolve button resolves, as the person who pressed it.
    let press = interaction(json!({
        "type": "block_actions", "user": {"id": WRITER}, "api_app_id": "A1", "trigger_id": "t2",
        "container": {"type": "message", "channel_id": channel.id}, "channel": {"id": channel.id},
        "actions": [{"type": "button", "action_id": "inc:resolve", "block_id": "incident", "value": reference, "action_ts": "1"}],
    }));
    let (status, _) = send(
        &app,
        "/chat/slack/interactions",
        &press,
        signed(&press),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, it) = app.get(&format!("/api/v1/incidents/{reference}")).await;
    assert_eq!(it["status"], "resolved");
    assert!(
        fake.ephemeral_to(WRITER)
            .iter()
            .any(|it| it.contains("INC-1: done")),
        "{:?}",
        fake.ephemeral_to(WRITER)
    );

    // Nothing Firebreak sent broke Slack's published rules.
    assert_eq!(fake.violations(), Vec::<String>::new());
    app.stop().await;
}

#[tokio::test]
async fn slack_failing_ends_in_one_channel_and_one_post_each() {
    let fake = fake().await;
    // Someone else's channel has the name: Firebreak takes the next one.
    fake.add_channel("COTHER", "inc-1-search-is-slow", "USOMEONE");
    // Setting the new channel's topic fails once: the retry finds the channel it made and
    // adopts it rather than making another.
    fake.fault("conversations.setTopic", Fault::Error("internal_error"));
    // The post of the card meets a rate limit, then an HTML outage.
    fake.fault("chat.postMessage", Fault::RateLimited(1));
    fake.fault("chat.postMessage", Fault::Html503);
    let app = app(&fake, Backend::Sqlite).await.unwrap();
    let incident = app
        .declare(json!({"title": "Search is slow", "severity": "major"}))
        .await;
    let reference = incident["reference"].as_str().unwrap().to_string();
    let channel = until("the card, after the rate limit and the outage", || async {
        let channel = fake.channel_named("inc-1-search-is-slow-2")?;
        (!fake.messages(&channel.id).is_empty()).then_some(channel)
    })
    .await;
    assert_eq!(
        fake.messages(&channel.id)
            .iter()
            .filter(|it| it.text.contains("INC-1: Search is slow"))
            .count(),
        1
    );
    assert!(
        fake.messages("COTHER").is_empty(),
        "someone else's channel is left alone"
    );
    assert_eq!(
        fake.calls_of("conversations.create")
            .iter()
            .filter(|it| it["name"] == "inc-1-search-is-slow-2")
            .count(),
        2
    );
    assert!(
        fake.channel_named("inc-1-search-is-slow-3").is_none(),
        "its own channel adopted, not a third"
    );

    // A post accepted but stalled past the client's timeout: found in the history, not re-posted.
    fake.fault("chat.postMessage", Fault::Stall(Duration::from_secs(3)));
    let (status, _) = app
        .post(
            &format!("/api/v1/incidents/{reference}/updates"),
            json!({"message": "Reindexing"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    until("the stalled post to be settled", || async {
        let (_, chat) = app
            .get(&format!("/api/v1/incidents/{reference}/chat"))
            .await;
        (chat["backlog"] == json!([])).then_some(())
    })
    .await;
    let posted = fake
        .messages(&channel.id)
        .into_iter()
        .filter(|it| it.text.contains("Reindexing"))
        .count();
    assert_eq!(posted, 1, "posted exactly once");
    assert!(
        fake.calls_of("conversations.history")
            .iter()
            .any(|it| it["include_all_metadata"] == "true"),
        "the unknown outcome was reconciled from the channel's history"
    );
    assert_eq!(fake.violations(), Vec::<String>::new());
    app.stop().await;
}

#[tokio::test]
async fn nothing_of_a_private_incident_reaches_the_announcement_channel() {
    let fake = fake().await;
    let app = app(&fake, Backend::Sqlite).await.unwrap();
    let incident = app
        .declare(json!({"title": "Leaked key", "severity": "critical", "private": true}))
        .await;
    let channel = until("the private channel", || async {
        let channel = fake.channel_named("inc-1-leaked-key")?;
        (!fake.messages(&channel.id).is_empty()).then_some(channel)
    })
    .await;
    assert!(
        channel.is_private,
        "a private incident gets a private channel"
    );
    let (status, _) = app
        .post(
            &format!(
                "/api/v1/incidents/{}/updates",
                incident["reference"].as_str().unwrap()
            ),
            json!({"message": "Rotated"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    until("the update in the private channel", || async {
        fake.messages(&channel.id)
            .iter()
            .any(|it| it.text.contains("Rotated"))
            .then_some(())
    })
    .await;
    assert!(fake.messages(ANNOUNCE).is_empty(), "nothing announced");
    app.stop().await;
}

#[tokio::test]
async fn the_fake_refuses_what_slack_would() {
    let fake = FakeSlack::start().await;
    let http = firebreak_integrations::http::client(Duration::from_secs(5)).unwrap();
    let call = |method: &str, content_type: &str, body: &str, token: &str| {
        http.post(format!("{}/{method}", fake.api))
            .header("Content-Type", content_type)
            .header("Authorization", format!("Bearer {token}"))
            .body(body.to_string())
            .send()
    };
    let json = "application/json; charset=utf-8";
    call(
        "chat.postMessage",
        json,
        r#"{"channel":"C1","text":"x","colour":"red"}"#,
        "xoxb-1",
    )
    .await
    .unwrap();
    call("chat.postMessage", json, r#"{"text":"x"}"#, "xoxb-1")
        .await
        .unwrap();
    call(
        "conversations.create",
        json,
        r#"{"name":"Has Spaces"}"#,
        "xoxb-1",
    )
    .await
    .unwrap();
    call(
        "users.lookupByEmail",
        json,
        r#"{"email":"a@b.c"}"#,
        "xoxb-1",
    )
    .await
    .unwrap();
    call(
        "chat.postMessage",
        "application/json",
        r#"{"channel":"C1","text":"x"}"#,
        "xoxb-1",
    )
    .await
    .unwrap();
    call(
        "chat.postMessage",
        json,
        r#"{"channel":"C1","text":"x"}"#,
        "xapp-1",
    )
    .await
    .unwrap();
    call("chat.fly", json, "{}", "xoxb-1").await.unwrap();
    let violations = fake.violations().join("\n");
    for expected in [
        "unknown argument \"colour\"",
        "required argument \"channel\" missing",
        "breaks Slack's channel-name rules",
        "called with POST, documented as GET",
        "without charset=utf-8",
        "no Bearer xoxb-",
        "chat.fly: not a Slack method",
    ] {
        assert!(
            violations.contains(expected),
            "{expected} in:\n{violations}"
        );
    }
}

#[tokio::test]
async fn a_page_arrives_as_a_slack_message_and_its_button_acknowledges() {
    let fake = fake().await;
    let app = app(&fake, Backend::Sqlite).await.unwrap();
    let alert = crate::chat_pages::page_writer(&app, "slack", WRITER).await;
    let page = until("the page in Slack", || async {
        fake.messages(WRITER).into_iter().next()
    })
    .await;
    assert!(page.text.contains("Database is down"), "{}", page.text);
    let buttons: Vec<Value> = page
        .blocks
        .as_array()
        .unwrap()
        .iter()
        .filter(|it| it["type"] == "actions")
        .flat_map(|it| it["elements"].as_array().unwrap().clone())
        .collect();
    assert_eq!(buttons[0]["action_id"], "page:ack");
    assert_eq!(buttons[0]["value"], alert.as_str());
    assert_eq!(buttons[1]["action_id"], "page:resolve");

    // A viewer pressing it is refused; the person paged acknowledges.
    let press = |user: &str| {
        interaction(json!({
            "type": "block_actions", "user": {"id": user}, "api_app_id": "A1", "trigger_id": "t",
            "container": {"type": "message", "channel_id": "D1"}, "channel": {"id": "D1"},
            "actions": [{"type": "button", "action_id": "page:ack", "block_id": "page", "value": alert, "action_ts": "1"}],
        }))
    };
    let body = press(READER);
    send(&app, "/chat/slack/interactions", &body, signed(&body), None).await;
    assert!(
        fake.ephemeral_to(READER)
            .iter()
            .any(|it| it.contains("Not done") && it.contains("responder")),
        "{:?}",
        fake.ephemeral_to(READER)
    );
    assert!(
        crate::chat_pages::acknowledged(&app, &alert)
            .await
            .is_none()
    );
    let body = press(WRITER);
    let (status, _) = send(&app, "/chat/slack/interactions", &body, signed(&body), None).await;
    assert_eq!(status, StatusCode::OK);
    let it = until("the acknowledgement", || {
        crate::chat_pages::acknowledged(&app, &alert)
    })
    .await;
    assert_eq!(it["acknowledged_by"], "writer@test.example");
    assert!(
        fake.ephemeral_to(WRITER)
            .iter()
            .any(|it| it.contains("Acknowledged: Database is down"))
    );
    assert_eq!(fake.violations(), Vec::<String>::new());
    app.stop().await;
}

#[tokio::test]
async fn every_inc_verb_works_from_slack() {
    let fake = fake().await;
    let app = app(&fake, Backend::Sqlite).await.unwrap();
    let incident = app
        .declare(json!({"title": "Login is slow", "severity": "minor"}))
        .await;
    let reference = incident["reference"].as_str().unwrap().to_string();
    // A minor incident has no channel until asked: `/inc channel` from chat asks for it.
    let run = |text: &'static str, channel: String| {
        let app = &app;
        async move {
            let body = slash(WRITER, &channel, text);
            let (status, answer) =
                send(app, "/chat/slack/commands", &body, signed(&body), None).await;
            assert_eq!(status, StatusCode::OK, "{text}: {answer}");
            let answer: Value = serde_json::from_str(&answer).unwrap();
            assert_eq!(answer["response_type"], "ephemeral");
            answer["text"].as_str().unwrap().to_string()
        }
    };
    // Outside an incident's channel, a command that needs one says so.
    let said = run("update all good", "CELSEWHERE".into()).await;
    assert!(said.contains("incident's channel"), "{said}");
    let (status, _) = app
        .post(&format!("/api/v1/incidents/{reference}/channel"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let channel = until("the channel", || async {
        let channel = fake.channel_named("inc-1-login-is-slow")?;
        (!fake.messages(&channel.id).is_empty()).then_some(channel)
    })
    .await
    .id;
    let said = run("help", channel.clone()).await;
    assert!(
        said.contains("declare") && said.contains("resolve"),
        "{said}"
    );
    for text in [
        "update Rolled back the deploy",
        "lead",
        "comms <@UREADER|reader>",
        "role support writer@test.example",
        "severity major",
        "status identified",
        "channel",
        "call https://meet.example.com/inc-1",
    ] {
        let said = run(text, channel.clone()).await;
        assert!(said.starts_with("INC-1:"), "{text}: {said}");
    }
    let (_, it) = app.get(&format!("/api/v1/incidents/{reference}")).await;
    assert_eq!(it["severity"], "major");
    assert_eq!(it["status"], "identified");
    assert_eq!(it["roles"]["lead"], "writer@test.example", "{it}");
    assert_eq!(it["roles"]["comms"], "reader@test.example", "{it}");
    assert_eq!(it["roles"]["support"], "writer@test.example", "{it}");
    assert_eq!(it["call_link"], "https://meet.example.com/inc-1");
    until("the call in the channel and on the card", || async {
        let messages = fake.messages(&channel);
        let said = messages.iter().any(|it| {
            it.text
                .contains("The call is here: https://meet.example.com/inc-1")
        });
        let card = messages[0]
            .text
            .contains("Call: https://meet.example.com/inc-1");
        (said && card).then_some(())
    })
    .await;
    let (status, _) = app
        .post(
            &format!("/api/v1/incidents/{reference}/call"),
            json!({"url": "meet.example.com"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let kinds: Vec<String> = timeline(&app, &reference)
        .await
        .iter()
        .map(|it| it["kind"].as_str().unwrap().to_string())
        .collect();
    assert!(kinds.contains(&"update_posted".to_string()), "{kinds:?}");
    // ack with nothing paged says so; resolve ends it.
    let said = run("ack", channel.clone()).await;
    assert!(said.contains("no page"), "{said}");
    let said = run("resolve", channel.clone()).await;
    assert!(said.starts_with("INC-1:"), "{said}");
    let (_, it) = app.get(&format!("/api/v1/incidents/{reference}")).await;
    assert_eq!(it["status"], "resolved");
    assert_eq!(fake.violations(), Vec::<String>::new());
    app.stop().await;
}

#[tokio::test]
async fn socket_mode_needs_no_way_in() {
    let fake = fake().await;
    fake.serve_socket().await;
    let api = fake.api.clone();
    let app = TestApp::spawn_with(Backend::Sqlite, move |settings| {
        settings.rules = firebreak_server::Settings::default().rules;
        settings.people.join_on_action = true;
        settings.chat.slack.bot_token = firebreak_server::settings::Secret::new("xoxb-test");
        settings.chat.slack.app_token = firebreak_server::settings::Secret::new("xapp-test");
        settings.chat.slack.api_base_url = api;
    })
    .await
    .unwrap();
    let incident = app
        .declare(json!({"title": "Queue backs up", "severity": "major"}))
        .await;
    let reference = incident["reference"].as_str().unwrap().to_string();
    let channel = until("the channel", || async {
        let channel = fake.channel_named("inc-1-queue-backs-up")?;
        (!fake.messages(&channel.id).is_empty()).then_some(channel)
    })
    .await;
    until("the socket", || async {
        (fake.connections() == 1).then_some(())
    })
    .await;

    // A slash command arrives as an envelope: acknowledged, run, answered to the person.
    let slash = |envelope: &str, text: &str| {
        json!({
            "envelope_id": envelope, "type": "slash_commands", "accepts_response_payload": true,
            "payload": {"token": "x", "team_id": "T1", "channel_id": channel.id, "user_id": WRITER,
                "command": "/inc", "text": text, "response_url": "https://hooks.slack.com/x", "trigger_id": "t"},
        })
    };
    fake.push(slash("env-1", "note sent down the socket"));
    until("the note", || async {
        timeline(&app, &reference)
            .await
            .into_iter()
            .find(|it| it["kind"] == "note" && it["actor"] == "writer@test.example")
    })
    .await;
    assert!(fake.acks().contains(&"env-1".to_string()));
    until("the answer", || async {
        fake.ephemeral_to(WRITER)
            .iter()
            .any(|it| it.contains("INC-1: done"))
            .then_some(())
    })
    .await;

    // An event, and Slack redelivering it: pinned once.
    let ts = fake.human_message(&channel.id, WRITER, "queue drained");
    let event = |envelope: &str, retry: i64| {
        json!({
            "envelope_id": envelope, "type": "events_api", "accepts_response_payload": false,
            "retry_attempt": retry, "retry_reason": if retry > 0 { "timeout" } else { "" },
            "payload": {"type": "event_callback", "event_id": "EvSock1", "team_id": "T1",
                "event": {"type": "reaction_added", "user": WRITER, "reaction": "pushpin",
                    "item": {"type": "message", "channel": channel.id, "ts": ts}, "event_ts": ts}},
        })
    };
    fake.push(event("env-2", 0));
    fake.push(event("env-3", 1));
    until("the pin", || async {
        timeline(&app, &reference)
            .await
            .into_iter()
            .find(|it| it["kind"] == "message_pinned")
    })
    .await;
    until("both acknowledged", || async {
        let acks = fake.acks();
        (acks.contains(&"env-2".to_string()) && acks.contains(&"env-3".to_string())).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        timeline(&app, &reference)
            .await
            .iter()
            .filter(|it| it["kind"] == "message_pinned")
            .count(),
        1
    );

    // A 📌 nobody heard of (the event never came): the next connection catches up, once.
    let missed = fake.human_message(&channel.id, WRITER, "consumer lag back to zero");
    fake.react_silently(&channel.id, &missed, WRITER, "pushpin");
    // Slack asks for a new connection: Firebreak opens one from a fresh URL and goes on.
    fake.push(json!({"type": "disconnect", "reason": "refresh_requested", "debug_info": {"host": "applink-test"}}));
    until("a second connection", || async {
        (fake.connections() == 2).then_some(())
    })
    .await;
    assert_eq!(fake.calls_of("apps.connections.open").len(), 2);
    until("the missed pin", || async {
        timeline(&app, &reference).await.into_iter().find(|it| {
            it["kind"] == "message_pinned" && it["body"]["text"] == "consumer lag back to zero"
        })
    })
    .await;
    fake.push(slash("env-4", "note after the refresh"));
    until("the second note", || async {
        timeline(&app, &reference)
            .await
            .into_iter()
            .find(|it| it["body"]["text"] == "after the refresh")
    })
    .await;
    // Another connection reads the same history again: nothing pinned twice.
    fake.push(json!({"type": "disconnect", "reason": "refresh_requested"}));
    until("a third connection", || async {
        (fake.connections() == 3).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let pins = timeline(&app, &reference)
        .await
        .into_iter()
        .filter(|it| it["kind"] == "message_pinned")
        .count();
    assert_eq!(pins, 2, "the heard pin and the caught-up one, each once");
    assert_eq!(
        fake.violations(),
        Vec::<String>::new(),
        "apps.connections.open with the xapp- token"
    );
    app.stop().await;
}

#[tokio::test]
async fn the_person_who_owes_the_update_is_mentioned() {
    let fake = fake().await;
    let api = fake.api.clone();
    let app = TestApp::spawn_with(Backend::Sqlite, move |settings| {
        settings.rules = firebreak_server::Settings::default().rules;
        settings.incidents.remind_before_minutes = 5;
        settings.chat.slack.bot_token = firebreak_server::settings::Secret::new("xoxb-test");
        settings.chat.slack.api_base_url = api;
    })
    .await
    .unwrap();
    let incident = app
        .declare(json!({"title": "Cart is empty", "severity": "major"}))
        .await;
    let reference = incident["reference"].as_str().unwrap().to_string();
    for role in ["lead", "comms"] {
        let (status, _) = app
            .call(
                &app.write,
                reqwest::Method::PUT,
                &format!("/api/v1/incidents/{reference}/roles/{role}"),
                Some(json!({"user": "writer@test.example"})),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
    }
    // The next update is due in a minute, inside the five-minute reminder: the clock
    // reminds at its next tick, in the channel, naming the comms lead so Slack pings them.
    let (status, _) = app
        .post(
            &format!("/api/v1/incidents/{reference}/updates"),
            json!({"message": "Looking", "next_update_in_minutes": 1}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let channel = until("the channel", || async {
        fake.channel_named("inc-1-cart-is-empty")
    })
    .await;
    until("the reminder, with a mention", || async {
        fake.messages(&channel.id)
            .iter()
            .any(|it| {
                it.text
                    .starts_with("<@UWRITER>: the next status update is due by")
            })
            .then_some(())
    })
    .await;
    assert_eq!(fake.violations(), Vec::<String>::new());
    app.stop().await;
}
