//! Deploy freeze: `GET /api/v1/freeze` for pipelines, and setting or lifting an incident's
//! freeze by hand.

use axum::Json;
use axum::extract::{Path, State};
use firebreak_core::{Command, Role};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::Prefer;
use crate::extract::{ApiJson, Caller};
use crate::incidents::dto::CommandResult;
use crate::incidents::service::{FreezeStatus, freeze_status};

/// Are deploys frozen? (`firebreak freeze check` exits 1 while they are.)
#[utoipa::path(get, path = "/api/v1/freeze", tag = "incidents",
    responses((status = 200, body = FreezeStatus), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
pub async fn show(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<FreezeStatus>> {
    caller.require(Role::Viewer)?;
    Ok(Json(freeze_status(&state, &caller).await?))
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
    prefer: Prefer,
    Path(text): Path<String>,
    ApiJson(body): ApiJson<FreezeBody>,
) -> ApiResult<Json<CommandResult>> {
    let command = Command::SetFreeze {
        on: body.on,
        reason: body.reason,
    };
    let outcome = crate::incidents::service::run_command(&state, &caller, &text, command).await?;
    Ok(Json(crate::incidents::service::result(&outcome, prefer)))
}
