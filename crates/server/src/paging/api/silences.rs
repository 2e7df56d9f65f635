//! Silences and maintenance windows.

use super::*;
use crate::paging::service::{SilenceBody, silence};
use crate::paging::service::{SilenceDto, silence_dto};

// ----- silences and maintenance windows -----

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
