//! The paging catalog and alerts over REST: teams, escalation policies, services and their
//! integration keys (shown once, revocable), generic alert ingestion, alerts with their log,
//! acknowledge and resolve — and the one-click links in pages.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use firebreak_core::Role;
use firebreak_core::paging::{AlertAction, AlertSeverity};
use firebreak_store::{IncomingAlert, Service, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, Caller};
use crate::paging::service::TargetBody;
use crate::paging::service::{PolicyBody, not_found, save_policy};
use crate::paging::service::{StepBody, name_of, policy_doc};

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
