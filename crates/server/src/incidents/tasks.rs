//! Tasks: from playbooks and by hand; assign, mark done or skipped with a note, reopen.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use firebreak_core::playbook::TaskStep;
use firebreak_core::{Command, Role};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::Prefer;
use crate::extract::{ApiJson, Caller};
use crate::incidents::dto::{CommandResult, TaskDto};
use crate::incidents::service::{path_number, result, run_command, visible};

#[derive(Deserialize, ToSchema, Debug)]
#[serde(deny_unknown_fields)]
pub struct AddTaskBody {
    pub title: String,
    /// Who should do it (email).
    pub assignee: Option<String>,
    /// Due this many minutes from now.
    pub due_in_minutes: Option<i64>,
}

#[derive(Deserialize, ToSchema, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct CloseTaskBody {
    /// Evidence that it is done, or why it was skipped.
    #[serde(default)]
    pub note: String,
}

#[derive(Deserialize, ToSchema, Debug)]
#[serde(deny_unknown_fields)]
pub struct AssignTaskBody {
    pub assignee: String,
}

async fn step(
    state: &AppState,
    caller: &Caller,
    text: &str,
    step: TaskStep,
    prefer: Prefer,
) -> ApiResult<CommandResult> {
    let command = Command::Task {
        by: caller.actor(),
        step,
    };
    Ok(result(
        &run_command(state, caller, text, command).await?,
        prefer,
    ))
}

/// The incident's tasks, in the order they were added.
#[utoipa::path(get, path = "/api/v1/incidents/{key}/tasks", tag = "tasks",
    params(("key" = String, Path, description = "UUID or reference")),
    responses((status = 200, body = Vec<TaskDto>), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(text): Path<String>,
) -> ApiResult<Json<Vec<TaskDto>>> {
    caller.require(Role::Viewer)?;
    let incident = visible(&state, &caller, &text, "GET tasks").await?;
    Ok(Json(
        incident.tasks.iter().map(TaskDto::from_task).collect(),
    ))
}

/// Add a task by hand.
#[utoipa::path(post, path = "/api/v1/incidents/{key}/tasks", tag = "tasks", request_body = AddTaskBody,
    params(("key" = String, Path, description = "UUID or reference")),
    responses((status = 201, body = CommandResult), (status = 422, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn add(
    State(state): State<AppState>,
    caller: Caller,
    prefer: Prefer,
    Path(text): Path<String>,
    ApiJson(body): ApiJson<AddTaskBody>,
) -> ApiResult<(StatusCode, Json<CommandResult>)> {
    let add = TaskStep::Add {
        title: body.title,
        assignee: body.assignee,
        due_in_minutes: body.due_in_minutes,
    };
    Ok((
        StatusCode::CREATED,
        Json(step(&state, &caller, &text, add, prefer).await?),
    ))
}

/// Mark a task done, with an optional note (the evidence).
#[utoipa::path(post, path = "/api/v1/incidents/{key}/tasks/{number}/done", tag = "tasks", request_body = CloseTaskBody,
    params(("key" = String, Path, description = "UUID or reference"), ("number" = i64, Path)),
    responses((status = 200, body = CommandResult), (status = 422, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn done(
    State(state): State<AppState>,
    caller: Caller,
    prefer: Prefer,
    Path((text, number)): Path<(String, String)>,
    ApiJson(body): ApiJson<CloseTaskBody>,
) -> ApiResult<Json<CommandResult>> {
    close(&state, &caller, &text, &number, body, true, prefer).await
}

/// Skip a task, with an optional note (why).
#[utoipa::path(post, path = "/api/v1/incidents/{key}/tasks/{number}/skip", tag = "tasks", request_body = CloseTaskBody,
    params(("key" = String, Path, description = "UUID or reference"), ("number" = i64, Path)),
    responses((status = 200, body = CommandResult), (status = 422, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn skip(
    State(state): State<AppState>,
    caller: Caller,
    prefer: Prefer,
    Path((text, number)): Path<(String, String)>,
    ApiJson(body): ApiJson<CloseTaskBody>,
) -> ApiResult<Json<CommandResult>> {
    close(&state, &caller, &text, &number, body, false, prefer).await
}

/// Done (`done`) or skipped, with the note.
async fn close(
    state: &AppState,
    caller: &Caller,
    text: &str,
    number: &str,
    body: CloseTaskBody,
    done: bool,
    prefer: Prefer,
) -> ApiResult<Json<CommandResult>> {
    let close = TaskStep::Close {
        number: path_number(number, "task")?,
        done,
        note: body.note,
    };
    Ok(Json(step(state, caller, text, close, prefer).await?))
}

/// Reopen a done or skipped task.
#[utoipa::path(post, path = "/api/v1/incidents/{key}/tasks/{number}/reopen", tag = "tasks",
    params(("key" = String, Path, description = "UUID or reference"), ("number" = i64, Path)),
    responses((status = 200, body = CommandResult), (status = 422, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn reopen(
    State(state): State<AppState>,
    caller: Caller,
    prefer: Prefer,
    Path((text, number)): Path<(String, String)>,
) -> ApiResult<Json<CommandResult>> {
    let reopen = TaskStep::Reopen {
        number: path_number(&number, "task")?,
    };
    Ok(Json(step(&state, &caller, &text, reopen, prefer).await?))
}

/// Name who does a task.
#[utoipa::path(post, path = "/api/v1/incidents/{key}/tasks/{number}/assign", tag = "tasks", request_body = AssignTaskBody,
    params(("key" = String, Path, description = "UUID or reference"), ("number" = i64, Path)),
    responses((status = 200, body = CommandResult), (status = 422, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn assign(
    State(state): State<AppState>,
    caller: Caller,
    prefer: Prefer,
    Path((text, number)): Path<(String, String)>,
    ApiJson(body): ApiJson<AssignTaskBody>,
) -> ApiResult<Json<CommandResult>> {
    let assign = TaskStep::Assign {
        number: path_number(&number, "task")?,
        assignee: body.assignee,
    };
    Ok(Json(step(&state, &caller, &text, assign, prefer).await?))
}
