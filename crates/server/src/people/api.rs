//! People (admins manage them), their sessions, who you are, and the audit of reads of
//! private incidents.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use firebreak_core::person::{RawPerson, check_password, parse_person, parse_time_zone};
use firebreak_core::{FieldErrors, Role};
use firebreak_store::{PrivateRead, User, UserPatch};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::AppState;
use crate::auth::hash_password_blocking;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, Caller};

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

#[derive(Deserialize, ToSchema, Debug)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    pub email: String,
    pub name: String,
    /// Default `responder`.
    pub role: Option<String>,
    /// Default `UTC`.
    pub time_zone: Option<String>,
    /// At least 10 characters.
    pub password: String,
}

#[derive(Deserialize, ToSchema, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct PatchUser {
    pub name: Option<String>,
    pub role: Option<String>,
    pub time_zone: Option<String>,
    /// Disabling signs the person out everywhere and stops their tokens.
    pub disabled: Option<bool>,
    /// A new password; signs the person out everywhere.
    pub password: Option<String>,
}

/// Creates a person from raw form or JSON values; shared with the people page.
pub async fn create_person(state: &AppState, body: CreateUser) -> ApiResult<User> {
    let parsed = parse_person(RawPerson {
        email: Some(body.email),
        name: Some(body.name),
        time_zone: body.time_zone,
        role: body.role,
    });
    let mut errors = parsed.as_ref().err().cloned().unwrap_or_default();
    check_password(&mut errors, "password", &body.password);
    let person = match parsed {
        Ok(person) if errors.is_empty() => person,
        _ => return Err(ApiError::validation(errors)),
    };
    let hash = hash_password_blocking(body.password).await?;
    let user = state
        .store
        .create_user(&person, &hash, firebreak_store::clock::now())
        .await?;
    Ok(user)
}

/// Applies an admin's changes to a person; shared with the people page.
pub async fn patch_person(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    body: PatchUser,
) -> ApiResult<User> {
    let mut errors = FieldErrors::default();
    let mut patch = UserPatch {
        disabled: body.disabled,
        ..Default::default()
    };
    if let Some(name) = body.name.as_deref() {
        patch.name = Some(firebreak_core::validate::text(
            &mut errors,
            "name",
            Some(name),
            1,
            firebreak_core::command::MAX_NAME,
        ));
    }
    if let Some(role) = body.role.as_deref() {
        match Role::parse(role) {
            Some(role) => patch.role = Some(role),
            None => errors.add("role", "expected one of viewer, responder, admin"),
        }
    }
    if let Some(zone) = body.time_zone.as_deref() {
        match parse_time_zone(zone) {
            Some(zone) => patch.time_zone = Some(zone),
            None => errors.add("time_zone", "unknown time zone; use an IANA name"),
        }
    }
    if let Some(password) = body.password.as_deref() {
        check_password(&mut errors, "password", password);
    }
    let is_self = caller.user.as_ref().is_some_and(|it| it.id == id);
    if is_self && (body.disabled == Some(true) || patch.role.is_some_and(|it| it != Role::Admin)) {
        errors.add(
            "role",
            "you cannot demote or disable yourself; ask another admin",
        );
    }
    errors.into_result().map_err(ApiError::validation)?;
    if let Some(password) = body.password {
        patch.password_hash = Some(hash_password_blocking(password).await?);
    }
    let now = firebreak_store::clock::now();
    let user = match state.store.update_user(id, &patch, now).await {
        Err(firebreak_store::StoreError::NotFound(_)) => return Err(ApiError::not_found("user")),
        other => other?,
    };
    // Tokens of a disabled person must stop working now, not when the cache expires.
    state.tokens.clear();
    Ok(user)
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
                .incident(crate::incidents::api::key(text)?)
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
