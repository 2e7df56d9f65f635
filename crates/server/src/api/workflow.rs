//! The workflow in effect: rules, notification targets (without secrets) and playbooks, as
//! loaded from the configuration.

use axum::Json;
use axum::extract::State;
use firebreak_core::Role;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::Caller;
use crate::settings::{PlaybookSettings, RuleSettings};

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
    #[schema(value_type = Vec<Object>)]
    pub rules: Vec<RuleSettings>,
    pub targets: Vec<TargetDto>,
    #[schema(value_type = Vec<Object>)]
    pub playbooks: Vec<PlaybookSettings>,
}

/// The rules, targets and playbooks in effect, in the same shape as the TOML file.
#[utoipa::path(get, path = "/api/v1/workflow", tag = "workflow",
    responses((status = 200, body = WorkflowDto), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn show(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<WorkflowDto>> {
    caller.require(Role::Viewer)?;
    let catalog = state.store.catalog();
    Ok(Json(WorkflowDto {
        rules: state.settings.rules.clone(),
        targets: catalog
            .targets
            .iter()
            .map(|it| TargetDto {
                name: it.name.clone(),
                webhook_url: it.webhook_url.clone(),
                email: it.email.clone(),
            })
            .collect(),
        playbooks: state.settings.playbooks.clone(),
    }))
}
