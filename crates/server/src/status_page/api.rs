//! Managing the public status page: components and groups, and public incidents — the
//! explicit, customer-facing projection of an internal incident, with their own updates.
//! Internal notes never reach the page: only what is posted here does.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use firebreak_core::Role;
use firebreak_core::status_page::{ComponentStatus, Impact, PublicStatus};
use firebreak_store::{Component, ComponentPatch, NewComponent, NewSubscription, PublicPost};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, Caller};
use crate::incidents::service::visible;
use crate::status_page::service::record_on_timeline;
use crate::status_page::service::{PublicIncidentDto, public_incident_dto, refresh, text};

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct ComponentDto {
    pub id: String,
    pub name: String,
    pub description: String,
    pub group_id: Option<String>,
    /// True for a group; its status is the worst of its components'.
    pub group: bool,
    pub position: i64,
    /// operational, degraded_performance, partial_outage, major_outage, under_maintenance.
    pub status: String,
    /// Show its 90-day uptime bar.
    pub showcase: bool,
    pub only_show_if_degraded: bool,
    pub created_at: String,
    pub updated_at: String,
}

fn component_dto(it: &Component, all: &[Component]) -> ComponentDto {
    ComponentDto {
        id: it.id.clone(),
        name: it.name.clone(),
        description: it.description.clone(),
        group_id: it.group_id.clone(),
        group: it.is_group,
        position: it.position,
        status: crate::status_page::v2::shown_status(it, all)
            .as_str()
            .into(),
        showcase: it.showcase,
        only_show_if_degraded: it.only_show_if_degraded,
        created_at: it.created_at.to_string(),
        updated_at: it.updated_at.to_string(),
    }
}

#[derive(Deserialize, ToSchema, Debug)]
#[serde(deny_unknown_fields)]
pub struct NewComponentBody {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// The group it belongs to.
    pub group_id: Option<String>,
    /// Make a group (a heading for other components).
    #[serde(default)]
    pub group: bool,
    /// Default operational.
    pub status: Option<String>,
    /// Show its 90-day uptime bar (default true).
    pub showcase: Option<bool>,
    #[serde(default)]
    pub only_show_if_degraded: bool,
}

#[derive(Deserialize, ToSchema, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct ComponentPatchBody {
    pub name: Option<String>,
    pub description: Option<String>,
    pub status: Option<String>,
    pub position: Option<i64>,
    pub showcase: Option<bool>,
    pub only_show_if_degraded: Option<bool>,
}

fn component_status(field: &str, text: &str) -> ApiResult<ComponentStatus> {
    ComponentStatus::parse(text).ok_or_else(|| {
        ApiError::field(
            field,
            format!(
                "unknown status {text:?}; expected one of {}",
                ComponentStatus::expected()
            ),
        )
    })
}

/// The status page's components and groups, in page order.
#[utoipa::path(get, path = "/api/v1/status/components", tag = "status page",
    responses((status = 200, body = Vec<ComponentDto>)), security(("bearer" = [])))]
pub async fn components(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<ComponentDto>>> {
    caller.require(Role::Viewer)?;
    let all = state.store.status_components().await?;
    Ok(Json(all.iter().map(|it| component_dto(it, &all)).collect()))
}

/// Add a component or a group to the status page.
#[utoipa::path(post, path = "/api/v1/status/components", tag = "status page", request_body = NewComponentBody,
    responses((status = 201, body = ComponentDto), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn create_component(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<NewComponentBody>,
) -> ApiResult<(StatusCode, Json<ComponentDto>)> {
    caller.require(Role::Responder)?;
    let new = NewComponent {
        name: text("name", &body.name, 100)?,
        description: body.description.trim().chars().take(500).collect(),
        group_id: body.group_id.filter(|it| !it.is_empty()),
        is_group: body.group,
        status: body
            .status
            .as_deref()
            .map(|it| component_status("status", it))
            .transpose()?,
        showcase: body.showcase.unwrap_or(true),
        only_show_if_degraded: body.only_show_if_degraded,
    };
    let created = state
        .store
        .create_status_component(new, firebreak_store::clock::now())
        .await?;
    refresh(&state).await;
    let all = state.store.status_components().await?;
    Ok((StatusCode::CREATED, Json(component_dto(&created, &all))))
}

/// Change a component: its name, description, order, or status (each status change is kept
/// for uptime).
#[utoipa::path(patch, path = "/api/v1/status/components/{id}", tag = "status page", request_body = ComponentPatchBody,
    params(("id" = String, Path, description = "Component id")),
    responses((status = 200, body = ComponentDto), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn update_component(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ComponentPatchBody>,
) -> ApiResult<Json<ComponentDto>> {
    caller.require(Role::Responder)?;
    let patch = ComponentPatch {
        name: body
            .name
            .as_deref()
            .map(|it| text("name", it, 100))
            .transpose()?,
        description: body
            .description
            .map(|it| it.trim().chars().take(500).collect()),
        status: body
            .status
            .as_deref()
            .map(|it| component_status("status", it))
            .transpose()?,
        position: body.position,
        showcase: body.showcase,
        only_show_if_degraded: body.only_show_if_degraded,
    };
    let updated = state
        .store
        .update_status_component(&id, patch, firebreak_store::clock::now())
        .await?;
    refresh(&state).await;
    let all = state.store.status_components().await?;
    Ok(Json(component_dto(&updated, &all)))
}

#[derive(Deserialize, ToSchema, Debug)]
#[serde(deny_unknown_fields)]
pub struct PublishBody {
    /// The internal incident this is the public face of (`INC-3` or a UUID).
    pub incident: Option<String>,
    /// What customers read as the title.
    pub name: String,
    /// none, minor, major, critical (default minor).
    pub impact: Option<String>,
    /// investigating (default), identified, monitoring, resolved.
    pub status: Option<String>,
    /// The first public update.
    pub body: String,
    /// Component id → the status this sets it to.
    #[serde(default)]
    pub components: BTreeMap<String, String>,
}

#[derive(Deserialize, ToSchema, Debug)]
#[serde(deny_unknown_fields)]
pub struct PublicUpdateBody {
    /// investigating, identified, monitoring, resolved, postmortem.
    pub status: String,
    pub body: String,
    /// Component id → the status this sets it to (e.g. back to operational on resolve).
    #[serde(default)]
    pub components: BTreeMap<String, String>,
}

fn post(status: &str, body: &str, components: BTreeMap<String, String>) -> ApiResult<PublicPost> {
    let status = PublicStatus::parse(status).ok_or_else(|| {
        ApiError::field(
            "status",
            format!(
                "unknown status {status:?}; expected one of {}",
                PublicStatus::expected()
            ),
        )
    })?;
    let components = components
        .into_iter()
        .map(|(id, it)| Ok((id, component_status("components", &it)?)))
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(PublicPost {
        status,
        body: text("body", body, 5_000)?,
        components,
    })
}

/// Publish an incident on the status page with its first public update.
#[utoipa::path(post, path = "/api/v1/status/incidents", tag = "status page", request_body = PublishBody,
    responses((status = 201, body = PublicIncidentDto), (status = 422, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn publish(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<PublishBody>,
) -> ApiResult<(StatusCode, Json<PublicIncidentDto>)> {
    caller.require(Role::Responder)?;
    let incident_id = match body.incident.as_deref().filter(|it| !it.is_empty()) {
        Some(key) => Some(
            visible(&state, &caller, key, "publish on the status page")
                .await?
                .id
                .to_string(),
        ),
        None => None,
    };
    let impact = match body.impact.as_deref() {
        Some(text) => Impact::parse(text).ok_or_else(|| {
            ApiError::field(
                "impact",
                format!(
                    "unknown impact {text:?}; expected one of {}",
                    Impact::expected()
                ),
            )
        })?,
        None => Impact::Minor,
    };
    let name = text("name", &body.name, 200)?;
    let post = post(
        body.status.as_deref().unwrap_or("investigating"),
        &body.body,
        body.components,
    )?;
    let published = state
        .store
        .publish_incident(
            (incident_id, name, impact),
            post,
            firebreak_store::clock::now(),
        )
        .await?;
    record_on_timeline(&state, &caller.actor(), &published).await;
    refresh(&state).await;
    Ok((StatusCode::CREATED, Json(public_incident_dto(&published))))
}

/// Post a public update: the new state, what customers read, and component statuses.
#[utoipa::path(post, path = "/api/v1/status/incidents/{id}/updates", tag = "status page", request_body = PublicUpdateBody,
    params(("id" = String, Path, description = "Public incident id")),
    responses((status = 200, body = PublicIncidentDto), (status = 422, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn post_update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<PublicUpdateBody>,
) -> ApiResult<Json<PublicIncidentDto>> {
    caller.require(Role::Responder)?;
    let post = post(&body.status, &body.body, body.components)?;
    let current = state.store.public_incident(&id).await?;
    let family = if current.window.is_some() {
        PublicStatus::MAINTENANCE
    } else {
        PublicStatus::INCIDENT
    };
    if !family.contains(&post.status) {
        let allowed: Vec<&str> = family.iter().map(|it| it.as_str()).collect();
        return Err(ApiError::field(
            "status",
            format!(
                "a {} moves through {}",
                if current.window.is_some() {
                    "maintenance window"
                } else {
                    "public incident"
                },
                allowed.join(", ")
            ),
        ));
    }
    let updated = state
        .store
        .post_public_update(&id, post, firebreak_store::clock::now())
        .await?;
    record_on_timeline(&state, &caller.actor(), &updated).await;
    refresh(&state).await;
    Ok(Json(public_incident_dto(&updated)))
}

#[derive(Deserialize, ToSchema, Debug)]
#[serde(deny_unknown_fields)]
pub struct MaintenanceBody {
    pub name: String,
    /// What will happen and what customers may notice.
    pub body: String,
    /// RFC 3339 start and end.
    pub scheduled_for: String,
    pub scheduled_until: String,
    /// Component ids that go under maintenance while it is in progress.
    #[serde(default)]
    pub components: Vec<String>,
}

/// Schedule a maintenance window. At its start its components go `under_maintenance` and it
/// moves to `in_progress`; at its end they go back to `operational` and it is `completed` —
/// by the status page's clock, each with a public update. Post `verifying` (or an early
/// `completed`) by hand with `…/incidents/{id}/updates`.
#[utoipa::path(post, path = "/api/v1/status/maintenances", tag = "status page", request_body = MaintenanceBody,
    responses((status = 201, body = PublicIncidentDto), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn schedule(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<MaintenanceBody>,
) -> ApiResult<(StatusCode, Json<PublicIncidentDto>)> {
    caller.require(Role::Responder)?;
    let at = |field: &str, value: &str| -> ApiResult<jiff::Timestamp> {
        value
            .parse()
            .map_err(|_| ApiError::field(field, "an RFC 3339 time, e.g. 2026-12-01T02:00:00Z"))
    };
    let (from, until) = (
        at("scheduled_for", &body.scheduled_for)?,
        at("scheduled_until", &body.scheduled_until)?,
    );
    if until <= from {
        return Err(ApiError::field(
            "scheduled_until",
            "the window must end after it starts",
        ));
    }
    let window = firebreak_store::Window {
        scheduled_for: from,
        scheduled_until: until,
        components: body.components,
    };
    let scheduled = state
        .store
        .schedule_maintenance(
            text("name", &body.name, 200)?,
            window,
            text("body", &body.body, 5_000)?,
            firebreak_store::clock::now(),
        )
        .await?;
    refresh(&state).await;
    Ok((StatusCode::CREATED, Json(public_incident_dto(&scheduled))))
}

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct SubscriberDto {
    pub id: String,
    /// email or webhook.
    pub kind: String,
    pub address: String,
    /// Component ids; empty: every component.
    pub components: Vec<String>,
    /// An email subscriber followed the confirmation link (webhooks added here are confirmed).
    pub confirmed: bool,
    pub created_at: String,
    /// A new webhook's signing secret, shown once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

#[derive(Deserialize, ToSchema, Debug)]
#[serde(deny_unknown_fields)]
pub struct NewSubscriberBody {
    /// An email address (sent a confirmation link) …
    pub email: Option<String>,
    /// … or a webhook URL (signed like every Firebreak webhook; the secret is answered once).
    pub webhook_url: Option<String>,
    /// Component ids; empty: every component.
    #[serde(default)]
    pub components: Vec<String>,
    /// A webhook's signing secret; generated when absent (and shown once).
    pub secret: Option<String>,
}

fn subscriber_dto(it: firebreak_store::Subscriber, secret: Option<String>) -> SubscriberDto {
    SubscriberDto {
        id: it.id,
        kind: it.kind,
        address: it.address,
        components: it.components,
        confirmed: it.confirmed,
        created_at: it.created_at.to_string(),
        secret,
    }
}

/// The status page's subscribers (admins).
#[utoipa::path(get, path = "/api/v1/status/subscribers", tag = "status page",
    responses((status = 200, body = Vec<SubscriberDto>)), security(("bearer" = [])))]
pub async fn subscribers(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<SubscriberDto>>> {
    caller.require(Role::Admin)?;
    let list = state.store.status_subscribers().await?;
    Ok(Json(
        list.into_iter()
            .map(|it| subscriber_dto(it, None))
            .collect(),
    ))
}

/// Add a subscriber (admins): an email (it gets the confirmation link, like the public form)
/// or a webhook (confirmed at once; its signing secret is answered once).
#[utoipa::path(post, path = "/api/v1/status/subscribers", tag = "status page", request_body = NewSubscriberBody,
    responses((status = 201, body = SubscriberDto), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn add_subscriber(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<NewSubscriberBody>,
) -> ApiResult<(StatusCode, Json<SubscriberDto>)> {
    caller.require(Role::Admin)?;
    let new = match (body.email, body.webhook_url) {
        (Some(email), None) => NewSubscription {
            kind: "email".into(),
            address: firebreak_core::person::parse_email(&email)
                .ok_or_else(|| ApiError::field("email", "not an email address"))?,
            components: body.components,
            secret: None,
            confirmed: false,
        },
        (None, Some(url)) => {
            let url = crate::webhooks::outbound_url(&state, "webhook_url", &url)?;
            NewSubscription {
                kind: "webhook".into(),
                address: url,
                components: body.components,
                secret: Some(match body.secret.filter(|it| !it.is_empty()) {
                    Some(secret) if secret.len() >= 16 => secret,
                    Some(_) => {
                        return Err(ApiError::field("secret", "at least 16 characters"));
                    }
                    None => crate::webhooks::random_secret()?,
                }),
                confirmed: true,
            }
        }
        _ => {
            return Err(ApiError::field(
                "email",
                "give either an email or a webhook_url",
            ));
        }
    };
    let secret = new.secret.clone();
    let added = state
        .store
        .add_subscriber(new, firebreak_store::clock::now())
        .await?;
    Ok((StatusCode::CREATED, Json(subscriber_dto(added, secret))))
}

/// The public incidents, newest first (50).
#[utoipa::path(get, path = "/api/v1/status/incidents", tag = "status page",
    responses((status = 200, body = Vec<PublicIncidentDto>)), security(("bearer" = [])))]
pub async fn incidents(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<PublicIncidentDto>>> {
    caller.require(Role::Viewer)?;
    let list = state.store.public_incidents(None, 50).await?;
    Ok(Json(list.iter().map(public_incident_dto).collect()))
}
