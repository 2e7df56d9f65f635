//! The one API error shape: `{"error": {"code", "message", "fields", "request_id"}}`.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use firebreak_core::{DomainError, FieldErrors};
use firebreak_store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

tokio::task_local! {
    /// The current request's id, so every error body can name it.
    pub static REQUEST_ID: String;
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    /// Shown to the client.
    pub message: String,
    pub fields: BTreeMap<String, String>,
    /// Logged, never sent.
    pub internal: Option<String>,
    /// Seconds the client should wait before trying again (`Retry-After`).
    pub retry_after: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable, machine-readable: `validation_failed`, `not_found`, `invalid_transition`, …
    pub code: String,
    pub message: String,
    /// Field name → what is wrong with it.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, String>,
    pub request_id: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            fields: BTreeMap::new(),
            internal: None,
            retry_after: None,
        }
    }

    /// 503: the database cannot take the request now (full disk, connection lost); the
    /// request changed nothing and may be sent again.
    pub fn unavailable(err: impl std::fmt::Display) -> Self {
        ApiError {
            internal: Some(err.to_string()),
            retry_after: Some(5),
            ..ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the database cannot take this request right now; nothing was changed, try again shortly",
            )
        }
    }

    pub fn not_found(what: &str) -> Self {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )
    }

    pub fn validation(errors: FieldErrors) -> Self {
        let n_fields = errors.0.len();
        let message = match errors.0.values().next() {
            Some(first) if n_fields == 1 => first.clone(),
            _ => format!("{n_fields} fields are invalid"),
        };
        ApiError {
            fields: errors.0,
            ..ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                message,
            )
        }
    }

    pub fn field(field: &str, message: impl Into<String>) -> Self {
        let mut errors = FieldErrors::default();
        errors.add(field, message);
        ApiError::validation(errors)
    }

    pub fn internal(err: impl std::fmt::Display) -> Self {
        ApiError {
            internal: Some(err.to_string()),
            ..ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "something went wrong on our side; it has been logged",
            )
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Domain(domain) => domain.into(),
            StoreError::NotFound(what) => ApiError::not_found(what),
            StoreError::Conflict(message) => {
                ApiError::new(StatusCode::CONFLICT, "conflict", message)
            }
            StoreError::IdempotencyKeyReused => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                "this Idempotency-Key was sent before with a different request body; use a new key",
            ),
            StoreError::Closed => ApiError {
                retry_after: Some(5),
                ..ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "the server is shutting down",
                )
            },
            other if other.is_unavailable() => ApiError::unavailable(other),
            other => ApiError::internal(other),
        }
    }
}

impl From<DomainError> for ApiError {
    fn from(err: DomainError) -> Self {
        match err {
            DomainError::InvalidTransition { .. } => {
                ApiError::new(StatusCode::CONFLICT, "invalid_transition", err.to_string())
            }
            DomainError::Validation(errors) => ApiError::validation(errors),
            DomainError::NotReadyToClose { .. } => {
                ApiError::new(StatusCode::CONFLICT, "not_ready_to_close", err.to_string())
            }
            DomainError::Action(action) => {
                use firebreak_core::action::ActionError;
                let (status, code) = match &action {
                    ActionError::SelfApproval(..) => (StatusCode::FORBIDDEN, "self_approval"),
                    ActionError::Unknown(_) => (StatusCode::NOT_FOUND, "not_found"),
                    ActionError::Wrong { .. } => (StatusCode::CONFLICT, "invalid_transition"),
                    ActionError::Invalid(_) => {
                        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
                    }
                };
                ApiError::new(status, code, action.to_string())
            }
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        let status = rejection.status();
        let text = rejection.body_text();
        match status {
            StatusCode::PAYLOAD_TOO_LARGE => {
                ApiError::new(status, "payload_too_large", "the request body is too large")
            }
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::new(
                status,
                "unsupported_media_type",
                "send JSON with Content-Type: application/json",
            ),
            StatusCode::UNPROCESSABLE_ENTITY => ApiError::new(status, "validation_failed", text),
            _ => ApiError::new(StatusCode::BAD_REQUEST, "malformed_json", text),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_query", rejection.body_text())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let request_id = REQUEST_ID.try_with(Clone::clone).unwrap_or_default();
        if let Some(internal) = &self.internal {
            if self.status == StatusCode::SERVICE_UNAVAILABLE {
                tracing::warn!(%request_id, error = %internal, "request refused: database unavailable");
            } else {
                tracing::error!(%request_id, error = %internal, "request failed");
            }
        }
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_string(),
                message: self.message,
                fields: self.fields,
                request_id,
            },
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert("Retry-After", axum::http::HeaderValue::from(seconds));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                "WWW-Authenticate",
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
