//! The chat API: open an incident's channel by hand, see what chat still owes an incident
//! (and where its channels are), and put dead chat work back in the queue.

use axum::Json;
use axum::extract::{Path, State};
use firebreak_core::{Command, Role};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::Prefer;
use crate::extract::{ApiJson, Caller};
use crate::incidents::dto::CommandResult;
use crate::incidents::service::{result, run_command, visible};

/// Give the incident a chat channel on every configured platform (once). The built-in rule
/// does this for major and critical incidents.
#[utoipa::path(post, path = "/api/v1/incidents/{key}/channel", tag = "chat",
    params(("key" = String, Path, description = "UUID or reference")),
    responses((status = 200, body = CommandResult), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn open_channel(
    State(state): State<AppState>,
    caller: Caller,
    prefer: Prefer,
    Path(text): Path<String>,
) -> ApiResult<Json<CommandResult>> {
    let outcome = run_command(&state, &caller, &text, Command::OpenChannel).await?;
    Ok(Json(result(&outcome, prefer)))
}

#[derive(Deserialize, ToSchema, Debug)]
#[serde(deny_unknown_fields)]
pub struct CallBody {
    /// An http(s) link to the call; empty ends it.
    pub url: String,
}

/// Where the incident's call is: shown in the room and on the card, posted to the channel.
#[utoipa::path(post, path = "/api/v1/incidents/{key}/call", tag = "chat", request_body = CallBody,
    params(("key" = String, Path, description = "UUID or reference")),
    responses((status = 200, body = CommandResult), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn set_call(
    State(state): State<AppState>,
    caller: Caller,
    prefer: Prefer,
    Path(text): Path<String>,
    ApiJson(body): ApiJson<CallBody>,
) -> ApiResult<Json<CommandResult>> {
    let command = Command::SetCallLink { url: body.url };
    let outcome = run_command(&state, &caller, &text, command).await?;
    Ok(Json(result(&outcome, prefer)))
}

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct ChatChannelDto {
    /// `slack` or `matrix`.
    pub platform: String,
    pub name: String,
    /// The channel's id there, once it exists.
    pub remote_id: Option<String>,
    /// Whether the incident card has been posted.
    pub card_posted: bool,
}

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct ChatBacklogDto {
    pub platform: String,
    /// Posts and edits still to do.
    pub pending: i64,
    /// Work that ran out of attempts (retry with `POST …/chat/retry`).
    pub dead: i64,
    pub next_try: Option<String>,
    pub last_error: Option<String>,
}

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct ChatStatusDto {
    pub channels: Vec<ChatChannelDto>,
    /// Per platform, only where something is owed.
    pub backlog: Vec<ChatBacklogDto>,
}

pub(crate) async fn status_of(state: &AppState, incident_id: &str) -> ApiResult<ChatStatusDto> {
    let channels = state
        .store
        .chat_channels(incident_id)
        .await?
        .into_iter()
        .filter(|it| !it.name.is_empty())
        .map(|it| ChatChannelDto {
            platform: it.platform,
            name: it.name,
            card_posted: it.card_id.is_some(),
            remote_id: it.remote_id,
        })
        .collect();
    let backlog = state
        .store
        .chat_backlog(incident_id)
        .await?
        .into_iter()
        .map(|it| ChatBacklogDto {
            platform: it.platform,
            pending: it.pending,
            dead: it.dead,
            next_try: it.next_try.map(|at| at.to_string()),
            last_error: it.last_error,
        })
        .collect();
    Ok(ChatStatusDto { channels, backlog })
}

/// The incident's chat channels and what chat still owes it.
#[utoipa::path(get, path = "/api/v1/incidents/{key}/chat", tag = "chat",
    params(("key" = String, Path, description = "UUID or reference")),
    responses((status = 200, body = ChatStatusDto), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn status(
    State(state): State<AppState>,
    caller: Caller,
    Path(text): Path<String>,
) -> ApiResult<Json<ChatStatusDto>> {
    caller.require(Role::Viewer)?;
    let incident = visible(&state, &caller, &text, "GET incident chat").await?;
    Ok(Json(status_of(&state, &incident.id.0.to_string()).await?))
}

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct Retried {
    /// How many dead pieces of chat work were queued again.
    pub retried: u64,
}

/// Try the incident's dead chat work again (a full round of attempts).
#[utoipa::path(post, path = "/api/v1/incidents/{key}/chat/retry", tag = "chat",
    params(("key" = String, Path, description = "UUID or reference")),
    responses((status = 200, body = Retried), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn retry(
    State(state): State<AppState>,
    caller: Caller,
    Path(text): Path<String>,
) -> ApiResult<Json<Retried>> {
    caller.require(Role::Responder)?;
    let incident = visible(&state, &caller, &text, "POST incident chat retry").await?;
    let retried = state
        .store
        .retry_chat_work(&incident.id.0.to_string(), firebreak_store::clock::now())
        .await?;
    Ok(Json(Retried { retried }))
}
