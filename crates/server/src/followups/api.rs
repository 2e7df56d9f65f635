//! Follow-ups: action items with an owner and a due time (quick picks 24 h / 48 h / 72 h /
//! 1 week), tracked until done or explicitly won't-do, reminded before due and when overdue
//! (owner), then escalated to the incident lead.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use firebreak_core::Role;
use firebreak_core::followup::{FollowupKind, FollowupStatus, Priority};
use firebreak_store::{Followup, FollowupPatch, NewFollowup};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, Caller};
use crate::followups::service::{due, export_to};
use crate::incidents::service::visible;

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct FollowupDto {
    pub id: String,
    pub incident: String,
    pub title: String,
    pub description: String,
    pub owner: String,
    pub due_at: Option<String>,
    /// high, medium, low.
    pub priority: String,
    /// code, process, infrastructure.
    pub kind: String,
    /// open, done, wont_do.
    pub status: String,
    /// Open and past its due time.
    pub overdue: bool,
    pub created_at: String,
    pub done_at: Option<String>,
    /// Where it was exported (GitHub issue or Jira ticket), if it was.
    pub external_url: Option<String>,
}

pub fn dto(it: &Followup, now: jiff::Timestamp) -> FollowupDto {
    FollowupDto {
        id: it.id.clone(),
        incident: it.reference.clone(),
        title: it.title.clone(),
        description: it.description.clone(),
        owner: it.owner.clone(),
        due_at: it.due_at.map(|at| at.to_string()),
        priority: it.priority.as_str().into(),
        kind: it.kind.as_str().into(),
        status: it.status.as_str().into(),
        overdue: it.status == FollowupStatus::Open && it.due_at.is_some_and(|at| at < now),
        created_at: it.created_at.to_string(),
        done_at: it.done_at.map(|at| at.to_string()),
        external_url: it.external.as_ref().map(|(_, _, url)| url.clone()),
    }
}

#[derive(Deserialize, ToSchema, Debug)]
#[serde(deny_unknown_fields)]
pub struct NewFollowupBody {
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// Email of the person who owns it.
    pub owner: String,
    /// 24h, 48h, 72h or 1w from now …
    pub due_in: Option<String>,
    /// … or an RFC 3339 time.
    pub due_at: Option<String>,
    /// high, medium (default), low.
    pub priority: Option<String>,
    /// code (default), process, infrastructure.
    pub kind: Option<String>,
}

fn parse<T>(
    field: &str,
    value: Option<&str>,
    default: T,
    parse: fn(&str) -> Option<T>,
    expected: String,
) -> ApiResult<T> {
    match value {
        None | Some("") => Ok(default),
        Some(text) => {
            parse(text).ok_or_else(|| ApiError::field(field, format!("expected one of {expected}")))
        }
    }
}

/// Add a follow-up to an incident.
#[utoipa::path(post, path = "/api/v1/incidents/{key}/followups", tag = "follow-ups", request_body = NewFollowupBody,
    params(("key" = String, Path, description = "UUID or reference")),
    responses((status = 201, body = FollowupDto), (status = 422, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Path(text): Path<String>,
    ApiJson(body): ApiJson<NewFollowupBody>,
) -> ApiResult<(StatusCode, Json<FollowupDto>)> {
    caller.require(Role::Responder)?;
    let incident = visible(&state, &caller, &text, "add follow-up").await?;
    let title = body.title.trim().to_string();
    if title.is_empty() || title.chars().count() > 300 {
        return Err(ApiError::field("title", "1 to 300 characters"));
    }
    let owner = firebreak_core::person::parse_email(&body.owner)
        .ok_or_else(|| ApiError::field("owner", "the owner's email address"))?;
    let new = NewFollowup {
        title,
        description: body.description.trim().chars().take(5_000).collect(),
        owner,
        due_at: due(body.due_in.as_deref(), body.due_at.as_deref())?,
        priority: parse(
            "priority",
            body.priority.as_deref(),
            Priority::Medium,
            Priority::parse,
            Priority::expected(),
        )?,
        kind: parse(
            "kind",
            body.kind.as_deref(),
            FollowupKind::Code,
            FollowupKind::parse,
            FollowupKind::expected(),
        )?,
    };
    let now = firebreak_store::clock::now();
    let created = state.store.create_followup(incident.id.0, new, now).await?;
    Ok((StatusCode::CREATED, Json(dto(&created, now))))
}

/// An incident's follow-ups.
#[utoipa::path(get, path = "/api/v1/incidents/{key}/followups", tag = "follow-ups",
    params(("key" = String, Path, description = "UUID or reference")),
    responses((status = 200, body = Vec<FollowupDto>), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn of_incident(
    State(state): State<AppState>,
    caller: Caller,
    Path(text): Path<String>,
) -> ApiResult<Json<Vec<FollowupDto>>> {
    caller.require(Role::Viewer)?;
    let incident = visible(&state, &caller, &text, "follow-ups").await?;
    let now = firebreak_store::clock::now();
    let list = state.store.followups(Some(incident.id.0), false).await?;
    Ok(Json(list.iter().map(|it| dto(it, now)).collect()))
}

#[derive(Deserialize, Debug)]
pub struct ListQuery {
    /// `all` to include done and won't-do.
    #[serde(default)]
    pub status: String,
}

/// Everyone's follow-ups: open first, overdue (earliest due) first.
#[utoipa::path(get, path = "/api/v1/followups", tag = "follow-ups",
    params(("status" = Option<String>, Query, description = "all: include done and won't-do")),
    responses((status = 200, body = Vec<FollowupDto>)), security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<ListQuery>,
) -> ApiResult<Json<Vec<FollowupDto>>> {
    caller.require(Role::Viewer)?;
    let now = firebreak_store::clock::now();
    let access = caller.access();
    let mut out = Vec::new();
    for it in state.store.followups(None, query.status != "all").await? {
        // Follow-ups of private incidents only for those who may see them.
        let key = firebreak_store::IncidentKey::Id(
            uuid::Uuid::parse_str(&it.incident_id).map_err(ApiError::internal)?,
        );
        if state.store.visible_incident(key, &access).await.is_ok() {
            out.push(dto(&it, now));
        }
    }
    Ok(Json(out))
}

#[derive(Deserialize, ToSchema, Debug)]
#[serde(deny_unknown_fields)]
pub struct ExportBody {
    /// github or jira.
    pub to: String,
}

/// Export a follow-up to GitHub Issues or Jira (configured in `[trackers]`); the link is
/// kept, and the status is read back: closed there, done here.
#[utoipa::path(post, path = "/api/v1/followups/{id}/export", tag = "follow-ups", request_body = ExportBody,
    params(("id" = String, Path, description = "Follow-up id")),
    responses((status = 200, body = FollowupDto), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 502, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn export(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ExportBody>,
) -> ApiResult<Json<FollowupDto>> {
    let updated = export_to(&state, &caller, &id, &body.to).await?;
    Ok(Json(dto(&updated, firebreak_store::clock::now())))
}

#[derive(Deserialize, ToSchema, Debug, Default)]
#[serde(deny_unknown_fields)]
#[schema(as = FollowupPatchBody)]
pub struct PatchBody {
    pub title: Option<String>,
    pub owner: Option<String>,
    /// open, done, wont_do.
    pub status: Option<String>,
    pub due_in: Option<String>,
    pub due_at: Option<String>,
}

/// Change a follow-up: done, won't-do (explicitly accepted), reopened, a new owner or due time
/// (which starts its reminders over).
#[utoipa::path(patch, path = "/api/v1/followups/{id}", tag = "follow-ups", request_body = PatchBody,
    params(("id" = String, Path, description = "Follow-up id")),
    responses((status = 200, body = FollowupDto), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<PatchBody>,
) -> ApiResult<Json<FollowupDto>> {
    caller.require(Role::Responder)?;
    let current = state.store.followup(&id).await?;
    let key = firebreak_store::IncidentKey::Id(
        uuid::Uuid::parse_str(&current.incident_id).map_err(ApiError::internal)?,
    );
    state
        .store
        .visible_incident(key, &caller.access())
        .await
        .map_err(|_| ApiError::not_found("follow-up"))?;
    let due_given = body.due_in.is_some() || body.due_at.is_some();
    let patch = FollowupPatch {
        title: body
            .title
            .map(|it| it.trim().to_string())
            .filter(|it| !it.is_empty()),
        owner: match body.owner {
            Some(owner) => Some(
                firebreak_core::person::parse_email(&owner)
                    .ok_or_else(|| ApiError::field("owner", "the owner's email address"))?,
            ),
            None => None,
        },
        due_at: if due_given {
            Some(due(body.due_in.as_deref(), body.due_at.as_deref())?)
        } else {
            None
        },
        status: match body.status.as_deref() {
            Some(text) => Some(FollowupStatus::parse(text).ok_or_else(|| {
                ApiError::field(
                    "status",
                    format!("expected one of {}", FollowupStatus::expected()),
                )
            })?),
            None => None,
        },
    };
    let now = firebreak_store::clock::now();
    let updated = state.store.update_followup(&id, patch, now).await?;
    Ok(Json(dto(&updated, now)))
}
