//! Extractors that turn axum's rejections into the API error shape, and the caller's token.

use axum::Json;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use firebreak_core::token::Scope;
use firebreak_store::TokenInfo;
use serde::de::DeserializeOwned;

use crate::AppState;
use crate::error::ApiError;

/// JSON body; malformed, oversized or mistyped bodies become 400 / 413 / 422 in our shape.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let Json(value) = Json::<T>::from_request(req, state).await?;
        Ok(ApiJson(value))
    }
}

/// Query string; a bad one is a 400 in our shape.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Query(value) = Query::<T>::from_request_parts(parts, state).await?;
        Ok(ApiQuery(value))
    }
}

/// Who is calling: the API token from `Authorization: Bearer fbk_…`.
#[derive(Clone, Debug)]
pub struct Caller {
    pub token: TokenInfo,
}

impl Caller {
    /// 403 unless the token's scope covers `needed`.
    pub fn require(&self, needed: Scope) -> Result<(), ApiError> {
        if self.token.scope.allows(needed) {
            Ok(())
        } else {
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!(
                    "this needs a token with the {} scope; yours has {}",
                    needed.as_str(),
                    self.token.scope.as_str()
                ),
            ))
        }
    }

    /// Private incidents are visible to admin tokens only, until people and membership exist.
    pub fn sees_private(&self) -> bool {
        self.token.scope.allows(Scope::Admin)
    }

    /// How the caller appears as a timeline actor.
    pub fn actor(&self) -> String {
        format!("token:{}", self.token.name)
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let unauthorized =
            |message: &str| ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message);
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or_else(|| unauthorized("send an API token: Authorization: Bearer fbk_…"))?;
        let secret = header
            .to_str()
            .ok()
            .and_then(|it| {
                it.strip_prefix("Bearer ")
                    .or_else(|| it.strip_prefix("bearer "))
            })
            .map(str::trim)
            .ok_or_else(|| unauthorized("the Authorization header must be: Bearer fbk_…"))?;
        let token = state
            .tokens
            .authenticate(&state.store, secret)
            .await?
            .ok_or_else(|| unauthorized("this token is unknown or revoked"))?;
        Ok(Caller { token })
    }
}
