//! The human element: joining and leaving (with out-of-hours minutes), the break and food
//! nudges, stakeholders kept informed actively (every update by email) or passively (a
//! digest), the handover note on a role handoff, and the all-clear's thanks.

use firebreak_server::workers::ClockWorker;
use jiff::SignedDuration;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp};
use crate::smtp::SmtpServer;

async fn timeline(app: &TestApp) -> Vec<Value> {
    let (_, timeline) = app.get("/api/v1/incidents/INC-1/timeline").await;
    timeline["items"].as_array().unwrap().clone()
}

fn kinds(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .map(|it| it["kind"].as_str().unwrap())
        .collect()
}

async fn human_element(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let Some(app) = TestApp::spawn_with(backend, |settings| {
        settings.workers = false;
        settings.people.join_on_action = true;
        settings.smtp.host = "127.0.0.1".into();
        settings.smtp.port = smtp.port;
    })
    .await
    else {
        return;
    };
    let clock = ClockWorker {
        store: app.store.clone(),
    };
    let declared_at = firebreak_store::clock::now();
    let incident = app
        .declare(json!({"title": "Checkout is down", "severity": "major"}))
        .await;
    // Declaring is taking part.
    assert_eq!(incident["participants"][0]["person"], "writer@test.example");
    assert_eq!(incident["participants"][0]["active"], true);

    // The admin joins by hand; joining twice changes nothing; a token of no one cannot.
    let join = |token: String| {
        let app = &app;
        async move {
            app.call(&token, Method::POST, "/api/v1/incidents/INC-1/join", None)
                .await
        }
    };
    let (status, joined) = join(app.admin.clone()).await;
    assert_eq!(status, StatusCode::OK, "{joined}");
    assert_eq!(kinds_of(&joined), ["participant_joined"]);
    let (_, again) = join(app.admin.clone()).await;
    assert_eq!(kinds_of(&again), Vec::<&str>::new());

    // Stakeholders: the CTO actively, the board passively; a bad address or mode is a 422.
    let stakeholder = |who: &str, mode: &str| {
        let app = &app;
        let path = format!("/api/v1/incidents/INC-1/stakeholders/{who}");
        let body = json!({ "mode": mode });
        async move { app.call(&app.write, Method::PUT, &path, Some(body)).await }
    };
    assert_eq!(
        stakeholder("cto@test.example", "active").await.0,
        StatusCode::OK
    );
    assert_eq!(
        stakeholder("board@test.example", "passive").await.0,
        StatusCode::OK
    );
    let (status, bad) = stakeholder("not-an-address", "active").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    assert!(bad["error"]["fields"]["who"].is_string(), "{bad}");
    let (status, bad) = stakeholder("cfo@test.example", "loud").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");

    // An update reaches the active stakeholder by email at once.
    let (status, _) = app
        .post(
            "/api/v1/incidents/INC-1/updates",
            json!({"message": "Rolling back release 42", "next_update_in_minutes": 600}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    crate::webhooks::manual_worker(&app)
        .run_once(firebreak_store::clock::now())
        .await
        .unwrap();
    let mail = smtp.messages();
    assert_eq!(mail.len(), 1, "{mail:?}");
    assert!(mail[0].contains("To: cto@test.example"), "{}", mail[0]);
    assert!(mail[0].contains("Rolling back release 42"), "{}", mail[0]);

    // Handoff of the lead role carries a handover note.
    app.call(
        &app.write,
        Method::PUT,
        "/api/v1/incidents/INC-1/roles/lead",
        Some(json!({"user": "writer@test.example"})),
    )
    .await;
    let (status, handoff) = app
        .call(
            &app.write,
            Method::PUT,
            "/api/v1/incidents/INC-1/roles/lead",
            Some(
                json!({"user": "admin@test.example", "handover": "Rollback half done; DB is fine"}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{handoff}");
    assert_eq!(
        handoff["events"][0]["body"]["handover"],
        "Rollback half done; DB is fine"
    );

    // The clock: at +61 min the board's digest, at +91 min a break nudge for each of the two
    // people in it, at +241 min the food nudge for the lead — each once.
    let at = |minutes: i64| declared_at + SignedDuration::from_mins(minutes);
    assert_eq!(clock.run_once(at(30)).await.unwrap(), 0);
    assert_eq!(clock.run_once(at(61)).await.unwrap(), 1);
    assert_eq!(clock.run_once(at(62)).await.unwrap(), 0);
    assert_eq!(clock.run_once(at(91)).await.unwrap(), 2);
    assert_eq!(clock.run_once(at(241)).await.unwrap(), 1);
    assert_eq!(clock.run_once(at(300)).await.unwrap(), 0);
    let events = timeline(&app).await;
    let nudges: Vec<(&str, &str)> = events
        .iter()
        .filter(|it| it["kind"] == "nudged")
        .map(|it| {
            (
                it["body"]["nudge"].as_str().unwrap(),
                it["body"]["to"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        nudges,
        [
            ("break", "writer@test.example"),
            ("break", "admin@test.example"),
            ("food", "admin@test.example")
        ]
    );
    let digest = events
        .iter()
        .find(|it| it["kind"] == "digest_sent")
        .unwrap();
    assert_eq!(digest["body"]["to"], json!(["board@test.example"]));
    assert_eq!(digest["body"]["updates"], 1);
    crate::webhooks::manual_worker(&app)
        .run_once(firebreak_store::clock::now())
        .await
        .unwrap();
    let mail = smtp.messages();
    let to_board: Vec<&String> = mail
        .iter()
        .filter(|it| it.contains("To: board@test.example"))
        .collect();
    assert_eq!(to_board.len(), 1, "{mail:?}");
    assert!(
        to_board[0].contains("Rolling back release 42"),
        "{}",
        to_board[0]
    );
    // The nudges went to the people by email too.
    assert_eq!(
        mail.iter()
            .filter(|it| it.contains("To: admin@test.example"))
            .count(),
        2,
        "{mail:?}"
    );

    // The admin leaves; resolving lets everyone else leave and thanks them all.
    let (_, left) = app
        .call(
            &app.admin,
            Method::POST,
            "/api/v1/incidents/INC-1/leave",
            None,
        )
        .await;
    assert_eq!(kinds_of(&left), ["participant_left"]);
    assert!(left["events"][0]["body"]["minutes"].is_i64());
    let (status, resolved) = app
        .call(
            &app.write,
            Method::PATCH,
            "/api/v1/incidents/INC-1",
            Some(json!({"status": "resolved"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{resolved}");
    assert_eq!(
        kinds_of(&resolved),
        ["status_changed", "participant_left", "thanked"]
    );
    let thanks = &resolved["events"][2]["body"];
    assert_eq!(
        thanks["people"],
        json!(["writer@test.example", "admin@test.example"])
    );
    assert!(
        thanks["text"]
            .as_str()
            .unwrap()
            .contains("writer@test.example and admin@test.example"),
        "{thanks}"
    );
    let participants = resolved["incident"]["participants"].as_array().unwrap();
    assert!(participants.iter().all(|it| it["active"] == false));
    // Joining a resolved incident is refused clearly.
    let (status, refused) = join(app.admin.clone()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    // Nothing more is owed by the clock.
    assert_eq!(clock.run_once(at(10_000)).await.unwrap(), 0);
    app.stop().await;
}

fn kinds_of(result: &Value) -> Vec<&str> {
    kinds(result["events"].as_array().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn human_element_sqlite() {
    human_element(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn human_element_postgres() {
    human_element(Backend::Postgres).await;
}
