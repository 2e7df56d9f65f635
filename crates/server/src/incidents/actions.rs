//! The action register: propose a risky step, have a second person approve it, then start
//! and finish it. Every step is a timeline event naming who did it.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use firebreak_core::action::RawAction;
use firebreak_core::command::ActionStep;
use firebreak_core::{Command, Role};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::Prefer;
use crate::extract::{ApiJson, Caller};
use crate::incidents::dto::{ActionDto, CommandResult};
use crate::incidents::service::{path_number, result, run_command, visible};

#[derive(Deserialize, ToSchema, Debug)]
#[serde(deny_unknown_fields)]
pub struct ProposeBody {
    /// command (default), script, data_fix, rollback, restart, other.
    pub kind: Option<String>,
    /// What will be done, e.g. the command line.
    pub title: String,
    /// Where: host, cluster, table.
    pub target: Option<String>,
    /// low, medium (default), high; high needs a rollback plan.
    pub risk: Option<String>,
    pub rollback_plan: Option<String>,
    /// Destroys or overwrites something; default true for data fixes.
    pub destructive: Option<bool>,
}

#[derive(Deserialize, ToSchema, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct RejectBody {
    #[serde(default)]
    pub reason: String,
}

#[derive(Deserialize, ToSchema, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct StartBody {
    /// Data fixes: a backup was taken.
    #[serde(default)]
    pub backup_taken: bool,
    /// Data fixes: it was tried on a handful of records first.
    #[serde(default)]
    pub tried_on_sample: bool,
}

#[derive(Deserialize, ToSchema, Debug)]
#[serde(deny_unknown_fields)]
pub struct FinishBody {
    pub succeeded: bool,
    #[serde(default)]
    pub result: String,
    /// The command's output, if worth keeping (up to 50,000 characters).
    #[serde(default)]
    pub output: String,
}

async fn step(
    state: &AppState,
    caller: &Caller,
    text: &str,
    step: ActionStep,
    prefer: Prefer,
) -> ApiResult<CommandResult> {
    let command = Command::Action {
        by: caller.actor(),
        step,
    };
    Ok(result(
        &run_command(state, caller, text, command).await?,
        prefer,
    ))
}

/// The incident's actions, in proposal order.
#[utoipa::path(get, path = "/api/v1/incidents/{key}/actions", tag = "actions",
    params(("key" = String, Path, description = "UUID or reference")),
    responses((status = 200, body = Vec<ActionDto>), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(text): Path<String>,
) -> ApiResult<Json<Vec<ActionDto>>> {
    caller.require(Role::Viewer)?;
    let incident = visible(&state, &caller, &text, "GET actions").await?;
    Ok(Json(
        incident
            .actions
            .iter()
            .map(ActionDto::from_action)
            .collect(),
    ))
}

/// Propose an action (you are its proposer).
#[utoipa::path(post, path = "/api/v1/incidents/{key}/actions", tag = "actions", request_body = ProposeBody,
    params(("key" = String, Path, description = "UUID or reference")),
    responses((status = 201, body = CommandResult), (status = 422, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn propose(
    State(state): State<AppState>,
    caller: Caller,
    prefer: Prefer,
    Path(text): Path<String>,
    ApiJson(body): ApiJson<ProposeBody>,
) -> ApiResult<(StatusCode, Json<CommandResult>)> {
    let raw = RawAction {
        kind: body.kind,
        title: Some(body.title),
        target: body.target,
        risk: body.risk,
        rollback_plan: body.rollback_plan,
        destructive: body.destructive,
    };
    let result = step(&state, &caller, &text, ActionStep::Propose(raw), prefer).await?;
    Ok((StatusCode::CREATED, Json(result)))
}

/// Approve someone else's proposal. Approving your own is 403 `self_approval`.
#[utoipa::path(post, path = "/api/v1/incidents/{key}/actions/{number}/approve", tag = "actions",
    params(("key" = String, Path, description = "UUID or reference"), ("number" = i64, Path, description = "1, 2, … within the incident")),
    responses((status = 200, body = CommandResult), (status = 403, body = ErrorBody, description = "self_approval"),
        (status = 409, body = ErrorBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn approve(
    State(state): State<AppState>,
    caller: Caller,
    prefer: Prefer,
    Path((text, number)): Path<(String, String)>,
) -> ApiResult<Json<CommandResult>> {
    Ok(Json(
        step(
            &state,
            &caller,
            &text,
            ActionStep::Approve {
                number: path_number(&number, "action")?,
            },
            prefer,
        )
        .await?,
    ))
}

/// Reject a proposed or approved action.
#[utoipa::path(post, path = "/api/v1/incidents/{key}/actions/{number}/reject", tag = "actions", request_body = RejectBody,
    params(("key" = String, Path, description = "UUID or reference"), ("number" = i64, Path, description = "1, 2, … within the incident")),
    responses((status = 200, body = CommandResult), (status = 409, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn reject(
    State(state): State<AppState>,
    caller: Caller,
    prefer: Prefer,
    Path((text, number)): Path<(String, String)>,
    ApiJson(body): ApiJson<RejectBody>,
) -> ApiResult<Json<CommandResult>> {
    let reject = ActionStep::Reject {
        number: path_number(&number, "action")?,
        reason: body.reason,
    };
    Ok(Json(step(&state, &caller, &text, reject, prefer).await?))
}

/// Start an approved action: announced on the timeline (loudly when destructive). A data
/// fix needs `backup_taken` and `tried_on_sample`.
#[utoipa::path(post, path = "/api/v1/incidents/{key}/actions/{number}/start", tag = "actions", request_body = StartBody,
    params(("key" = String, Path, description = "UUID or reference"), ("number" = i64, Path, description = "1, 2, … within the incident")),
    responses((status = 200, body = CommandResult), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn start(
    State(state): State<AppState>,
    caller: Caller,
    prefer: Prefer,
    Path((text, number)): Path<(String, String)>,
    ApiJson(body): ApiJson<StartBody>,
) -> ApiResult<Json<CommandResult>> {
    let start = ActionStep::Start {
        number: path_number(&number, "action")?,
        backup_taken: body.backup_taken,
        tried_on_sample: body.tried_on_sample,
    };
    Ok(Json(step(&state, &caller, &text, start, prefer).await?))
}

/// Record how a started action ended, with its result and output.
#[utoipa::path(post, path = "/api/v1/incidents/{key}/actions/{number}/finish", tag = "actions", request_body = FinishBody,
    params(("key" = String, Path, description = "UUID or reference"), ("number" = i64, Path, description = "1, 2, … within the incident")),
    responses((status = 200, body = CommandResult), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn finish(
    State(state): State<AppState>,
    caller: Caller,
    prefer: Prefer,
    Path((text, number)): Path<(String, String)>,
    ApiJson(body): ApiJson<FinishBody>,
) -> ApiResult<Json<CommandResult>> {
    let finish = ActionStep::Finish {
        number: path_number(&number, "action")?,
        succeeded: body.succeeded,
        result: body.result,
        output: body.output,
    };
    Ok(Json(step(&state, &caller, &text, finish, prefer).await?))
}
