//! Deploy freeze: `GET /api/v1/freeze` for pipelines, and setting or lifting an incident's
//! freeze by hand.

use axum::Json;
use axum::extract::{Path, State};
use firebreak_core::{Command, Incident, Role};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, Caller};
use crate::incidents::dto::CommandResult;

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct FreezeStatus {
    /// True while any incident freezes deploys.
    pub frozen: bool,
    pub reasons: Vec<FreezeReason>,
}

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct FreezeReason {
    /// The incident's reference; absent for a private incident you may not see.
    pub incident: Option<String>,
    /// Its title, or "a private incident".
    pub title: String,
    pub severity: String,
    pub reason: String,
    pub since: String,
}

/// What deploys should know: frozen or not, and why. Private incidents freeze deploys too;
/// to people who may not see them they are named only as "a private incident".
pub async fn status(state: &AppState, caller: &Caller) -> ApiResult<FreezeStatus> {
    let access = caller.access();
    let incidents: Vec<Incident> = state.store.frozen_incidents().await?;
    let reasons = incidents
        .iter()
        .filter_map(|incident| {
            let freeze = incident.freeze.as_ref()?;
            let visible = access.can_see(incident);
            Some(FreezeReason {
                incident: visible.then(|| incident.reference.to_string()),
                title: if visible {
                    incident.title.clone()
                } else {
                    "a private incident".into()
                },
                severity: incident.severity.clone(),
                reason: if visible {
                    freeze.reason.clone()
                } else {
                    String::new()
                },
                since: freeze.since.to_string(),
            })
        })
        .collect::<Vec<_>>();
    Ok(FreezeStatus {
        frozen: !reasons.is_empty(),
        reasons,
    })
}

/// Are deploys frozen? (`firebreak freeze check` exits 1 while they are.)
#[utoipa::path(get, path = "/api/v1/freeze", tag = "incidents",
    responses((status = 200, body = FreezeStatus), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
pub async fn show(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<FreezeStatus>> {
    caller.require(Role::Viewer)?;
    Ok(Json(status(&state, &caller).await?))
}

#[derive(Deserialize, ToSchema, Debug)]
#[serde(deny_unknown_fields)]
pub struct FreezeBody {
    /// true freezes deploys because of this incident; false lifts its freeze.
    pub on: bool,
    /// Why, for the timeline; default "by hand".
    #[serde(default)]
    pub reason: String,
}

/// Freeze deploys because of this incident, or lift its freeze. The default rule freezes
/// critical and major incidents when they are declared or raised, and lifts the freeze
/// when they resolve.
#[utoipa::path(post, path = "/api/v1/incidents/{key}/freeze", tag = "incidents", request_body = FreezeBody,
    params(("key" = String, Path, description = "UUID or reference")),
    responses((status = 200, body = CommandResult), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn set(
    State(state): State<AppState>,
    caller: Caller,
    Path(text): Path<String>,
    ApiJson(body): ApiJson<FreezeBody>,
) -> ApiResult<Json<CommandResult>> {
    let command = Command::SetFreeze {
        on: body.on,
        reason: body.reason,
    };
    let outcome = crate::incidents::api::run_command(&state, &caller, &text, command).await?;
    Ok(Json(crate::incidents::api::result(&outcome)))
}
