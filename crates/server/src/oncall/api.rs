//! On-call schedules: layers of rotations in a zone's wall clock, restrictions, overrides;
//! who is on call (per schedule and everyone), shifts over a range, the fairness report, and
//! secret iCalendar feeds. The rules themselves are `core::schedule`.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use firebreak_core::Role;
use firebreak_core::schedule::{Layer, Override, Schedule, Shift, ShiftLength, Window};
use firebreak_store::{FeedSubject, StoredSchedule};
use jiff::civil::{DateTime, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, Caller};
use crate::insights::api::moment;

/// The longest range shifts and reports are computed over.
pub const MAX_RANGE_DAYS: i64 = 366;

#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct WindowBody {
    /// Weekdays the window starts on: mon, tue, wed, thu, fri, sat, sun.
    pub days: Vec<String>,
    /// Wall-clock start, `HH:MM`, in the schedule's zone.
    pub from: String,
    /// Wall-clock end; at or before `from` runs past midnight (equal: a whole day).
    pub to: String,
}

#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct LayerBody {
    pub name: String,
    /// When the first turn starts, wall clock in the schedule's zone: `2026-11-23T09:00`.
    pub start: String,
    /// Each turn's length: `30m`, `4h`, `1d`, `1w` (at least 15 minutes).
    pub shift: String,
    /// Emails, in turn order.
    pub participants: Vec<String>,
    /// Empty: always active. Otherwise only inside these windows.
    #[serde(default)]
    pub windows: Vec<WindowBody>,
}

#[derive(Deserialize, ToSchema, Debug)]
#[serde(deny_unknown_fields)]
pub struct ScheduleBody {
    pub name: String,
    /// IANA zone, e.g. `Europe/Berlin`: handoffs and windows are kept in its wall clock.
    pub time_zone: String,
    /// Lowest first: a later layer wins where it is active.
    pub layers: Vec<LayerBody>,
}

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
pub struct OnCallDto {
    pub schedule_id: String,
    pub schedule: String,
    pub at: String,
    /// Null: nobody is on call.
    pub person: Option<String>,
    /// When this stretch began and ends (looking up to 35 days either way).
    pub since: String,
    pub until: String,
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

fn parse_length(text: &str) -> ApiResult<ShiftLength> {
    let text = text.trim();
    let bad = || ApiError::field("shift", "a length like 30m, 4h, 1d or 1w");
    let unit = text.chars().last().ok_or_else(bad)?;
    let n: i64 = text[..text.len() - unit.len_utf8()]
        .parse()
        .map_err(|_| bad())?;
    if n <= 0 {
        return Err(bad());
    }
    Ok(match unit {
        'm' => ShiftLength::Minutes(n),
        'h' => ShiftLength::Hours(n),
        'd' => ShiftLength::Days(n),
        'w' => ShiftLength::Weeks(n),
        _ => return Err(bad()),
    })
}

fn parse_weekday(text: &str) -> Option<Weekday> {
    Some(match text.trim().to_ascii_lowercase().get(..3)? {
        "mon" => Weekday::Monday,
        "tue" => Weekday::Tuesday,
        "wed" => Weekday::Wednesday,
        "thu" => Weekday::Thursday,
        "fri" => Weekday::Friday,
        "sat" => Weekday::Saturday,
        "sun" => Weekday::Sunday,
        _ => return None,
    })
}

fn parse_time(field: &str, text: &str) -> ApiResult<Time> {
    Time::strptime("%H:%M", text.trim())
        .map_err(|_| ApiError::field(field, "a wall-clock time, HH:MM"))
}

fn parse_zone(text: &str) -> ApiResult<TimeZone> {
    TimeZone::get(text.trim())
        .map_err(|_| ApiError::field("time_zone", "an IANA time zone, e.g. Europe/Berlin"))
}

/// Checks a schedule and answers its core form and its layers as they are stored (emails in
/// lower case, names trimmed).
/// A schedule as sent, checked and turned into its core form (with the layers as kept).
pub fn parse(body: &ScheduleBody) -> ApiResult<(Schedule, Vec<LayerBody>)> {
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::field("name", "1 to 100 characters"));
    }
    let zone = parse_zone(&body.time_zone)?;
    if body.layers.is_empty() || body.layers.len() > 20 {
        return Err(ApiError::field("layers", "1 to 20 layers"));
    }
    let mut layers = Vec::new();
    let mut stored = Vec::new();
    for (i, it) in body.layers.iter().enumerate() {
        let at = |what: &str| format!("layers[{i}].{what}");
        let start = DateTime::strptime("%Y-%m-%dT%H:%M", it.start.trim()).map_err(|_| {
            ApiError::field(
                &at("start"),
                "a wall-clock date and time, e.g. 2026-11-23T09:00",
            )
        })?;
        let length = parse_length(&it.shift)
            .map_err(|_| ApiError::field(&at("shift"), "a length like 30m, 4h, 1d or 1w"))?;
        let participants = it
            .participants
            .iter()
            .map(|email| {
                firebreak_core::person::parse_email(email).ok_or_else(|| {
                    ApiError::field(
                        &at("participants"),
                        format!("{email:?} is not an email address"),
                    )
                })
            })
            .collect::<ApiResult<Vec<_>>>()?;
        let windows = it
            .windows
            .iter()
            .map(|window| {
                let days = window
                    .days
                    .iter()
                    .map(|day| {
                        parse_weekday(day).ok_or_else(|| {
                            ApiError::field(&at("windows"), format!("{day:?} is not a weekday"))
                        })
                    })
                    .collect::<ApiResult<Vec<_>>>()?;
                Ok(Window {
                    days,
                    from: parse_time(&at("windows"), &window.from)?,
                    to: parse_time(&at("windows"), &window.to)?,
                })
            })
            .collect::<ApiResult<Vec<_>>>()?;
        let layer = Layer {
            name: it.name.trim().to_string(),
            start,
            length,
            participants: participants.clone(),
            windows,
        };
        layer
            .check()
            .map_err(|err| ApiError::field(&at("shift"), err.to_string()))?;
        stored.push(LayerBody {
            name: layer.name.clone(),
            participants,
            ..it.clone()
        });
        layers.push(layer);
    }
    Ok((
        Schedule {
            zone,
            layers,
            overrides: Vec::new(),
        },
        stored,
    ))
}

/// The core form of a stored schedule (with its overrides).
pub fn to_core(stored: &StoredSchedule) -> ApiResult<Schedule> {
    let layers: Vec<LayerBody> =
        serde_json::from_str(&stored.layers).map_err(ApiError::internal)?;
    let (mut schedule, _) = parse(&ScheduleBody {
        name: stored.name.clone(),
        time_zone: stored.time_zone.clone(),
        layers,
    })
    .map_err(|err| ApiError::internal(format!("stored schedule does not parse: {err:?}")))?;
    // Oldest first, so the newest wins where they overlap.
    schedule.overrides = stored
        .overrides
        .iter()
        .rev()
        .map(|it| Override {
            start: it.start,
            end: it.end,
            person: it.person.clone(),
        })
        .collect();
    Ok(schedule)
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

pub async fn find(state: &AppState, id: &str) -> ApiResult<StoredSchedule> {
    Ok(state.store.schedule(id).await?)
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

/// Checks and stores a schedule: a new one, or a replacement for `existing` (an id or a
/// name). Admins only; the API and the on-call page both come here.
pub async fn save(
    state: &AppState,
    caller: &Caller,
    existing: Option<&str>,
    body: &ScheduleBody,
) -> ApiResult<StoredSchedule> {
    caller.require(Role::Admin)?;
    let (_, layers) = parse(body)?;
    let layers = serde_json::to_string(&layers).map_err(ApiError::internal)?;
    let fields = (body.name.trim(), body.time_zone.trim(), layers.as_str());
    let now = firebreak_store::clock::now();
    let saved = match existing {
        None => state.store.create_schedule(fields, now).await?,
        Some(id) => {
            let current = find(state, id).await?;
            state
                .store
                .update_schedule(&current.id, fields, now)
                .await?
        }
    };
    state.pager.invalidate().await;
    Ok(saved)
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

/// Who a schedule puts on call at `at`, and the stretch it is part of.
pub fn on_call_at(stored: &StoredSchedule, at: Timestamp) -> ApiResult<OnCallDto> {
    let schedule = to_core(stored)?;
    let reach = SignedDuration::from_hours(24 * 35);
    let shifts = schedule.shifts(at - reach, at + reach);
    let current = shifts
        .iter()
        .find(|it| it.start <= at && at < it.end)
        .cloned()
        .unwrap_or(Shift {
            start: at,
            end: at,
            person: None,
        });
    Ok(OnCallDto {
        schedule_id: stored.id.clone(),
        schedule: stored.name.clone(),
        at: at.to_string(),
        person: current.person,
        since: current.start.to_string(),
        until: current.end.to_string(),
    })
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

/// Records that `person` covers `[start, end)` of a schedule (responders); the API and the
/// on-call page both come here.
pub async fn cover(
    state: &AppState,
    caller: &Caller,
    id: &str,
    (start, end, person): (Timestamp, Timestamp, &str),
) -> ApiResult<firebreak_store::StoredOverride> {
    caller.require(Role::Responder)?;
    if end <= start {
        return Err(ApiError::field("end", "must be after `start`"));
    }
    if end.duration_since(start) > SignedDuration::from_hours(24 * MAX_RANGE_DAYS) {
        return Err(ApiError::field("end", "an override is at most 366 days"));
    }
    let person = firebreak_core::person::parse_email(person)
        .ok_or_else(|| ApiError::field("person", "an email address"))?;
    let current = find(state, id).await?;
    let added = state
        .store
        .add_override(
            &current.id,
            (start, end, &person),
            &caller.actor(),
            firebreak_store::clock::now(),
        )
        .await?;
    state.pager.invalidate().await;
    Ok(added)
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

#[derive(Deserialize, ToSchema, Debug)]
#[serde(deny_unknown_fields)]
pub struct FeedBody {
    /// A schedule's shifts (id or name)…
    pub schedule: Option<String>,
    /// …or one person's shifts in every schedule (an email; yours unless you are an admin).
    pub person: Option<String>,
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

/// Makes a secret calendar feed and answers its address (shown once); the API and the
/// on-call page both come here.
pub async fn new_feed(state: &AppState, caller: &Caller, body: &FeedBody) -> ApiResult<String> {
    // Making a feed writes a secret: it needs write scope, even for an admin's token.
    caller.require(Role::Responder)?;
    let subject = match (&body.schedule, &body.person) {
        (Some(id), None) => FeedSubject::Schedule(find(state, id).await?.id),
        (None, Some(person)) => {
            let email = firebreak_core::person::parse_email(person)
                .ok_or_else(|| ApiError::field("person", "an email address"))?;
            if email != caller.actor() && !caller.role.allows(Role::Admin) {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "forbidden",
                    "only an admin makes a feed of someone else's shifts",
                ));
            }
            FeedSubject::Person(email)
        }
        _ => return Err(ApiError::field("schedule", "give a schedule or a person")),
    };
    let secret = crate::webhooks::random_secret()?.replacen("whsec_", "cal_", 1);
    state
        .store
        .create_calendar_feed(
            &firebreak_core::token::hash_token(&secret),
            &subject,
            &caller.actor(),
            firebreak_store::clock::now(),
        )
        .await?;
    Ok(format!(
        "{}/calendar/{secret}.ics",
        state.settings.base_url()
    ))
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

/// Who is on call now in each schedule, for the dashboard: (schedule, person or nobody, until).
pub async fn now_on_call(state: &AppState) -> ApiResult<Vec<(String, Option<String>, Timestamp)>> {
    let now = firebreak_store::clock::now();
    let mut out = Vec::new();
    for stored in state.store.schedules().await? {
        let it = on_call_at(&stored, now)?;
        out.push((it.schedule, it.person, it.until.parse().unwrap_or(now)));
    }
    Ok(out)
}
