//! On-call schedules: layers of rotations in a zone's wall clock, restrictions, overrides;
//! who is on call (per schedule and everyone), shifts over a range, the fairness report, and
//! secret iCalendar feeds. The rules themselves are `core::schedule`.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use firebreak_core::Role;
use firebreak_core::schedule::Shift;
use firebreak_store::{FeedSubject, StoredSchedule};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, Caller};
use crate::insights::service::moment;
use crate::oncall::service::OnCallDto;
use crate::oncall::service::{
    FeedBody, LayerBody, ScheduleBody, cover, find, new_feed, save, to_core,
};
use crate::oncall::service::{MAX_RANGE_DAYS, on_call_at};

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct OverrideDto {
    pub id: String,
    pub start: String,
    pub end: String,
    pub person: String,
    pub created_by: String,
}

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct ScheduleDto {
    pub id: String,
    pub name: String,
    pub time_zone: String,
    pub layers: Vec<LayerBody>,
    /// Newest first.
    pub overrides: Vec<OverrideDto>,
    /// Who is on call right now (null: nobody — a gap in coverage).
    pub on_call_now: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct ShiftDto {
    pub start: String,
    pub end: String,
    /// Null: nobody is on call.
    pub person: Option<String>,
}

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct LoadDto {
    pub person: String,
    pub shifts: usize,
    pub hours: f64,
    /// Saturday and Sunday, in the schedule's zone.
    pub weekend_hours: f64,
    /// 22:00–07:00, in the schedule's zone.
    pub night_hours: f64,
}

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct ReportDto {
    pub schedule: String,
    pub from: String,
    pub to: String,
    /// Hours in the range with nobody on call.
    pub uncovered_hours: f64,
    pub people: Vec<LoadDto>,
}

#[derive(Deserialize, ToSchema, Debug)]
#[serde(deny_unknown_fields)]
pub struct OverrideBody {
    /// RFC 3339.
    pub start: String,
    pub end: String,
    /// Who covers: an email.
    pub person: String,
}

#[derive(Deserialize, Debug, Default)]
pub struct AtQuery {
    /// RFC 3339 or a date; default now.
    pub at: Option<String>,
}

#[derive(Deserialize, Debug, Default)]
pub struct RangeQuery {
    /// RFC 3339 or a date.
    pub from: Option<String>,
    pub to: Option<String>,
}

fn dto(stored: &StoredSchedule, now: Timestamp) -> ApiResult<ScheduleDto> {
    let schedule = to_core(stored)?;
    Ok(ScheduleDto {
        id: stored.id.clone(),
        name: stored.name.clone(),
        time_zone: stored.time_zone.clone(),
        layers: serde_json::from_str(&stored.layers).map_err(ApiError::internal)?,
        overrides: stored
            .overrides
            .iter()
            .map(|it| OverrideDto {
                id: it.id.clone(),
                start: it.start.to_string(),
                end: it.end.to_string(),
                person: it.person.clone(),
                created_by: it.created_by.clone(),
            })
            .collect(),
        on_call_now: schedule.on_call(now).cloned(),
        created_at: stored.created_at.to_string(),
        updated_at: stored.updated_at.to_string(),
    })
}

/// Every schedule, with who is on call now.
#[utoipa::path(get, path = "/api/v1/schedules", tag = "on-call",
    responses((status = 200, body = Vec<ScheduleDto>)), security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<ScheduleDto>>> {
    caller.require(Role::Viewer)?;
    let now = firebreak_store::clock::now();
    let all = state.store.schedules().await?;
    Ok(Json(
        all.iter()
            .map(|it| dto(it, now))
            .collect::<ApiResult<_>>()?,
    ))
}

/// Create a schedule (admin).
#[utoipa::path(post, path = "/api/v1/schedules", tag = "on-call", request_body = ScheduleBody,
    responses((status = 201, body = ScheduleDto), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<ScheduleBody>,
) -> ApiResult<(StatusCode, Json<ScheduleDto>)> {
    let created = save(&state, &caller, None, &body).await?;
    Ok((
        StatusCode::CREATED,
        Json(dto(&created, firebreak_store::clock::now())?),
    ))
}

/// One schedule, by id or name.
#[utoipa::path(get, path = "/api/v1/schedules/{id}", tag = "on-call",
    params(("id" = String, Path, description = "Id or name")),
    responses((status = 200, body = ScheduleDto), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<ScheduleDto>> {
    caller.require(Role::Viewer)?;
    Ok(Json(dto(
        &find(&state, &id).await?,
        firebreak_store::clock::now(),
    )?))
}

/// Replace a schedule's name, zone and layers (admin); overrides stay.
#[utoipa::path(put, path = "/api/v1/schedules/{id}", tag = "on-call", request_body = ScheduleBody,
    params(("id" = String, Path, description = "Id or name")),
    responses((status = 200, body = ScheduleDto), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn replace(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ScheduleBody>,
) -> ApiResult<Json<ScheduleDto>> {
    let updated = save(&state, &caller, Some(&id), &body).await?;
    Ok(Json(dto(&updated, firebreak_store::clock::now())?))
}

/// Delete a schedule with its overrides and feeds (admin).
#[utoipa::path(delete, path = "/api/v1/schedules/{id}", tag = "on-call",
    params(("id" = String, Path, description = "Id or name")),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    caller.require(Role::Admin)?;
    let current = find(&state, &id).await?;
    state.store.delete_schedule(&current.id).await?;
    state.pager.invalidate().await;
    Ok(StatusCode::NO_CONTENT)
}

fn at_of(query: &AtQuery) -> ApiResult<Timestamp> {
    match query.at.as_deref().filter(|it| !it.is_empty()) {
        Some(text) => moment("at", text),
        None => Ok(firebreak_store::clock::now()),
    }
}

fn range_of(
    query: &RangeQuery,
    default: (Timestamp, Timestamp),
) -> ApiResult<(Timestamp, Timestamp)> {
    let from = match query.from.as_deref().filter(|it| !it.is_empty()) {
        Some(text) => moment("from", text)?,
        None => default.0,
    };
    let to = match query.to.as_deref().filter(|it| !it.is_empty()) {
        Some(text) => moment("to", text)?,
        None => from + default.1.duration_since(default.0),
    };
    if from >= to {
        return Err(ApiError::field("from", "must be before `to`"));
    }
    if to.duration_since(from) > SignedDuration::from_hours(24 * MAX_RANGE_DAYS) {
        return Err(ApiError::field(
            "to",
            format!("a range is at most {MAX_RANGE_DAYS} days"),
        ));
    }
    Ok((from, to))
}

/// Who is on call at `at` (default now).
#[utoipa::path(get, path = "/api/v1/schedules/{id}/oncall", tag = "on-call",
    params(("id" = String, Path, description = "Id or name"), ("at" = Option<String>, Query, description = "RFC 3339; default now")),
    responses((status = 200, body = OnCallDto), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn oncall(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(query): Query<AtQuery>,
) -> ApiResult<Json<OnCallDto>> {
    caller.require(Role::Viewer)?;
    let at = at_of(&query)?;
    Ok(Json(on_call_at(&find(&state, &id).await?, at)?))
}

/// Who is on call at `at` in every schedule.
#[utoipa::path(get, path = "/api/v1/oncall", tag = "on-call",
    params(("at" = Option<String>, Query, description = "RFC 3339; default now")),
    responses((status = 200, body = Vec<OnCallDto>), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn everyone(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<AtQuery>,
) -> ApiResult<Json<Vec<OnCallDto>>> {
    caller.require(Role::Viewer)?;
    let at = at_of(&query)?;
    let all = state.store.schedules().await?;
    Ok(Json(
        all.iter()
            .map(|it| on_call_at(it, at))
            .collect::<ApiResult<_>>()?,
    ))
}

/// The shifts over `[from, to)` (default the next 7 days), tiling the range; nobody on call
/// is a shift with `person: null`.
#[utoipa::path(get, path = "/api/v1/schedules/{id}/shifts", tag = "on-call",
    params(("id" = String, Path, description = "Id or name"),
           ("from" = Option<String>, Query, description = "Default now"),
           ("to" = Option<String>, Query, description = "Default 7 days after `from`; at most 366 days")),
    responses((status = 200, body = Vec<ShiftDto>), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn shifts(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(query): Query<RangeQuery>,
) -> ApiResult<Json<Vec<ShiftDto>>> {
    caller.require(Role::Viewer)?;
    let now = firebreak_store::clock::now();
    let (from, to) = range_of(&query, (now, now + SignedDuration::from_hours(24 * 7)))?;
    let schedule = to_core(&find(&state, &id).await?)?;
    Ok(Json(
        schedule
            .shifts(from, to)
            .into_iter()
            .map(|it| ShiftDto {
                start: it.start.to_string(),
                end: it.end.to_string(),
                person: it.person,
            })
            .collect(),
    ))
}

/// The fairness report over `[from, to)` (default the last 30 days): shifts, hours, weekend
/// and night hours per person, and the hours nobody covered.
#[utoipa::path(get, path = "/api/v1/schedules/{id}/report", tag = "on-call",
    params(("id" = String, Path, description = "Id or name"),
           ("from" = Option<String>, Query, description = "Default 30 days ago"),
           ("to" = Option<String>, Query, description = "Default `from` + 30 days")),
    responses((status = 200, body = ReportDto), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn report(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(query): Query<RangeQuery>,
) -> ApiResult<Json<ReportDto>> {
    caller.require(Role::Viewer)?;
    let now = firebreak_store::clock::now();
    let (from, to) = range_of(&query, (now - SignedDuration::from_hours(24 * 30), now))?;
    let stored = find(&state, &id).await?;
    let schedule = to_core(&stored)?;
    let shifts = schedule.shifts(from, to);
    let uncovered: i64 = shifts
        .iter()
        .filter(|it| it.person.is_none())
        .map(|it| it.end.duration_since(it.start).as_secs())
        .sum();
    let loads = firebreak_core::schedule::fairness(&schedule.zone, &shifts);
    Ok(Json(ReportDto {
        schedule: stored.name,
        from: from.to_string(),
        to: to.to_string(),
        uncovered_hours: uncovered as f64 / 3600.0,
        people: loads
            .into_iter()
            .map(|(person, load)| LoadDto {
                person,
                shifts: load.shifts,
                hours: load.hours,
                weekend_hours: load.weekend_hours,
                night_hours: load.night_hours,
            })
            .collect(),
    }))
}

/// Someone covers a range of a schedule (responder).
#[utoipa::path(post, path = "/api/v1/schedules/{id}/overrides", tag = "on-call", request_body = OverrideBody,
    params(("id" = String, Path, description = "Id or name")),
    responses((status = 201, body = OverrideDto), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn add_override(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<OverrideBody>,
) -> ApiResult<(StatusCode, Json<OverrideDto>)> {
    let start: Timestamp = body
        .start
        .parse()
        .map_err(|_| ApiError::field("start", "an RFC 3339 time"))?;
    let end: Timestamp = body
        .end
        .parse()
        .map_err(|_| ApiError::field("end", "an RFC 3339 time"))?;
    let added = cover(&state, &caller, &id, (start, end, &body.person)).await?;
    Ok((
        StatusCode::CREATED,
        Json(OverrideDto {
            id: added.id,
            start: added.start.to_string(),
            end: added.end.to_string(),
            person: added.person,
            created_by: added.created_by,
        }),
    ))
}

/// Remove an override (responder).
#[utoipa::path(delete, path = "/api/v1/schedules/{id}/overrides/{override_id}", tag = "on-call",
    params(("id" = String, Path, description = "Id or name"), ("override_id" = String, Path, description = "Override id")),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn delete_override(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, override_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    caller.require(Role::Responder)?;
    let current = find(&state, &id).await?;
    state
        .store
        .delete_override(&current.id, &override_id)
        .await?;
    state.pager.invalidate().await;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct FeedDto {
    /// The secret address, shown once: anyone with it can read the shifts.
    pub url: String,
}

/// A secret iCalendar feed of a schedule's shifts or of one person's (shown once).
#[utoipa::path(post, path = "/api/v1/calendar-feeds", tag = "on-call", request_body = FeedBody,
    responses((status = 201, body = FeedDto), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_feed(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<FeedBody>,
) -> ApiResult<(StatusCode, Json<FeedDto>)> {
    let url = new_feed(&state, &caller, &body).await?;
    Ok((StatusCode::CREATED, Json(FeedDto { url })))
}

/// `GET /calendar/{secret}.ics`: the feed's shifts from 30 days ago to 90 days ahead. No
/// sign-in: the secret is the credential; an unknown one is 404.
pub async fn feed(State(state): State<AppState>, Path(file): Path<String>) -> ApiResult<Response> {
    let secret = file
        .strip_suffix(".ics")
        .ok_or_else(|| ApiError::not_found("calendar"))?;
    let subject = state
        .store
        .calendar_feed(&firebreak_core::token::hash_token(secret))
        .await?;
    let now = firebreak_store::clock::now();
    let (from, to) = (
        now - SignedDuration::from_hours(24 * 30),
        now + SignedDuration::from_hours(24 * 90),
    );
    let schedules = match &subject {
        FeedSubject::Schedule(id) => vec![find(&state, id).await?],
        FeedSubject::Person(_) => state.store.schedules().await?,
    };
    let mut shifts: Vec<(String, Shift)> = Vec::new();
    for stored in &schedules {
        for shift in to_core(stored)?.shifts(from, to) {
            let keep = match (&subject, &shift.person) {
                (_, None) => false,
                (FeedSubject::Schedule(_), Some(_)) => true,
                (FeedSubject::Person(email), Some(person)) => person == email,
            };
            if keep {
                shifts.push((stored.name.clone(), shift));
            }
        }
    }
    shifts.sort_by_key(|(_, it)| it.start);
    let summaries: Vec<(String, String)> = shifts
        .iter()
        .map(|(schedule, it)| {
            let person = it.person.clone().unwrap_or_default();
            (
                format!("On call: {person} ({schedule})"),
                format!("{person} is on call for {schedule}."),
            )
        })
        .collect();
    let events: Vec<firebreak_core::ics::FeedEvent<'_>> = shifts
        .iter()
        .zip(&summaries)
        .map(
            |((schedule, it), (summary, description))| firebreak_core::ics::FeedEvent {
                uid: format!(
                    "{}@firebreak",
                    firebreak_core::token::hash_token(&format!(
                        "{schedule}/{}/{}",
                        it.start,
                        it.person.as_deref().unwrap_or("")
                    ))
                    .get(..32)
                    .unwrap_or_default()
                ),
                start: it.start,
                end: it.end,
                summary,
                description,
            },
        )
        .collect();
    let name = match &subject {
        FeedSubject::Schedule(_) => format!(
            "On call: {}",
            schedules.first().map(|it| it.name.as_str()).unwrap_or("")
        ),
        FeedSubject::Person(email) => format!("On call: {email}"),
    };
    let body = firebreak_core::ics::feed(&name, &events, now);
    Ok((
        [
            (header::CONTENT_TYPE, "text/calendar; charset=utf-8"),
            (header::CACHE_CONTROL, "private, max-age=300"),
        ],
        body,
    )
        .into_response())
}
