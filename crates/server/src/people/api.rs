//! People (admins manage them), their sessions, who you are, and the audit of reads of
//! private incidents.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use firebreak_core::Role;
use firebreak_store::{PrivateRead, User};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, Caller};
use crate::people::service::{CreateUser, PatchUser, create_person, patch_person};

#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
pub struct UserDto {
    pub id: String,
    pub email: String,
    pub name: String,
    /// IANA zone; times are shown to this person in it.
    pub time_zone: String,
    /// `viewer`, `responder` or `admin`.
    pub role: String,
    pub created_at: String,
    pub disabled: bool,
}

impl UserDto {
    pub fn from_user(user: &User) -> Self {
        UserDto {
            id: user.id.to_string(),
            email: user.email.clone(),
            name: user.name.clone(),
            time_zone: user.time_zone.clone(),
            role: user.role.as_str().into(),
            created_at: user.created_at.to_string(),
            disabled: user.disabled_at.is_some(),
        }
    }
}

fn user_id(text: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(text).map_err(|_| ApiError::not_found("user"))
}

/// Who you are (the person behind the token or session).
#[utoipa::path(get, path = "/api/v1/me", tag = "people",
    responses((status = 200, body = UserDto), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
pub async fn me(caller: Caller) -> ApiResult<Json<UserDto>> {
    let user = caller
        .user
        .as_ref()
        .ok_or_else(|| ApiError::not_found("person for this token"))?;
    Ok(Json(UserDto {
        role: caller.role.as_str().into(),
        ..UserDto::from_user(user)
    }))
}

/// Everyone (admins).
#[utoipa::path(get, path = "/api/v1/users", tag = "people",
    responses((status = 200, body = Vec<UserDto>), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Vec<UserDto>>> {
    caller.require(Role::Admin)?;
    let users = state.store.users().await?;
    Ok(Json(users.iter().map(UserDto::from_user).collect()))
}

/// Add a person (admins).
#[utoipa::path(post, path = "/api/v1/users", tag = "people", request_body = CreateUser,
    responses((status = 201, body = UserDto), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateUser>,
) -> ApiResult<(StatusCode, Json<UserDto>)> {
    caller.require(Role::Admin)?;
    let user = create_person(&state, body).await?;
    Ok((StatusCode::CREATED, Json(UserDto::from_user(&user))))
}

/// Change a person's name, role, time zone or password, or disable them (admins).
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "people", request_body = PatchUser,
    params(("id" = String, Path)),
    responses((status = 200, body = UserDto), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<PatchUser>,
) -> ApiResult<Json<UserDto>> {
    caller.require(Role::Admin)?;
    let user = patch_person(&state, &caller, user_id(&id)?, body).await?;
    Ok(Json(UserDto::from_user(&user)))
}

#[derive(Serialize, ToSchema, Debug)]
pub struct SessionsRevoked {
    pub revoked: u64,
}

/// Sign a person out everywhere (admins).
#[utoipa::path(delete, path = "/api/v1/users/{id}/sessions", tag = "people", params(("id" = String, Path)),
    responses((status = 200, body = SessionsRevoked), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn revoke_sessions(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<SessionsRevoked>> {
    caller.require(Role::Admin)?;
    let id = user_id(&id)?;
    state.store.user(id).await?;
    let revoked = state
        .store
        .revoke_user_sessions(id, firebreak_store::clock::now())
        .await?;
    Ok(Json(SessionsRevoked { revoked }))
}

#[derive(Serialize, ToSchema, Debug)]
pub struct PrivateReadDto {
    pub incident_id: String,
    pub reference: String,
    /// Who read it (email, or `token:name`).
    pub actor: String,
    /// What was read: `GET incident`, `GET timeline`, `list`, `search`, `incident room`, …
    pub what: String,
    pub at: String,
}

impl PrivateReadDto {
    pub fn from_read(read: &PrivateRead) -> Self {
        PrivateReadDto {
            incident_id: read.incident_id.clone(),
            reference: read.reference.to_string(),
            actor: read.actor.clone(),
            what: read.what.clone(),
            at: read.at.to_string(),
        }
    }
}

#[derive(Deserialize, IntoParams, Debug, Default)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Only reads of this incident (UUID or reference).
    pub incident: Option<String>,
    /// 1–1000, default 200.
    pub limit: Option<i64>,
}

/// Every read of a private incident, newest first (admins).
#[utoipa::path(get, path = "/api/v1/audit/private-reads", tag = "people", params(AuditQuery),
    responses((status = 200, body = Vec<PrivateReadDto>), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn private_reads(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> ApiResult<Json<Vec<PrivateReadDto>>> {
    caller.require(Role::Admin)?;
    let incident_id = match query.incident.as_deref() {
        Some(text) => Some(
            state
                .store
                .incident(crate::incidents::service::key(text)?)
                .await?
                .id
                .0
                .to_string(),
        ),
        None => None,
    };
    let reads = state
        .store
        .private_reads(incident_id.as_deref(), query.limit.unwrap_or(200))
        .await?;
    Ok(Json(reads.iter().map(PrivateReadDto::from_read).collect()))
}
