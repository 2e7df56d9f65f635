//! Insights over a period (real incidents only: no drills, declined or merged), deploys for
//! the change failure rate, and a CSV export.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use firebreak_core::Role;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, Caller};
use crate::incidents::service::visible;
use crate::insights::service::{InsightsDto, moment};
use crate::insights::service::{PeriodQuery, insights_for, period};

/// Insights over a period: MTTA, time to mitigate and MTTR (with the clock used), incidents
/// by severity / service / week, post-mortem completion, follow-ups on time, change failure
/// rate, responder load with heroics, bus factor per service.
#[utoipa::path(get, path = "/api/v1/insights", tag = "insights",
    params(("from" = Option<String>, Query, description = "Date or RFC 3339; default 30 days ago"),
           ("to" = Option<String>, Query, description = "Exclusive; default now")),
    responses((status = 200, body = InsightsDto), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<PeriodQuery>,
) -> ApiResult<Json<InsightsDto>> {
    caller.require(Role::Viewer)?;
    Ok(Json(insights_for(&state, &caller, period(&query)?).await?))
}

/// The same as CSV: `metric,key,value` rows.
#[utoipa::path(get, path = "/api/v1/insights.csv", tag = "insights",
    params(("from" = Option<String>, Query, description = "Date or RFC 3339; default 30 days ago"),
           ("to" = Option<String>, Query, description = "Exclusive; default now")),
    responses((status = 200, content_type = "text/csv", body = String), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn csv(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<PeriodQuery>,
) -> ApiResult<Response> {
    caller.require(Role::Viewer)?;
    let it = insights_for(&state, &caller, period(&query)?).await?;
    let mut rows = vec!["metric,key,value".to_string()];
    let number = |value: Option<f64>| value.map_or(String::new(), |it| format!("{it:.4}"));
    rows.push(format!("incidents,,{}", it.incidents));
    for (name, value) in [
        ("mtta_minutes", &it.mtta),
        ("time_to_mitigate_minutes", &it.time_to_mitigate),
        ("mttr_minutes", &it.mttr),
    ] {
        rows.push(format!("{name},,{}", number(value.mean_minutes)));
    }
    rows.push(format!(
        "postmortem_completion,,{}",
        number(it.postmortem_completion)
    ));
    rows.push(format!(
        "followups_on_time,,{}",
        number(it.followups_on_time)
    ));
    rows.push(format!(
        "change_failure_rate,,{}",
        number(it.change_failure_rate)
    ));
    let quote = |text: &str| format!("\"{}\"", text.replace('"', "\"\""));
    for (key, n) in &it.by_severity {
        rows.push(format!("by_severity,{},{n}", quote(key)));
    }
    for (key, n) in &it.by_service {
        rows.push(format!("by_service,{},{n}", quote(key)));
    }
    for (key, n) in &it.by_week {
        rows.push(format!("by_week,{},{n}", quote(key)));
    }
    for (person, load) in &it.people {
        rows.push(format!("hours,{},{}", quote(person), load.hours));
        rows.push(format!(
            "out_of_hours_minutes,{},{}",
            quote(person),
            load.out_of_hours_minutes
        ));
        rows.push(format!("heroics,{},{}", quote(person), load.heroics));
    }
    for (service, n) in &it.bus_factor {
        rows.push(format!("bus_factor,{},{n}", quote(service)));
    }
    Ok((
        [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
        rows.join("\n") + "\n",
    )
        .into_response())
}

#[derive(Deserialize, ToSchema, Debug)]
#[serde(deny_unknown_fields)]
pub struct DeployBody {
    pub service: String,
    pub version: String,
    /// RFC 3339; default now.
    pub deployed_at: Option<String>,
}

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct DeployDto {
    pub id: String,
    pub service: String,
    pub version: String,
    pub deployed_at: String,
    pub deployed_by: String,
    /// What the sender said about it (a PagerDuty change event's summary); may be empty.
    pub summary: String,
    /// `api` (this endpoint) or `pagerduty` (a change event to `/v2/change/enqueue`).
    pub via: String,
    /// The change event's `source`, `links` and `custom_details`, as sent (`{}` for `api`).
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

impl DeployDto {
    pub fn from_deploy(deploy: firebreak_store::Deploy) -> DeployDto {
        DeployDto {
            details: serde_json::from_str(&deploy.details)
                .unwrap_or_else(|_| serde_json::json!({})),
            id: deploy.id,
            service: deploy.service,
            version: deploy.version,
            deployed_at: deploy.deployed_at.to_string(),
            deployed_by: deploy.deployed_by,
            summary: deploy.summary,
            via: deploy.via,
        }
    }
}

#[derive(Deserialize, Debug, Default)]
pub struct DeploysQuery {
    #[serde(default)]
    service: String,
    #[serde(default)]
    since: String,
    #[serde(default)]
    until: String,
    #[serde(default)]
    limit: String,
}

/// Deploys newest first — recorded here or sent as PagerDuty change events — of one service
/// or all, in a period.
#[utoipa::path(get, path = "/api/v1/deploys", tag = "insights",
    params(("service" = Option<String>, Query, description = "Only this service's deploys"),
           ("since" = Option<String>, Query, description = "Date or RFC 3339: deployed at or after"),
           ("until" = Option<String>, Query, description = "Date or RFC 3339: deployed before"),
           ("limit" = Option<String>, Query, description = "1 to 500; default 100")),
    responses((status = 200, body = Vec<DeployDto>), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_deploys(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<DeploysQuery>,
) -> ApiResult<Json<Vec<DeployDto>>> {
    caller.require(Role::Viewer)?;
    let when = |field: &str, text: &str| match text.trim() {
        "" => Ok(None),
        text => moment(field, text).map(Some),
    };
    let since = when("since", &query.since)?;
    let until = when("until", &query.until)?;
    let limit = match query.limit.trim() {
        "" => 100,
        text => text
            .parse::<i64>()
            .ok()
            .filter(|it| (1..=500).contains(it))
            .ok_or_else(|| ApiError::field("limit", "a number from 1 to 500"))?,
    };
    let service = Some(query.service.trim()).filter(|it| !it.is_empty());
    let deploys = state.store.deploys(service, (since, until), limit).await?;
    Ok(Json(
        deploys.into_iter().map(DeployDto::from_deploy).collect(),
    ))
}

/// Record a deploy (a pipeline's last step), for the change failure rate.
#[utoipa::path(post, path = "/api/v1/deploys", tag = "insights", request_body = DeployBody,
    responses((status = 201, body = DeployDto), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn record_deploy(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<DeployBody>,
) -> ApiResult<(StatusCode, Json<DeployDto>)> {
    caller.require(Role::Responder)?;
    let (service, version) = (body.service.trim(), body.version.trim());
    if service.is_empty() || version.is_empty() || service.len() > 100 || version.len() > 100 {
        return Err(ApiError::field(
            "service",
            "service and version are 1 to 100 characters",
        ));
    }
    let now = firebreak_store::clock::now();
    let at = match body.deployed_at.as_deref() {
        Some(text) => moment("deployed_at", text)?,
        None => now,
    };
    let new = firebreak_store::NewDeploy {
        service,
        version,
        deployed_at: at,
        summary: "",
        details: "{}",
        via: "api",
    };
    let deploy = state
        .store
        .create_deploy(&new, &caller.actor(), now)
        .await?;
    Ok((StatusCode::CREATED, Json(DeployDto::from_deploy(deploy))))
}

#[derive(Deserialize, ToSchema, Debug)]
#[serde(deny_unknown_fields)]
pub struct CauseBody {
    /// The incident this deploy caused (`INC-3` or a UUID).
    pub incident: String,
}

/// Link a deploy to the incident it caused.
#[utoipa::path(put, path = "/api/v1/deploys/{id}/incident", tag = "insights", request_body = CauseBody,
    params(("id" = String, Path, description = "Deploy id")),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn link_deploy(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<CauseBody>,
) -> ApiResult<StatusCode> {
    caller.require(Role::Responder)?;
    let incident = visible(&state, &caller, &body.incident, "link deploy").await?;
    state.store.link_deploy(&id, incident.id.0).await?;
    Ok(StatusCode::NO_CONTENT)
}
