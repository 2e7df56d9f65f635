//! On-call schedules through the API: wall-clock handoffs across a DST change, layers and
//! overrides, everyone on call, shifts and the fairness report, bad input, and the secret
//! calendar feed read by a real iCalendar parser (Python's icalendar).

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::TestApp;

/// What Python's icalendar makes of a feed: its name and each event's (start, end, summary).
fn read_feed(text: &str) -> Value {
    use std::io::Write;
    let python = std::env::var("FIREBREAK_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = "import sys, json, icalendar\n\
        cal = icalendar.Calendar.from_ical(sys.stdin.buffer.read())\n\
        print(json.dumps({'method': str(cal.get('method')), 'name': str(cal.get('x-wr-calname')),\n\
          'events': [[e.decoded('dtstart').isoformat(), e.decoded('dtend').isoformat(), str(e.get('summary')),\n\
          str(e.get('uid'))] for e in cal.walk('VEVENT')]}))";
    let mut child = std::process::Command::new(&python)
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|err| panic!("cannot run {python}: {err}"));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "icalendar could not read the feed (is it installed? scripts/test installs it)"
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn berlin() -> Value {
    json!({
        "name": "Platform primary",
        "time_zone": "Europe/Berlin",
        "layers": [{
            "name": "daily",
            "start": "2026-03-27T09:00",
            "shift": "1d",
            "participants": ["Ana@Test.Example", "bo@test.example"],
        }, {
            "name": "office hours",
            "start": "2026-03-27T09:00",
            "shift": "1w",
            "participants": ["cy@test.example"],
            "windows": [{"days": ["mon", "tue"], "from": "10:00", "to": "12:00"}],
        }],
    })
}

both_backends!(schedules_and_who_is_on_call, |app: TestApp| async move {
    let admin = app.admin.clone();
    let create = |body: Value| {
        let (app, admin) = (&app, admin.clone());
        async move {
            app.call(&admin, Method::POST, "/api/v1/schedules", Some(body))
                .await
        }
    };
    // Bad input: each a 422 naming the field, or 409 for a taken name; a responder is 403.
    let mut bad_zone = berlin();
    bad_zone["time_zone"] = json!("Mars/Olympus");
    let mut short = berlin();
    short["layers"][0]["shift"] = json!("5m");
    let mut no_day = berlin();
    no_day["layers"][1]["windows"][0]["days"] = json!(["funday"]);
    let mut utc_start = berlin();
    utc_start["layers"][0]["start"] = json!("2026-03-27T09:00:00Z");
    for (body, field) in [
        (bad_zone, "time_zone"),
        (short, "layers[0].shift"),
        (no_day, "layers[1].windows"),
        (utc_start, "layers[0].start"),
    ] {
        let (status, error) = create(body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
        assert!(error["error"]["fields"][field].is_string(), "{error}");
    }
    let (status, _) = app.post("/api/v1/schedules", berlin()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, created) = create(berlin()).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(
        created["layers"][0]["participants"],
        json!(["ana@test.example", "bo@test.example"])
    );
    assert_eq!(create(berlin()).await.0, StatusCode::CONFLICT);
    let id = created["id"].as_str().unwrap().to_string();

    // The 09:00 handoff stays 09:00 in Berlin across the night the clocks go forward.
    let (status, shifts) = app
        .get("/api/v1/schedules/Platform%20primary/shifts?from=2026-03-27T08:00:00Z&to=2026-03-31T07:00:00Z")
        .await;
    assert_eq!(status, StatusCode::OK, "{shifts}");
    let rows: Vec<(&str, &str)> = shifts
        .as_array()
        .unwrap()
        .iter()
        .map(|it| {
            (
                it["start"].as_str().unwrap(),
                it["person"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("2026-03-27T08:00:00Z", "ana@test.example"),
            ("2026-03-28T08:00:00Z", "bo@test.example"),
            ("2026-03-29T07:00:00Z", "ana@test.example"), // 09:00 CEST
            ("2026-03-30T07:00:00Z", "bo@test.example"),
            ("2026-03-30T08:00:00Z", "cy@test.example"), // Monday 10:00: the higher layer
            ("2026-03-30T10:00:00Z", "bo@test.example"),
        ]
    );
    // Who is on call at a moment, and until when; an override wins.
    let oncall = |at: &'static str| {
        let (app, id) = (&app, id.clone());
        async move {
            app.get(&format!("/api/v1/schedules/{id}/oncall?at={at}"))
                .await
                .1
        }
    };
    let it = oncall("2026-03-29T12:00:00Z").await;
    assert_eq!(it["person"], "ana@test.example", "{it}");
    assert_eq!(it["until"], "2026-03-30T07:00:00Z");
    let (status, added) = app
        .post(
            &format!("/api/v1/schedules/{id}/overrides"),
            json!({"start": "2026-03-29T11:00:00Z", "end": "2026-03-29T15:00:00Z", "person": "dee@test.example"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{added}");
    let (status, _) = app
        .post(
            &format!("/api/v1/schedules/{id}/overrides"),
            json!({"start": "2026-03-29T15:00:00Z", "end": "2026-03-29T11:00:00Z", "person": "dee@test.example"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let it = oncall("2026-03-29T12:00:00Z").await;
    assert_eq!(it["person"], "dee@test.example");
    assert_eq!(it["until"], "2026-03-29T15:00:00Z");
    let (_, everyone) = app.get("/api/v1/oncall?at=2026-03-29T12:00:00Z").await;
    assert_eq!(everyone[0]["schedule"], "Platform primary");
    assert_eq!(everyone[0]["person"], "dee@test.example");
    assert_eq!(oncall("2026-03-01T00:00:00Z").await["person"], Value::Null);
    assert_eq!(
        app.get(&format!("/api/v1/schedules/{id}/oncall?at=soon"))
            .await
            .0,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    // The fairness report over the weekend of the DST change.
    let (status, report) = app
        .get(&format!(
            "/api/v1/schedules/{id}/report?from=2026-03-27T08:00:00Z&to=2026-03-30T07:00:00Z"
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let load = |email: &str| {
        report["people"]
            .as_array()
            .unwrap()
            .iter()
            .find(|it| it["person"] == email)
            .unwrap()
            .clone()
    };
    // ana: Fri 09:00 → Sat 09:00 (24 h) and Sun 09:00 → Mon 09:00 less dee's 4 h (20 h).
    assert_eq!(load("ana@test.example")["hours"], 44.0);
    assert_eq!(
        load("ana@test.example")["shifts"],
        3,
        "split by the override"
    );
    // bo: Sat 09:00 → Sun 09:00, the 23-hour day, all weekend.
    assert_eq!(load("bo@test.example")["hours"], 23.0);
    assert_eq!(load("bo@test.example")["weekend_hours"], 23.0);
    assert_eq!(load("dee@test.example")["hours"], 4.0);
    assert_eq!(report["uncovered_hours"], 0.0);

    // A secret calendar feed, read without signing in, by a real iCalendar parser.
    let (status, feed) = app
        .post(
            "/api/v1/calendar-feeds",
            json!({"schedule": "Platform primary"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{feed}");
    let url = feed["url"].as_str().unwrap();
    let path = &url[url.find("/calendar/").unwrap()..];
    let response = app
        .http
        .get(format!("{}{path}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/calendar")
    );
    let calendar = read_feed(&response.text().await.unwrap());
    assert_eq!(calendar["method"], "PUBLISH");
    assert_eq!(calendar["name"], "On call: Platform primary");
    let events = calendar["events"].as_array().unwrap();
    assert!(events.len() > 100, "120 days of daily shifts and more");
    for pair in events.windows(2) {
        assert_eq!(pair[0][1], pair[1][0], "the shifts tile: {pair:?}");
        assert_ne!(pair[0][3], pair[1][3], "every event has its own UID");
    }
    // A person's feed holds only their shifts; someone else's needs an admin.
    let (status, _) = app
        .post(
            "/api/v1/calendar-feeds",
            json!({"person": "ana@test.example"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, feed) = app
        .call(
            &app.admin,
            Method::POST,
            "/api/v1/calendar-feeds",
            Some(json!({"person": "ana@test.example"})),
        )
        .await;
    let url = feed["url"].as_str().unwrap();
    let path = &url[url.find("/calendar/").unwrap()..];
    let text = app
        .http
        .get(format!("{}{path}", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mine = read_feed(&text);
    assert!(
        mine["events"]
            .as_array()
            .unwrap()
            .iter()
            .all(|it| it[2].as_str().unwrap().contains("ana@test.example"))
    );
    let (status, _) = app.get("/calendar/cal_not-a-secret.ics").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The pages: the dashboard says who is on call, the on-call page shows the week and
    // takes overrides (times in the person's zone) and schedules written as JSON (admins).
    let (cookie, csrf) = app.session("admin@test.example").await;
    let (status, page) = app.page(&cookie, "/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("On call now") && page.contains("Platform primary"),
        "{page}"
    );
    let (_, page) = app.page(&cookie, "/oncall").await;
    assert!(
        page.contains("The next 7 days") && page.contains("daily: 2 turns of 1d"),
        "{page}"
    );
    let response = app
        .form(
            &cookie,
            &format!("/oncall/{id}/overrides"),
            &[
                ("csrf", &csrf),
                ("person", "eve@test.example"),
                ("start", "2030-01-01T00:00"),
                ("end", "2030-01-02T00:00"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        oncall("2030-01-01T12:00:00Z").await["person"],
        "eve@test.example"
    );
    let mut night = berlin();
    night["name"] = json!("Nights");
    let response = app
        .form(
            &cookie,
            "/oncall/schedules",
            &[("csrf", &csrf), ("schedule", &night.to_string())],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let response = app
        .form(
            &cookie,
            "/oncall/schedules",
            &[("csrf", &csrf), ("schedule", "{\"name\": 1}")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let (_, all) = app.get("/api/v1/schedules").await;
    assert_eq!(all.as_array().unwrap().len(), 2);
    let response = app
        .form(
            &cookie,
            "/oncall/feed",
            &[("csrf", &csrf), ("schedule", &id)],
        )
        .await;
    let page = response.text().await.unwrap();
    assert!(page.contains("/calendar/cal_"), "the address, shown once");

    // Overrides and schedules go away.
    let override_id = added["id"].as_str().unwrap();
    let (status, _) = app
        .call(
            &app.write,
            Method::DELETE,
            &format!("/api/v1/schedules/{id}/overrides/{override_id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        oncall("2026-03-29T12:00:00Z").await["person"],
        "ana@test.example"
    );
    let (status, _) = app
        .call(
            &admin,
            Method::DELETE,
            &format!("/api/v1/schedules/{id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.get(&format!("/api/v1/schedules/{id}")).await.0,
        StatusCode::NOT_FOUND
    );
});

/// The On call page draws each schedule's next 14 days: a lane per layer, the overrides and
/// who is on call; the last lane's stretches are exactly the API's shifts over the same
/// range (`Schedule::shifts`), with the gap before the rotation starts and the override.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_on_call_picture_matches_the_shifts() {
    let app = TestApp::spawn(crate::helpers::Backend::Sqlite)
        .await
        .unwrap();
    let admin = app.admin.clone();
    let now = firebreak_store::clock::now();
    let day = |n: i64| {
        (now + jiff::SignedDuration::from_hours(24 * n))
            .to_zoned(jiff::tz::TimeZone::UTC)
            .date()
            .to_string()
    };
    let (status, created) = app
        .call(
            &admin,
            Method::POST,
            "/api/v1/schedules",
            Some(json!({
                "name": "Picture",
                "time_zone": "Europe/Berlin",
                "layers": [{
                    "name": "daily", "start": format!("{}T09:00", day(3)), "shift": "1d",
                    "participants": ["ana@test.example", "bo@test.example"],
                }, {
                    "name": "office hours", "start": format!("{}T09:00", day(3)), "shift": "1w",
                    "participants": ["cy@test.example"],
                    "windows": [{"days": ["mon", "tue"], "from": "10:00", "to": "12:00"}],
                }],
            })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap().to_string();
    let (status, body) = app
        .post(
            &format!("/api/v1/schedules/{id}/overrides"),
            json!({"start": format!("{}T10:00:00Z", day(5)), "end": format!("{}T14:00:00Z", day(5)),
                   "person": "dee@test.example"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (cookie, _) = app.session("reader@test.example").await;
    let (status, page) = app.page(&cookie, "/oncall").await;
    assert_eq!(status, StatusCode::OK);
    let svg = page
        .split(&format!("<svg id=\"picture-{id}\""))
        .nth(1)
        .unwrap()
        .split("</svg>")
        .next()
        .unwrap();
    let lanes: Vec<&str> = svg.split("<g class=\"lane\"").skip(1).collect();
    let names: Vec<&str> = lanes
        .iter()
        .map(|it| {
            it.split("data-name=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap()
        })
        .collect();
    assert_eq!(names, ["daily", "office hours", "Overrides", "On call"]);
    let attr = |text: &str, name: &str| {
        text.split(&format!("{name}=\""))
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_string()
    };
    let result: Vec<(String, String, String)> = lanes[3]
        .split("<g class=\"stretch ")
        .skip(1)
        .map(|it| {
            (
                attr(it, "data-start"),
                attr(it, "data-end"),
                attr(it, "data-person"),
            )
        })
        .collect();
    let (from, to) = (result[0].0.clone(), result.last().unwrap().1.clone());
    let (status, shifts) = app
        .get(&format!(
            "/api/v1/schedules/{id}/shifts?from={from}&to={to}"
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{shifts}");
    let expected: Vec<(String, String, String)> = shifts
        .as_array()
        .unwrap()
        .iter()
        .map(|it| {
            let at = |name: &str| {
                it[name]
                    .as_str()
                    .unwrap()
                    .parse::<jiff::Timestamp>()
                    .unwrap()
                    .to_string()
            };
            (
                at("start"),
                at("end"),
                it["person"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert_eq!(result, expected);
    // The gap before the rotation starts is red and says "nobody"; the override is there.
    assert_eq!(result[0].2, "", "{result:?}");
    assert!(lanes[3].contains("class=\"stretch nobody\""));
    assert!(
        lanes[3].contains(">nobody<"),
        "colour is not the only signal"
    );
    assert!(
        !lanes[0].contains("class=\"stretch nobody\""),
        "a layer's own gaps are not red"
    );
    assert!(
        result.iter().any(|it| it.2 == "dee@test.example"),
        "{result:?}"
    );
    assert!(lanes[2].contains("class=\"stretch override\""));
    // Fourteen days are labelled.
    assert_eq!(svg.matches("<g class=\"day\">").count(), 14);
    app.stop().await;
}
