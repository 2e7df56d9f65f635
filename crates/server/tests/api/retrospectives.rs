//! A retrospective invitation reaches a real SMTP server with an `.ics` part that a real
//! iCalendar parser (Python's icalendar) reads; a late meeting is allowed with a warning.

use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp};

/// What Python's email + icalendar make of a raw message's calendar part.
fn read_invitation(message: &str) -> Value {
    use std::io::Write;
    let python = std::env::var("FIREBREAK_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = "import sys, json, email, icalendar\n\
        msg = email.message_from_bytes(sys.stdin.buffer.read())\n\
        part = next(p for p in msg.walk() if p.get_content_type() == 'text/calendar')\n\
        cal = icalendar.Calendar.from_ical(part.get_payload(decode=True))\n\
        ev = next(iter(cal.walk('VEVENT')))\n\
        print(json.dumps({'method': str(cal.get('method')), 'filename': part.get_filename(),\n\
          'summary': str(ev.get('summary')), 'start': ev.decoded('dtstart').isoformat(),\n\
          'end': ev.decoded('dtend').isoformat(), 'sequence': int(ev.get('sequence')),\n\
          'uid': str(ev.get('uid')), 'description': str(ev.get('description')),\n\
          'attendees': sorted(str(a) for a in (ev.get('attendee') if isinstance(ev.get('attendee'), list) else [ev.get('attendee')]))}))";
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
        .write_all(message.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "icalendar could not read the invitation (is it installed? scripts/test installs it)"
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

async fn retrospective_invite(backend: Backend) {
    let smtp = crate::smtp::SmtpServer::start().await;
    let Some(app) = TestApp::spawn_with(backend, |settings| {
        settings.workers = false;
        settings.smtp.host = "127.0.0.1".into();
        settings.smtp.port = smtp.port;
    })
    .await
    else {
        return;
    };
    app.declare(json!({"title": "Checkout is down", "severity": "major"}))
        .await;
    app.call(
        &app.write,
        reqwest::Method::PATCH,
        "/api/v1/incidents/INC-1",
        Some(json!({"status": "resolved"})),
    )
    .await;
    let schedule = |starts_at: String| {
        let app = &app;
        async move {
            app.post(
                "/api/v1/incidents/INC-1/retrospective",
                json!({"starts_at": starts_at, "duration_minutes": 45,
                       "attendees": ["ana@test.example", "bo@test.example"]}),
            )
            .await
        }
    };
    let (status, bad) = app
        .post(
            "/api/v1/incidents/INC-1/retrospective",
            json!({"starts_at": "tomorrow", "attendees": ["ana@test.example"]}),
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    let start = "2030-01-15T15:00:00Z".to_string();
    let soon = (firebreak_store::clock::now() + jiff::SignedDuration::from_hours(48))
        .strftime("%Y-%m-%dT%H:%M:00Z")
        .to_string();
    let (status, first) = schedule(soon.clone()).await;
    assert_eq!(status, reqwest::StatusCode::CREATED, "{first}");
    assert!(first["warning"].is_null(), "within a week: no warning");
    crate::webhooks::manual_worker(&app)
        .run_once(firebreak_store::clock::now())
        .await
        .unwrap();
    let mail = smtp.messages();
    assert_eq!(mail.len(), 2, "one invitation per attendee");
    let invite = read_invitation(&mail[0]);
    assert_eq!(invite["method"], "REQUEST");
    assert_eq!(invite["filename"], "invite.ics");
    assert_eq!(invite["summary"], "Retrospective: INC-1 — Checkout is down");
    assert!(
        invite["description"]
            .as_str()
            .unwrap()
            .contains("/incidents/INC-1/postmortem")
    );
    assert_eq!(
        invite["attendees"],
        json!(["mailto:ana@test.example", "mailto:bo@test.example"])
    );
    assert_eq!(invite["sequence"], 0);
    let starts: jiff::Timestamp = invite["start"].as_str().unwrap().parse().unwrap();
    assert_eq!(starts.to_string(), soon);
    // Moved to much later: allowed, with a warning; the same event, the next sequence.
    let (_, moved) = schedule(start).await;
    assert!(
        moved["warning"]
            .as_str()
            .unwrap()
            .contains("more than 7 days")
    );
    crate::webhooks::manual_worker(&app)
        .run_once(firebreak_store::clock::now())
        .await
        .unwrap();
    let mail = smtp.messages();
    assert_eq!(mail.len(), 4);
    let updates: Vec<Value> = mail.iter().map(|it| read_invitation(it)).collect();
    let latest = updates.iter().find(|it| it["sequence"] == 1).unwrap();
    assert_eq!(latest["uid"], invite["uid"]);
    assert_eq!(latest["start"], "2030-01-15T15:00:00+00:00");
    assert_eq!(latest["end"], "2030-01-15T15:45:00+00:00");
    // From the post-mortem page: the time is read in the person's zone (UTC here).
    let (cookie, csrf) = app.session("writer@test.example").await;
    let (_, page) = app.page(&cookie, "/incidents/INC-1/postmortem").await;
    assert!(page.contains("Tue 15 Jan 2030 15:00–15:45"), "{page}");
    assert!(page.contains("more than 7 days"), "the warning shows");
    let move_to = |start: &'static str| {
        let (app, cookie, csrf) = (&app, cookie.clone(), csrf.clone());
        async move {
            app.form(
                &cookie,
                "/incidents/INC-1/retrospective",
                &[
                    ("csrf", &csrf),
                    ("starts_at", start),
                    ("duration_minutes", "30"),
                    ("attendees", "ana@test.example, cy@test.example"),
                    ("location", "Room 4"),
                ],
            )
            .await
            .status()
        }
    };
    assert_eq!(
        move_to("next tuesday").await,
        reqwest::StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        move_to("2030-02-01T10:30").await,
        reqwest::StatusCode::SEE_OTHER
    );
    let (_, page) = app.page(&cookie, "/incidents/INC-1/postmortem").await;
    assert!(page.contains("Fri 1 Feb 2030 10:30–11:00"), "{page}");
    crate::webhooks::manual_worker(&app)
        .run_once(firebreak_store::clock::now())
        .await
        .unwrap();
    let mail = smtp.messages();
    assert_eq!(mail.len(), 6, "two more invitations");
    let moved = mail
        .iter()
        .map(|it| read_invitation(it))
        .find(|it| it["sequence"] == 2);
    assert_eq!(moved.unwrap()["start"], "2030-02-01T10:30:00+00:00");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retrospective_invite_sqlite() {
    retrospective_invite(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retrospective_invite_postgres() {
    retrospective_invite(Backend::Postgres).await;
}
