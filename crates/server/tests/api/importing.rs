//! Moving a PagerDuty account in through `POST /api/v1/imports/pagerduty`, read from a local
//! fake of PagerDuty's REST API (pagination, a rate limit, its auth): the plan, applying it,
//! the schedules on call interval for interval as PagerDuty renders them, the kept routing
//! key paging in shadow mode, a second run that changes nothing and a rotation changed at the
//! source that the next run updates.

use std::path::Path;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::both_backends;
use crate::fake_opsgenie::{FakeOpsgenie, KEY};
use crate::fake_pagerduty::{FakePagerDuty, TOKEN};
use crate::helpers::TestApp;
use crate::paging::open_alerts;

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../firebreak/tests/fixtures/pagerduty"
);

async fn import(app: &TestApp, body: Value) -> (StatusCode, Value) {
    import_from(app, "pagerduty", body).await
}

async fn import_from(app: &TestApp, vendor: &str, body: Value) -> (StatusCode, Value) {
    app.call(
        &app.admin,
        Method::POST,
        &format!("/api/v1/imports/{vendor}"),
        Some(body),
    )
    .await
}

/// Each applied object's outcome, by section and PagerDuty id.
fn outcomes(answer: &Value) -> Vec<(String, String, String)> {
    answer["applied"]
        .as_array()
        .unwrap_or_else(|| panic!("applied: {answer}"))
        .iter()
        .map(|it| {
            (
                it["section"].as_str().unwrap().to_string(),
                it["id"].as_str().unwrap().to_string(),
                it["outcome"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// PagerDuty's rendering of a schedule as (start, end, email), adjacent entries of one person
/// merged, as Firebreak's shifts are.
fn rendered(
    doc: &Value,
    emails: &[(&str, &str)],
) -> Vec<(jiff::Timestamp, jiff::Timestamp, String)> {
    let mut out: Vec<(jiff::Timestamp, jiff::Timestamp, String)> = Vec::new();
    for entry in doc["final_schedule"]["rendered_schedule_entries"]
        .as_array()
        .unwrap()
    {
        let start: jiff::Timestamp = entry["start"].as_str().unwrap().parse().unwrap();
        let end: jiff::Timestamp = entry["end"].as_str().unwrap().parse().unwrap();
        let id = entry["user"]["id"].as_str().unwrap();
        let email = emails.iter().find(|it| it.0 == id).unwrap().1.to_string();
        match out.last_mut() {
            Some(last) if last.1 == start && last.2 == email => last.1 = end,
            _ => out.push((start, end, email)),
        }
    }
    out
}

/// Firebreak's shifts of a schedule over a range, the people on call only.
async fn shifts(
    app: &TestApp,
    id: &str,
    (from, to): (jiff::Timestamp, jiff::Timestamp),
) -> Vec<(jiff::Timestamp, jiff::Timestamp, String)> {
    let (status, found) = app
        .get(&format!(
            "/api/v1/schedules/{id}/shifts?from={}&to={}",
            crate::helpers::urlencode(&from.to_string()),
            crate::helpers::urlencode(&to.to_string())
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    found
        .as_array()
        .unwrap()
        .iter()
        .filter(|it| !it["person"].is_null())
        .map(|it| {
            (
                it["start"].as_str().unwrap().parse().unwrap(),
                it["end"].as_str().unwrap().parse().unwrap(),
                it["person"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

const EMAILS: [(&str, &str); 4] = [
    ("PUSR0AA", "ana.ortiz@example.com"),
    ("PUSR0BB", "bo@example.com"),
    ("PUSR0CC", "chidi@example.com"),
    ("PUSR0DD", "dana@example.com"),
];

/// Firebreak's on-call for a schedule made by the import equals PagerDuty's rendering,
/// interval for interval, over the range PagerDuty rendered.
async fn on_call_matches(app: &TestApp, fake: &FakePagerDuty, vendor_id: &str, local_id: &str) {
    let doc = fake.account.lock().unwrap().schedules[vendor_id].0.clone();
    let theirs = rendered(&doc, &EMAILS);
    let range = (theirs[0].0, theirs.last().unwrap().1);
    assert_eq!(shifts(app, local_id, range).await, theirs, "{vendor_id}");
}

both_backends!(a_pagerduty_account_moves_in, |app: TestApp| async move {
    let fake = FakePagerDuty::start(Path::new(FIXTURES)).await;
    let from_api = |apply: bool| json!({"api_token": TOKEN, "api_url": fake.url, "apply": apply});

    // A token PagerDuty refuses, a body without a source, a viewer: clear 4xx, nothing made.
    let (status, refused) = import(&app, json!({"api_token": "wrong", "api_url": fake.url})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert!(
        refused.to_string().contains("PagerDuty refused the key"),
        "{refused}"
    );
    let (status, _) = import(&app, json!({"apply": true})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = app
        .call(
            &app.read,
            Method::POST,
            "/api/v1/imports/pagerduty",
            Some(from_api(true)),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // The plan: read page by page through a rate limit; nothing is made.
    let (status, planned) = import(&app, from_api(false)).await;
    assert_eq!(status, StatusCode::OK, "{planned}");
    assert_eq!(planned["applied"], Value::Null);
    {
        let account = fake.account.lock().unwrap();
        assert_eq!(account.rate_limited, 1, "PagerDuty's 429 was waited out");
        assert!(
            account
                .requests
                .iter()
                .any(|it| it.starts_with("/users?") && it.contains("offset=2")),
            "users were read page by page: {:?}",
            account.requests
        );
    }
    let plan = &planned["plan"];
    assert_eq!(plan["people"].as_array().unwrap().len(), 4);
    for schedule in &plan["schedules"].as_array().unwrap()[..3] {
        assert_eq!(schedule["fidelity"], "exact", "{schedule}");
        assert_eq!(schedule["compared"]["differences"], json!([]), "{schedule}");
    }
    assert_eq!(
        plan["schedules"].as_array().unwrap().len(),
        5,
        "the v3 schedule's three"
    );
    let (_, services) = app.get("/api/v1/services").await;
    assert_eq!(services, json!([]), "planning makes nothing");

    // Apply: everything is made, new services in shadow mode.
    let (status, applied) = import(&app, from_api(true)).await;
    assert_eq!(status, StatusCode::OK, "{applied}");
    let first = outcomes(&applied);
    assert!(
        first.iter().all(|(_, _, outcome)| outcome == "created"),
        "{first:?}"
    );
    assert_eq!(first.len(), 4 + 1 + 5 + 1 + 1);
    let made = |section: &str, id: &str| -> String {
        applied["applied"]
            .as_array()
            .unwrap()
            .iter()
            .find(|it| it["section"] == section && it["id"] == id)
            .and_then(|it| it["firebreak_id"].as_str())
            .unwrap_or_else(|| panic!("{section} {id}: {applied}"))
            .to_string()
    };
    let primary = made("schedules", "PSCH7QX");
    let secondary = made("schedules", "PSCH8SE");
    on_call_matches(&app, &fake, "PSCH7QX", &primary).await;
    on_call_matches(&app, &fake, "PSCH8SE", &secondary).await;

    // The policy pages the schedules made here, then Dana.
    let (_, policies) = app.get("/api/v1/escalation-policies").await;
    let policy_id = made("escalation_policies", "PESC4RT");
    let policy = policies
        .as_array()
        .unwrap()
        .iter()
        .find(|it| it["id"] == policy_id.as_str())
        .unwrap_or_else(|| panic!("{policies}"))
        .clone();
    assert_eq!(policy["repeat"], 2, "{policy}");
    assert_eq!(
        policy["steps"][0]["targets"][0]["id"],
        primary.as_str(),
        "{policy}"
    );
    assert_eq!(
        policy["steps"][1]["targets"][0]["id"],
        secondary.as_str(),
        "{policy}"
    );
    assert_eq!(
        policy["steps"][2]["targets"][0]["id"], "dana@example.com",
        "{policy}"
    );

    // People: matched by email, phones unverified with their rules kept for when they verify.
    let ana = app
        .store
        .contact_methods("ana.ortiz@example.com")
        .await
        .unwrap();
    let sms = ana
        .iter()
        .find(|it| it.kind == "sms")
        .expect("Ana's SMS number");
    assert_eq!(sms.address, "+34612345678");
    assert!(
        !sms.verified,
        "imported numbers are verified by their owner first"
    );
    let rules = app
        .store
        .notification_rules("ana.ortiz@example.com")
        .await
        .unwrap();
    assert_eq!(rules.len(), 1);
    assert_eq!(
        (rules[0].delay_minutes, rules[0].contact_method.id.as_str()),
        (1, sms.id.as_str())
    );
    let bo = app
        .store
        .user_by_email("bo@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(bo.role.as_str(), "admin");
    assert_eq!(bo.time_zone, "Europe/Stockholm");
    let (_, teams) = app.get("/api/v1/teams").await;
    assert_eq!(teams[0]["name"], "Payments", "{teams}");
    assert_eq!(teams[0]["members"].as_array().unwrap().len(), 3, "{teams}");

    // The service keeps PagerDuty's routing key and starts in shadow mode: an alert from an
    // unchanged monitor is taken, and nothing is sent.
    let service = made("services", "PSVC5PA");
    let (_, it) = app.get(&format!("/api/v1/services/{service}")).await;
    assert_eq!(it["shadow"], true, "{it}");
    assert_eq!(it["team_id"], teams[0]["id"], "{it}");
    let event = json!({"routing_key": "3f9c2a7e51b84d0c9e6a1b2c3d4e5f60", "event_action": "trigger",
        "dedup_key": "latency", "payload": {"summary": "p99 over 2 s", "source": "payments-1", "severity": "critical"}});
    let sent = app
        .http
        .post(format!("{}/v2/enqueue", app.base))
        .json(&event)
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), StatusCode::ACCEPTED);
    let alerts = open_alerts(&app).await;
    assert!(
        alerts.iter().any(|it| it["service_id"] == service.as_str()),
        "{alerts:?}"
    );
    let queued = app
        .store
        .claim_notifications(
            firebreak_store::clock::now() + jiff::SignedDuration::from_hours(24),
            100,
            jiff::SignedDuration::from_mins(1),
        )
        .await
        .unwrap();
    assert!(queued.is_empty(), "shadow mode sends nothing: {queued:?}");

    // A second run changes nothing.
    let (status, again) = import(&app, from_api(true)).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    let second = outcomes(&again);
    assert!(
        second.iter().all(|(_, _, outcome)| outcome == "unchanged"),
        "{second:?}"
    );
    let (_, schedules) = app.get("/api/v1/schedules").await;
    assert_eq!(schedules.as_array().unwrap().len(), 5, "{schedules}");
    assert_eq!(
        app.store
            .contact_methods("ana.ortiz@example.com")
            .await
            .unwrap()
            .len(),
        ana.len()
    );

    // A rotation changed at PagerDuty: the daily turns swap and PagerDuty renders them so. The
    // next run updates that schedule, and only that one.
    {
        let mut account = fake.account.lock().unwrap();
        let (doc, _) = account.schedules.get_mut("PSCH8SE").unwrap();
        let users = doc["schedule_layers"][1]["users"].as_array_mut().unwrap();
        users.reverse();
        for entry in doc["final_schedule"]["rendered_schedule_entries"]
            .as_array_mut()
            .unwrap()
        {
            let id = entry["user"]["id"].as_str().unwrap();
            let swapped = match id {
                "PUSR0CC" => "PUSR0DD",
                "PUSR0DD" => "PUSR0CC",
                other => other,
            };
            entry["user"]["id"] = json!(swapped);
        }
    }
    let (status, changed) = import(&app, from_api(true)).await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    let third = outcomes(&changed);
    for (section, id, outcome) in &third {
        let expected = match id.as_str() {
            "PSCH8SE" => "updated",
            _ => "unchanged",
        };
        assert_eq!(outcome, expected, "{section} {id}: {third:?}");
    }
    assert_eq!(
        made("schedules", "PSCH8SE"),
        secondary,
        "the same schedule, updated"
    );
    on_call_matches(&app, &fake, "PSCH8SE", &secondary).await;
    assert_eq!(fake.violations(), Vec::<String>::new());
});

// The same account sent as saved API JSON (what `firebreak import pagerduty --from DIR
// --apply` sends) makes the same objects; a malformed account is a 422.
both_backends!(a_saved_account_applies, |app: TestApp| async move {
    let (status, bad) = import(&app, json!({"account": {"users": "nobody"}, "apply": true})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    let (status, bad) = import(&app, json!({"account": {"pets": []}})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    let fake = FakePagerDuty::start(Path::new(FIXTURES)).await;
    let account = {
        let it = fake.account.lock().unwrap();
        let mut schedules: Vec<&(Value, Vec<Value>)> = it.schedules.values().collect();
        schedules.sort_by_key(|(doc, _)| doc["id"].as_str().unwrap().to_string());
        json!({
            "users": it.lists["users"], "teams": it.lists["teams"],
            "schedules": schedules.iter().map(|(doc, overrides)| json!({"schedule": doc, "overrides": overrides})).collect::<Vec<_>>(),
            "escalation_policies": it.lists["escalation_policies"], "services": it.lists["services"],
        })
    };
    // Someone Firebreak has already is matched by email, not made again.
    let (status, _) = app
        .call(&app.admin, Method::POST, "/api/v1/users", Some(json!({
            "email": "bo@example.com", "name": "Bo", "role": "responder", "password": "a long enough password"})))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    // A real account's JSON runs past the API's usual 256 KiB: the import takes it.
    let mut padded = account.clone();
    padded["users"][3]["description"] = json!("x".repeat(400 * 1024));
    let (status, applied) = import(&app, json!({"account": padded, "apply": true})).await;
    assert_eq!(status, StatusCode::OK, "{applied}");
    let found = outcomes(&applied);
    assert!(
        found.contains(&("people".into(), "PUSR0BB".into(), "matched".into())),
        "{found:?}"
    );
    let bo = app
        .store
        .user_by_email("bo@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        bo.role.as_str(),
        "responder",
        "a matched person keeps their role"
    );
    let made = found.iter().filter(|it| it.2 == "created").count();
    assert_eq!(made, 3 + 1 + 2 + 1 + 1, "{found:?}");
    let (status, again) = import(&app, json!({"account": account, "apply": true})).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        outcomes(&again).iter().all(|it| it.2 == "unchanged"),
        "{again}"
    );
    // Bo is renamed at PagerDuty and given a phone: the phone comes, the name Bo has here
    // stays (he was here before the import).
    let mut account = account;
    account["users"][1]["name"] = json!("Bo L.");
    account["users"][1]["contact_methods"] = json!([
        {"id": "PCM09SM", "type": "sms_contact_method", "country_code": 46, "address": "701234567"}]);
    let (status, changed) = import(&app, json!({"account": account, "apply": true})).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        outcomes(&changed).contains(&("people".into(), "PUSR0BB".into(), "updated".into())),
        "{changed}"
    );
    let bo = app
        .store
        .user_by_email("bo@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(bo.name, "Bo");
    let phones = app.store.contact_methods("bo@example.com").await.unwrap();
    assert_eq!(phones[0].address, "+46701234567");
    assert!(!phones[0].verified);
});

const OPSGENIE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../firebreak/tests/fixtures/opsgenie"
);

// An Opsgenie account read from a fake of its API (GenieKey, `paging.next`, a 429): each
// rotation becomes a schedule on call as Opsgenie's timeline has it (across the US spring
// change, with a nobody turn), the escalation's offsets become waits and its schedule step
// pages every rotation, the API integration becomes a service in shadow mode that takes the
// same GenieKey, and a second run changes nothing.
both_backends!(an_opsgenie_account_moves_in, |app: TestApp| async move {
    let fake = FakeOpsgenie::start(Path::new(OPSGENIE)).await;
    let body = |apply: bool| json!({"api_key": KEY, "api_url": fake.url, "apply": apply});
    let (status, refused) = import_from(
        &app,
        "opsgenie",
        json!({"api_key": "not-the-key", "api_url": fake.url}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert!(
        refused["error"]["fields"]["api_key"]
            .as_str()
            .unwrap()
            .contains("Opsgenie refused")
    );

    let (status, applied) = import_from(&app, "opsgenie", body(true)).await;
    assert_eq!(status, StatusCode::OK, "{applied}");
    {
        let account = fake.account.lock().unwrap();
        assert_eq!(account.rate_limited, 1);
        assert!(
            account
                .requests
                .iter()
                .any(|it| it.starts_with("/v2/users?") && it.contains("offset=2")),
            "users were read page by page: {:?}",
            account.requests
        );
    }
    let plan = &applied["plan"];
    assert_eq!(
        plan["schedules"][0]["compared"]["differences"],
        json!([]),
        "{plan}"
    );
    assert_eq!(
        plan["schedules"][1]["compared"]["differences"]
            .as_array()
            .unwrap()
            .len(),
        4,
        "the team's turns are shown where they differ"
    );
    let found = outcomes(&applied);
    let created: Vec<&str> = found
        .iter()
        .filter(|it| it.2 == "created")
        .map(|it| it.0.as_str())
        .collect();
    assert_eq!(
        created,
        [
            "people",
            "people",
            "people",
            "people",
            "teams",
            "schedules",
            "schedules",
            "escalation_policies",
            "services"
        ],
        "{found:?}"
    );
    assert!(found.contains(&("services".into(), "i-9z8y7x6w".into(), "skipped".into())));
    let made = |id: &str| -> String {
        applied["applied"]
            .as_array()
            .unwrap()
            .iter()
            .find(|it| it["id"] == id)
            .and_then(|it| it["firebreak_id"].as_str())
            .unwrap()
            .to_string()
    };
    let nights = made("b1c2d3e4-5f60-4a1b-9c2d-3e4f5a6b7c8d/0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0");
    let business =
        made("b1c2d3e4-5f60-4a1b-9c2d-3e4f5a6b7c8d/9e8d7c6b-5a49-4382-9170-6f5e4d3c2b1a");
    // Nights, on call as Opsgenie's timeline has it (its nobody periods are nobody here).
    let timeline = fake.account.lock().unwrap().schedules[0].2.clone();
    let periods: Vec<(jiff::Timestamp, jiff::Timestamp, String)> =
        timeline["finalTimeline"]["rotations"][0]["periods"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|it| it["recipient"]["type"] == "user")
            .map(|it| {
                (
                    it["startDate"].as_str().unwrap().parse().unwrap(),
                    it["endDate"].as_str().unwrap().parse().unwrap(),
                    it["recipient"]["name"].as_str().unwrap().to_string(),
                )
            })
            .collect();
    let range = (
        "2027-03-12T05:00:00Z".parse().unwrap(),
        "2027-03-16T10:30:00Z".parse().unwrap(),
    );
    assert_eq!(shifts(&app, &nights, range).await, periods);
    // The escalation: waits of 5 and 10 minutes, its schedule steps paging both rotations.
    let (_, policies) = app.get("/api/v1/escalation-policies").await;
    let policy = &policies[0];
    let delays: Vec<i64> = policy["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|it| it["delay_minutes"].as_i64().unwrap())
        .collect();
    assert_eq!(delays, [5, 10, 10], "{policy}");
    let first: Vec<&str> = policy["steps"][0]["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|it| it["id"].as_str().unwrap())
        .collect();
    assert_eq!(first, [nights.as_str(), business.as_str()], "{policy}");
    assert_eq!(policy["repeat"], 2);
    // Ana's phone is kept unverified, with her SMS and call steps.
    let rules = app
        .store
        .notification_rules("ana.ortiz@example.com")
        .await
        .unwrap();
    let steps: Vec<(i64, &str, bool)> = rules
        .iter()
        .map(|it| {
            (
                it.delay_minutes,
                it.contact_method.kind.as_str(),
                it.contact_method.verified,
            )
        })
        .collect();
    assert_eq!(steps, [(1, "sms", false), (3, "voice", false)]);
    // The monitor's GenieKey now sends to Firebreak: an alert on the imported service, in
    // shadow mode, so nothing is sent.
    let service = made("i-0a1b2c3d");
    let (_, it) = app.get(&format!("/api/v1/services/{service}")).await;
    assert_eq!(it["shadow"], true);
    assert_eq!(it["escalation_policy_id"], policy["id"]);
    let sent = app
        .http
        .post(format!("{}/v2/alerts", app.base))
        .header(
            "Authorization",
            "GenieKey c0ffee00-1234-4abc-9def-0123456789ab",
        )
        .json(&json!({"message": "Card authorisations failing", "alias": "auth-errors"}))
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), StatusCode::ACCEPTED);
    let alerts = open_alerts(&app).await;
    assert!(
        alerts.iter().any(|it| it["service_id"] == service.as_str()),
        "{alerts:?}"
    );

    let (status, again) = import_from(&app, "opsgenie", body(true)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        outcomes(&again)
            .iter()
            .all(|it| it.2 == "unchanged" || it.2 == "skipped"),
        "{again}"
    );

    // The first rule waits 2 minutes at Opsgenie now: the policy gains a first step that
    // pages nobody, so every rule keeps its offset from the alert's start.
    fake.account.lock().unwrap().escalations[0]["rules"][0]["delay"]["timeAmount"] = json!(2);
    let (status, changed) = import_from(&app, "opsgenie", body(true)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        outcomes(&changed).contains(&(
            "escalation_policies".into(),
            "e5f6a7b8-c9d0-4e1f-a2b3-c4d5e6f7a8b9".into(),
            "updated".into()
        )),
        "{changed}"
    );
    let waits = |policies: &Value| -> Vec<(usize, i64)> {
        policies[0]["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|it| {
                (
                    it["targets"].as_array().unwrap().len(),
                    it["delay_minutes"].as_i64().unwrap(),
                )
            })
            .collect()
    };
    let (_, policies) = app.get("/api/v1/escalation-policies").await;
    assert_eq!(waits(&policies), [(0, 2), (2, 3), (2, 10), (4, 10)]);
    // Saved again through the Services page's form as it is shown (the wait, and a step's
    // second schedule carried in the form), it stays the same.
    let (cookie, csrf) = app.session("admin@test.example").await;
    let (_, page) = app.page(&cookie, "/services").await;
    assert!(
        page.contains("more schedule(s) (kept)"),
        "the form keeps the second rotation"
    );
    let everyone = "dana.kim@example.com\nana.ortiz@example.com\nbo.lindqvist@example.com\nchidi.okafor@example.com";
    let fields = [
        ("csrf", csrf.as_str()),
        ("name", "payments_escalation"),
        ("repeat", "2"),
        ("wait_first", "2"),
        ("step0_schedule", nights.as_str()),
        ("step0_more_schedules", business.as_str()),
        ("step0_people", ""),
        ("step0_delay", "3"),
        ("step1_schedule", nights.as_str()),
        ("step1_more_schedules", business.as_str()),
        ("step1_people", ""),
        ("step1_delay", "10"),
        ("step2_schedule", ""),
        ("step2_people", everyone),
        ("step2_delay", "10"),
    ];
    let saved = app.form(&cookie, "/services/policies/form", &fields).await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let (_, after) = app.get("/api/v1/escalation-policies").await;
    assert_eq!(waits(&after), waits(&policies), "{after}");
    assert_eq!(fake.violations(), Vec::<String>::new());
});

// The admin page runs the same import: the plan shown, then applied; a responder may not.
both_backends!(
    the_import_page_plans_and_applies,
    |app: TestApp| async move {
        let fake = FakePagerDuty::start(Path::new(FIXTURES)).await;
        let (cookie, csrf) = app.session("admin@test.example").await;
        let (status, page) = app.page(&cookie, "/import").await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            page.contains("Move in from PagerDuty or Opsgenie"),
            "{page}"
        );
        let send = |action: &'static str| {
            let (cookie, csrf, url) = (cookie.clone(), csrf.clone(), fake.url.clone());
            let app = &app;
            async move {
                let fields = [
                    ("csrf", csrf.as_str()),
                    ("vendor", "pagerduty"),
                    ("api_key", TOKEN),
                    ("api_url", url.as_str()),
                    ("action", action),
                ];
                let response = app.form(&cookie, "/import", &fields).await;
                (response.status(), response.text().await.unwrap())
            }
        };
        let (status, planned) = send("plan").await;
        assert_eq!(status, StatusCode::OK, "{planned}");
        assert!(planned.contains("Payments Primary"), "{planned}");
        assert!(
            planned.contains("on call matches PagerDuty&#39;s rendering"),
            "{planned}"
        );
        let (_, services) = app.get("/api/v1/services").await;
        assert_eq!(services, json!([]));
        let (status, applied) = send("apply").await;
        assert_eq!(status, StatusCode::OK, "{applied}");
        assert!(applied.contains("Applied."), "{applied}");
        assert!(applied.contains(">created<"), "{applied}");
        let (_, services) = app.get("/api/v1/services").await;
        assert_eq!(services[0]["name"], "payments-api");
        // A wrong key is said on the page, not a 500.
        let fields = [
            ("csrf", csrf.as_str()),
            ("vendor", "pagerduty"),
            ("api_key", "wrong"),
            ("api_url", fake.url.as_str()),
            ("action", "plan"),
        ];
        let response = app.form(&cookie, "/import", &fields).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert!(
            response
                .text()
                .await
                .unwrap()
                .contains("PagerDuty refused the key")
        );
        let (cookie, _) = app.session("writer@test.example").await;
        let (status, _) = app.page(&cookie, "/import").await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
);
