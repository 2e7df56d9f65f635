//! Stored playbooks and rules as the API and the Workflow page both handle them.

use axum::http::StatusCode;
use firebreak_core::Role;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::Caller;
use crate::settings::{PlaybookSettings, RuleSettings};

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

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct PlaybookView {
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub playbook: PlaybookSettings,
    /// `config` (the settings file, read-only here) or `api`.
    pub source: String,
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
pub struct TargetDto {
    pub name: String,
    /// The webhook's URL, when it has one (its secret is never shown).
    pub webhook_url: Option<String>,
    pub email: Vec<String>,
}

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct WorkflowDto {
    /// Evaluated in this order; each firing is a `rule_fired` event.
    pub rules: Vec<RuleView>,
    pub targets: Vec<TargetDto>,
    pub playbooks: Vec<PlaybookView>,
}
