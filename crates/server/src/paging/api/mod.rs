//! The paging catalog and alerts over REST: teams, escalation policies, services and their
//! integration keys (shown once, revocable), generic alert ingestion, alerts with their log,
//! acknowledge and resolve — and the one-click links in pages.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use firebreak_core::Role;
use firebreak_core::paging::{AlertAction, AlertSeverity};
use firebreak_store::{Alert, IncomingAlert, PolicyDoc, Service, StepDoc, StoreError, TargetDoc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, Caller};

mod alerts;
mod contacts;
mod heartbeats;
mod services;
mod silences;

pub use alerts::*;
pub use contacts::*;
pub use heartbeats::*;
pub use services::*;
pub use silences::*;

pub(crate) fn not_found(what: &'static str) -> impl Fn(StoreError) -> ApiError {
    move |err| match err {
        StoreError::NotFound(_) => ApiError::not_found(what),
        other => other.into(),
    }
}

pub(crate) fn name_of(field: &str, text: &str) -> ApiResult<String> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > 100 {
        return Err(ApiError::field(field, "1 to 100 characters"));
    }
    Ok(text.to_string())
}

// ----- teams -----

#[derive(Deserialize, ToSchema, Debug)]
#[serde(deny_unknown_fields)]
pub struct TeamBody {
    pub name: String,
    /// Emails.
    #[serde(default)]
    pub members: Vec<String>,
}

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct TeamDto {
    pub id: String,
    pub name: String,
    pub members: Vec<String>,
}

#[utoipa::path(get, path = "/api/v1/teams", tag = "paging",
    responses((status = 200, body = Vec<TeamDto>)), security(("bearer" = [])))]
pub async fn teams(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Vec<TeamDto>>> {
    caller.require(Role::Viewer)?;
    Ok(Json(
        state
            .store
            .teams()
            .await?
            .into_iter()
            .map(|it| TeamDto {
                id: it.id,
                name: it.name,
                members: it.members,
            })
            .collect(),
    ))
}

/// Create a team (admin).
#[utoipa::path(post, path = "/api/v1/teams", tag = "paging", request_body = TeamBody,
    responses((status = 201, body = TeamDto), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_team(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<TeamBody>,
) -> ApiResult<(StatusCode, Json<TeamDto>)> {
    caller.require(Role::Admin)?;
    let name = name_of("name", &body.name)?;
    let members = body
        .members
        .iter()
        .map(|it| {
            firebreak_core::person::parse_email(it).ok_or_else(|| {
                ApiError::field("members", format!("{it:?} is not an email address"))
            })
        })
        .collect::<ApiResult<Vec<_>>>()?;
    let team = state
        .store
        .create_team(&name, &members, firebreak_store::clock::now())
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(TeamDto {
            id: team.id,
            name: team.name,
            members: team.members,
        }),
    ))
}

// ----- escalation policies -----

#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct TargetBody {
    /// `person` (an email) or `schedule` (a schedule's id or name).
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
}

#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct StepBody {
    pub targets: Vec<TargetBody>,
    /// Minutes to wait for an acknowledgement before the next step (1 to 1440).
    pub delay_minutes: i64,
}

#[derive(Deserialize, ToSchema, Debug)]
#[serde(deny_unknown_fields)]
pub struct PolicyBody {
    pub name: String,
    pub steps: Vec<StepBody>,
    /// How many more times the whole policy runs after the last step (0 to 9).
    #[serde(default)]
    pub repeat: i64,
}

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct PolicyDto {
    pub id: String,
    pub name: String,
    pub steps: Vec<StepBody>,
    pub repeat: i64,
}

fn policy_dto(it: firebreak_store::EscalationPolicy) -> PolicyDto {
    PolicyDto {
        id: it.id,
        name: it.name,
        steps: it
            .policy
            .steps
            .into_iter()
            .map(|step| StepBody {
                targets: step
                    .targets
                    .into_iter()
                    .map(|t| TargetBody {
                        kind: t.kind,
                        id: t.id,
                    })
                    .collect(),
                delay_minutes: step.delay_minutes,
            })
            .collect(),
        repeat: it.policy.repeat,
    }
}

/// Checks a policy: people are emails, schedules exist (stored by id), steps and repeats
/// within bounds.
async fn policy_doc(state: &AppState, body: &PolicyBody) -> ApiResult<PolicyDoc> {
    let mut steps = Vec::new();
    for (i, step) in body.steps.iter().enumerate() {
        let field = format!("steps[{i}].targets");
        let mut targets = Vec::new();
        for target in &step.targets {
            match target.kind.as_str() {
                "person" => targets.push(TargetDoc {
                    kind: "person".into(),
                    id: firebreak_core::person::parse_email(&target.id).ok_or_else(|| {
                        ApiError::field(&field, format!("{:?} is not an email address", target.id))
                    })?,
                }),
                "schedule" => {
                    let schedule = state.store.schedule(&target.id).await.map_err(|_| {
                        ApiError::field(&field, format!("no schedule {:?}", target.id))
                    })?;
                    targets.push(TargetDoc {
                        kind: "schedule".into(),
                        id: schedule.id,
                    });
                }
                other => {
                    return Err(ApiError::field(
                        &field,
                        format!("a target is a person or a schedule, not {other:?}"),
                    ));
                }
            }
        }
        steps.push(StepDoc {
            targets,
            delay_minutes: step.delay_minutes,
        });
    }
    let doc = PolicyDoc {
        steps,
        repeat: body.repeat,
    };
    doc.to_core()
        .check()
        .map_err(|err| ApiError::field("steps", err.to_string()))?;
    Ok(doc)
}

#[utoipa::path(get, path = "/api/v1/escalation-policies", tag = "paging",
    responses((status = 200, body = Vec<PolicyDto>)), security(("bearer" = [])))]
pub async fn policies(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<PolicyDto>>> {
    caller.require(Role::Viewer)?;
    Ok(Json(
        state
            .store
            .policies()
            .await?
            .into_iter()
            .map(policy_dto)
            .collect(),
    ))
}

/// Create an escalation policy (admin).
#[utoipa::path(post, path = "/api/v1/escalation-policies", tag = "paging", request_body = PolicyBody,
    responses((status = 201, body = PolicyDto), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_policy(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<PolicyBody>,
) -> ApiResult<(StatusCode, Json<PolicyDto>)> {
    let created = save_policy(&state, &caller, &body, false).await?;
    Ok((StatusCode::CREATED, Json(policy_dto(created))))
}

/// Checks and stores a policy: a new one, or (with `replace`) the one of that name (admins).
/// The API and the services page come here.
pub async fn save_policy(
    state: &AppState,
    caller: &Caller,
    body: &PolicyBody,
    replace: bool,
) -> ApiResult<firebreak_store::EscalationPolicy> {
    caller.require(Role::Admin)?;
    let name = name_of("name", &body.name)?;
    let doc = policy_doc(state, body).await?;
    let now = firebreak_store::clock::now();
    match state.store.policy(&name).await {
        Ok(current) if replace => {
            state.store.update_policy(&current.id, &doc, now).await?;
            Ok(state.store.policy(&current.id).await?)
        }
        _ => Ok(state.store.create_policy(&name, &doc, now).await?),
    }
}

/// Replace a policy's steps (admin). Alerts already escalating keep the snapshot they took.
#[utoipa::path(put, path = "/api/v1/escalation-policies/{id}", tag = "paging", request_body = PolicyBody,
    params(("id" = String, Path, description = "Id or name")),
    responses((status = 200, body = PolicyDto), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn replace_policy(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<PolicyBody>,
) -> ApiResult<Json<PolicyDto>> {
    caller.require(Role::Admin)?;
    let current = state.store.policy(&id).await.map_err(not_found("policy"))?;
    let doc = policy_doc(&state, &body).await?;
    state
        .store
        .update_policy(&current.id, &doc, firebreak_store::clock::now())
        .await?;
    Ok(Json(policy_dto(state.store.policy(&current.id).await?)))
}
