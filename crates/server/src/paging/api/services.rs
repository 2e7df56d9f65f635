//! Services and their integration keys (shown once, revocable).

use super::*;

// ----- services and integration keys -----

#[derive(Deserialize, ToSchema, Debug)]
#[serde(deny_unknown_fields)]
pub struct ServiceBody {
    pub name: String,
    /// The owner team (id or name).
    pub team: Option<String>,
    /// The escalation policy (id or name); without one, alerts are kept but page nobody.
    pub escalation_policy: Option<String>,
    /// Services this one depends on (ids or names).
    #[serde(default)]
    pub depends_on: Vec<String>,
    #[serde(default)]
    pub runbook_url: String,
    /// Alert-storm grouping: alerts opened within this many minutes of an open alert join it
    /// and page nobody more (0 to 1440; 0, the default: off).
    #[serde(default)]
    pub group_window_minutes: i64,
    /// Open an incident (in triage) for every new alert of at least this severity: critical,
    /// error, warning, info. Empty: never.
    #[serde(default)]
    pub auto_declare_severity: String,
}

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

/// Checks and stores a new service (admins); the API and the services page come here.
pub async fn add_service(
    state: &AppState,
    caller: &Caller,
    body: &ServiceBody,
) -> ApiResult<Service> {
    caller.require(Role::Admin)?;
    let service = checked_service(state, body).await?;
    Ok(state
        .store
        .create_service(&service, firebreak_store::clock::now())
        .await?)
}

/// Checks and replaces a service's settings (admins); the API and the services page come here.
pub async fn save_service(
    state: &AppState,
    caller: &Caller,
    id_or_name: &str,
    body: &ServiceBody,
) -> ApiResult<Service> {
    caller.require(Role::Admin)?;
    let existing = state
        .store
        .service(id_or_name)
        .await
        .map_err(not_found("service"))?;
    let service = Service {
        id: existing.id.clone(),
        ..checked_service(state, body).await?
    };
    if service.depends_on.contains(&service.id) {
        return Err(ApiError::field(
            "depends_on",
            "a service cannot depend on itself",
        ));
    }
    state
        .store
        .replace_service(&service, firebreak_store::clock::now())
        .await
        .map_err(not_found("service"))
}

/// A service as the body describes it (without an id), names resolved to ids.
pub(crate) async fn checked_service(state: &AppState, body: &ServiceBody) -> ApiResult<Service> {
    let name = name_of("name", &body.name)?;
    let team_id = match body.team.as_deref().filter(|it| !it.is_empty()) {
        Some(team) => Some(
            state
                .store
                .team(team)
                .await
                .map_err(|_| ApiError::field("team", format!("no team {team:?}")))?
                .id,
        ),
        None => None,
    };
    let policy_id = match body
        .escalation_policy
        .as_deref()
        .filter(|it| !it.is_empty())
    {
        Some(policy) => Some(
            state
                .store
                .policy(policy)
                .await
                .map_err(|_| ApiError::field("escalation_policy", format!("no policy {policy:?}")))?
                .id,
        ),
        None => None,
    };
    let mut depends_on = Vec::new();
    for other in &body.depends_on {
        depends_on.push(
            state
                .store
                .service(other)
                .await
                .map_err(|_| ApiError::field("depends_on", format!("no service {other:?}")))?
                .id,
        );
    }
    let runbook_url = body.runbook_url.trim().to_string();
    if !(0..=1440).contains(&body.group_window_minutes) {
        return Err(ApiError::field("group_window_minutes", "0 (off) to 1440"));
    }
    let auto_declare_severity = body.auto_declare_severity.trim().to_string();
    if !auto_declare_severity.is_empty() && AlertSeverity::parse(&auto_declare_severity).is_none() {
        return Err(ApiError::field(
            "auto_declare_severity",
            "critical, error, warning, info, or empty for never",
        ));
    }
    let web = runbook_url.starts_with("https://") || runbook_url.starts_with("http://");
    if !(runbook_url.is_empty() || web) {
        return Err(ApiError::field("runbook_url", "an http(s) address"));
    }
    Ok(Service {
        id: String::new(),
        name,
        team_id,
        policy_id,
        depends_on,
        runbook_url,
        group_window_minutes: body.group_window_minutes,
        auto_declare_severity,
    })
}

#[derive(Deserialize, ToSchema, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct KeyBody {
    /// What sends with it, e.g. "alertmanager".
    #[serde(default)]
    pub name: String,
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
    responses((status = 201, body = KeyDto), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn create_key(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<KeyBody>,
) -> ApiResult<(StatusCode, Json<KeyDto>)> {
    let (created, key) = new_key(&state, &caller, &id, &body.name).await?;
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

/// Makes an integration key (admins): the stored record and the key, which is not kept.
pub async fn new_key(
    state: &AppState,
    caller: &Caller,
    service: &str,
    name: &str,
) -> ApiResult<(firebreak_store::IntegrationKey, String)> {
    caller.require(Role::Admin)?;
    let service = state
        .store
        .service(service)
        .await
        .map_err(not_found("service"))?;
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(ApiError::internal)?;
    let key: String = bytes.iter().map(|it| format!("{it:02x}")).collect();
    let name = if name.trim().is_empty() {
        "integration".to_string()
    } else {
        name_of("name", name)?
    };
    let created = state
        .store
        .create_integration_key(
            &service.id,
            &name,
            &firebreak_core::token::hash_token(&key),
            firebreak_store::clock::now(),
        )
        .await?;
    Ok((created, key))
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
