//! `/healthz` (the process is up), `/readyz` (the database answers) and `/metrics`.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use firebreak_core::token::Scope;

use crate::AppState;
use crate::error::ApiResult;
use crate::extract::Caller;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    if state.store.ping().await {
        (StatusCode::OK, "ready\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n")
    }
}

/// Prometheus text format; needs a read token (scrape with `authorization: {credentials: …}`).
async fn metrics(State(state): State<AppState>, caller: Caller) -> ApiResult<impl IntoResponse> {
    caller.require(Scope::Read)?;
    let (outbox, pending) = state.store.backlog().await?;
    let body = format!(
        "# HELP firebreak_outbox_pending Outbox rows not yet fanned out.\n\
         # TYPE firebreak_outbox_pending gauge\n\
         firebreak_outbox_pending {outbox}\n\
         # HELP firebreak_webhook_deliveries_pending Webhook deliveries waiting to be sent or retried.\n\
         # TYPE firebreak_webhook_deliveries_pending gauge\n\
         firebreak_webhook_deliveries_pending {pending}\n\
         # HELP firebreak_up Whether the database answers.\n\
         # TYPE firebreak_up gauge\n\
         firebreak_up {}\n",
        u8::from(state.store.ping().await)
    );
    Ok(([("Content-Type", "text/plain; version=0.0.4")], body))
}
