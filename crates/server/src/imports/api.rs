//! `POST /api/v1/imports/pagerduty`: the plan of moving a PagerDuty account in, and applying it.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, Caller};
use crate::imports::{Source, fetch, run};
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
    let source = match (body.api_token, body.account) {
        (Some(token), None) => Source::Api {
            token,
            api_url: body
                .api_url
                .unwrap_or_else(|| fetch::DEFAULT_API_URL.to_string()),
        },
        (None, Some(account)) => Source::Saved(account),
        _ => {
            return Err(ApiError::field(
                "api_token",
                "give either api_token (read from PagerDuty) or account (saved API JSON)",
            ));
        }
    };
    let mut answer = run(&state, &caller, source, body.apply).await?;
    Ok(Json(ImportDto {
        plan: answer["plan"].take(),
        applied: Some(answer["applied"].take()).filter(|it| !it.is_null()),
    }))
}
