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
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, Caller};
use crate::settings::workflow::{ConditionSettings, EffectSettings};
use crate::settings::{PlaybookSettings, RuleSettings, TaskSettings};
use crate::workflow::service::WorkflowDto;
use crate::workflow::service::{check_name, current, delete_item, put_item};

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
    /// freeze_deploys, require_roles, notify, open_channel.
    #[schema(value_type = Object)]
    pub then: EffectSettings,
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
