//! Reading, appending to and verifying an incident's timeline.

use std::convert::Infallible;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, Sse};
use firebreak_core::command::Entry;
use firebreak_core::{Command, Role};
use futures_util::Stream;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, Caller};
use crate::incidents::dto::{EventDto, EventPage};
use crate::incidents::live::{stream, to_sse};
use crate::incidents::service::visible;

#[derive(Deserialize, IntoParams, Debug, Default)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TimelineQuery {
    /// Only events with a greater seq.
    pub after: Option<i64>,
    /// 1–1000, default 100.
    pub limit: Option<i64>,
}

#[derive(Deserialize, ToSchema, Debug)]
#[serde(deny_unknown_fields)]
pub struct AppendBody {
    /// `note` (default), `message_pinned` or `correction`.
    pub kind: Option<String>,
    pub text: String,
    /// For `message_pinned`: who wrote the message.
    pub author: Option<String>,
    /// For `message_pinned`: where the message lives (a chat permalink).
    pub link: Option<String>,
    /// For `correction`: the seq of the event being corrected.
    pub corrects: Option<i64>,
    /// When it happened, if earlier than now (RFC 3339).
    pub occurred_at: Option<String>,
}

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct Verification {
    /// True when every event's hash recomputes and links to the one before.
    pub valid: bool,
    pub n_events: i64,
    /// The first event that does not verify.
    pub first_bad_seq: Option<i64>,
    pub reason: Option<String>,
    pub head_hash: String,
}

/// Timeline events, oldest first.
#[utoipa::path(get, path = "/api/v1/incidents/{key}/timeline", tag = "timeline",
    params(("key" = String, Path, description = "UUID or reference"), TimelineQuery),
    responses((status = 200, body = EventPage), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(text): Path<String>,
    ApiQuery(query): ApiQuery<TimelineQuery>,
) -> ApiResult<Json<EventPage>> {
    caller.require(Role::Viewer)?;
    let limit = query.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::field("limit", "must be between 1 and 1000"));
    }
    let after = query.after.unwrap_or(0).max(0);
    let key = crate::incidents::service::key(&text)?;
    let page = state
        .store
        .timeline_page(key, after, limit, &caller.access())
        .await?;
    if page.private {
        visible(&state, &caller, &text, "GET timeline").await?;
    }
    let next_cursor = page
        .events
        .last()
        .filter(|last| last.seq < page.last_seq)
        .map(|last| last.seq.to_string());
    Ok(Json(EventPage {
        items: page.events.into_iter().map(EventDto::from_record).collect(),
        next_cursor,
    }))
}

/// Append a note, a pinned message or a correction. Nothing is ever edited or deleted.
#[utoipa::path(post, path = "/api/v1/incidents/{key}/timeline", tag = "timeline", request_body = AppendBody,
    params(("key" = String, Path, description = "UUID or reference")),
    responses((status = 201, body = EventDto), (status = 422, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn append(
    State(state): State<AppState>,
    caller: Caller,
    Path(text): Path<String>,
    ApiJson(body): ApiJson<AppendBody>,
) -> ApiResult<(StatusCode, Json<EventDto>)> {
    caller.require(Role::Responder)?;
    let entry = match body.kind.as_deref().unwrap_or("note") {
        "note" => Entry::Note { text: body.text },
        "message_pinned" => Entry::Pinned {
            text: body.text,
            author: body.author,
            link: body.link,
        },
        "correction" => Entry::Correction {
            text: body.text,
            corrects: body.corrects,
        },
        other => {
            return Err(ApiError::field(
                "kind",
                format!("unknown kind {other:?}; expected note, message_pinned or correction"),
            ));
        }
    };
    let occurred_at = match body.occurred_at.as_deref() {
        None => None,
        Some(text) => Some(
            text.parse()
                .map_err(|_| ApiError::field("occurred_at", "must be an RFC 3339 time"))?,
        ),
    };
    let command = Command::Append { entry, occurred_at };
    let (target, actor) = (crate::incidents::service::key(&text)?, caller.actor());
    let outcome = state
        .store
        .execute_command(target, &actor, caller.access(), command);
    let outcome = outcome.await?;
    let event = outcome
        .events
        .first()
        .ok_or_else(|| ApiError::internal("append recorded no event"))?;
    Ok((StatusCode::CREATED, Json(EventDto::from_event(event))))
}

/// Recompute the hash chain from the stored events.
#[utoipa::path(get, path = "/api/v1/incidents/{key}/timeline/verify", tag = "timeline",
    params(("key" = String, Path, description = "UUID or reference")),
    responses((status = 200, body = Verification), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn verify(
    State(state): State<AppState>,
    caller: Caller,
    Path(text): Path<String>,
) -> ApiResult<Json<Verification>> {
    caller.require(Role::Viewer)?;
    let incident = visible(&state, &caller, &text, "verify timeline").await?;
    let verification = match state.store.verify_timeline(incident.id.0).await? {
        Ok(n_events) => Verification {
            valid: true,
            n_events,
            first_bad_seq: None,
            reason: None,
            head_hash: incident.last_hash,
        },
        Err(broken) => Verification {
            valid: false,
            n_events: incident.last_seq,
            first_bad_seq: Some(broken.seq),
            reason: Some(broken.reason.to_string()),
            head_hash: incident.last_hash,
        },
    };
    Ok(Json(verification))
}

#[derive(Deserialize, IntoParams, Debug, Default)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    /// Start after this seq (like `Last-Event-ID`); default: only events from now on.
    pub after: Option<i64>,
}

/// Live timeline events (`text/event-stream`); each event's `id` is its seq.
#[utoipa::path(get, path = "/api/v1/incidents/{key}/events", tag = "timeline",
    params(("key" = String, Path, description = "UUID or reference"), EventsQuery,
        ("Last-Event-ID" = Option<i64>, Header, description = "Resume after this seq")),
    responses((status = 200, content_type = "text/event-stream", description = "One SSE event per timeline event; event name = kind, data = the event as JSON")),
    security(("bearer" = [])))]
pub async fn events(
    State(state): State<AppState>,
    caller: Caller,
    Path(text): Path<String>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<EventsQuery>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    caller.require(Role::Viewer)?;
    let incident = visible(&state, &caller, &text, "live events").await?;
    let live = state.store.subscribe();
    let last_event_id = headers
        .get("Last-Event-ID")
        .and_then(|it| it.to_str().ok())
        .map(str::trim);
    let after = match (last_event_id, query.after) {
        (Some(text), _) => text
            .parse::<i64>()
            .map_err(|_| ApiError::field("Last-Event-ID", "must be an event seq"))?,
        (None, Some(after)) => after,
        (None, None) => incident.last_seq,
    };
    Ok(stream(
        state,
        live,
        caller.access(),
        incident.id.0,
        after,
        Arc::new(to_sse),
    ))
}
