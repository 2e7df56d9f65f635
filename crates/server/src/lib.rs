//! Firebreak's HTTP server: the REST API, live events, health and metrics, and the workers.
//!
//! `serve(settings, listener, shutdown)` is the one entry point; production, the integration
//! tests and the benchmark all start the real app through it.

pub mod api;
pub mod auth;
pub mod chat;
pub mod demo;
pub mod error;
pub mod extract;
pub mod followups;
mod health;
pub mod imports;
pub mod incidents;
pub mod insights;
pub mod listen;
pub mod oncall;
pub mod openapi;
pub mod paging;
pub mod people;
pub mod postmortems;
pub mod settings;
mod state;
pub mod status_page;
mod token_cache;
pub mod ui;
pub mod webhooks;
pub mod workers;
pub mod workflow;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::middleware::{self, Next};
use axum::response::Response;
use firebreak_store::{Store, StoreOptions};
use tokio::net::TcpListener;
use tokio::sync::watch;

pub use settings::Settings;
pub use state::AppState;

/// How to open a store for these settings: their catalog, rebuilt with the playbooks and
/// rules stored through the API whenever those change.
pub fn store_options(settings: &Settings) -> StoreOptions {
    let mut options = StoreOptions::new(settings.database_url.expose());
    options.catalog = settings.catalog();
    options.public_url = settings.base_url();
    let page = status_page::page::info(settings);
    options.status_page = firebreak_store::StatusPageOptions {
        name: page.name,
        url: page.url,
        throttle_minutes: settings.status_page.subscriber_throttle_minutes,
    };
    let base = settings.clone();
    options.rebuild = Some(Arc::new(
        move |items: &[firebreak_store::WorkflowItem]| base.catalog_with(items),
    ));
    options
}

/// Opens the store the settings point at.
pub async fn open_store(settings: &Settings) -> anyhow::Result<Store> {
    Ok(Store::open(store_options(settings)).await?)
}

/// Builds the router over an open store.
pub fn router(state: AppState) -> Router {
    if state.settings.status_page_only {
        let routes = Router::new()
            .merge(health::router())
            .merge(status_page::router());
        return with_layers(routes, state);
    }
    let routes = Router::new()
        .nest("/api/v1", api::router())
        .route("/calendar/{file}", axum::routing::get(oncall::api::feed))
        .merge(paging::ingest::router())
        .merge(chat::slack_http::router())
        .merge(paging::wake_in::router())
        .route(
            "/alerts/{id}/respond",
            axum::routing::get(paging::api::link_page).post(paging::api::link_action),
        )
        .merge(health::router())
        .merge(status_page::router())
        .merge(ui::router());
    with_layers(routes, state)
}

/// What every request goes through, outermost first: security headers, a request id, JSON
/// errors on the API, the body read within its deadline and size, then the route.
fn with_layers(routes: Router<AppState>, state: AppState) -> Router {
    let body_limit = state.settings.max_body_bytes;
    let body_read = (
        Duration::from_secs(state.settings.limits.body_read_timeout_seconds.max(1)),
        body_limit,
    );
    routes
        .fallback(|| async { error::ApiError::not_found("route") })
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(middleware::from_fn_with_state(
            body_read,
            listen::read_body_within,
        ))
        .layer(middleware::from_fn(json_errors))
        .layer(middleware::from_fn(request_id))
        .layer(middleware::from_fn(security_headers))
        .with_state(state)
}

/// Errors the router and axum's extractors make by themselves — a path that is not UTF-8, a
/// method a route does not take — come as plain text or empty; under `/api/` and the ingest
/// endpoints every error is the API's JSON shape instead.
async fn json_errors(request: Request, next: Next) -> Response {
    use axum::http::{StatusCode, header};
    let path = request.uri().path();
    let api = ["/api/", "/v2/", "/integrations/"]
        .iter()
        .any(|prefix| path.starts_with(prefix));
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|it| it.to_str().ok())
        .is_some_and(|it| it.contains("json"));
    if !api || is_json || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&text).trim().to_string();
    let code = match status {
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::SERVICE_UNAVAILABLE => "unavailable",
        status if status.is_server_error() => "internal",
        _ => "bad_request",
    };
    let message = if text.is_empty() || status.is_server_error() {
        status.canonical_reason().unwrap_or("error").to_string()
    } else {
        text
    };
    let mut converted =
        axum::response::IntoResponse::into_response(error::ApiError::new(status, code, message));
    for name in [header::ALLOW, header::RETRY_AFTER, header::WWW_AUTHENTICATE] {
        if let Some(value) = parts.headers.get(&name) {
            converted.headers_mut().insert(name, value.clone());
        }
    }
    converted
}

/// The policy every HTML page is served with: scripts only from our own `/assets` (no inline
/// script or handler anywhere), inline styles allowed (the status page and emails carry their
/// CSS inline), images also from https (a status page logo), never framed.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data: https:; connect-src 'self'; \
     object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Security headers: `nosniff` and no referrer on everything (page links carry secrets in
/// their query), and a Content-Security-Policy with framing refused on HTML.
async fn security_headers(request: Request, next: Next) -> Response {
    use axum::http::{HeaderValue, header};
    let mut response = next.run(request).await;
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|it| it.to_str().ok())
        .is_some_and(|it| it.starts_with("text/html"));
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers
        .entry(header::REFERRER_POLICY)
        .or_insert(HeaderValue::from_static("no-referrer"));
    if is_html {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        );
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    response
}

/// Gives every request an id (or keeps the caller's `X-Request-Id`), echoes it in the
/// response and makes it available to error bodies and logs.
async fn request_id(request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get("X-Request-Id")
        .and_then(|it| it.to_str().ok())
        .filter(|it| !it.is_empty() && it.len() <= 100)
        .map(String::from)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let mut response = error::REQUEST_ID.scope(id.clone(), next.run(request)).await;
    tracing::debug!(request_id = %id, %method, %path, status = response.status().as_u16(), "request");
    if let Ok(value) = axum::http::HeaderValue::from_str(&id) {
        response.headers_mut().insert("X-Request-Id", value);
    }
    response
}

/// Runs Firebreak on `listener` until `shutdown` resolves: the API, and the workers.
pub async fn serve(
    settings: Settings,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let store = open_store(&settings).await?;
    serve_with_store(settings, store, listener, shutdown).await
}

/// Like `serve`, over a store that is already open (the demo loader opens it first).
pub async fn serve_with_store(
    settings: Settings,
    store: Store,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut settings = settings;
    if settings.status_page_only {
        // Only the public page: no workers, no writes.
        settings.workers = false;
    }
    let settings = Arc::new(settings);
    let chat_http = || {
        firebreak_integrations::outbound::Outbound::new(
            Duration::from_millis(settings.webhooks.timeout_ms),
            settings.outbound_policy(),
        )
    };
    let platforms = chat::Platforms {
        slack: settings
            .chat
            .slack
            .enabled()
            .then(|| -> anyhow::Result<_> {
                Ok(Arc::new(firebreak_integrations::chat::slack::Slack::new(
                    settings.chat.slack.config(),
                    chat_http()?,
                )))
            })
            .transpose()?,
        matrix: settings
            .chat
            .matrix
            .enabled()
            .then(|| -> anyhow::Result<_> {
                Ok(Arc::new(firebreak_integrations::chat::matrix::Matrix::new(
                    settings.chat.matrix.config(),
                    chat_http()?,
                )))
            })
            .transpose()?,
    };
    let phones = paging::wake::Phones::from_settings(&settings, &chat_http()?);
    let worker = workers::DeliveryWorker {
        store: store.clone(),
        client: firebreak_integrations::outbound::Outbound::new(
            Duration::from_millis(settings.webhooks.timeout_ms),
            settings.outbound_policy(),
        )?,
        phones: phones.clone(),
        policy: settings.retry_policy(),
        mailer: settings
            .smtp()
            .map(|it| firebreak_integrations::email::Mailer::new(&it))
            .transpose()?,
        chat: platforms.clone(),
    };
    let poll_interval = Duration::from_millis(settings.webhooks.poll_interval_ms);
    let worker_task = settings
        .workers
        .then(|| tokio::spawn(worker.run(poll_interval, stop_rx.clone())));
    let clock = workers::ClockWorker {
        store: store.clone(),
    };
    let clock_task = settings
        .workers
        .then(|| tokio::spawn(clock.run(Duration::from_secs(10), stop_rx.clone())));
    let retention = workers::RetentionWorker {
        store: store.clone(),
        retention: settings.retention.retention(),
    };
    let retention_task = settings
        .workers
        .then(|| tokio::spawn(retention.run(Duration::from_secs(60), stop_rx.clone())));
    let tracker_worker = followups::trackers::TrackerWorker {
        store: store.clone(),
        trackers: followups::trackers::Trackers::from_settings(&settings)?,
    };
    let tracker_task = (settings.workers
        && (tracker_worker.trackers.github.is_some() || tracker_worker.trackers.jira.is_some()))
    .then(|| tokio::spawn(tracker_worker.run(Duration::from_secs(300), stop_rx.clone())));
    let escalation = paging::pager::EscalationWorker {
        store: store.clone(),
        settings: settings.clone(),
    };
    let escalation_task = settings.workers.then(|| {
        tokio::spawn(escalation.run(
            Duration::from_secs(settings.paging.escalation_interval_seconds.max(1)),
            stop_rx.clone(),
        ))
    });
    let chat_worker = chat::ChatWorker {
        store: store.clone(),
        platforms: platforms.clone(),
        policy: settings.retry_policy(),
        base_url: settings.base_url(),
    };
    let chat_task = (settings.workers && !platforms.is_empty())
        .then(|| tokio::spawn(chat_worker.run(poll_interval, stop_rx.clone())));
    let pager: Arc<paging::pager::PagerCache> = Arc::default();
    let state = AppState::new(state::Shared {
        store: store.clone(),
        settings: settings.clone(),
        shutdown: stop_rx,
        tokens: Arc::default(),
        logins: Arc::default(),
        status: status_page::StatusCache::default(),
        events: Arc::default(),
        pager: pager.clone(),
        alerts: paging::pager::AlertBatcher::start(store.clone(), settings.clone(), pager)?,
        chat: platforms.clone(),
        phones,
    });
    if let (Some(slack), true) = (&platforms.slack, settings.workers) {
        // Over HTTP, what happened while this process was down is read back once at start.
        let (state, slack) = (state.clone(), slack.clone());
        tokio::spawn(async move { chat::slack_http::catch_up(&state, &slack).await });
    }
    let app_token = settings.chat.slack.app_token.expose().trim().to_string();
    let socket_task = match (&platforms.slack, settings.workers && !app_token.is_empty()) {
        (Some(slack), true) => {
            let socket = chat::slack_socket::SlackSocket {
                state: state.clone(),
                slack: slack.clone(),
                app_token,
            };
            Some(tokio::spawn(socket.run(state.shutdown.clone())))
        }
        _ => None,
    };
    let matrix_task = match (&platforms.matrix, settings.workers) {
        (Some(matrix), true) => {
            let sync = chat::matrix_sync::MatrixSync {
                state: state.clone(),
                matrix: matrix.clone(),
            };
            Some(tokio::spawn(sync.run(state.shutdown.clone())))
        }
        _ => None,
    };
    // The status page is rendered before the first request and kept fresh.
    if let Err(err) = status_page::rebuild(&state).await {
        tracing::warn!(error = %err, "first status page render failed");
    }
    let status_task = tokio::spawn(status_page::keep_fresh(state.clone()));
    let app = router(state);
    let serving = listen::serve(listener, app, settings.connection_limits(), async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    serving.await?;
    for task in [
        worker_task,
        clock_task,
        retention_task,
        tracker_task,
        escalation_task,
        chat_task,
        matrix_task,
        socket_task,
    ]
    .into_iter()
    .flatten()
    {
        let _ = task.await;
    }
    let _ = status_task.await;
    store.close().await;
    Ok(())
}
