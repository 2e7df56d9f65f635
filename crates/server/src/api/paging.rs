//! The paging catalog and alerts over REST: teams, escalation policies, services and their
//! integration keys (shown once, revocable), generic alert ingestion, alerts with their log,
//! acknowledge and resolve — and the one-click links in pages.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use firebreak_core::Role;
use firebreak_core::paging::{AlertAction, AlertSeverity};
use firebreak_store::{Alert, IncomingAlert, PolicyDoc, Service, StepDoc, StoreError, TargetDoc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, Caller};

pub(crate) fn not_found(what: &'static str) -> impl Fn(StoreError) -> ApiError {
    move |err| match err {
        StoreError::NotFound => ApiError::not_found(what),
        other => other.into(),
    }
}

fn name_of(field: &str, text: &str) -> ApiResult<String> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > 100 {
        return Err(ApiError::field(field, "1 to 100 characters"));
    }
    Ok(text.to_string())
}

// ----- teams -----

#[derive(Deserialize, ToSchema, Debug)]
#[serde(deny_unknown_fields)]
pub struct TeamBody {
    pub name: String,
    /// Emails.
    #[serde(default)]
    pub members: Vec<String>,
}

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct TeamDto {
    pub id: String,
    pub name: String,
    pub members: Vec<String>,
}

#[utoipa::path(get, path = "/api/v1/teams", tag = "paging",
    responses((status = 200, body = Vec<TeamDto>)), security(("bearer" = [])))]
pub async fn teams(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Vec<TeamDto>>> {
    caller.require(Role::Viewer)?;
    Ok(Json(
        state
            .store
            .teams()
            .await?
            .into_iter()
            .map(|it| TeamDto {
                id: it.id,
                name: it.name,
                members: it.members,
            })
            .collect(),
    ))
}

/// Create a team (admin).
#[utoipa::path(post, path = "/api/v1/teams", tag = "paging", request_body = TeamBody,
    responses((status = 201, body = TeamDto), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_team(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<TeamBody>,
) -> ApiResult<(StatusCode, Json<TeamDto>)> {
    caller.require(Role::Admin)?;
    let name = name_of("name", &body.name)?;
    let members = body
        .members
        .iter()
        .map(|it| {
            firebreak_core::person::parse_email(it).ok_or_else(|| {
                ApiError::field("members", format!("{it:?} is not an email address"))
            })
        })
        .collect::<ApiResult<Vec<_>>>()?;
    let team = state
        .store
        .create_team(&name, &members, firebreak_store::clock::now())
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(TeamDto {
            id: team.id,
            name: team.name,
            members: team.members,
        }),
    ))
}

// ----- escalation policies -----

#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct TargetBody {
    /// `person` (an email) or `schedule` (a schedule's id or name).
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
}

#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct StepBody {
    pub targets: Vec<TargetBody>,
    /// Minutes to wait for an acknowledgement before the next step (1 to 1440).
    pub delay_minutes: i64,
}

#[derive(Deserialize, ToSchema, Debug)]
#[serde(deny_unknown_fields)]
pub struct PolicyBody {
    pub name: String,
    pub steps: Vec<StepBody>,
    /// How many more times the whole policy runs after the last step (0 to 9).
    #[serde(default)]
    pub repeat: i64,
}

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct PolicyDto {
    pub id: String,
    pub name: String,
    pub steps: Vec<StepBody>,
    pub repeat: i64,
}

fn policy_dto(it: firebreak_store::EscalationPolicy) -> PolicyDto {
    PolicyDto {
        id: it.id,
        name: it.name,
        steps: it
            .policy
            .steps
            .into_iter()
            .map(|step| StepBody {
                targets: step
                    .targets
                    .into_iter()
                    .map(|t| TargetBody {
                        kind: t.kind,
                        id: t.id,
                    })
                    .collect(),
                delay_minutes: step.delay_minutes,
            })
            .collect(),
        repeat: it.policy.repeat,
    }
}

/// Checks a policy: people are emails, schedules exist (stored by id), steps and repeats
/// within bounds.
async fn policy_doc(state: &AppState, body: &PolicyBody) -> ApiResult<PolicyDoc> {
    let mut steps = Vec::new();
    for (i, step) in body.steps.iter().enumerate() {
        let field = format!("steps[{i}].targets");
        let mut targets = Vec::new();
        for target in &step.targets {
            match target.kind.as_str() {
                "person" => targets.push(TargetDoc {
                    kind: "person".into(),
                    id: firebreak_core::person::parse_email(&target.id).ok_or_else(|| {
                        ApiError::field(&field, format!("{:?} is not an email address", target.id))
                    })?,
                }),
                "schedule" => {
                    let schedule = state.store.schedule(&target.id).await.map_err(|_| {
                        ApiError::field(&field, format!("no schedule {:?}", target.id))
                    })?;
                    targets.push(TargetDoc {
                        kind: "schedule".into(),
                        id: schedule.id,
                    });
                }
                other => {
                    return Err(ApiError::field(
                        &field,
                        format!("a target is a person or a schedule, not {other:?}"),
                    ));
                }
            }
        }
        steps.push(StepDoc {
            targets,
            delay_minutes: step.delay_minutes,
        });
    }
    let doc = PolicyDoc {
        steps,
        repeat: body.repeat,
    };
    doc.to_core()
        .check()
        .map_err(|err| ApiError::field("steps", err.to_string()))?;
    Ok(doc)
}

#[utoipa::path(get, path = "/api/v1/escalation-policies", tag = "paging",
    responses((status = 200, body = Vec<PolicyDto>)), security(("bearer" = [])))]
pub async fn policies(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<PolicyDto>>> {
    caller.require(Role::Viewer)?;
    Ok(Json(
        state
            .store
            .policies()
            .await?
            .into_iter()
            .map(policy_dto)
            .collect(),
    ))
}

/// Create an escalation policy (admin).
#[utoipa::path(post, path = "/api/v1/escalation-policies", tag = "paging", request_body = PolicyBody,
    responses((status = 201, body = PolicyDto), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_policy(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<PolicyBody>,
) -> ApiResult<(StatusCode, Json<PolicyDto>)> {
    let created = save_policy(&state, &caller, &body, false).await?;
    Ok((StatusCode::CREATED, Json(policy_dto(created))))
}

/// Checks and stores a policy: a new one, or (with `replace`) the one of that name (admins).
/// The API and the services page come here.
pub async fn save_policy(
    state: &AppState,
    caller: &Caller,
    body: &PolicyBody,
    replace: bool,
) -> ApiResult<firebreak_store::EscalationPolicy> {
    caller.require(Role::Admin)?;
    let name = name_of("name", &body.name)?;
    let doc = policy_doc(state, body).await?;
    let now = firebreak_store::clock::now();
    match state.store.policy(&name).await {
        Ok(current) if replace => {
            state.store.update_policy(&current.id, &doc, now).await?;
            Ok(state.store.policy(&current.id).await?)
        }
        _ => Ok(state.store.create_policy(&name, &doc, now).await?),
    }
}

/// Replace a policy's steps (admin). Alerts already escalating keep the snapshot they took.
#[utoipa::path(put, path = "/api/v1/escalation-policies/{id}", tag = "paging", request_body = PolicyBody,
    params(("id" = String, Path, description = "Id or name")),
    responses((status = 200, body = PolicyDto), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn replace_policy(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<PolicyBody>,
) -> ApiResult<Json<PolicyDto>> {
    caller.require(Role::Admin)?;
    let current = state.store.policy(&id).await.map_err(not_found("policy"))?;
    let doc = policy_doc(&state, &body).await?;
    state
        .store
        .update_policy(&current.id, &doc, firebreak_store::clock::now())
        .await?;
    Ok(Json(policy_dto(state.store.policy(&current.id).await?)))
}

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

fn service_dto(it: Service) -> ServiceDto {
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
async fn checked_service(state: &AppState, body: &ServiceBody) -> ApiResult<Service> {
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

// ----- silences and maintenance windows -----

#[derive(Deserialize, ToSchema, Debug)]
#[serde(deny_unknown_fields)]
pub struct SilenceBody {
    /// One service (id or name); without it, every service.
    pub service: Option<String>,
    /// Alerts whose summary or dedup key contains this (any case); empty: every alert — with
    /// a service, that is a maintenance window.
    #[serde(default)]
    pub matching: String,
    /// RFC 3339; default now.
    pub starts_at: Option<String>,
    /// How long (1 minute to 7 days).
    pub duration_minutes: i64,
    #[serde(default)]
    pub comment: String,
}

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct SilenceDto {
    pub id: String,
    pub service_id: Option<String>,
    pub matching: String,
    pub starts_at: String,
    pub ends_at: String,
    pub comment: String,
    pub created_by: String,
}

fn silence_dto(it: &firebreak_core::paging::Silence, comment: &str, by: &str) -> SilenceDto {
    SilenceDto {
        id: it.id.clone(),
        service_id: it.service_id.clone(),
        matching: it.matching.clone(),
        starts_at: it.starts.to_string(),
        ends_at: it.ends.to_string(),
        comment: comment.into(),
        created_by: by.into(),
    }
}

/// Silence alerts (responder): they are kept and shown, but page nobody while it lasts.
#[utoipa::path(post, path = "/api/v1/silences", tag = "paging", request_body = SilenceBody,
    responses((status = 201, body = SilenceDto), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn create_silence(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<SilenceBody>,
) -> ApiResult<(StatusCode, Json<SilenceDto>)> {
    let created = silence(&state, &caller, &body).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// The API and the services page come here.
pub async fn silence(
    state: &AppState,
    caller: &Caller,
    body: &SilenceBody,
) -> ApiResult<SilenceDto> {
    caller.require(Role::Responder)?;
    let service_id = match body.service.as_deref().filter(|it| !it.is_empty()) {
        Some(service) => Some(
            state
                .store
                .service(service)
                .await
                .map_err(|_| ApiError::field("service", format!("no service {service:?}")))?
                .id,
        ),
        None => None,
    };
    if !(1..=7 * 1440).contains(&body.duration_minutes) {
        return Err(ApiError::field("duration_minutes", "1 minute to 7 days"));
    }
    let matching = body.matching.trim().to_string();
    if matching.chars().count() > 200 || body.comment.chars().count() > 500 {
        return Err(ApiError::field(
            "matching",
            "at most 200 characters (comment: 500)",
        ));
    }
    if service_id.is_none() && matching.is_empty() {
        return Err(ApiError::field(
            "matching",
            "silencing every alert of every service needs some text to match",
        ));
    }
    let now = firebreak_store::clock::now();
    let starts = match body.starts_at.as_deref().filter(|it| !it.is_empty()) {
        Some(text) => text
            .parse()
            .map_err(|_| ApiError::field("starts_at", "an RFC 3339 time"))?,
        None => now,
    };
    let wanted = firebreak_core::paging::Silence {
        id: String::new(),
        service_id,
        matching,
        starts,
        ends: starts + jiff::SignedDuration::from_mins(body.duration_minutes),
    };
    let created = state
        .store
        .create_silence(&wanted, body.comment.trim(), &caller.actor(), now)
        .await?;
    Ok(silence_dto(&created, body.comment.trim(), &caller.actor()))
}

/// Silences and maintenance windows now or to come.
#[utoipa::path(get, path = "/api/v1/silences", tag = "paging",
    responses((status = 200, body = Vec<SilenceDto>)), security(("bearer" = [])))]
pub async fn silences(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<SilenceDto>>> {
    caller.require(Role::Viewer)?;
    Ok(Json(
        state
            .store
            .silences(firebreak_store::clock::now())
            .await?
            .iter()
            .map(|(it, comment, by)| silence_dto(it, comment, by))
            .collect(),
    ))
}

/// End a silence now (responder).
#[utoipa::path(delete, path = "/api/v1/silences/{id}", tag = "paging",
    params(("id" = String, Path, description = "Silence id")),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn end_silence(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    caller.require(Role::Responder)?;
    state
        .store
        .end_silence(&id, firebreak_store::clock::now())
        .await
        .map_err(not_found("silence"))?;
    Ok(StatusCode::NO_CONTENT)
}

// ----- how you are paged -----

#[derive(Deserialize, ToSchema, Debug)]
#[serde(deny_unknown_fields)]
pub struct ContactBody {
    /// `email` or `webhook`.
    pub kind: String,
    /// An email address, or an http(s) URL for a webhook.
    pub address: String,
    /// A webhook's signing secret (16+ characters); made for you when absent.
    pub secret: Option<String>,
}

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct ContactDto {
    pub id: String,
    pub kind: String,
    pub address: String,
    /// Only when a webhook is created: the secret its pages are signed with
    /// (`Firebreak-Signature`, as outgoing webhooks).
    pub secret: Option<String>,
}

#[derive(Deserialize, ToSchema, Debug)]
#[serde(deny_unknown_fields)]
pub struct RuleBody {
    /// One of your contact methods.
    pub contact_method: String,
    /// Minutes after the page (0: at once; at most 60).
    pub delay_minutes: i64,
}

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct RuleDto {
    pub id: String,
    pub contact_method: ContactDto,
    pub delay_minutes: i64,
}

fn person_of(caller: &Caller) -> ApiResult<String> {
    caller
        .user
        .as_ref()
        .map(|it| it.email.clone())
        .ok_or_else(|| ApiError::not_found("person for this token"))
}

fn contact_dto(it: firebreak_store::ContactMethod, secret: Option<String>) -> ContactDto {
    ContactDto {
        id: it.id,
        kind: it.kind,
        address: it.address,
        secret,
    }
}

/// Add a way to reach you when you are paged (email or a signed webhook).
#[utoipa::path(post, path = "/api/v1/me/contact-methods", tag = "paging", request_body = ContactBody,
    responses((status = 201, body = ContactDto), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn add_contact(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<ContactBody>,
) -> ApiResult<(StatusCode, Json<ContactDto>)> {
    let created = contact(&state, &caller, &body).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// The API and the account page come here.
pub async fn contact(
    state: &AppState,
    caller: &Caller,
    body: &ContactBody,
) -> ApiResult<ContactDto> {
    caller.require(Role::Viewer)?;
    let person = person_of(caller)?;
    let (address, secret) = match body.kind.as_str() {
        "email" => (
            firebreak_core::person::parse_email(&body.address)
                .ok_or_else(|| ApiError::field("address", "an email address"))?,
            None,
        ),
        "webhook" => {
            let url = body.address.trim();
            if !(url.starts_with("https://") || url.starts_with("http://")) || url.len() > 2000 {
                return Err(ApiError::field("address", "an http(s) URL"));
            }
            let secret = match body.secret.as_deref() {
                Some(secret) if secret.len() >= 16 && secret.len() <= 200 => secret.to_string(),
                Some(_) => return Err(ApiError::field("secret", "16 to 200 characters")),
                None => crate::api::webhooks::random_secret()?,
            };
            (url.to_string(), Some(secret))
        }
        _ => return Err(ApiError::field("kind", "email or webhook")),
    };
    let created = state
        .store
        .create_contact_method(
            &person,
            (&body.kind, &address, secret.as_deref()),
            firebreak_store::clock::now(),
        )
        .await?;
    Ok(contact_dto(created, secret))
}

#[utoipa::path(get, path = "/api/v1/me/contact-methods", tag = "paging",
    responses((status = 200, body = Vec<ContactDto>)), security(("bearer" = [])))]
pub async fn contacts(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<ContactDto>>> {
    let person = person_of(&caller)?;
    Ok(Json(
        state
            .store
            .contact_methods(&person)
            .await?
            .into_iter()
            .map(|it| contact_dto(it, None))
            .collect(),
    ))
}

/// Remove one of your contact methods (and the rules that use it).
#[utoipa::path(delete, path = "/api/v1/me/contact-methods/{id}", tag = "paging",
    params(("id" = String, Path, description = "Contact method id")),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn delete_contact(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let person = person_of(&caller)?;
    state
        .store
        .delete_contact_method(&person, &id)
        .await
        .map_err(not_found("contact method"))?;
    Ok(StatusCode::NO_CONTENT)
}

/// Add a rule: when you are paged, use this contact method after this many minutes (a method
/// may be used again later: "email now, and again after 10 minutes"). With no rules, a page
/// is an email to your address at once. At most 10 rules.
#[utoipa::path(post, path = "/api/v1/me/notification-rules", tag = "paging", request_body = RuleBody,
    responses((status = 201, body = RuleDto), (status = 409, body = ErrorBody, description = "the same rule exists, or 10 rules do"),
        (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn add_rule(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<RuleBody>,
) -> ApiResult<(StatusCode, Json<RuleDto>)> {
    let created = rule(&state, &caller, &body).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// The API and the account page come here.
pub async fn rule(state: &AppState, caller: &Caller, body: &RuleBody) -> ApiResult<RuleDto> {
    let person = person_of(caller)?;
    if !(0..=60).contains(&body.delay_minutes) {
        return Err(ApiError::field("delay_minutes", "0 to 60"));
    }
    let created = state
        .store
        .create_notification_rule(
            &person,
            &body.contact_method,
            body.delay_minutes,
            firebreak_store::clock::now(),
        )
        .await
        .map_err(|err| match err {
            StoreError::NotFound => {
                ApiError::field("contact_method", "not one of your contact methods")
            }
            other => other.into(),
        })?;
    Ok(RuleDto {
        id: created.id,
        contact_method: contact_dto(created.contact_method, None),
        delay_minutes: created.delay_minutes,
    })
}

#[utoipa::path(get, path = "/api/v1/me/notification-rules", tag = "paging",
    responses((status = 200, body = Vec<RuleDto>)), security(("bearer" = [])))]
pub async fn rules(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Vec<RuleDto>>> {
    let person = person_of(&caller)?;
    Ok(Json(
        state
            .store
            .notification_rules(&person)
            .await?
            .into_iter()
            .map(|it| RuleDto {
                id: it.id,
                contact_method: contact_dto(it.contact_method, None),
                delay_minutes: it.delay_minutes,
            })
            .collect(),
    ))
}

#[utoipa::path(delete, path = "/api/v1/me/notification-rules/{id}", tag = "paging",
    params(("id" = String, Path, description = "Rule id")),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn delete_rule(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let person = person_of(&caller)?;
    state
        .store
        .delete_notification_rule(&person, &id)
        .await
        .map_err(not_found("notification rule"))?;
    Ok(StatusCode::NO_CONTENT)
}

// ----- heartbeats -----

#[derive(Deserialize, ToSchema, Debug)]
#[serde(deny_unknown_fields)]
pub struct HeartbeatBody {
    pub name: String,
    /// A ping is expected at least this often (1 to 10080 minutes).
    pub interval_minutes: i64,
}

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct HeartbeatDto {
    pub id: String,
    pub name: String,
    pub interval_minutes: i64,
    pub last_ping_at: Option<String>,
    pub next_ping_due: String,
    /// An alert is open for a missed ping.
    pub missed: bool,
    /// `POST` (or `GET`) here with one of the service's integration keys in place of `{key}`.
    pub ping_url: String,
}

fn heartbeat_dto(state: &AppState, it: firebreak_store::Heartbeat) -> HeartbeatDto {
    HeartbeatDto {
        ping_url: format!(
            "{}/integrations/heartbeat/{{key}}/{}",
            state.settings.base_url(),
            it.name
        ),
        id: it.id,
        name: it.name,
        interval_minutes: it.interval_minutes,
        last_ping_at: it.last_ping_at.map(|at| at.to_string()),
        next_ping_due: it.due_at.to_string(),
        missed: it.missed,
    }
}

/// Add a heartbeat monitor to a service (admin): a missed ping raises an alert on the service
/// (paged like any other), the next ping resolves it.
#[utoipa::path(post, path = "/api/v1/services/{id}/heartbeats", tag = "paging", request_body = HeartbeatBody,
    params(("id" = String, Path, description = "Service id or name")),
    responses((status = 201, body = HeartbeatDto), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_heartbeat(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<HeartbeatBody>,
) -> ApiResult<(StatusCode, Json<HeartbeatDto>)> {
    caller.require(Role::Admin)?;
    let service = state
        .store
        .service(&id)
        .await
        .map_err(not_found("service"))?;
    let name = name_of("name", &body.name)?;
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(ApiError::field(
            "name",
            "letters, digits, - _ . (it is part of the ping URL)",
        ));
    }
    if !(1..=10_080).contains(&body.interval_minutes) {
        return Err(ApiError::field("interval_minutes", "1 to 10080 (a week)"));
    }
    let created = state
        .store
        .create_heartbeat(
            &service.id,
            &name,
            body.interval_minutes,
            firebreak_store::clock::now(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(heartbeat_dto(&state, created))))
}

#[utoipa::path(get, path = "/api/v1/services/{id}/heartbeats", tag = "paging",
    params(("id" = String, Path, description = "Service id or name")),
    responses((status = 200, body = Vec<HeartbeatDto>), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn heartbeats(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<HeartbeatDto>>> {
    caller.require(Role::Viewer)?;
    let service = state
        .store
        .service(&id)
        .await
        .map_err(not_found("service"))?;
    Ok(Json(
        state
            .store
            .heartbeats(&service.id)
            .await?
            .into_iter()
            .map(|it| heartbeat_dto(&state, it))
            .collect(),
    ))
}

// ----- alerts -----

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct AlertDto {
    pub id: String,
    pub service_id: String,
    pub dedup_key: String,
    /// triggered, acknowledged, resolved.
    pub status: String,
    pub summary: String,
    pub severity: String,
    pub source: String,
    pub details: Value,
    pub links: Value,
    /// How many triggers this alert took (repeats are counted, not paged).
    pub count: i64,
    pub created_at: String,
    pub acknowledged_at: Option<String>,
    pub acknowledged_by: Option<String>,
    pub resolved_at: Option<String>,
    pub resolved_by: Option<String>,
    /// The escalation step paged last (1-based) and when the next one is due.
    pub step: i64,
    pub next_escalation_at: Option<String>,
    /// The incident declared from this alert (its id), if any.
    pub incident_id: Option<String>,
    /// Every step: triggered, step, paged (who and why), not_paged (why not), escalated,
    /// acknowledged, resolved, exhausted. Only on `GET /alerts/{id}`.
    pub log: Option<Vec<Value>>,
}

pub fn alert_dto(it: Alert) -> AlertDto {
    AlertDto {
        id: it.id,
        service_id: it.service_id,
        dedup_key: it.dedup_key,
        status: it.status.as_str().into(),
        summary: it.summary,
        severity: it.severity.as_str().into(),
        source: it.source,
        details: serde_json::from_str(&it.details).unwrap_or(Value::Null),
        links: serde_json::from_str(&it.links).unwrap_or(Value::Null),
        count: it.count,
        created_at: it.created_at.to_string(),
        acknowledged_at: it.acknowledged_at.map(|at| at.to_string()),
        acknowledged_by: it.acknowledged_by,
        resolved_at: it.resolved_at.map(|at| at.to_string()),
        resolved_by: it.resolved_by,
        step: it.step + 1,
        next_escalation_at: it.next_escalation_at.map(|at| at.to_string()),
        incident_id: it.incident_id,
        log: None,
    }
}

#[derive(Deserialize, Debug, Default)]
pub struct AlertsQuery {
    /// `all` to include resolved ones.
    #[serde(default)]
    pub status: String,
}

/// Alerts, newest first: open ones (or `?status=all`).
#[utoipa::path(get, path = "/api/v1/alerts", tag = "paging",
    params(("status" = Option<String>, Query, description = "all: include resolved")),
    responses((status = 200, body = Vec<AlertDto>)), security(("bearer" = [])))]
pub async fn alerts(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<AlertsQuery>,
) -> ApiResult<Json<Vec<AlertDto>>> {
    caller.require(Role::Viewer)?;
    Ok(Json(
        state
            .store
            .alerts(query.status != "all", 500)
            .await?
            .into_iter()
            .map(alert_dto)
            .collect(),
    ))
}

/// One alert with its log: who was paged and why, and who was not and why not.
#[utoipa::path(get, path = "/api/v1/alerts/{id}", tag = "paging",
    params(("id" = String, Path, description = "Alert id")),
    responses((status = 200, body = AlertDto), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn alert(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<AlertDto>> {
    caller.require(Role::Viewer)?;
    Ok(Json(with_log(&state, &id).await?))
}

pub async fn with_log(state: &AppState, id: &str) -> ApiResult<AlertDto> {
    let found = state.store.alert(id).await.map_err(not_found("alert"))?;
    let log = state
        .store
        .alert_log(id)
        .await?
        .into_iter()
        .map(|it| {
            serde_json::json!({
                "at": it.at.to_string(),
                "kind": it.kind,
                "detail": serde_json::from_str::<Value>(&it.detail).unwrap_or(Value::Null),
            })
        })
        .collect();
    Ok(AlertDto {
        log: Some(log),
        ..alert_dto(found)
    })
}

/// Acknowledge or resolve as a person: the API, the CLI and the pages come here.
pub async fn respond(
    state: &AppState,
    id: &str,
    action: AlertAction,
    by: &str,
) -> ApiResult<Alert> {
    state
        .store
        .respond_to_alert(id, action, by, firebreak_store::clock::now())
        .await
        .map_err(|err| match err {
            StoreError::NotFound => ApiError::not_found("alert"),
            StoreError::Conflict(message) => {
                ApiError::new(StatusCode::CONFLICT, "invalid_transition", message)
            }
            other => other.into(),
        })
}

/// Acknowledge: escalation stops.
#[utoipa::path(post, path = "/api/v1/alerts/{id}/ack", tag = "paging",
    params(("id" = String, Path, description = "Alert id")),
    responses((status = 200, body = AlertDto), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn ack(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<AlertDto>> {
    caller.require(Role::Responder)?;
    Ok(Json(alert_dto(
        respond(&state, &id, AlertAction::Acknowledge, &caller.actor()).await?,
    )))
}

/// Resolve: the alert closes; a new trigger with its key opens a new alert.
#[utoipa::path(post, path = "/api/v1/alerts/{id}/resolve", tag = "paging",
    params(("id" = String, Path, description = "Alert id")),
    responses((status = 200, body = AlertDto), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn resolve(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<AlertDto>> {
    caller.require(Role::Responder)?;
    Ok(Json(alert_dto(
        respond(&state, &id, AlertAction::Resolve, &caller.actor()).await?,
    )))
}

#[derive(Deserialize, ToSchema, Debug)]
#[serde(deny_unknown_fields)]
pub struct AlertBody {
    /// The service's integration key (the credential: no API token needed).
    pub integration_key: String,
    /// trigger (default), acknowledge, resolve.
    pub action: Option<String>,
    /// Scoped to the service; a trigger without one opens a new alert every time.
    pub dedup_key: Option<String>,
    /// Required for a trigger (≤ 1024 characters).
    #[serde(default)]
    pub summary: String,
    /// critical, error (default), warning, info.
    pub severity: Option<String>,
    #[serde(default)]
    pub source: String,
    /// Any JSON.
    #[serde(default)]
    pub details: Value,
    /// `[{href, text}]`.
    #[serde(default)]
    pub links: Vec<Value>,
}

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct AlertAccepted {
    /// opened, counted, acknowledged, resolved, dropped.
    pub result: String,
    pub alert_id: Option<String>,
    pub dedup_key: String,
}

/// Send an alert event with an integration key (generic JSON). Answers once it is stored.
#[utoipa::path(post, path = "/api/v1/alerts", tag = "paging", request_body = AlertBody,
    responses((status = 202, body = AlertAccepted), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 429, body = ErrorBody)))]
pub async fn ingest(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<AlertBody>,
) -> ApiResult<(StatusCode, Json<AlertAccepted>)> {
    let action = match body.action.as_deref().unwrap_or("trigger") {
        "trigger" => AlertAction::Trigger,
        "acknowledge" => AlertAction::Acknowledge,
        "resolve" => AlertAction::Resolve,
        _ => return Err(ApiError::field("action", "trigger, acknowledge or resolve")),
    };
    let severity = match body.severity.as_deref() {
        None => AlertSeverity::Error,
        Some(text) => AlertSeverity::parse(text)
            .ok_or_else(|| ApiError::field("severity", "critical, error, warning or info"))?,
    };
    let dedup_key = body.dedup_key.unwrap_or_default();
    if dedup_key.len() > 255 {
        return Err(ApiError::field("dedup_key", "at most 255 characters"));
    }
    if dedup_key.is_empty() && action != AlertAction::Trigger {
        return Err(ApiError::field(
            "dedup_key",
            "required to acknowledge or resolve",
        ));
    }
    let summary = body.summary.trim().to_string();
    if action == AlertAction::Trigger && (summary.is_empty() || summary.chars().count() > 1024) {
        return Err(ApiError::field("summary", "1 to 1024 characters"));
    }
    if !state.events.allow(
        &body.integration_key,
        state.settings.paging.events_per_minute_per_key,
    ) {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many events for this integration key; retry in a minute",
        ));
    }
    let service = state
        .store
        .service_by_key(&firebreak_core::token::hash_token(
            body.integration_key.trim(),
        ))
        .await
        .map_err(|err| match err {
            StoreError::NotFound => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "unknown or revoked integration key",
            ),
            other => other.into(),
        })?;
    let dedup_key = if dedup_key.is_empty() {
        uuid::Uuid::now_v7().simple().to_string()
    } else {
        dedup_key
    };
    let incoming = IncomingAlert {
        action,
        dedup_key: dedup_key.clone(),
        summary,
        severity,
        source: body.source.chars().take(255).collect(),
        details: body.details.to_string(),
        links: Value::Array(body.links.into_iter().take(20).collect()).to_string(),
        via: "api",
    };
    let done = crate::ingest::apply(&state, &service, &incoming).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(AlertAccepted {
            result: crate::ingest::decision_text(done.decision).into(),
            alert_id: done.alert_id,
            dedup_key,
        }),
    ))
}

#[derive(Deserialize, ToSchema, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct DeclareFromAlert {
    /// Default: the catalog's default severity.
    pub severity: Option<String>,
}

/// Declare an incident from an alert: in `triage`, titled by the alert, on its service, the
/// alert linked (once).
#[utoipa::path(post, path = "/api/v1/alerts/{id}/incident", tag = "paging", request_body = DeclareFromAlert,
    params(("id" = String, Path, description = "Alert id")),
    responses((status = 201, body = crate::api::dto::IncidentDto), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn declare_incident(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<DeclareFromAlert>,
) -> ApiResult<(StatusCode, Json<crate::api::dto::IncidentDto>)> {
    let incident = declare_from(&state, &caller, &id, body.severity).await?;
    Ok((
        StatusCode::CREATED,
        Json(crate::api::dto::IncidentDto::from_incident(
            &incident,
            firebreak_store::clock::now(),
        )),
    ))
}

/// The API and the alert page both come here.
pub async fn declare_from(
    state: &AppState,
    caller: &Caller,
    id: &str,
    severity: Option<String>,
) -> ApiResult<firebreak_core::Incident> {
    caller.require(Role::Responder)?;
    let alert = state.store.alert(id).await.map_err(not_found("alert"))?;
    if alert.incident_id.is_some() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            "an incident was already declared from this alert",
        ));
    }
    let service = state.store.service(&alert.service_id).await?;
    let raw = firebreak_core::command::RawDeclare {
        title: Some(alert.summary.chars().take(200).collect()),
        summary: Some(format!(
            "Declared from alert {} ({}, seen {} time(s), source {}).",
            alert.id, alert.severity, alert.count, alert.source
        )),
        severity,
        incident_type: None,
        impact: None,
        affected_text: None,
        affected_count: None,
        services: Some(vec![service.name]),
        private: None,
        mode: None,
        status: Some("triage".into()),
    };
    let new = firebreak_core::command::parse_declare(raw, &state.store.catalog())
        .map_err(ApiError::validation)?;
    let declared = state.store.declare(new, &caller.actor(), None).await?;
    state
        .store
        .link_alert_incident(
            &alert.id,
            &declared.incident.id.to_string(),
            &caller.actor(),
            firebreak_store::clock::now(),
        )
        .await?;
    Ok(declared.incident)
}

// ----- the links in pages -----

#[derive(Deserialize, Debug, Default)]
pub struct LinkQuery {
    #[serde(default)]
    t: String,
}

fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" \
         content=\"width=device-width, initial-scale=1\"><title>{}</title><link rel=\"stylesheet\" \
         href=\"/assets/app.css\"></head><body><main id=\"main\"><h1>{}</h1>{body}</main></body></html>",
        escape(title),
        escape(title)
    ))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `GET /alerts/{id}/respond?t=…`: the page a page's link opens. It changes nothing (mail
/// scanners open links); its buttons do.
pub async fn link_page(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<LinkQuery>,
) -> Response {
    let now = firebreak_store::clock::now();
    let person = match state
        .store
        .alert_link(&id, &firebreak_core::token::hash_token(&query.t), now)
        .await
    {
        Ok(person) => person,
        Err(_) => {
            return (
                StatusCode::NOT_FOUND,
                page("This link does not work", "<p>It has expired or was never valid. Sign in to Firebreak to act on the alert.</p>"),
            )
                .into_response();
        }
    };
    let Ok(alert) = state.store.alert(&id).await else {
        return (StatusCode::NOT_FOUND, page("No such alert", "")).into_response();
    };
    let form = |action: &str, label: &str| {
        format!(
            "<form method=\"post\" action=\"/alerts/{}/respond\" style=\"display:inline\"><input type=\"hidden\" name=\"t\" value=\"{}\">\
             <input type=\"hidden\" name=\"action\" value=\"{action}\"><button type=\"submit\">{label}</button></form> ",
            escape(&alert.id),
            escape(&query.t)
        )
    };
    let buttons = match alert.status {
        firebreak_core::paging::AlertStatus::Triggered => {
            format!(
                "{}{}",
                form("acknowledge", "Acknowledge"),
                form("resolve", "Resolve")
            )
        }
        firebreak_core::paging::AlertStatus::Acknowledged => form("resolve", "Resolve"),
        firebreak_core::paging::AlertStatus::Resolved => String::new(),
    };
    page(
        &alert.summary,
        &format!(
            "<p>Status: <strong>{}</strong> · {} · for {}</p><p>{buttons}</p>",
            alert.status.as_str(),
            escape(&alert.severity.to_string()),
            escape(&person)
        ),
    )
    .into_response()
}

#[derive(Deserialize, Debug)]
pub struct LinkForm {
    t: String,
    action: String,
}

/// `POST /alerts/{id}/respond`: acknowledge or resolve as the person the page was for.
pub async fn link_action(
    State(state): State<AppState>,
    Path(id): Path<String>,
    axum::Form(form): axum::Form<LinkForm>,
) -> Response {
    let now = firebreak_store::clock::now();
    let Ok(person) = state
        .store
        .alert_link(&id, &firebreak_core::token::hash_token(&form.t), now)
        .await
    else {
        return (
            StatusCode::NOT_FOUND,
            page(
                "This link does not work",
                "<p>It has expired or was never valid.</p>",
            ),
        )
            .into_response();
    };
    let action = match form.action.as_str() {
        "acknowledge" => AlertAction::Acknowledge,
        "resolve" => AlertAction::Resolve,
        _ => return (StatusCode::UNPROCESSABLE_ENTITY, page("Unknown action", "")).into_response(),
    };
    match respond(&state, &id, action, &person).await {
        Ok(alert) => page(
            &format!("{} by {person}", alert.status.as_str().replace('_', " ")),
            &format!("<p>{}</p>", escape(&alert.summary)),
        )
        .into_response(),
        Err(err) if err.status == StatusCode::CONFLICT => (
            StatusCode::CONFLICT,
            page("Already done", &format!("<p>{}</p>", escape(&err.message))),
        )
            .into_response(),
        Err(err) => err.into_response(),
    }
}
