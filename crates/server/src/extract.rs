//! Extractors that turn axum's rejections into the API error shape.

use axum::Json;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

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

/// A JSON body with a digest of what it says (keys sorted, whitespace ignored), so a replayed
/// `Idempotency-Key` can tell the same request from a different one.
pub struct ApiJsonDigest<T>(pub T, pub String);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJsonDigest<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        use sha2::Digest;
        let Json(value) = Json::<serde_json::Value>::from_request(req, state).await?;
        // serde_json's maps are ordered by key, so this text is canonical.
        let digest = hex::encode(sha2::Sha256::digest(value.to_string().as_bytes()));
        let parsed = T::deserialize(value).map_err(|err| {
            ApiError::new(
                axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                format!("Failed to deserialize the JSON body into the target type: {err}"),
            )
        })?;
        Ok(ApiJsonDigest(parsed, digest))
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

pub use crate::auth::Caller;

/// `Prefer: return=minimal` (RFC 7240): the caller wants a command's events and the
/// incident's new version, not the whole incident. Anything else leaves the full answer.
#[derive(Clone, Copy, Debug, Default)]
pub struct Prefer {
    pub minimal: bool,
}

impl<S: Send + Sync> FromRequestParts<S> for Prefer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let minimal = parts
            .headers
            .get_all("prefer")
            .iter()
            .filter_map(|it| it.to_str().ok())
            .flat_map(|it| it.split(','))
            .any(|it| it.trim().eq_ignore_ascii_case("return=minimal"));
        Ok(Prefer { minimal })
    }
}
