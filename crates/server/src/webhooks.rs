//! Outgoing webhook subscriptions and their deliveries (admin scope).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use firebreak_core::{EventKind, Role};
use firebreak_store::{Delivery, NewWebhook, Webhook, WebhookPatch};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, Caller};

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct WebhookDto {
    pub id: String,
    pub url: String,
    pub description: String,
    /// Event kinds delivered; empty means all.
    pub event_kinds: Vec<String>,
    /// Whether events of private incidents are delivered.
    pub include_private: bool,
    pub active: bool,
    pub created_at: String,
    /// Only in the answer to create: the HMAC key for `Firebreak-Signature`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

#[derive(Deserialize, ToSchema, Debug)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhook {
    /// http:// or https:// URL that receives POSTs.
    pub url: String,
    /// Signing secret; generated when absent (and shown once).
    pub secret: Option<String>,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub event_kinds: Vec<String>,
    #[serde(default)]
    pub include_private: bool,
    pub active: Option<bool>,
}

#[derive(Deserialize, ToSchema, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct UpdateWebhook {
    pub url: Option<String>,
    pub description: Option<String>,
    pub event_kinds: Option<Vec<String>>,
    pub include_private: Option<bool>,
    pub active: Option<bool>,
}

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct DeliveryDto {
    pub delivery_id: String,
    pub webhook_id: String,
    pub incident_id: String,
    pub seq: i64,
    pub kind: String,
    /// `pending`, `delivered` or `dead` (dead-lettered after the last attempt).
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: String,
    pub last_status_code: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: String,
    pub delivered_at: Option<String>,
    /// The JSON body sent.
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
}

#[derive(Deserialize, IntoParams, Debug, Default)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeliveriesQuery {
    /// `pending`, `delivered` or `dead`.
    pub status: Option<String>,
    /// 1–500, default 100.
    pub limit: Option<i64>,
}

fn dto(webhook: Webhook, secret: Option<String>) -> WebhookDto {
    WebhookDto {
        id: webhook.id.to_string(),
        url: webhook.url,
        description: webhook.description,
        event_kinds: webhook
            .event_kinds
            .iter()
            .map(|it| it.as_str().to_string())
            .collect(),
        include_private: webhook.include_private,
        active: webhook.active,
        created_at: webhook.created_at.to_string(),
        secret,
    }
}

fn delivery_dto(delivery: Delivery) -> DeliveryDto {
    DeliveryDto {
        delivery_id: delivery.delivery_id.to_string(),
        webhook_id: delivery.webhook_id.to_string(),
        incident_id: delivery.incident_id,
        seq: delivery.seq,
        kind: delivery.kind,
        status: delivery.status,
        attempts: delivery.attempts,
        next_attempt_at: delivery.next_attempt_at.to_string(),
        last_status_code: delivery.last_status_code,
        last_error: delivery.last_error,
        created_at: delivery.created_at.to_string(),
        delivered_at: delivery.delivered_at.map(|it| it.to_string()),
        payload: serde_json::from_str(&delivery.payload).unwrap_or(serde_json::Value::Null),
    }
}

/// A URL Firebreak will send to, checked strictly and against the outbound policy (an address
/// written in it; a name is checked each time it is resolved). The API's one check for every
/// user-supplied URL: webhooks, subscriber webhooks, contact methods.
pub(crate) fn outbound_url(state: &AppState, field: &str, url: &str) -> ApiResult<String> {
    firebreak_integrations::outbound::check_url(url, &state.settings.outbound_policy())
        .map(|_| url.to_string())
        .map_err(|err| ApiError::field(field, err.to_string()))
}

/// The kinds a webhook asks for: any kind the timeline can hold.
fn parse_kinds(kinds: &[String]) -> ApiResult<Vec<EventKind>> {
    kinds
        .iter()
        .map(|kind| {
            EventKind::parse(kind).ok_or_else(|| {
                ApiError::field(
                    "event_kinds",
                    format!(
                        "unknown event kind {kind:?}; expected any of {}",
                        EventKind::expected()
                    ),
                )
            })
        })
        .collect()
}

fn webhook_id(text: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(text).map_err(|_| ApiError::not_found("webhook"))
}

pub(crate) fn random_secret() -> ApiResult<String> {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).map_err(ApiError::internal)?;
    Ok(format!(
        "whsec_{}",
        bytes
            .iter()
            .map(|it| format!("{it:02x}"))
            .collect::<String>()
    ))
}

/// List webhooks.
#[utoipa::path(get, path = "/api/v1/webhooks", tag = "webhooks",
    responses((status = 200, body = Vec<WebhookDto>), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<WebhookDto>>> {
    caller.require(Role::Admin)?;
    Ok(Json(
        state
            .store
            .webhooks()
            .await?
            .into_iter()
            .map(|it| dto(it, None))
            .collect(),
    ))
}

/// Subscribe a URL to timeline events. The answer shows the signing secret once.
#[utoipa::path(post, path = "/api/v1/webhooks", tag = "webhooks", request_body = CreateWebhook,
    responses((status = 201, body = WebhookDto), (status = 422, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateWebhook>,
) -> ApiResult<(StatusCode, Json<WebhookDto>)> {
    caller.require(Role::Admin)?;
    outbound_url(&state, "url", &body.url)?;
    let event_kinds = parse_kinds(&body.event_kinds)?;
    let secret = match body.secret {
        Some(secret) if secret.len() < 16 => {
            return Err(ApiError::field("secret", "must be at least 16 characters"));
        }
        Some(secret) => secret,
        None => random_secret()?,
    };
    let new = NewWebhook {
        url: body.url,
        secret: secret.clone(),
        description: body.description,
        event_kinds,
        include_private: body.include_private,
        active: body.active.unwrap_or(true),
    };
    let webhook = state
        .store
        .create_webhook(new, firebreak_store::clock::now())
        .await?;
    Ok((StatusCode::CREATED, Json(dto(webhook, Some(secret)))))
}

/// Show a webhook.
#[utoipa::path(get, path = "/api/v1/webhooks/{id}", tag = "webhooks", params(("id" = String, Path)),
    responses((status = 200, body = WebhookDto), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<WebhookDto>> {
    caller.require(Role::Admin)?;
    let webhook = state.store.webhook(webhook_id(&id)?).await?;
    Ok(Json(dto(webhook, None)))
}

/// Change a webhook; `active: false` pauses it.
#[utoipa::path(patch, path = "/api/v1/webhooks/{id}", tag = "webhooks", params(("id" = String, Path)), request_body = UpdateWebhook,
    responses((status = 200, body = WebhookDto), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<UpdateWebhook>,
) -> ApiResult<Json<WebhookDto>> {
    caller.require(Role::Admin)?;
    if let Some(url) = &body.url {
        outbound_url(&state, "url", url)?;
    }
    let event_kinds = body.event_kinds.as_deref().map(parse_kinds).transpose()?;
    let patch = WebhookPatch {
        url: body.url,
        description: body.description,
        event_kinds,
        include_private: body.include_private,
        active: body.active,
    };
    let webhook = state.store.update_webhook(webhook_id(&id)?, patch).await?;
    Ok(Json(dto(webhook, None)))
}

/// Delete a webhook; its delivery history stays readable.
#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "webhooks", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    caller.require(Role::Admin)?;
    state
        .store
        .delete_webhook(webhook_id(&id)?, firebreak_store::clock::now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Deliveries of a webhook, newest first; `?status=dead` shows the dead letters.
#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries", tag = "webhooks", params(("id" = String, Path), DeliveriesQuery),
    responses((status = 200, body = Vec<DeliveryDto>), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn deliveries(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<DeliveriesQuery>,
) -> ApiResult<Json<Vec<DeliveryDto>>> {
    caller.require(Role::Admin)?;
    let id = webhook_id(&id)?;
    if let Some(status) = &query.status
        && !matches!(status.as_str(), "pending" | "delivered" | "dead")
    {
        return Err(ApiError::field(
            "status",
            "expected pending, delivered or dead",
        ));
    }
    let deliveries = state
        .store
        .deliveries(id, query.status.as_deref(), query.limit.unwrap_or(100))
        .await?;
    Ok(Json(deliveries.into_iter().map(delivery_dto).collect()))
}

/// Send a dead-lettered delivery again (a new round of attempts).
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/deliveries/{delivery_id}/retry", tag = "webhooks",
    params(("id" = String, Path), ("delivery_id" = String, Path)),
    responses((status = 202), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
pub async fn retry(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, delivery_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    caller.require(Role::Admin)?;
    let delivery_id = Uuid::parse_str(&delivery_id).map_err(|_| ApiError::not_found("delivery"))?;
    state
        .store
        .retry_delivery(webhook_id(&id)?, delivery_id, firebreak_store::clock::now())
        .await?;
    Ok(StatusCode::ACCEPTED)
}
