//! Pages: escalation with a controllable clock, people's own notification rules, and bursts
//! of events against the per-person limit.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{Backend, TestApp};
use crate::paging::{enqueue, open_alerts, setup};

async fn escalation(backend: Backend) {
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
    let (_, key) = setup(&app, 5).await;
    let worker = firebreak_server::paging::pager::EscalationWorker {
        store: app.store.clone(),
        settings: std::sync::Arc::new(app.settings.clone()),
    };
    let send = |dedup: &'static str| {
        let (app, key) = (&app, key.clone());
        async move {
            app.post(
                "/api/v1/alerts",
                json!({"integration_key": key, "summary": format!("{dedup} is down"), "dedup_key": dedup}),
            )
            .await
            .1["alert_id"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    // Timers are due by the database's clock; it agrees with ours here.
    let skew = app
        .store
        .database_now()
        .await
        .unwrap()
        .duration_since(firebreak_store::clock::now());
    assert!(skew.abs() < jiff::SignedDuration::from_secs(5), "{skew}");
    let ignored = send("checkout").await;
    let acked = send("search").await;
    let t0 = firebreak_store::clock::now();
    let minutes = |n: i64| t0 + jiff::SignedDuration::from_mins(n);
    // Acknowledged before the delay: it never reaches step 2.
    let (status, body) = app
        .call(
            &app.write,
            Method::POST,
            &format!("/api/v1/alerts/{acked}/ack"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["acknowledged_by"], "writer@test.example");
    let (status, _) = app
        .call(
            &app.write,
            Method::POST,
            &format!("/api/v1/alerts/{acked}/ack"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    // Before the delay nothing moves; after it, the unacknowledged one reaches step 2.
    assert_eq!(worker.run_once(minutes(4)).await.unwrap(), 0);
    assert_eq!(worker.run_once(minutes(6)).await.unwrap(), 1);
    assert_eq!(worker.run_once(minutes(6)).await.unwrap(), 0, "once");
    let (_, it) = app.get(&format!("/api/v1/alerts/{ignored}")).await;
    assert_eq!(it["step"], 2);
    let paged: Vec<&str> = it["log"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|entry| entry["kind"] == "paged")
        .map(|entry| entry["detail"]["person"].as_str().unwrap())
        .collect();
    assert_eq!(paged, ["ana@test.example", "bo@test.example"]);
    let (_, it) = app.get(&format!("/api/v1/alerts/{acked}")).await;
    assert_eq!(it["step"], 1);
    assert!(it["next_escalation_at"].is_null());
    // After the last step, the policy is exhausted (no repeat): logged, nobody more paged.
    assert_eq!(worker.run_once(minutes(12)).await.unwrap(), 1);
    let (_, it) = app.get(&format!("/api/v1/alerts/{ignored}")).await;
    assert_eq!(
        it["log"].as_array().unwrap().last().unwrap()["kind"],
        "exhausted"
    );

    // The pages went out by email (bo's when step 2 was taken, in this test's future); ana's
    // link acknowledges as ana, without signing in.
    crate::webhooks::manual_worker(&app)
        .run_once(minutes(13))
        .await
        .unwrap();
    let mail = smtp.messages();
    // The acknowledged alert's page to ana was not sent yet: acknowledging cancelled it.
    assert_eq!(mail.len(), 2, "ana and then bo for the ignored alert");
    let (_, it) = app.get(&format!("/api/v1/alerts/{acked}")).await;
    let acknowledged = it["log"]
        .as_array()
        .unwrap()
        .iter()
        .find(|entry| entry["kind"] == "acknowledged")
        .unwrap()
        .clone();
    assert_eq!(acknowledged["detail"]["pages_cancelled"], 1);
    // Undo quoted-printable: soft line breaks and `=3D`.
    let decoded: Vec<String> = mail
        .iter()
        .map(|it| {
            it.replace("=\r\n", "")
                .replace("=\n", "")
                .replace("=3D", "=")
        })
        .collect();
    let to_ana = decoded
        .iter()
        .find(|it| it.contains("To: ana@test.example") && it.contains("checkout is down"))
        .unwrap();
    let start = to_ana.find("/alerts/").unwrap();
    let link: String = to_ana[start..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    let page = app
        .http
        .get(format!("{}{link}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("Acknowledge"));
    let token = link.split("t=").nth(1).unwrap().to_string();
    let response = app
        .http
        .post(format!("{}/alerts/{ignored}/respond", app.base))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!("t={token}&action=acknowledge"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let (_, it) = app.get(&format!("/api/v1/alerts/{ignored}")).await;
    assert_eq!(it["status"], "acknowledged");
    assert_eq!(it["acknowledged_by"], "ana@test.example");
    let response = app
        .http
        .get(format!("{}/alerts/{ignored}/respond?t=forged", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);

    // The pages: the list, the alert with its log, and an incident declared from it.
    let (cookie, csrf) = app.session("writer@test.example").await;
    let (_, list) = app.page(&cookie, "/alerts").await;
    assert!(
        list.contains("checkout is down") && list.contains("Resolve"),
        "{list}"
    );
    let (_, page) = app.page(&cookie, &format!("/alerts/{ignored}")).await;
    assert!(
        page.contains("exhausted") && page.contains("bo@test.example"),
        "{page}"
    );
    let response = app
        .form(
            &cookie,
            &format!("/alerts/{ignored}"),
            &[("csrf", &csrf), ("action", "declare")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/incidents/INC-1");
    let (_, incident) = app.get("/api/v1/incidents/INC-1").await;
    assert_eq!(incident["status"], "triage");
    assert_eq!(incident["title"], "checkout is down");
    assert_eq!(incident["services"], json!(["payments"]));
    let (status, _) = app
        .post(&format!("/api/v1/alerts/{ignored}/incident"), json!({}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "once per alert");
    let (_, page) = app.page(&cookie, &format!("/alerts/{ignored}")).await;
    assert!(page.contains("/incidents/INC-1"), "{page}");
    let response = app
        .form(
            &cookie,
            &format!("/alerts/{acked}"),
            &[("csrf", &csrf), ("action", "resolve"), ("back", "list")],
        )
        .await;
    assert_eq!(response.headers()["location"], "/alerts");
    let (_, it) = app.get(&format!("/api/v1/alerts/{acked}")).await;
    assert_eq!(it["status"], "resolved");
    assert_eq!(it["resolved_by"], "writer@test.example");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn escalation_sqlite() {
    escalation(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn escalation_postgres() {
    escalation(Backend::Postgres).await;
}

// Personal rules: email at once, a signed webhook after 5 minutes — which an acknowledgement
// in between cancels.
async fn personal_rules(backend: Backend) {
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
    let admin = app.admin.clone();
    app.call(
        &admin,
        Method::POST,
        "/api/v1/escalation-policies",
        Some(json!({"name": "writer", "steps": [
            {"targets": [{"type": "person", "id": "writer@test.example"}], "delay_minutes": 30}]})),
    )
    .await;
    app.call(
        &admin,
        Method::POST,
        "/api/v1/services",
        Some(json!({"name": "api", "escalation_policy": "writer"})),
    )
    .await;
    let (_, key) = app
        .call(
            &admin,
            Method::POST,
            "/api/v1/services/api/integration-keys",
            Some(json!({})),
        )
        .await;
    let key = key["key"].as_str().unwrap().to_string();
    let (hook, mut received) = crate::webhooks::start_receiver(0).await;
    let (status, phone) = app
        .post(
            "/api/v1/me/contact-methods",
            json!({"kind": "email", "address": "Writer.Phone@test.example"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{phone}");
    let (_, webhook) = app
        .post(
            "/api/v1/me/contact-methods",
            json!({"kind": "webhook", "address": hook, "secret": crate::webhooks::SECRET}),
        )
        .await;
    // At once by email, after 5 minutes by webhook, after 10 minutes by email again.
    for (method, delay) in [(&phone, 0), (&webhook, 5), (&phone, 10)] {
        let (status, body) = app
            .post(
                "/api/v1/me/notification-rules",
                json!({"contact_method": method["id"], "delay_minutes": delay}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (status, _) = app
        .post(
            "/api/v1/me/notification-rules",
            json!({"contact_method": phone["id"], "delay_minutes": 61}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, twice) = app
        .post(
            "/api/v1/me/notification-rules",
            json!({"contact_method": phone["id"], "delay_minutes": 10}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{twice}");
    let (status, _) = app
        .call(
            &app.admin,
            Method::POST,
            "/api/v1/me/notification-rules",
            Some(json!({"contact_method": phone["id"], "delay_minutes": 1})),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "not the admin's method"
    );
    let (_, rules) = app
        .call(
            &app.write,
            Method::GET,
            "/api/v1/me/notification-rules",
            None,
        )
        .await;
    assert_eq!(rules.as_array().unwrap().len(), 3);

    let send = |dedup: &'static str| {
        let (app, key) = (&app, key.clone());
        async move {
            app.post(
                "/api/v1/alerts",
                json!({"integration_key": key, "summary": format!("{dedup} is down"), "dedup_key": dedup}),
            )
            .await
            .1["alert_id"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    let first = send("first").await;
    let worker = crate::webhooks::manual_worker(&app);
    worker
        .run_once(firebreak_store::clock::now())
        .await
        .unwrap();
    let mail = smtp.messages();
    assert_eq!(mail.len(), 1);
    assert!(
        mail[0].contains("To: writer.phone@test.example"),
        "{}",
        mail[0]
    );
    // Acknowledged within the 5 minutes: the webhook is never sent.
    app.call(
        &app.write,
        Method::POST,
        &format!("/api/v1/alerts/{first}/ack"),
        None,
    )
    .await;
    let second = send("second").await;
    let later = firebreak_store::clock::now() + jiff::SignedDuration::from_mins(6);
    worker.run_once(later).await.unwrap();
    worker.run_once(later).await.unwrap();
    let got = tokio::time::timeout(std::time::Duration::from_secs(5), received.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(got.signature_ok, "signed with the contact method's secret");
    assert_eq!(got.body["kind"], "page");
    assert_eq!(got.body["incident_id"], format!("alert:{second}"));
    assert!(
        got.body["subject"]
            .as_str()
            .unwrap()
            .contains("second is down")
    );
    assert!(
        received.try_recv().is_err(),
        "nothing for the acknowledged alert"
    );
    assert_eq!(smtp.messages().len(), 2, "the second alert's email too");
    // Still unanswered after 10 minutes: the email again (the first alert's was cancelled).
    let later = firebreak_store::clock::now() + jiff::SignedDuration::from_mins(11);
    worker.run_once(later).await.unwrap();
    let mail = smtp.messages();
    assert_eq!(mail.len(), 3, "one repeat, for the second alert only");
    assert_eq!(
        mail.iter()
            .filter(|it| it.contains("second is down"))
            .count(),
        2
    );
    // The account page lists the rules and adds a webhook, showing its secret once.
    let (cookie, csrf) = app.session("writer@test.example").await;
    let (_, page) = app.page(&cookie, "/account").await;
    assert!(page.contains("after 5 min by webhook"), "{page}");
    let shown = app
        .form(
            &cookie,
            "/account/paging",
            &[
                ("csrf", &csrf),
                ("action", "contact"),
                ("kind", "webhook"),
                ("address", "https://hooks.example/pager"),
            ],
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(
        shown.contains("shown once") && shown.contains("whsec_"),
        "{shown}"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn personal_rules_sqlite() {
    personal_rules(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn personal_rules_postgres() {
    personal_rules(Backend::Postgres).await;
}

// Monitoring sends in bursts: events arriving together share a transaction. Sixty at once —
// twelve keys, five triggers each — are twelve alerts counted five times; ana may get ten
// pages an hour, so ten are paged and two say why not.
async fn a_burst_of_events(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |settings| {
        settings.workers = false;
        settings.paging.pages_per_person_per_hour = 10;
    })
    .await
    else {
        return;
    };
    let (_, key) = setup(&app, 5).await;
    let sends = (0..60).map(|n| {
        let event = json!({"routing_key": key, "event_action": "trigger",
                           "dedup_key": format!("disk-{}", n % 12),
                           "payload": {"summary": format!("disk {} full", n % 12),
                                       "source": "node", "severity": "error"}});
        let app = &app;
        async move { enqueue(app, event).await }
    });
    for (status, answer) in futures_util::future::join_all(sends).await {
        assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    }
    let alerts = open_alerts(&app).await;
    assert_eq!(alerts.len(), 12, "{alerts:?}");
    let (mut paged, mut limited) = (0, 0);
    for alert in &alerts {
        assert_eq!(alert["count"], 5, "{alert}");
        let (_, it) = app
            .get(&format!("/api/v1/alerts/{}", alert["id"].as_str().unwrap()))
            .await;
        let log = it["log"].as_array().unwrap();
        let kinds: Vec<&str> = log
            .iter()
            .filter_map(|entry| entry["kind"].as_str())
            .collect();
        assert_eq!(
            kinds.iter().filter(|kind| **kind == "counted").count(),
            4,
            "{kinds:?}"
        );
        paged += kinds.iter().filter(|kind| **kind == "paged").count();
        limited += log
            .iter()
            .filter(|entry| {
                entry["kind"] == "not_paged"
                    && entry["detail"]["reason"]
                        .as_str()
                        .is_some_and(|it| it.starts_with("rate limit"))
            })
            .count();
    }
    assert_eq!((paged, limited), (10, 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_events_sqlite() {
    a_burst_of_events(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_events_postgres() {
    a_burst_of_events(Backend::Postgres).await;
}

// Monitoring can send a trigger and its acknowledge in one burst, so in one transaction. The
// trigger's step and page are written with the batch's other writes, and the acknowledge
// must still see them: the page it cancels, the timer it stops.
async fn a_trigger_and_its_acknowledge_in_one_transaction(backend: Backend) {
    use firebreak_core::paging::{AlertAction, AlertSeverity, AlertStatus};
    use firebreak_store::{IncomingAlert, Pager};
    use jiff::SignedDuration;

    let Some(app) = TestApp::spawn_with(backend, |settings| settings.workers = false).await else {
        return;
    };
    let (service_id, _) = setup(&app, 5).await;
    let service = app.store.service(&service_id).await.unwrap();
    let event = |action| IncomingAlert {
        action,
        dedup_key: "disk".into(),
        summary: "disk full".into(),
        severity: AlertSeverity::Error,
        source: "node".into(),
        details: "{}".into(),
        links: "[]".into(),
        via: "api",
    };
    let nobody = |_: &str, _| None;
    let pager = Pager {
        on_call: &nobody,
        base_url: "http://firebreak.test",
        per_person_per_hour: 100,
        link_lifetime: SignedDuration::from_hours(24),
        flap_threshold: 0,
        flap_window: SignedDuration::from_mins(10),
    };
    let (trigger, acknowledge) = (event(AlertAction::Trigger), event(AlertAction::Acknowledge));
    let done = app
        .store
        .ingest_alerts(
            &[(&service, &trigger), (&service, &acknowledge)],
            &pager,
            firebreak_store::clock::now(),
        )
        .await;
    let ids: Vec<String> = done
        .into_iter()
        .map(|it| it.unwrap().alert_id.unwrap())
        .collect();
    assert_eq!(
        ids[0], ids[1],
        "the acknowledge found the alert its trigger opened"
    );
    let alert = app.store.alert(&ids[0]).await.unwrap();
    assert_eq!(alert.status, AlertStatus::Acknowledged);
    assert_eq!(
        alert.next_escalation_at, None,
        "the timer the trigger set is stopped"
    );
    let (_, it) = app.get(&format!("/api/v1/alerts/{}", ids[0])).await;
    let log = it["log"].as_array().unwrap();
    let kinds: Vec<&str> = log.iter().filter_map(|it| it["kind"].as_str()).collect();
    assert_eq!(kinds, ["triggered", "step", "paged", "acknowledged"]);
    assert_eq!(log[3]["detail"]["pages_cancelled"], 1, "{log:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trigger_and_its_acknowledge_in_one_transaction_sqlite() {
    a_trigger_and_its_acknowledge_in_one_transaction(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trigger_and_its_acknowledge_in_one_transaction_postgres() {
    a_trigger_and_its_acknowledge_in_one_transaction(Backend::Postgres).await;
}

// A batch reads what its events ask (open alerts, flapping counts, policies, people and
// their page budgets) once, then keeps it current as its events change it: a key that opens,
// is counted, resolves and opens again in one transaction is two alerts, the second
// flapping; ana's budget of two pages an hour is spent within the batch and stays spent in
// the next one.
async fn one_batch_keeps_what_it_read(backend: Backend) {
    use firebreak_core::paging::{AlertAction, AlertSeverity, Decision};
    use firebreak_store::{IncomingAlert, Pager};
    use jiff::SignedDuration;

    let Some(app) = TestApp::spawn_with(backend, |settings| settings.workers = false).await else {
        return;
    };
    let (service_id, _) = setup(&app, 5).await;
    let service = app.store.service(&service_id).await.unwrap();
    let event = |action, key: &str| IncomingAlert {
        action,
        dedup_key: key.into(),
        summary: format!("{key} is down"),
        severity: AlertSeverity::Error,
        source: "node".into(),
        details: "{}".into(),
        links: "[]".into(),
        via: "api",
    };
    let nobody = |_: &str, _| None;
    let pager = Pager {
        on_call: &nobody,
        base_url: "http://firebreak.test",
        per_person_per_hour: 2,
        link_lifetime: SignedDuration::from_hours(24),
        flap_threshold: 2,
        flap_window: SignedDuration::from_mins(10),
    };
    use AlertAction::{Resolve, Trigger};
    let first = [
        event(Trigger, "a"),
        event(Trigger, "a"),
        event(Resolve, "a"),
        event(Trigger, "a"),
        event(Trigger, "b"),
        event(Trigger, "c"),
    ];
    let batch: Vec<_> = first.iter().map(|it| (&service, it)).collect();
    let now = firebreak_store::clock::now();
    let done: Vec<_> = app
        .store
        .ingest_alerts(&batch, &pager, now)
        .await
        .into_iter()
        .map(|it| it.unwrap())
        .collect();
    let decisions: Vec<Decision> = done.iter().map(|it| it.decision).collect();
    use Decision::{Count, Open};
    assert_eq!(
        decisions,
        [Open, Count, Decision::Resolve, Open, Open, Open]
    );
    let id = |n: usize| done[n].alert_id.clone().unwrap();
    assert_eq!((id(1), id(2)), (id(0), id(0)));
    assert_ne!(id(3), id(0), "the key opened a second alert");
    let second = [event(Trigger, "d")];
    let later = app
        .store
        .ingest_alerts(&[(&service, &second[0])], &pager, now)
        .await
        .pop()
        .unwrap()
        .unwrap();
    let kinds = |id: String| {
        let app = &app;
        async move {
            let (_, it) = app.get(&format!("/api/v1/alerts/{id}")).await;
            it["log"]
                .as_array()
                .unwrap()
                .iter()
                .map(|entry| match entry["detail"]["reason"].as_str() {
                    Some(reason) => format!(
                        "{}: {}",
                        entry["kind"].as_str().unwrap(),
                        reason.split(':').next().unwrap()
                    ),
                    None => entry["kind"].as_str().unwrap().to_string(),
                })
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        kinds(id(0)).await,
        ["triggered", "step", "paged", "counted", "resolved"]
    );
    assert_eq!(kinds(id(3)).await, ["triggered", "not_paged: flapping"]);
    assert_eq!(kinds(id(4)).await, ["triggered", "step", "paged"]);
    assert_eq!(
        kinds(id(5)).await,
        ["triggered", "step", "not_paged: rate limit"]
    );
    assert_eq!(
        kinds(later.alert_id.unwrap()).await,
        ["triggered", "step", "not_paged: rate limit"]
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_batch_keeps_what_it_read_sqlite() {
    one_batch_keeps_what_it_read(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_batch_keeps_what_it_read_postgres() {
    one_batch_keeps_what_it_read(Backend::Postgres).await;
}

/// `/schedules` is what the API and the CLI call them: it leads to the On call page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schedules_leads_to_on_call() {
    let app = crate::helpers::TestApp::spawn(crate::helpers::Backend::Sqlite)
        .await
        .unwrap();
    let (cookie, _) = app.session("reader@test.example").await;
    let (status, _) = app.page(&cookie, "/schedules").await;
    assert_eq!(status, reqwest::StatusCode::PERMANENT_REDIRECT);
    let response = crate::helpers::no_redirects()
        .get(format!("{}/schedules", app.base))
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["location"], "/oncall");
    let (status, page) = app.page(&cookie, "/oncall").await;
    assert_eq!(status, reqwest::StatusCode::OK, "{page}");
    app.stop().await;
}
