//! Incident commands and queries: declare, list, show, patch, updates, roles, timestamps.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use firebreak_core::command::{RawChanges, parse_changes, parse_declare};
use firebreak_core::{Command, IncidentType, Role, Status, TimestampName};
use firebreak_store::{Idempotency, IncidentFilter, Outcome};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::Prefer;
use crate::extract::{ApiJson, ApiJsonDigest, ApiQuery, Caller};
use crate::incidents::dto::{AffectedDto, CommandResult, IncidentDto, IncidentPage};
use crate::incidents::service::DeclareBody;
use crate::incidents::service::{
    audit_reads, key, parse_bound, result, run_command, update_plain, visible,
};

#[derive(Deserialize, ToSchema, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct PatchBody {
    pub title: Option<String>,
    pub summary: Option<String>,
    pub severity: Option<String>,
    pub status: Option<String>,
    /// Required with `status: merged`: the reference of the surviving incident.
    pub merged_into: Option<String>,
    pub impact: Option<String>,
    pub affected: Option<AffectedDto>,
    pub services: Option<Vec<String>>,
    pub private: Option<bool>,
}

#[derive(Deserialize, ToSchema, Debug)]
#[serde(deny_unknown_fields)]
pub struct UpdateBody {
    /// Free text; may be empty when the structured parts say it all.
    #[serde(default)]
    pub message: String,
    /// What is affected.
    #[serde(default)]
    pub affected: String,
    /// Who is affected, and how many.
    #[serde(default)]
    pub who: String,
    /// What we are doing.
    #[serde(default)]
    pub doing: String,
    /// When we expect it fixed ("within the hour", "unknown yet").
    #[serde(default)]
    pub expected_resolution: String,
    /// Optionally move the incident to this status with the update.
    pub status: Option<String>,
    /// Sets `next_update_due` to now plus this many minutes (1–10080).
    pub next_update_in_minutes: Option<i64>,
    /// Meant for the public status page.
    #[serde(default)]
    pub public: bool,
}

#[derive(Deserialize, ToSchema, Debug)]
#[serde(deny_unknown_fields)]
pub struct RoleBody {
    /// Who takes the role.
    pub user: String,
    /// On a handoff: what the previous holder hands over (state, open threads, next steps).
    #[serde(default)]
    pub handover: Option<String>,
}

#[derive(Deserialize, ToSchema, Debug)]
#[serde(deny_unknown_fields)]
pub struct TimestampBody {
    /// RFC 3339 time the person asserts.
    pub at: String,
    /// Why, or where the time comes from.
    #[serde(default)]
    pub note: String,
}

#[derive(Deserialize, IntoParams, Debug, Default)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Comma-separated statuses, e.g. `investigating,identified`.
    pub status: Option<String>,
    /// Comma-separated severities.
    pub severity: Option<String>,
    /// Comma-separated incident types (`default`, `security`).
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub incident_type: Option<String>,
    /// Only incidents affecting this service.
    pub service: Option<String>,
    /// Declared at or after this time (RFC 3339, or a date such as `2026-11-01`).
    pub from: Option<String>,
    /// Declared before this time (RFC 3339, or a date: the whole day is included).
    pub to: Option<String>,
    /// Full-text search over titles, summaries and the whole timeline (notes, updates…).
    pub q: Option<String>,
    /// 1–200, default 50.
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// Declare an incident.
#[utoipa::path(post, path = "/api/v1/incidents", tag = "incidents", request_body = DeclareBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "The same key returns the same incident")),
    responses((status = 201, body = IncidentDto, description = "Declared"),
        (status = 200, body = IncidentDto, description = "An earlier declare with the same Idempotency-Key"),
        (status = 422, body = ErrorBody, description = "Invalid, or `idempotency_key_reused`: the key came with a different body before"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "The key's incident is one the caller may no longer see")),
    security(("bearer" = [])))]
pub async fn declare(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiJsonDigest(body, fingerprint): ApiJsonDigest<DeclareBody>,
) -> ApiResult<impl IntoResponse> {
    caller.require(Role::Responder)?;
    let idempotency = match headers.get("Idempotency-Key") {
        None => None,
        Some(value) => {
            let text = value
                .to_str()
                .map_err(|_| ApiError::field("Idempotency-Key", "must be visible ASCII"))?
                .trim();
            if text.is_empty() || text.len() > 255 {
                return Err(ApiError::field(
                    "Idempotency-Key",
                    "must be 1–255 characters",
                ));
            }
            Some(Idempotency {
                key: text.to_string(),
                fingerprint,
            })
        }
    };
    let new = parse_declare(body.into(), &state.store.catalog()).map_err(ApiError::validation)?;
    let declared = state
        .store
        .declare(new, &caller.actor(), caller.access(), idempotency)
        .await?;
    if !declared.created {
        // A replay reads an incident that exists already: audited like any other read.
        let replayed = std::slice::from_ref(&declared.incident);
        audit_reads(
            &state,
            &caller,
            replayed,
            "POST incident (idempotent replay)",
        )
        .await?;
    }
    let status = if declared.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let dto = IncidentDto::from_incident(&declared.incident, firebreak_store::clock::now());
    Ok((
        status,
        [("Location", format!("/api/v1/incidents/{}", dto.reference))],
        Json(dto),
    ))
}

/// List incidents, newest first.
#[utoipa::path(get, path = "/api/v1/incidents", tag = "incidents", params(ListQuery),
    responses((status = 200, body = IncidentPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> ApiResult<Json<IncidentPage>> {
    caller.require(Role::Viewer)?;
    let split = |text: Option<String>| -> Vec<String> {
        text.unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|it| !it.is_empty())
            .map(String::from)
            .collect()
    };
    let mut statuses = Vec::new();
    for text in split(query.status) {
        statuses.push(
            Status::parse(&text)
                .ok_or_else(|| ApiError::field("status", format!("unknown status {text:?}")))?,
        );
    }
    let severities = split(query.severity);
    for severity in &severities {
        if state.store.catalog().severity_rank(severity).is_none() {
            return Err(ApiError::field(
                "severity",
                format!("unknown severity {severity:?}"),
            ));
        }
    }
    let before_number = match query.cursor.as_deref() {
        None | Some("") => None,
        Some(cursor) => Some(
            cursor
                .parse::<i64>()
                .map_err(|_| ApiError::field("cursor", "not a cursor from a previous page"))?,
        ),
    };
    let mut types = Vec::new();
    for text in split(query.incident_type) {
        types.push(
            IncidentType::parse(&text)
                .ok_or_else(|| ApiError::field("type", format!("unknown type {text:?}")))?,
        );
    }
    let filter = IncidentFilter {
        statuses,
        severities,
        types,
        service: query.service.filter(|it| !it.trim().is_empty()),
        declared_from: parse_bound("from", query.from.as_deref(), false)?,
        declared_to: parse_bound("to", query.to.as_deref(), true)?,
        query: query.q.filter(|it| !it.trim().is_empty()),
        access: caller.access(),
        limit: match query.limit {
            None => 50,
            Some(limit @ 1..=200) => limit,
            Some(_) => return Err(ApiError::field("limit", "must be 1–200")),
        },
        before_number,
    };
    let page = state.store.incidents(&filter).await?;
    let what = if filter.query.is_some() {
        "search"
    } else {
        "list"
    };
    audit_reads(&state, &caller, &page.items, what).await?;
    let now = firebreak_store::clock::now();
    Ok(Json(IncidentPage {
        items: page
            .items
            .iter()
            .map(|it| IncidentDto::from_incident(it, now))
            .collect(),
        next_cursor: page.next_cursor,
    }))
}

/// Show one incident by UUID or reference (`INC-7`).
#[utoipa::path(get, path = "/api/v1/incidents/{key}", tag = "incidents",
    params(("key" = String, Path, description = "UUID or reference such as INC-7")),
    responses((status = 200, body = IncidentDto), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(text): Path<String>,
) -> ApiResult<Json<IncidentDto>> {
    caller.require(Role::Viewer)?;
    let incident = visible(&state, &caller, &text, "GET incident").await?;
    Ok(Json(IncidentDto::from_incident(
        &incident,
        firebreak_store::clock::now(),
    )))
}

async fn run(
    state: &AppState,
    caller: &Caller,
    text: &str,
    build: firebreak_store::BuildCommand,
) -> ApiResult<Outcome> {
    caller.require(Role::Responder)?;
    let (target, actor) = (key(text)?, caller.actor());
    let outcome = state.store.execute(target, &actor, caller.access(), build);
    Ok(outcome.await?)
}

/// Change title, summary, severity, status, impact, affected, services or privacy.
#[utoipa::path(patch, path = "/api/v1/incidents/{key}", tag = "incidents", request_body = PatchBody,
    params(("key" = String, Path, description = "UUID or reference")),
    responses((status = 200, body = CommandResult), (status = 409, body = ErrorBody, description = "invalid_transition"),
        (status = 422, body = ErrorBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn patch(
    State(state): State<AppState>,
    caller: Caller,
    prefer: Prefer,
    Path(text): Path<String>,
    ApiJson(body): ApiJson<PatchBody>,
) -> ApiResult<Json<CommandResult>> {
    let (affected_text, affected_count) = AffectedDto::split(body.affected);
    let raw = RawChanges {
        title: body.title,
        summary: body.summary,
        severity: body.severity,
        status: body.status,
        merged_into: body.merged_into,
        impact: body.impact,
        affected_text,
        affected_count,
        services: body.services,
        private: body.private,
    };
    let outcome = run(
        &state,
        &caller,
        &text,
        Box::new(move |incident, catalog| Ok(parse_changes(raw.clone(), incident, catalog)?)),
    )
    .await?;
    Ok(Json(result(&outcome, prefer)))
}

/// Post a status update, optionally with a new status and the time of the next update.
#[utoipa::path(post, path = "/api/v1/incidents/{key}/updates", tag = "incidents", request_body = UpdateBody,
    params(("key" = String, Path, description = "UUID or reference")),
    responses((status = 201, body = CommandResult), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn post_update(
    State(state): State<AppState>,
    caller: Caller,
    prefer: Prefer,
    Path(text): Path<String>,
    ApiJson(body): ApiJson<UpdateBody>,
) -> ApiResult<(StatusCode, Json<CommandResult>)> {
    let status = match body.status.as_deref() {
        None => None,
        Some(text) => Some(
            Status::parse(text)
                .ok_or_else(|| ApiError::field("status", format!("unknown status {text:?}")))?,
        ),
    };
    let parts = firebreak_core::update::UpdateParts {
        affected: body.affected,
        who: body.who,
        doing: body.doing,
        expected_resolution: body.expected_resolution,
    };
    let command = Command::PostUpdate {
        message: firebreak_core::update::compose(&body.message, &parts),
        status,
        next_update_in_minutes: body.next_update_in_minutes,
        public: body.public,
    };
    let outcome = run_command(&state, &caller, &text, command).await?;
    Ok((StatusCode::CREATED, Json(result(&outcome, prefer))))
}

/// The latest status update as plain text, ready to paste into chat, email or a status page.
#[utoipa::path(get, path = "/api/v1/incidents/{key}/updates/latest.txt", tag = "incidents",
    params(("key" = String, Path, description = "UUID or reference")),
    responses((status = 200, content_type = "text/plain", body = String), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn latest_update_text(
    State(state): State<AppState>,
    caller: Caller,
    Path(text): Path<String>,
) -> ApiResult<impl IntoResponse> {
    caller.require(Role::Viewer)?;
    let incident = visible(&state, &caller, &text, "latest update").await?;
    let latest = state.store.latest_update(incident.id.0).await?;
    let plain = update_plain(&incident, latest.as_ref(), &|at| {
        at.strftime("%Y-%m-%d %H:%M UTC").to_string()
    })
    .ok_or_else(|| ApiError::not_found("status update"))?;
    Ok(([("Content-Type", "text/plain; charset=utf-8")], plain))
}

/// Assign a role; assigning a held role to someone else is a handoff.
#[utoipa::path(put, path = "/api/v1/incidents/{key}/roles/{role}", tag = "incidents", request_body = RoleBody,
    params(("key" = String, Path, description = "UUID or reference"), ("role" = String, Path, description = "lead, comms, support, first_responder, shadow")),
    responses((status = 200, body = CommandResult), (status = 422, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn assign_role(
    State(state): State<AppState>,
    caller: Caller,
    prefer: Prefer,
    Path((text, role)): Path<(String, String)>,
    ApiJson(body): ApiJson<RoleBody>,
) -> ApiResult<Json<CommandResult>> {
    let command = Command::AssignRole {
        role,
        user: body.user,
        handover: body.handover,
    };
    let outcome = run_command(&state, &caller, &text, command).await?;
    Ok(Json(result(&outcome, prefer)))
}

#[derive(Deserialize, ToSchema, Debug)]
#[serde(deny_unknown_fields)]
pub struct MemberBody {
    /// Email of the person to let in.
    pub user: String,
}

/// Let a person see a private incident. Recorded as a `member_added` event; adding an
/// existing member changes nothing.
#[utoipa::path(post, path = "/api/v1/incidents/{key}/members", tag = "incidents", request_body = MemberBody,
    params(("key" = String, Path, description = "UUID or reference")),
    responses((status = 200, body = CommandResult), (status = 422, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn add_member(
    State(state): State<AppState>,
    caller: Caller,
    prefer: Prefer,
    Path(text): Path<String>,
    ApiJson(body): ApiJson<MemberBody>,
) -> ApiResult<Json<CommandResult>> {
    caller.require(Role::Responder)?;
    let user = state
        .store
        .user_by_email(&body.user)
        .await?
        .ok_or_else(|| ApiError::field("user", format!("no user with the email {}", body.user)))?;
    let command = Command::AddMember { member: user.email };
    let outcome = run_command(&state, &caller, &text, command).await?;
    Ok(Json(result(&outcome, prefer)))
}

/// Unassign a role.
#[utoipa::path(delete, path = "/api/v1/incidents/{key}/roles/{role}", tag = "incidents",
    params(("key" = String, Path, description = "UUID or reference"), ("role" = String, Path, description = "Role name")),
    responses((status = 200, body = CommandResult), (status = 422, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn unassign_role(
    State(state): State<AppState>,
    caller: Caller,
    prefer: Prefer,
    Path((text, role)): Path<(String, String)>,
) -> ApiResult<Json<CommandResult>> {
    let command = Command::UnassignRole { role };
    let outcome = run_command(&state, &caller, &text, command).await?;
    Ok(Json(result(&outcome, prefer)))
}

/// Assert when a named moment really happened (declared, acknowledged, mitigated, resolved,
/// closed). Recorded beside the observed time, never replacing it.
#[utoipa::path(put, path = "/api/v1/incidents/{key}/timestamps/{name}", tag = "incidents", request_body = TimestampBody,
    params(("key" = String, Path, description = "UUID or reference"), ("name" = String, Path, description = "declared, acknowledged, mitigated, resolved, closed")),
    responses((status = 200, body = CommandResult), (status = 422, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn assert_timestamp(
    State(state): State<AppState>,
    caller: Caller,
    prefer: Prefer,
    Path((text, name)): Path<(String, String)>,
    ApiJson(body): ApiJson<TimestampBody>,
) -> ApiResult<Json<CommandResult>> {
    let name = TimestampName::parse(&name).ok_or_else(|| {
        ApiError::field(
            "name",
            format!(
                "unknown timestamp {name:?}; expected one of {}",
                TimestampName::expected()
            ),
        )
    })?;
    let at: jiff::Timestamp = body.at.parse().map_err(|_| {
        ApiError::field(
            "at",
            "must be an RFC 3339 time such as 2026-11-21T09:30:00Z",
        )
    })?;
    let command = Command::AssertTimestamp {
        name,
        at,
        note: body.note,
    };
    let outcome = run_command(&state, &caller, &text, command).await?;
    Ok(Json(result(&outcome, prefer)))
}
