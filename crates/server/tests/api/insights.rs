//! Insights over a seeded data set, against answers computed by hand.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::TestApp;

both_backends!(insights_by_hand, |app: TestApp| async move {
    let t0: jiff::Timestamp = "2026-11-10T09:00:00Z".parse().unwrap();
    let at = |minutes: i64| (t0 + jiff::SignedDuration::from_mins(minutes)).to_string();
    // (service, lead, people who join, resolved after minutes)
    let seeds = [
        ("checkout", "writer@test.example", vec!["write"], 60),
        ("checkout", "writer@test.example", vec!["write"], 90),
        ("search", "admin@test.example", vec!["write", "admin"], 30),
    ];
    for (idx, (service, lead, joiners, resolved_after)) in seeds.iter().enumerate() {
        let reference = format!("INC-{}", idx + 1);
        app.declare(
            json!({"title": format!("incident {idx}"), "severity": "major", "services": [service]}),
        )
        .await;
        let path = |rest: &str| format!("/api/v1/incidents/{reference}/{rest}");
        app.call(
            &app.write,
            Method::PUT,
            &path("roles/lead"),
            Some(json!({"user": lead})),
        )
        .await;
        for who in joiners {
            let token = if *who == "admin" {
                &app.admin
            } else {
                &app.write
            };
            let (status, body) = app.call(token, Method::POST, &path("join"), None).await;
            assert_eq!(status, StatusCode::OK, "{body}");
        }
        let start = (idx as i64) * 1440;
        for (name, minutes) in [
            ("declared", start),
            ("acknowledged", start + 10),
            ("resolved", start + resolved_after),
        ] {
            let (status, body) = app
                .call(
                    &app.write,
                    Method::PUT,
                    &path(&format!("timestamps/{name}")),
                    Some(json!({"at": at(minutes)})),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{name}: {body}");
        }
        app.call(
            &app.write,
            Method::PATCH,
            &format!("/api/v1/incidents/{reference}"),
            Some(json!({"status": "resolved"})),
        )
        .await;
    }
    // A drill and a declined incident do not count.
    app.declare(json!({"title": "game day", "severity": "major", "mode": "drill"}))
        .await;
    app.declare(json!({"title": "false alarm", "severity": "minor", "status": "triage"}))
        .await;
    let (status, declined) = app
        .call(
            &app.write,
            Method::PATCH,
            "/api/v1/incidents/INC-5",
            Some(json!({"status": "declined"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{declined}");
    assert_eq!(declined["incident"]["status"], "declined");
    // Four deploys; one caused INC-1.
    let mut first: Option<String> = None;
    for version in ["41", "42", "43", "44"] {
        let (status, deploy) = app
            .post(
                "/api/v1/deploys",
                json!({"service": "checkout", "version": version}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{deploy}");
        first.get_or_insert(deploy["id"].as_str().unwrap().to_string());
    }
    let (status, _) = app
        .call(
            &app.write,
            Method::PUT,
            &format!("/api/v1/deploys/{}/incident", first.unwrap()),
            Some(json!({"incident": "INC-1"})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, bad) = app
        .post("/api/v1/deploys", json!({"service": "", "version": "1"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");

    let (status, it) = app.get("/api/v1/insights").await;
    assert_eq!(status, StatusCode::OK, "{it}");
    assert_eq!(it["incidents"], 3, "drills and declined left out: {it}");
    // MTTR = (60 + 90 + 30) / 3 = 60 min, every one on asserted times; MTTA = 10 min.
    assert_eq!(
        it["mttr"],
        json!({"mean_minutes": 60.0, "incidents": 3, "with_asserted_time": 3})
    );
    assert_eq!(it["mtta"]["mean_minutes"], 10.0);
    assert_eq!(it["change_failure_rate"], 0.25);
    assert_eq!(it["by_service"], json!({"checkout": 2, "search": 1}));
    // The writer was in all three incidents (heroics); the admin in one.
    assert_eq!(it["people"]["writer@test.example"]["heroics"], true);
    assert_eq!(it["people"]["admin@test.example"]["heroics"], false);
    assert_eq!(it["people"]["writer@test.example"]["led"], 2);
    // Checkout has only ever been led by one person.
    assert_eq!(it["bus_factor"], json!({"checkout": 1, "search": 1}));
    let week_total: u64 = it["by_week"]
        .as_object()
        .unwrap()
        .values()
        .map(|it| it.as_u64().unwrap())
        .sum();
    assert_eq!(week_total, 3);
    // CSV, and the page.
    let csv = app
        .http
        .get(format!("{}/api/v1/insights.csv", app.base))
        .bearer_auth(&app.read)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(csv.starts_with("metric,key,value\n"), "{csv}");
    assert!(csv.contains("mttr_minutes,,60.0000"), "{csv}");
    assert!(csv.contains("change_failure_rate,,0.2500"), "{csv}");
    let (cookie, _) = app.session("reader@test.example").await;
    let (status, page) = app.page(&cookie, "/insights").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("<svg id=\"by-week\"") && page.contains("heroics"),
        "{page}"
    );
    let (status, _) = app
        .get("/api/v1/insights?from=2026-12-01&to=2026-11-01")
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let _: Value = it;
});
