//! `POST /api/v1/imports/pagerduty` and `/opsgenie`: the plan of moving an account in, and
//! applying it.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, Caller};
use crate::imports::{Source, Vendor, run};
use crate::settings::Secret;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PagerDutyImportBody {
    /// A PagerDuty REST API key (a read-only account key is enough): Firebreak reads the
    /// account with it, one request at a time, and does not keep it…
    #[schema(value_type = Option<String>)]
    pub api_token: Option<Secret>,
    /// The REST API's base URL: `https://api.pagerduty.com` (the default) or, for PagerDuty's
    /// EU region, `https://api.eu.pagerduty.com`.
    pub api_url: Option<String>,
    /// …or the account as saved API JSON: `{"users", "teams", "schedules": [{"schedule",
    /// "overrides"}], "v3_schedules", "escalation_policies", "services"}`, each list the items
    /// of PagerDuty's answers.
    #[schema(value_type = Option<Object>)]
    pub account: Option<Value>,
    /// Make what the plan says (default false: plan only). A second run changes nothing; a run
    /// after a change at PagerDuty updates what changed. New services start in shadow mode.
    #[serde(default)]
    pub apply: bool,
}

/// What the import found and, when applied, did.
#[derive(serde::Serialize, ToSchema)]
pub struct ImportDto {
    /// `people`, `teams`, `schedules` (each `compared` with PagerDuty's rendering for the next
    /// 90 days), `escalation_policies`, `services`: every object with its PagerDuty `id` and
    /// `fidelity` (`exact`, `approximated` with `notes`, `skipped` with `why`).
    #[schema(value_type = Object)]
    pub plan: Value,
    /// With `apply`: per object, its `section`, `id`, `outcome` (`created`, `matched`,
    /// `updated`, `unchanged`, `skipped`, `failed`), `why` and `firebreak_id`.
    #[schema(value_type = Option<Vec<Object>>)]
    pub applied: Option<Value>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpsgenieImportBody {
    /// The key of an Opsgenie API integration with configuration access (not restricted to a
    /// team): Firebreak reads the account with it and does not keep it…
    #[schema(value_type = Option<String>)]
    pub api_key: Option<Secret>,
    /// The REST API's base URL: `https://api.opsgenie.com` (the default) or
    /// `https://api.eu.opsgenie.com`.
    pub api_url: Option<String>,
    /// …or the account as saved API JSON: `{"users" (each with `contacts` and
    /// `notification_rules` with their `steps`), "teams" (each with `routing_rules`),
    /// "schedules": [{"schedule", "overrides", "timeline"}], "escalations", "integrations"}`.
    #[schema(value_type = Option<Object>)]
    pub account: Option<Value>,
    /// Make what the plan says (default false: plan only).
    #[serde(default)]
    pub apply: bool,
}

async fn answer(
    state: &AppState,
    caller: &Caller,
    vendor: Vendor,
    (key, api_url, account, apply): (Option<Secret>, Option<String>, Option<Value>, bool),
) -> ApiResult<Json<ImportDto>> {
    let source = match (key, account) {
        (Some(key), None) => Source::Api {
            key,
            api_url: api_url.unwrap_or_else(|| vendor.default_url().to_string()),
        },
        (None, Some(account)) => Source::Saved(account),
        _ => {
            return Err(ApiError::field(
                vendor.key_field(),
                format!(
                    "give either {} (read from {}) or account (saved API JSON)",
                    vendor.key_field(),
                    vendor.name()
                ),
            ));
        }
    };
    let mut answer = run(state, caller, vendor, source, apply).await?;
    Ok(Json(ImportDto {
        plan: answer["plan"].take(),
        applied: Some(answer["applied"].take()).filter(|it| !it.is_null()),
    }))
}

/// Plan (and apply) a PagerDuty account: from its REST API with an API key, or from saved
/// API JSON. Admins.
#[utoipa::path(post, path = "/api/v1/imports/pagerduty", tag = "paging", request_body = PagerDutyImportBody,
    responses((status = 200, body = ImportDto), (status = 422, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 502, body = ErrorBody, description = "PagerDuty's API could not be read")),
    security(("bearer" = [])))]
pub async fn pagerduty(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<PagerDutyImportBody>,
) -> ApiResult<Json<ImportDto>> {
    let fields = (body.api_token, body.api_url, body.account, body.apply);
    answer(&state, &caller, Vendor::PagerDuty, fields).await
}

/// Plan (and apply) an Opsgenie account: from its REST API with an API integration's key, or
/// from saved API JSON. Each rotation becomes a schedule; an escalation's offsets become
/// waits between steps. Admins.
#[utoipa::path(post, path = "/api/v1/imports/opsgenie", tag = "paging", request_body = OpsgenieImportBody,
    responses((status = 200, body = ImportDto), (status = 422, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 502, body = ErrorBody, description = "Opsgenie's API could not be read")),
    security(("bearer" = [])))]
pub async fn opsgenie(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<OpsgenieImportBody>,
) -> ApiResult<Json<ImportDto>> {
    let fields = (body.api_key, body.api_url, body.account, body.apply);
    answer(&state, &caller, Vendor::Opsgenie, fields).await
}
