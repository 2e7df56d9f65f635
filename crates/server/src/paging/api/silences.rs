//! Silences and maintenance windows.

use super::*;

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

pub(crate) fn silence_dto(
    it: &firebreak_core::paging::Silence,
    comment: &str,
    by: &str,
) -> SilenceDto {
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
