//! `/about` (what is running here), `/healthz` (the process is up), `/readyz` (the database
//! answers) and `/metrics`.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use firebreak_core::Role;

use crate::AppState;
use crate::error::ApiResult;
use crate::extract::Caller;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/about", get(index))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
}

/// A plain page for whoever opens the server's URL: what this is and where to go next.
async fn index(State(state): State<AppState>) -> Html<String> {
    Html(format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Firebreak</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:44rem;margin:2rem auto;padding:0 1rem}}
code,pre{{background:#8882;padding:.1rem .3rem;border-radius:4px}}pre{{padding:.6rem;overflow:auto}}</style></head>
<body><h1>Firebreak {version}</h1>
<p>Self-hosted incident response. This server is up (database: {backend}).</p>
<ul><li><a href="/api/v1/openapi.json">API reference (OpenAPI 3.1)</a></li>
<li><a href="/healthz">/healthz</a> · <a href="/readyz">/readyz</a></li></ul>
<p><a href="/">Open the incident room</a> (sign in first).</p>
<p>From a terminal, with a token from <code>firebreak serve --demo</code> or <code>firebreak admin create-token</code>:</p>
<pre>export FIREBREAK_URL=&lt;this server&gt; FIREBREAK_TOKEN=fbk_…
firebreak incidents
firebreak declare "Checkout is down" --severity critical
firebreak update INC-1 "Rolling back" --status identified --next-update 30m
firebreak timeline INC-1</pre>
</body></html>
"#,
        version = env!("CARGO_PKG_VERSION"),
        backend = state.store.backend().as_str(),
    ))
}

async fn healthz() -> &'static str {
    "ok\n"
}

/// Ready when the database answers and takes writes (after a failed write, a probe write
/// decides), so a load balancer stops sending traffic while the disk is full.
async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    if state.store.ready().await {
        (StatusCode::OK, "ready\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n")
    }
}

/// Prometheus text format; needs a read token (scrape with `authorization: {credentials: …}`).
async fn metrics(State(state): State<AppState>, caller: Caller) -> ApiResult<impl IntoResponse> {
    caller.require(Role::Viewer)?;
    let (outbox, pending, notifications) = state.store.backlog().await?;
    let body = format!(
        "# HELP firebreak_outbox_pending Outbox rows not yet fanned out.\n\
         # TYPE firebreak_outbox_pending gauge\n\
         firebreak_outbox_pending {outbox}\n\
         # HELP firebreak_webhook_deliveries_pending Webhook deliveries waiting to be sent or retried.\n\
         # TYPE firebreak_webhook_deliveries_pending gauge\n\
         firebreak_webhook_deliveries_pending {pending}\n\
         # HELP firebreak_notifications_pending Notifications (email, target webhooks) waiting to be sent or retried.\n\
         # TYPE firebreak_notifications_pending gauge\n\
         firebreak_notifications_pending {notifications}\n\
         # HELP firebreak_up Whether the database answers.\n\
         # TYPE firebreak_up gauge\n\
         firebreak_up {}\n",
        u8::from(state.store.ping().await)
    );
    let (tables, bytes) = state.store.table_sizes().await?;
    let mut body = body;
    body.push_str(
        "# HELP firebreak_table_rows Rows in the tables retention bounds (and events, never pruned).\n\
         # TYPE firebreak_table_rows gauge\n",
    );
    for (table, n_rows) in tables {
        body.push_str(&format!(
            "firebreak_table_rows{{table=\"{table}\"}} {n_rows}\n"
        ));
    }
    body.push_str(&format!(
        "# HELP firebreak_database_bytes The database's size on disk.\n\
         # TYPE firebreak_database_bytes gauge\n\
         firebreak_database_bytes {bytes}\n"
    ));
    Ok(([("Content-Type", "text/plain; version=0.0.4")], body))
}
