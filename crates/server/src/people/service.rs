//! People and tokens as the API and the admin pages both handle them: creating and changing
//! a person, and reading a new token's name and scope.

use firebreak_core::person::{RawPerson, check_password, parse_person, parse_time_zone};
use firebreak_core::token::Scope;
use firebreak_core::{FieldErrors, Role};
use firebreak_store::{User, UserPatch};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::auth::hash_password_blocking;
use crate::error::{ApiError, ApiResult};
use crate::extract::Caller;

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

/// Parses and checks a token name and scope; shared with the CLI's `admin create-token`.
pub fn parse_new_token(name: &str, scope: &str) -> Result<(String, Scope), ApiError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::field("name", "must be 1–100 characters"));
    }
    let scope = Scope::parse(scope)
        .ok_or_else(|| ApiError::field("scope", "expected read, write or admin"))?;
    Ok((name.to_string(), scope))
}
