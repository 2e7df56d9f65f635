//! Moving in: a PagerDuty account — read from its REST API (`fetch`) or sent as saved API
//! JSON — planned by `core::import`, shown (`report`) and, when asked, applied (`apply`). The
//! API (`api`), the CLI (through the API) and the admin page (`pages`) all come to `run`.

pub mod api;
pub mod apply;
pub mod fetch;
pub mod pages;
pub mod report;

use std::time::Duration;

use firebreak_core::Role;
use firebreak_core::import::pagerduty;
use serde_json::{Value, json};

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::Caller;
use crate::settings::Secret;

/// How long one request to the vendor's API may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(30);

/// Where the account comes from.
pub enum Source {
    /// PagerDuty's REST API, with an API key, at `api_url` (default PagerDuty's).
    Api { token: Secret, api_url: String },
    /// Saved API JSON (`report::account_from_json`'s shape).
    Saved(Value),
}

/// Plans (and with `apply`, applies) a PagerDuty account (admins). Answers `{"plan": …,
/// "applied": [...] | null}`.
pub async fn run(
    state: &AppState,
    caller: &Caller,
    source: Source,
    apply: bool,
) -> ApiResult<Value> {
    caller.require(Role::Admin)?;
    let now = firebreak_store::clock::now();
    let account = match source {
        Source::Saved(value) => {
            report::account_from_json(&value).map_err(|why| ApiError::field("account", why))?
        }
        Source::Api { token, api_url } => {
            if token.expose().trim().is_empty() {
                return Err(ApiError::field("api_token", "PagerDuty's REST API key"));
            }
            firebreak_integrations::outbound::check_url(
                &api_url,
                &state.settings.outbound_policy(),
            )
            .map_err(|err| ApiError::field("api_url", err.to_string()))?;
            let http = firebreak_integrations::outbound::Outbound::new(
                FETCH_TIMEOUT,
                state.settings.outbound_policy(),
            )
            .map_err(ApiError::internal)?;
            fetch::PagerDuty::new(http, &api_url, token)
                .account(now)
                .await
                .map_err(|err| match err {
                    fetch::FetchError::Refused(_) => ApiError::field("api_token", err.to_string()),
                    fetch::FetchError::Url(_) => ApiError::field("api_url", err.to_string()),
                    other => ApiError::new(
                        axum::http::StatusCode::BAD_GATEWAY,
                        "vendor_unavailable",
                        other.to_string(),
                    ),
                })?
        }
    };
    let plan = pagerduty::plan(&account, now);
    let applied = if apply {
        let outcomes = apply::apply(state, "pagerduty", &plan).await;
        tracing::info!(
            by = caller.actor(),
            objects = outcomes.len(),
            "applied a PagerDuty import"
        );
        Some(
            outcomes
                .iter()
                .map(apply::Outcome::json)
                .collect::<Vec<_>>(),
        )
    } else {
        None
    };
    Ok(json!({"plan": report::plan_json(&plan), "applied": applied}))
}
