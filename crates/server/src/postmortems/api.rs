//! Post-mortems: drafted from the timeline when an incident resolves (or on demand), edited
//! as Markdown with every save a revision, checked for blame, moved draft → in review →
//! published, exported as Markdown or a standalone HTML page.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use firebreak_core::Role;
use firebreak_core::postmortem::PostmortemStatus;
use firebreak_store::Postmortem;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, Caller};
use crate::incidents::service::visible;
use crate::postmortems::service::RetrospectiveDto;
use crate::postmortems::service::{
    BlameWarning, MAX_BODY, RetrospectiveBody, announce, people_of, revision_detail, schedule,
    share_on_status_page, warnings,
};
use crate::postmortems::service::{RevisionDetail, current};

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct PostmortemDto {
    pub incident: String,
    /// draft, in_review, published.
    pub status: String,
    /// Markdown.
    pub body: String,
    /// Send it back as `base_revision` when saving.
    pub revision: i64,
    pub created_at: String,
    pub updated_at: String,
    pub published_at: Option<String>,
    /// Sentences that blame a person rather than a system, with a suggestion each.
    pub warnings: Vec<BlameWarning>,
}

async fn dto(
    state: &AppState,
    incident: &firebreak_core::Incident,
    pm: Postmortem,
) -> ApiResult<PostmortemDto> {
    let names: Vec<(String, String)> = state
        .store
        .users()
        .await?
        .into_iter()
        .map(|it| (it.email, it.name))
        .collect();
    Ok(PostmortemDto {
        incident: incident.reference.to_string(),
        status: pm.status.as_str().into(),
        warnings: warnings(&pm.body, &people_of(incident, &names)),
        body: pm.body,
        revision: pm.revision,
        created_at: pm.created_at.to_string(),
        updated_at: pm.updated_at.to_string(),
        published_at: pm.published_at.map(|it| it.to_string()),
    })
}

/// The incident's post-mortem, with the blameless check's warnings.
#[utoipa::path(get, path = "/api/v1/incidents/{key}/postmortem", tag = "post-mortems",
    params(("key" = String, Path, description = "UUID or reference")),
    responses((status = 200, body = PostmortemDto), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(text): Path<String>,
) -> ApiResult<Json<PostmortemDto>> {
    caller.require(Role::Viewer)?;
    let incident = visible(&state, &caller, &text, "GET post-mortem").await?;
    let pm = current(&state, &incident).await?;
    Ok(Json(dto(&state, &incident, pm).await?))
}

/// Draft the post-mortem now from the timeline (it is drafted by itself when the incident
/// resolves); an existing one is answered as it is.
#[utoipa::path(post, path = "/api/v1/incidents/{key}/postmortem", tag = "post-mortems",
    params(("key" = String, Path, description = "UUID or reference")),
    responses((status = 201, body = PostmortemDto), (status = 200, body = PostmortemDto), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Path(text): Path<String>,
) -> ApiResult<(StatusCode, Json<PostmortemDto>)> {
    caller.require(Role::Responder)?;
    let incident = visible(&state, &caller, &text, "draft post-mortem").await?;
    let created =
        crate::postmortems::service::ensure(&state.store, &incident, &caller.actor()).await?;
    let pm = current(&state, &incident).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(dto(&state, &incident, pm).await?)))
}

#[derive(Deserialize, ToSchema, Debug)]
#[serde(deny_unknown_fields)]
pub struct SaveBody {
    /// The whole Markdown text.
    pub body: String,
    /// The revision the edit started from; a newer one answers 409.
    pub base_revision: i64,
}

/// Save a new revision.
#[utoipa::path(put, path = "/api/v1/incidents/{key}/postmortem", tag = "post-mortems", request_body = SaveBody,
    params(("key" = String, Path, description = "UUID or reference")),
    responses((status = 200, body = PostmortemDto), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn save(
    State(state): State<AppState>,
    caller: Caller,
    Path(text): Path<String>,
    ApiJson(body): ApiJson<SaveBody>,
) -> ApiResult<Json<PostmortemDto>> {
    caller.require(Role::Responder)?;
    let incident = visible(&state, &caller, &text, "save post-mortem").await?;
    if body.body.trim().is_empty() || body.body.len() > MAX_BODY {
        return Err(ApiError::field(
            "body",
            "the post-mortem is empty or over 200,000 characters",
        ));
    }
    let saved = state
        .store
        .save_postmortem(
            incident.id.0,
            &body.body,
            (&caller.actor(), body.base_revision),
            firebreak_store::clock::now(),
        )
        .await?;
    Ok(Json(dto(&state, &incident, saved).await?))
}

#[derive(Deserialize, ToSchema, Debug)]
#[serde(deny_unknown_fields)]
pub struct StatusBody {
    /// draft, in_review, published.
    pub status: String,
}

/// Move the post-mortem: draft → in review → published (or back a step to rework it).
#[utoipa::path(post, path = "/api/v1/incidents/{key}/postmortem/status", tag = "post-mortems", request_body = StatusBody,
    params(("key" = String, Path, description = "UUID or reference")),
    responses((status = 200, body = PostmortemDto), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn set_status(
    State(state): State<AppState>,
    caller: Caller,
    Path(text): Path<String>,
    ApiJson(body): ApiJson<StatusBody>,
) -> ApiResult<Json<PostmortemDto>> {
    caller.require(Role::Responder)?;
    let incident = visible(&state, &caller, &text, "post-mortem status").await?;
    let wanted = PostmortemStatus::parse(&body.status).ok_or_else(|| {
        ApiError::field(
            "status",
            format!("expected one of {}", PostmortemStatus::expected()),
        )
    })?;
    let pm = current(&state, &incident).await?;
    if !pm.status.next().contains(&wanted) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "invalid_transition",
            format!("a post-mortem in {} cannot move to {}", pm.status, wanted),
        ));
    }
    let moved = state
        .store
        .set_postmortem_status(incident.id.0, wanted, firebreak_store::clock::now())
        .await?;
    if wanted == PostmortemStatus::Published {
        announce(&state, &incident, &caller.actor()).await?;
    }
    Ok(Json(dto(&state, &incident, moved).await?))
}

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct RevisionDto {
    pub revision: i64,
    pub author: String,
    pub created_at: String,
}

/// Every revision, newest first.
#[utoipa::path(get, path = "/api/v1/incidents/{key}/postmortem/revisions", tag = "post-mortems",
    params(("key" = String, Path, description = "UUID or reference")),
    responses((status = 200, body = Vec<RevisionDto>), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn revisions(
    State(state): State<AppState>,
    caller: Caller,
    Path(text): Path<String>,
) -> ApiResult<Json<Vec<RevisionDto>>> {
    caller.require(Role::Viewer)?;
    let incident = visible(&state, &caller, &text, "post-mortem revisions").await?;
    let list = state.store.postmortem_revisions(incident.id.0).await?;
    Ok(Json(
        list.into_iter()
            .map(|it| RevisionDto {
                revision: it.revision,
                author: it.author,
                created_at: it.created_at.to_string(),
            })
            .collect(),
    ))
}

/// One revision and what it changed.
#[utoipa::path(get, path = "/api/v1/incidents/{key}/postmortem/revisions/{n}", tag = "post-mortems",
    params(("key" = String, Path, description = "UUID or reference"), ("n" = i64, Path, description = "Revision")),
    responses((status = 200, body = RevisionDetail), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn revision(
    State(state): State<AppState>,
    caller: Caller,
    Path((text, number)): Path<(String, String)>,
) -> ApiResult<Json<RevisionDetail>> {
    caller.require(Role::Viewer)?;
    let number: i64 = number
        .parse()
        .map_err(|_| ApiError::field("n", "a revision number"))?;
    let incident = visible(&state, &caller, &text, "post-mortem revision").await?;
    Ok(Json(revision_detail(&state, &incident, number).await?))
}

/// A standalone HTML page of the post-mortem (sanitised).
pub fn standalone_html(title: &str, markdown: &str) -> String {
    let escaped = title
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{escaped}</title>\
         <style>body{{font:16px/1.6 system-ui,sans-serif;max-width:780px;margin:2rem auto;padding:0 1rem;color:#1d1f23}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:.3rem .5rem}}</style>\
         </head><body>\n{}</body></html>\n",
        crate::postmortems::service::render_html(markdown)
    )
}

/// The post-mortem as Markdown, to download.
#[utoipa::path(get, path = "/api/v1/incidents/{key}/postmortem.md", tag = "post-mortems",
    params(("key" = String, Path, description = "UUID or reference")),
    responses((status = 200, content_type = "text/markdown", body = String), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn export_markdown(
    State(state): State<AppState>,
    caller: Caller,
    Path(text): Path<String>,
) -> ApiResult<Response> {
    export(&state, &caller, &text, "postmortem.md").await
}

/// The post-mortem as a standalone, sanitised HTML page.
#[utoipa::path(get, path = "/api/v1/incidents/{key}/postmortem.html", tag = "post-mortems",
    params(("key" = String, Path, description = "UUID or reference")),
    responses((status = 200, content_type = "text/html", body = String), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn export_html(
    State(state): State<AppState>,
    caller: Caller,
    Path(text): Path<String>,
) -> ApiResult<Response> {
    export(&state, &caller, &text, "postmortem.html").await
}

async fn export(state: &AppState, caller: &Caller, text: &str, file: &str) -> ApiResult<Response> {
    caller.require(Role::Viewer)?;
    let incident = visible(state, caller, text, "export post-mortem").await?;
    let pm = current(state, &incident).await?;
    let name = format!("{}-postmortem", incident.reference);
    let (content_type, body, extension) = match file {
        "postmortem.md" => ("text/markdown; charset=utf-8", pm.body, "md"),
        "postmortem.html" => (
            "text/html; charset=utf-8",
            standalone_html(&format!("Post-mortem: {}", incident.title), &pm.body),
            "html",
        ),
        _ => return Err(ApiError::not_found("export")),
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"{name}.{extension}\""),
            ),
        ],
        body,
    )
        .into_response())
}

/// Schedule (or move) the retrospective: every attendee gets an email with an iCalendar
/// invitation (`METHOD:REQUEST`, the post-mortem link in it). Within 7 days of the resolution
/// is the norm; later is allowed, with a warning.
#[utoipa::path(post, path = "/api/v1/incidents/{key}/retrospective", tag = "post-mortems", request_body = RetrospectiveBody,
    params(("key" = String, Path, description = "UUID or reference")),
    responses((status = 201, body = RetrospectiveDto), (status = 422, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn schedule_retrospective(
    State(state): State<AppState>,
    caller: Caller,
    Path(text): Path<String>,
    ApiJson(body): ApiJson<RetrospectiveBody>,
) -> ApiResult<(StatusCode, Json<RetrospectiveDto>)> {
    caller.require(Role::Responder)?;
    let incident = visible(&state, &caller, &text, "schedule retrospective").await?;
    let scheduled = schedule(&state, &caller, &incident, body).await?;
    Ok((StatusCode::CREATED, Json(scheduled)))
}

#[derive(Deserialize, ToSchema, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct ShareBody {
    /// What customers read. Default: the customer-facing version drafted from the post-mortem
    /// (summary, impact, root cause, the actions by name; no internal timeline, no owners).
    pub body: Option<String>,
}

/// Attach the published post-mortem to the incident's public status page incident, in a
/// customer-facing version: a `postmortem` update, as Statuspage does.
#[utoipa::path(post, path = "/api/v1/incidents/{key}/postmortem/share", tag = "post-mortems", request_body = ShareBody,
    params(("key" = String, Path, description = "UUID or reference")),
    responses((status = 200, body = crate::status_page::service::PublicIncidentDto), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn share(
    State(state): State<AppState>,
    caller: Caller,
    Path(text): Path<String>,
    ApiJson(body): ApiJson<ShareBody>,
) -> ApiResult<Json<crate::status_page::service::PublicIncidentDto>> {
    caller.require(Role::Responder)?;
    let incident = visible(&state, &caller, &text, "share post-mortem").await?;
    let shared = share_on_status_page(&state, &caller, &incident, body.body).await?;
    Ok(Json(crate::status_page::service::public_incident_dto(
        &shared,
    )))
}
