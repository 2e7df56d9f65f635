//! Moving in: a PagerDuty or Opsgenie account — read from the vendor's REST API (`fetch`) or
//! sent as saved API JSON — planned by `core::import`, shown (`report`) and, when asked,
//! applied (`apply`). The API (`api`), the CLI (through the API) and the admin page (`pages`)
//! all come to `run`.

pub mod api;
pub mod apply;
pub mod fetch;
pub mod pages;
pub mod report;

use std::time::Duration;

use firebreak_core::Role;
use firebreak_core::import::Plan;
use serde_json::{Value, json};

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::Caller;
use crate::settings::Secret;

/// The largest saved account an import takes (a team's users, schedules with 90 days of
/// rendering, policies and services run to megabytes, past the API's usual body limit).
pub const MAX_ACCOUNT_BYTES: usize = 32 * 1024 * 1024;

/// Whether a path takes a saved account (the import API and the admin page's form).
pub fn takes_large_bodies(path: &str) -> bool {
    path.starts_with("/api/v1/imports/") || path == "/import"
}

/// How long one request to the vendor's API may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(30);

/// Whose account is moving in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Vendor {
    PagerDuty,
    Opsgenie,
}

impl Vendor {
    /// As people write it.
    pub fn name(self) -> &'static str {
        match self {
            Vendor::PagerDuty => "PagerDuty",
            Vendor::Opsgenie => "Opsgenie",
        }
    }

    /// As paths, `import_refs` and overrides' `created_by` write it.
    pub fn slug(self) -> &'static str {
        match self {
            Vendor::PagerDuty => "pagerduty",
            Vendor::Opsgenie => "opsgenie",
        }
    }

    pub fn parse(text: &str) -> Option<Vendor> {
        [Vendor::PagerDuty, Vendor::Opsgenie]
            .into_iter()
            .find(|it| it.slug() == text)
    }

    pub fn default_url(self) -> &'static str {
        match self {
            Vendor::PagerDuty => fetch::PAGERDUTY_API_URL,
            Vendor::Opsgenie => fetch::OPSGENIE_API_URL,
        }
    }

    /// The request body's field for the key.
    pub fn key_field(self) -> &'static str {
        match self {
            Vendor::PagerDuty => "api_token",
            Vendor::Opsgenie => "api_key",
        }
    }
}

/// Where the account comes from.
pub enum Source {
    /// The vendor's REST API, with a key, at `api_url`.
    Api { key: Secret, api_url: String },
    /// Saved API JSON (`report::pagerduty_account` / `report::opsgenie_account`'s shape).
    Saved(Value),
}

/// The plan of an account, read from where `source` says.
async fn plan(
    state: &AppState,
    vendor: Vendor,
    source: Source,
    now: jiff::Timestamp,
) -> ApiResult<Plan> {
    let (key, api_url) = match source {
        Source::Saved(value) => {
            let planned = match vendor {
                Vendor::PagerDuty => report::pagerduty_account(&value)
                    .map(|it| firebreak_core::import::pagerduty::plan(&it, now)),
                Vendor::Opsgenie => report::opsgenie_account(&value)
                    .map(|it| firebreak_core::import::opsgenie::plan(&it, now)),
            };
            return planned.map_err(|why| ApiError::field("account", why));
        }
        Source::Api { key, api_url } => (key, api_url),
    };
    if key.expose().trim().is_empty() {
        return Err(ApiError::field(
            vendor.key_field(),
            format!("{}'s API key", vendor.name()),
        ));
    }
    firebreak_integrations::outbound::check_url(&api_url, &state.settings.outbound_policy())
        .map_err(|err| ApiError::field("api_url", err.to_string()))?;
    let http = firebreak_integrations::outbound::Outbound::new(
        FETCH_TIMEOUT,
        state.settings.outbound_policy(),
    )
    .map_err(ApiError::internal)?;
    let failed = |err: fetch::FetchError| match err {
        fetch::FetchError::Refused { .. } => ApiError::field(vendor.key_field(), err.to_string()),
        fetch::FetchError::Url(_) => ApiError::field("api_url", err.to_string()),
        other => ApiError::new(
            axum::http::StatusCode::BAD_GATEWAY,
            "vendor_unavailable",
            other.to_string(),
        ),
    };
    Ok(match vendor {
        Vendor::PagerDuty => firebreak_core::import::pagerduty::plan(
            &fetch::Api::pagerduty(http, &api_url, &key)
                .pagerduty_account(now)
                .await
                .map_err(failed)?,
            now,
        ),
        Vendor::Opsgenie => firebreak_core::import::opsgenie::plan(
            &fetch::Api::opsgenie(http, &api_url, &key)
                .opsgenie_account(now)
                .await
                .map_err(failed)?,
            now,
        ),
    })
}

/// Plans (and with `apply`, applies) an account (admins). Answers `{"plan": …, "applied":
/// [...] | null}`.
pub async fn run(
    state: &AppState,
    caller: &Caller,
    vendor: Vendor,
    source: Source,
    apply: bool,
) -> ApiResult<Value> {
    caller.require(Role::Admin)?;
    let now = firebreak_store::clock::now();
    let plan = plan(state, vendor, source, now).await?;
    let applied = if apply {
        let outcomes = apply::apply(state, vendor.slug(), &plan).await;
        tracing::info!(
            by = caller.actor(),
            vendor = vendor.slug(),
            objects = outcomes.len(),
            "applied an import"
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
