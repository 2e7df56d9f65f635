//! Who is in an incident and who is kept informed: joining and leaving, stakeholders, and the
//! notifications the incident has sent.

use axum::Json;
use axum::extract::{Path, State};
use firebreak_core::coordination::Informed;
use firebreak_core::{Command, Role};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::Prefer;
use crate::extract::{ApiJson, Caller};
use crate::incidents::dto::CommandResult;
use crate::incidents::service::{result, run_command, visible};

/// The caller's IANA zone (UTC for a token without a person).
fn zone(caller: &Caller) -> String {
    caller
        .user
        .as_ref()
        .map(|it| it.time_zone.clone())
        .unwrap_or_else(|| "UTC".into())
}

fn presence(caller: &Caller, join: bool) -> ApiResult<Command> {
    if caller.user.is_none() {
        return Err(ApiError::field(
            "caller",
            "only a person takes part in an incident; this token belongs to no one",
        ));
    }
    Ok(Command::Presence {
        person: caller.actor(),
        zone: zone(caller),
        join,
    })
}

/// Join the incident: you are in it from now (`participant_joined`). Acting on a live
/// incident joins you too.
#[utoipa::path(post, path = "/api/v1/incidents/{key}/join", tag = "participation",
    params(("key" = String, Path, description = "UUID or reference")),
    responses((status = 200, body = CommandResult), (status = 422, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn join(
    State(state): State<AppState>,
    caller: Caller,
    prefer: Prefer,
    Path(text): Path<String>,
) -> ApiResult<Json<CommandResult>> {
    let command = presence(&caller, true)?;
    Ok(Json(result(
        &run_command(&state, &caller, &text, command).await?,
        prefer,
    )))
}

/// Leave the incident (`participant_left`, with the minutes of your stint and how many were
/// outside your working hours). Resolving the incident lets everyone leave.
#[utoipa::path(post, path = "/api/v1/incidents/{key}/leave", tag = "participation",
    params(("key" = String, Path, description = "UUID or reference")),
    responses((status = 200, body = CommandResult), (status = 422, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn leave(
    State(state): State<AppState>,
    caller: Caller,
    prefer: Prefer,
    Path(text): Path<String>,
) -> ApiResult<Json<CommandResult>> {
    let command = presence(&caller, false)?;
    Ok(Json(result(
        &run_command(&state, &caller, &text, command).await?,
        prefer,
    )))
}

#[derive(Deserialize, ToSchema, Debug)]
#[serde(deny_unknown_fields)]
pub struct StakeholderBody {
    /// `active`: every update by email at once; `passive`: a digest of new updates.
    pub mode: String,
}

/// Subscribe a person or a team's address to the incident's updates, or change how.
#[utoipa::path(put, path = "/api/v1/incidents/{key}/stakeholders/{who}", tag = "participation",
    request_body = StakeholderBody,
    params(("key" = String, Path, description = "UUID or reference"), ("who" = String, Path, description = "Email address")),
    responses((status = 200, body = CommandResult), (status = 422, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn put_stakeholder(
    State(state): State<AppState>,
    caller: Caller,
    prefer: Prefer,
    Path((text, who)): Path<(String, String)>,
    ApiJson(body): ApiJson<StakeholderBody>,
) -> ApiResult<Json<CommandResult>> {
    let mode = Informed::parse(&body.mode).ok_or_else(|| {
        ApiError::field("mode", format!("must be one of {}", Informed::expected()))
    })?;
    let command = Command::Stakeholder {
        who,
        mode: Some(mode),
    };
    Ok(Json(result(
        &run_command(&state, &caller, &text, command).await?,
        prefer,
    )))
}

/// Unsubscribe someone from the incident's updates.
#[utoipa::path(delete, path = "/api/v1/incidents/{key}/stakeholders/{who}", tag = "participation",
    params(("key" = String, Path, description = "UUID or reference"), ("who" = String, Path, description = "Email address")),
    responses((status = 200, body = CommandResult), (status = 422, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn remove_stakeholder(
    State(state): State<AppState>,
    caller: Caller,
    prefer: Prefer,
    Path((text, who)): Path<(String, String)>,
) -> ApiResult<Json<CommandResult>> {
    let command = Command::Stakeholder { who, mode: None };
    Ok(Json(result(
        &run_command(&state, &caller, &text, command).await?,
        prefer,
    )))
}

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct NotificationDto {
    pub id: String,
    /// The event that caused it.
    pub seq: i64,
    pub kind: String,
    /// A rule target's name, or stakeholders, digest, person.
    pub target: String,
    /// webhook or email.
    pub channel: String,
    pub address: String,
    pub subject: String,
    pub text: String,
    /// pending, sent or dead.
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub created_at: String,
    pub sent_at: Option<String>,
}

/// What the incident has notified, to whom, and whether it arrived.
#[utoipa::path(get, path = "/api/v1/incidents/{key}/notifications", tag = "participation",
    params(("key" = String, Path, description = "UUID or reference")),
    responses((status = 200, body = Vec<NotificationDto>), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn notifications(
    State(state): State<AppState>,
    caller: Caller,
    Path(text): Path<String>,
) -> ApiResult<Json<Vec<NotificationDto>>> {
    caller.require(Role::Viewer)?;
    let incident = visible(&state, &caller, &text, "GET notifications").await?;
    let list = state
        .store
        .incident_notifications(&incident.id.to_string())
        .await?;
    Ok(Json(
        list.into_iter()
            .map(|it| NotificationDto {
                id: it.notification_id.to_string(),
                seq: it.seq,
                kind: it.kind,
                target: it.target,
                channel: it.channel.as_str().into(),
                address: it.address,
                subject: it.subject,
                text: it.body,
                status: it.status,
                attempts: it.attempts,
                last_error: it.last_error,
                created_at: it.created_at.to_string(),
                sent_at: it.sent_at.map(|at| at.to_string()),
            })
            .collect(),
    ))
}
