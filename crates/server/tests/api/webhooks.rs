//! Outgoing webhooks through the outbox: signed, ordered per incident, retried, dead-lettered.

use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use axum::routing::post;
use firebreak_integrations::webhook::verify;
use firebreak_server::workers::DeliveryWorker;
use jiff::SignedDuration;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::both_backends;
use crate::helpers::{Backend, TestApp};

pub(crate) const SECRET: &str = "test-secret-0123456789";

/// One request as the receiver saw it.
#[derive(Clone, Debug)]
pub(crate) struct Received {
    pub(crate) delivery_id: String,
    pub(crate) signature_ok: bool,
    pub(crate) body: Value,
    accepted: bool,
}

#[derive(Clone)]
struct Receiver {
    /// Answer 503 to this many requests first, then 200; `usize::MAX` never accepts.
    fail_first: usize,
    n_requests: Arc<Mutex<usize>>,
    seen: mpsc::UnboundedSender<Received>,
}

async fn receive(State(receiver): State<Receiver>, headers: HeaderMap, body: String) -> AxumStatus {
    let n = {
        let mut n_requests = receiver.n_requests.lock().unwrap();
        *n_requests += 1;
        *n_requests
    };
    let accepted = n > receiver.fail_first;
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|it| it.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let _ = receiver.seen.send(Received {
        delivery_id: header("Firebreak-Delivery"),
        signature_ok: verify(SECRET, &header("Firebreak-Signature"), &body),
        body: serde_json::from_str(&body).unwrap_or(Value::Null),
        accepted,
    });
    if accepted {
        AxumStatus::OK
    } else {
        AxumStatus::SERVICE_UNAVAILABLE
    }
}

/// Starts a receiver on a free port; returns its URL and the stream of what it saw.
pub(crate) async fn start_receiver(
    fail_first: usize,
) -> (String, mpsc::UnboundedReceiver<Received>) {
    let (seen, received) = mpsc::unbounded_channel();
    let state = Receiver {
        fail_first,
        n_requests: Arc::new(Mutex::new(0)),
        seen,
    };
    let app = axum::Router::new()
        .route("/hook", post(receive))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, received)
}

pub(crate) async fn create_hook(app: &TestApp, url: &str, extra: Value) -> Value {
    let mut body = json!({"url": url, "secret": SECRET, "description": "test receiver"});
    for (key, value) in extra.as_object().unwrap() {
        body[key] = value.clone();
    }
    let (status, hook) = app
        .call(&app.admin, Method::POST, "/api/v1/webhooks", Some(body))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{hook}");
    hook
}

/// A delivery worker the test steps by hand (with email when the settings name an SMTP
/// server).
pub(crate) fn manual_worker(app: &TestApp) -> DeliveryWorker {
    DeliveryWorker {
        store: app.store.clone(),
        client: firebreak_integrations::outbound::Outbound::new(
            std::time::Duration::from_secs(5),
            app.settings.outbound_policy(),
        )
        .unwrap(),
        policy: app.settings.retry_policy(),
        mailer: app
            .settings
            .smtp()
            .map(|it| firebreak_integrations::email::Mailer::new(&it).unwrap()),
        chat: firebreak_server::chat::Platforms::default(),
        phones: firebreak_server::paging::wake::Phones::default(),
    }
}

both_backends!(
    live_worker_delivers_signed_events,
    |app: TestApp| async move {
        let (url, mut received) = start_receiver(0).await;
        let hook = create_hook(&app, &url, json!({"event_kinds": ["declared", "note"]})).await;
        assert_eq!(hook["secret"], SECRET, "the secret is shown at creation");
        let (_, shown) = app
            .call(
                &app.admin,
                Method::GET,
                &format!("/api/v1/webhooks/{}", hook["id"].as_str().unwrap()),
                None,
            )
            .await;
        assert!(shown.get("secret").is_none(), "and never again");

        app.declare(json!({"title": "Webhook test"})).await;
        app.post(
            "/api/v1/incidents/INC-1/updates",
            json!({"message": "not subscribed"}),
        )
        .await;
        app.post(
            "/api/v1/incidents/INC-1/timeline",
            json!({"text": "subscribed"}),
        )
        .await;
        let wait = std::time::Duration::from_secs(20);
        let first = tokio::time::timeout(wait, received.recv())
            .await
            .expect("first delivery")
            .unwrap();
        let second = tokio::time::timeout(wait, received.recv())
            .await
            .expect("second delivery")
            .unwrap();
        assert!(first.signature_ok && second.signature_ok);
        assert_eq!(first.body["event"]["kind"], "declared");
        assert_eq!(first.body["event"]["incident_reference"], "INC-1");
        assert_eq!(second.body["event"]["kind"], "note");
        assert_eq!(second.body["event"]["seq"], 3);
        assert_eq!(second.body["delivery_id"], second.delivery_id);
        app.stop().await;
    }
);

/// Drives the worker by hand with an advancing clock until nothing is left to do.
pub(crate) async fn drain(worker: &DeliveryWorker, max_steps: usize) {
    let mut now = firebreak_store::clock::now();
    let mut idle_steps = 0;
    for _ in 0..max_steps {
        let report = worker.run_once(now).await.unwrap();
        idle_steps = if report.did_work() { 0 } else { idle_steps + 1 };
        if idle_steps == 2 {
            return;
        }
        // Every backoff in these settings is far shorter than a minute.
        now += SignedDuration::from_mins(1);
    }
    panic!("the worker still had work after {max_steps} steps");
}

async fn down_receiver_gets_everything_in_order(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |settings| settings.workers = false).await else {
        return;
    };
    let (url, mut received) = start_receiver(5).await;
    let hook = create_hook(&app, &url, json!({})).await;
    for title in ["Incident A", "Incident B"] {
        app.declare(json!({"title": title})).await;
    }
    for idx in 0..3 {
        for reference in ["INC-1", "INC-2"] {
            app.post(
                &format!("/api/v1/incidents/{reference}/timeline"),
                json!({"text": format!("note {idx}")}),
            )
            .await;
        }
    }
    let private = app
        .declare(json!({"title": "Private one", "private": true}))
        .await;
    drain(&manual_worker(&app), 200).await;

    let mut all = Vec::new();
    while let Ok(item) = received.try_recv() {
        all.push(item);
    }
    assert!(
        all.iter().all(|it| it.signature_ok),
        "every request is signed"
    );
    let accepted: Vec<&Received> = all.iter().filter(|it| it.accepted).collect();
    let ids: std::collections::BTreeSet<&str> =
        accepted.iter().map(|it| it.delivery_id.as_str()).collect();
    assert_eq!(accepted.len(), 8, "every event arrives");
    assert_eq!(ids.len(), 8, "exactly once per delivery id");
    assert_eq!(all.len(), 8 + 5, "the five refused requests were retried");
    for reference in ["INC-1", "INC-2"] {
        let seqs: Vec<i64> = accepted
            .iter()
            .filter(|it| it.body["event"]["incident_reference"] == reference)
            .map(|it| it.body["event"]["seq"].as_i64().unwrap())
            .collect();
        assert_eq!(seqs, [1, 2, 3, 4], "{reference} in order");
    }
    assert!(
        accepted
            .iter()
            .all(|it| it.body["event"]["incident_id"] != private["id"]),
        "private incidents stay private"
    );

    let path = format!(
        "/api/v1/webhooks/{}/deliveries",
        hook["id"].as_str().unwrap()
    );
    let (_, deliveries) = app.call(&app.admin, Method::GET, &path, None).await;
    let deliveries = deliveries.as_array().unwrap();
    assert_eq!(deliveries.len(), 8);
    assert!(deliveries.iter().all(|it| it["status"] == "delivered"));
    assert!(
        deliveries
            .iter()
            .any(|it| it["attempts"].as_i64().unwrap() > 1)
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn down_receiver_gets_everything_in_order_sqlite() {
    down_receiver_gets_everything_in_order(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn down_receiver_gets_everything_in_order_postgres() {
    down_receiver_gets_everything_in_order(Backend::Postgres).await;
}

async fn failing_receiver_is_dead_lettered(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |settings| {
        settings.workers = false;
        settings.webhooks.max_attempts = 3;
    })
    .await
    else {
        return;
    };
    let (url, mut received) = start_receiver(usize::MAX).await;
    let hook = create_hook(&app, &url, json!({"event_kinds": ["declared"]})).await;
    app.declare(json!({"title": "Nobody listens"})).await;
    drain(&manual_worker(&app), 50).await;
    let mut n_attempts = 0;
    while received.try_recv().is_ok() {
        n_attempts += 1;
    }
    assert_eq!(n_attempts, 3);
    let path = format!(
        "/api/v1/webhooks/{}/deliveries?status=dead",
        hook["id"].as_str().unwrap()
    );
    let (_, dead) = app.call(&app.admin, Method::GET, &path, None).await;
    let dead = dead.as_array().unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0]["attempts"], 3);
    assert_eq!(dead[0]["last_status_code"], 503);

    let retry = format!(
        "/api/v1/webhooks/{}/deliveries/{}/retry",
        hook["id"].as_str().unwrap(),
        dead[0]["delivery_id"].as_str().unwrap()
    );
    let (status, _) = app.call(&app.admin, Method::POST, &retry, None).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (status, _) = app.call(&app.admin, Method::POST, &retry, None).await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "only a dead delivery can be retried"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_receiver_is_dead_lettered_sqlite() {
    failing_receiver_is_dead_lettered(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_receiver_is_dead_lettered_postgres() {
    failing_receiver_is_dead_lettered(Backend::Postgres).await;
}

both_backends!(webhook_crud_and_validation, |app: TestApp| async move {
    let (status, body) = app
        .call(
            &app.admin,
            Method::POST,
            "/api/v1/webhooks",
            Some(json!({"url": "ftp://x"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, _) = app
        .call(
            &app.admin,
            Method::POST,
            "/api/v1/webhooks",
            Some(json!({"url": "http://x/", "event_kinds": ["nope"]})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = app
        .call(
            &app.admin,
            Method::POST,
            "/api/v1/webhooks",
            Some(json!({"url": "http://x/", "secret": "short"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, hook) = app
        .call(
            &app.admin,
            Method::POST,
            "/api/v1/webhooks",
            Some(json!({"url": "https://hooks.example.com/fb"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(hook["secret"].as_str().unwrap().starts_with("whsec_"));
    let path = format!("/api/v1/webhooks/{}", hook["id"].as_str().unwrap());
    let (status, updated) = app
        .call(
            &app.admin,
            Method::PATCH,
            &path,
            Some(json!({"active": false})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(updated["active"], false);
    let (_, list) = app
        .call(&app.admin, Method::GET, "/api/v1/webhooks", None)
        .await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    let (status, _) = app.call(&app.admin, Method::DELETE, &path, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app.call(&app.admin, Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app
        .call(&app.admin, Method::GET, "/api/v1/webhooks/not-a-uuid", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    app.stop().await;
});

/// Outbox rows wait for the fan-out only while a webhook is active: without one the writer
/// writes them already processed, and rows left pending by a webhook since deleted are
/// settled by the next step, delivered to nobody.
async fn outbox_rows_wait_only_for_a_webhook(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |settings| settings.workers = false).await else {
        return;
    };
    let pending = || async { app.store.backlog().await.unwrap().0 };
    app.declare(json!({"title": "Before any webhook"})).await;
    assert_eq!(pending().await, 0, "nothing waits without a webhook");

    let (url, mut received) = start_receiver(0).await;
    let hook = create_hook(&app, &url, json!({})).await;
    app.declare(json!({"title": "With a webhook"})).await;
    assert!(pending().await > 0, "the new events wait for the fan-out");
    drain(&manual_worker(&app), 20).await;
    assert_eq!(pending().await, 0);
    let first = received.try_recv().expect("a delivery");
    assert_eq!(
        first.body["event"]["incident_reference"], "INC-2",
        "{}",
        first.body
    );

    app.declare(json!({"title": "Its webhook goes"})).await;
    assert!(pending().await > 0);
    let path = format!("/api/v1/webhooks/{}", hook["id"].as_str().unwrap());
    let (status, _) = app.call(&app.admin, Method::DELETE, &path, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    while received.try_recv().is_ok() {}
    drain(&manual_worker(&app), 20).await;
    assert_eq!(pending().await, 0, "settled without a webhook");
    assert!(received.try_recv().is_err(), "and delivered to nobody");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbox_rows_wait_only_for_a_webhook_sqlite() {
    outbox_rows_wait_only_for_a_webhook(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbox_rows_wait_only_for_a_webhook_postgres() {
    outbox_rows_wait_only_for_a_webhook(Backend::Postgres).await;
}
