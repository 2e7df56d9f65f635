//! Services and their integration keys (shown once, revocable).

use super::*;
use crate::paging::service::{ServiceBody, add_service, new_key, save_service};

// ----- services and integration keys -----

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct ServiceDto {
    pub id: String,
    pub name: String,
    pub team_id: Option<String>,
    pub escalation_policy_id: Option<String>,
    pub depends_on: Vec<String>,
    pub runbook_url: String,
    pub group_window_minutes: i64,
    pub auto_declare_severity: String,
    /// Shadow mode: alerts are escalated on paper only (whom Firebreak would have paged is in
    /// each alert's log); nobody is paged.
    pub shadow: bool,
}

pub(crate) fn service_dto(it: Service) -> ServiceDto {
    ServiceDto {
        id: it.id,
        name: it.name,
        team_id: it.team_id,
        escalation_policy_id: it.policy_id,
        depends_on: it.depends_on,
        runbook_url: it.runbook_url,
        group_window_minutes: it.group_window_minutes,
        auto_declare_severity: it.auto_declare_severity,
        shadow: it.shadow,
    }
}

#[utoipa::path(get, path = "/api/v1/services", tag = "paging",
    responses((status = 200, body = Vec<ServiceDto>)), security(("bearer" = [])))]
pub async fn services(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<ServiceDto>>> {
    caller.require(Role::Viewer)?;
    Ok(Json(
        state
            .store
            .services()
            .await?
            .into_iter()
            .map(service_dto)
            .collect(),
    ))
}

#[utoipa::path(get, path = "/api/v1/services/{id}", tag = "paging",
    params(("id" = String, Path, description = "Id or name")),
    responses((status = 200, body = ServiceDto), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn service(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<ServiceDto>> {
    caller.require(Role::Viewer)?;
    Ok(Json(service_dto(
        state
            .store
            .service(&id)
            .await
            .map_err(not_found("service"))?,
    )))
}

/// Create a service (admin).
#[utoipa::path(post, path = "/api/v1/services", tag = "paging", request_body = ServiceBody,
    responses((status = 201, body = ServiceDto), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_service(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<ServiceBody>,
) -> ApiResult<(StatusCode, Json<ServiceDto>)> {
    let created = add_service(&state, &caller, &body).await?;
    Ok((StatusCode::CREATED, Json(service_dto(created))))
}

/// Replace a service's settings (admin): name, team, policy, dependencies, runbook, storm
/// grouping, auto-declare. Its id and integration keys stay; alerts already open keep the
/// policy they started with.
#[utoipa::path(put, path = "/api/v1/services/{id}", tag = "paging", request_body = ServiceBody,
    params(("id" = String, Path, description = "Id or name")),
    responses((status = 200, body = ServiceDto), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn replace_service(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ServiceBody>,
) -> ApiResult<Json<ServiceDto>> {
    let saved = save_service(&state, &caller, &id, &body).await?;
    Ok(Json(service_dto(saved)))
}

#[derive(Deserialize, ToSchema, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct KeyBody {
    /// What sends with it, e.g. "alertmanager".
    #[serde(default)]
    pub name: String,
    /// Keep a key the senders already use (moving in): a PagerDuty integration key or an
    /// Opsgenie API integration's key, 20 to 64 letters, digits, `-` or `_`. Without it a new
    /// random key is made. A key in use by any service is a 409.
    #[serde(default)]
    pub key: Option<String>,
}

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct KeyDto {
    pub id: String,
    pub name: String,
    pub created_at: String,
    pub revoked_at: Option<String>,
    /// Only when created: the key itself (32 characters, PagerDuty's routing-key length).
    pub key: Option<String>,
    /// Only when created: where each format sends with it.
    pub endpoints: Option<Value>,
}

/// Create an integration key for a service (admin); the key is in this answer only.
#[utoipa::path(post, path = "/api/v1/services/{id}/integration-keys", tag = "paging", request_body = KeyBody,
    params(("id" = String, Path, description = "Service id or name")),
    responses((status = 201, body = KeyDto), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn create_key(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<KeyBody>,
) -> ApiResult<(StatusCode, Json<KeyDto>)> {
    let (created, key) = new_key(&state, &caller, &id, &body.name, body.key.as_deref()).await?;
    let base = state.settings.base_url();
    Ok((
        StatusCode::CREATED,
        Json(KeyDto {
            id: created.id,
            name: created.name,
            created_at: created.created_at.to_string(),
            revoked_at: None,
            endpoints: Some(serde_json::json!({
                "pagerduty_events_v2": format!("{base}/v2/enqueue (routing_key: the key)"),
                "alertmanager_webhook": format!("{base}/integrations/alertmanager/{key}"),
                "opsgenie": format!("{base}/v2/alerts (Authorization: GenieKey <the key>)"),
                "generic": format!("{base}/api/v1/alerts (integration_key in the body)"),
            })),
            key: Some(key),
        }),
    ))
}

#[utoipa::path(get, path = "/api/v1/services/{id}/integration-keys", tag = "paging",
    params(("id" = String, Path, description = "Service id or name")),
    responses((status = 200, body = Vec<KeyDto>), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn keys(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<KeyDto>>> {
    caller.require(Role::Admin)?;
    let service = state
        .store
        .service(&id)
        .await
        .map_err(not_found("service"))?;
    Ok(Json(
        state
            .store
            .integration_keys(&service.id)
            .await?
            .into_iter()
            .map(|it| KeyDto {
                id: it.id,
                name: it.name,
                created_at: it.created_at.to_string(),
                revoked_at: it.revoked_at.map(|at| at.to_string()),
                key: None,
                endpoints: None,
            })
            .collect(),
    ))
}

/// Revoke an integration key (admin): events sent with it are refused from now on.
#[utoipa::path(delete, path = "/api/v1/services/{id}/integration-keys/{key_id}", tag = "paging",
    params(("id" = String, Path, description = "Service id or name"), ("key_id" = String, Path, description = "Key id")),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn revoke_key(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, key_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    caller.require(Role::Admin)?;
    let service = state
        .store
        .service(&id)
        .await
        .map_err(not_found("service"))?;
    state
        .store
        .revoke_integration_key(&service.id, &key_id, firebreak_store::clock::now())
        .await
        .map_err(not_found("integration key"))?;
    Ok(StatusCode::NO_CONTENT)
}
