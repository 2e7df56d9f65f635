//! The workflow: rules, notification targets (without secrets) and playbooks. Those from the
//! settings file are read-only here (config as code); admins add and change others through
//! the API and the Workflow page, stored in the database and checked exactly like the file.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use firebreak_core::Role;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, Caller};
use crate::settings::workflow::{ConditionSettings, EffectSettings};
use crate::settings::{PlaybookSettings, RuleSettings, TaskSettings};

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct TargetDto {
    pub name: String,
    /// The webhook's URL, when it has one (its secret is never shown).
    pub webhook_url: Option<String>,
    pub email: Vec<String>,
}

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct RuleView {
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub rule: RuleSettings,
    /// `config` (the settings file, read-only here) or `api`.
    pub source: String,
}

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct PlaybookView {
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub playbook: PlaybookSettings,
    /// `config` (the settings file, read-only here) or `api`.
    pub source: String,
}

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct WorkflowDto {
    /// Evaluated in this order; each firing is a `rule_fired` event.
    pub rules: Vec<RuleView>,
    pub targets: Vec<TargetDto>,
    pub playbooks: Vec<PlaybookView>,
}

/// The workflow in effect, with where each piece comes from.
pub async fn current(state: &AppState) -> ApiResult<WorkflowDto> {
    let items = state.store.workflow_items().await?;
    let merged = state
        .settings
        .with_items(&items)
        .map_err(ApiError::internal)?;
    let source = |from_file: bool| if from_file { "config" } else { "api" }.to_string();
    let catalog = state.store.catalog();
    Ok(WorkflowDto {
        rules: merged
            .rules
            .into_iter()
            .map(|rule| RuleView {
                source: source(state.settings.rules.iter().any(|it| it.name == rule.name)),
                rule,
            })
            .collect(),
        targets: catalog
            .targets
            .iter()
            .map(|it| TargetDto {
                name: it.name.clone(),
                webhook_url: it.webhook_url.clone(),
                email: it.email.clone(),
            })
            .collect(),
        playbooks: merged
            .playbooks
            .into_iter()
            .map(|playbook| PlaybookView {
                source: source(
                    state
                        .settings
                        .playbooks
                        .iter()
                        .any(|it| it.name == playbook.name),
                ),
                playbook,
            })
            .collect(),
    })
}

/// The rules, targets and playbooks in effect, in the same shape as the settings file.
#[utoipa::path(get, path = "/api/v1/workflow", tag = "workflow",
    responses((status = 200, body = WorkflowDto), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn show(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<WorkflowDto>> {
    caller.require(Role::Viewer)?;
    Ok(Json(current(&state).await?))
}

#[derive(Serialize, Deserialize, ToSchema, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct PlaybookBody {
    /// Severities it applies to (for `add_matching_playbooks`); empty: all.
    #[serde(default)]
    pub severities: Vec<String>,
    /// Incident types it applies to (default, security); empty: all.
    #[serde(default)]
    pub types: Vec<String>,
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub tasks: Vec<TaskSettings>,
}

#[derive(Serialize, Deserialize, ToSchema, Debug)]
#[serde(deny_unknown_fields)]
pub struct RuleBody {
    /// declared, severity_changed, severity_raised, status_changed, reopened, resolved,
    /// role_assigned, update_overdue, task_overdue.
    pub when: Vec<String>,
    /// severity_at_least, severities, types, services, private, mode.
    #[serde(default, rename = "if")]
    #[schema(value_type = Object)]
    pub conditions: ConditionSettings,
    /// add_playbooks, add_matching_playbooks, set_cadence, set_cadence_minutes,
    /// freeze_deploys, require_roles, notify.
    #[schema(value_type = Object)]
    pub then: EffectSettings,
}

pub(crate) fn check_name(name: &str) -> ApiResult<String> {
    let name = name.trim();
    if name.is_empty() || name.len() > 100 {
        return Err(ApiError::field(
            "name",
            "give a name of 1 to 100 characters",
        ));
    }
    Ok(name.to_string())
}

/// Stores an item after checking the whole workflow with it; 409 for a name the settings
/// file manages, 422 when the workflow would not be valid.
pub(crate) async fn put_item(
    state: &AppState,
    caller: &Caller,
    (kind, name): (&str, &str),
    item: &impl Serialize,
) -> ApiResult<StatusCode> {
    caller.require(Role::Admin)?;
    let body = serde_json::to_string(item).map_err(ApiError::internal)?;
    let in_file = match kind {
        "playbook" => state.settings.playbooks.iter().any(|it| it.name == name),
        _ => state.settings.rules.iter().any(|it| it.name == name),
    };
    if in_file {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "managed_in_config",
            format!("{kind} {name:?} is defined in the settings file; change it there"),
        ));
    }
    let settings = state.settings.clone();
    let check = move |items: &[firebreak_store::WorkflowItem]| settings.catalog_with(items);
    let now = firebreak_store::clock::now();
    match state
        .store
        .put_workflow_item((kind, name, &body), &caller.actor(), now, &check)
        .await
    {
        Ok(true) => Ok(StatusCode::CREATED),
        Ok(false) => Ok(StatusCode::OK),
        Err(firebreak_store::StoreError::Conflict(reason)) => Err(ApiError::field(kind, reason)),
        Err(other) => Err(other.into()),
    }
}

pub(crate) async fn delete_item(
    state: &AppState,
    caller: &Caller,
    (kind, name): (&str, &str),
) -> ApiResult<StatusCode> {
    caller.require(Role::Admin)?;
    let settings = state.settings.clone();
    let check = move |items: &[firebreak_store::WorkflowItem]| settings.catalog_with(items);
    match state.store.delete_workflow_item((kind, name), &check).await {
        Ok(()) => Ok(StatusCode::NO_CONTENT),
        Err(firebreak_store::StoreError::NotFound(_)) => Err(ApiError::not_found(kind)),
        Err(firebreak_store::StoreError::Conflict(reason)) => {
            Err(ApiError::new(StatusCode::CONFLICT, "in_use", reason))
        }
        Err(other) => Err(other.into()),
    }
}

/// Create or replace a playbook (admins). Playbooks from the settings file answer 409.
#[utoipa::path(put, path = "/api/v1/workflow/playbooks/{name}", tag = "workflow", request_body = PlaybookBody,
    params(("name" = String, Path, description = "The playbook's name")),
    responses((status = 200, description = "Replaced"), (status = 201, description = "Created"),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn put_playbook(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<PlaybookBody>,
) -> ApiResult<StatusCode> {
    let name = check_name(&name)?;
    let playbook = PlaybookSettings {
        name: name.clone(),
        severities: body.severities,
        types: body.types,
        tasks: body.tasks,
    };
    put_item(&state, &caller, ("playbook", &name), &playbook).await
}

/// Delete a playbook made through the API (admins); 409 while a rule names it.
#[utoipa::path(delete, path = "/api/v1/workflow/playbooks/{name}", tag = "workflow",
    params(("name" = String, Path, description = "The playbook's name")),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn delete_playbook(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    delete_item(&state, &caller, ("playbook", &name)).await
}

/// Create or replace a rule (admins); new rules run after the existing ones. Rules from the
/// settings file answer 409.
#[utoipa::path(put, path = "/api/v1/workflow/rules/{name}", tag = "workflow", request_body = RuleBody,
    params(("name" = String, Path, description = "The rule's name")),
    responses((status = 200, description = "Replaced"), (status = 201, description = "Created"),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn put_rule(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<RuleBody>,
) -> ApiResult<StatusCode> {
    let name = check_name(&name)?;
    let rule = RuleSettings {
        name: name.clone(),
        when: body.when,
        conditions: body.conditions,
        then: body.then,
    };
    put_item(&state, &caller, ("rule", &name), &rule).await
}

/// Delete a rule made through the API (admins).
#[utoipa::path(delete, path = "/api/v1/workflow/rules/{name}", tag = "workflow",
    params(("name" = String, Path, description = "The rule's name")),
    responses((status = 204), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn delete_rule(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    delete_item(&state, &caller, ("rule", &name)).await
}
