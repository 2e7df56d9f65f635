//! API tokens (admins): create (shown once), list, revoke. A token acts as the person who
//! owns it, within its scope.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use firebreak_core::Role;
use firebreak_store::{StoreError, TokenInfo};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, Caller};
use crate::people::service::parse_new_token;

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct TokenDto {
    pub id: String,
    pub name: String,
    /// `read`, `write` or `admin`.
    pub scope: String,
    /// Email of the person the token acts as (absent for tokens older than people).
    pub user: Option<String>,
    pub created_at: String,
    pub revoked_at: Option<String>,
    /// Only in the answer to create; it is stored hashed and cannot be shown again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

#[derive(Deserialize, ToSchema, Debug)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    pub name: String,
    /// `read`, `write` or `admin`.
    pub scope: String,
    /// Email of the person the token acts as; default: you.
    pub user: Option<String>,
}

pub fn dto(info: TokenInfo, token: Option<String>) -> TokenDto {
    TokenDto {
        id: info.id.to_string(),
        name: info.name,
        scope: info.scope.as_str().into(),
        user: info.owner.map(|it| it.email),
        created_at: info.created_at.to_string(),
        revoked_at: info.revoked_at.map(|it| it.to_string()),
        token,
    }
}

/// List tokens (never their secrets).
#[utoipa::path(get, path = "/api/v1/tokens", tag = "tokens",
    responses((status = 200, body = Vec<TokenDto>), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Vec<TokenDto>>> {
    caller.require(Role::Admin)?;
    Ok(Json(
        state
            .store
            .tokens()
            .await?
            .into_iter()
            .map(|it| dto(it, None))
            .collect(),
    ))
}

/// Create a token; the answer is the only time its secret is shown.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "tokens", request_body = CreateToken,
    responses((status = 201, body = TokenDto), (status = 422, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateToken>,
) -> ApiResult<(StatusCode, Json<TokenDto>)> {
    caller.require(Role::Admin)?;
    let (name, scope) = parse_new_token(&body.name, &body.scope)?;
    let owner =
        match body
            .user
            .as_deref()
            .map(str::trim)
            .filter(|it| !it.is_empty())
        {
            Some(email) => Some(state.store.user_by_email(email).await?.ok_or_else(|| {
                ApiError::field("user", format!("no user with the email {email}"))
            })?),
            None => caller.user.clone(),
        };
    let created = state
        .store
        .create_token(&name, scope, owner.as_ref(), firebreak_store::clock::now())
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(dto(created.info, Some(created.secret))),
    ))
}

/// Revoke a token; it stops working at once.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "tokens", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    caller.require(Role::Admin)?;
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::not_found("token"))?;
    match state
        .store
        .revoke_token(id, firebreak_store::clock::now())
        .await
    {
        Ok(()) => {
            state.tokens.clear();
            Ok(StatusCode::NO_CONTENT)
        }
        Err(StoreError::NotFound(_)) => Err(ApiError::not_found("token")),
        Err(other) => Err(other.into()),
    }
}
