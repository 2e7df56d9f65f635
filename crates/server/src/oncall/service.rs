//! Schedules as the API and the On call page both handle them: the request bodies, checking
//! and saving a schedule, who is on call at a time, calendar feeds.

use axum::http::StatusCode;
use firebreak_core::Role;
use firebreak_core::schedule::{Layer, NOBODY, Override, Schedule, Shift, ShiftLength, Window};
use firebreak_store::{FeedSubject, StoredSchedule};
use jiff::civil::{DateTime, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::Caller;

#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct LayerBody {
    pub name: String,
    /// When the first turn starts, wall clock in the schedule's zone: `2026-11-23T09:00`.
    pub start: String,
    /// Each turn's length: `30m`, `4h`, `1d`, `1w` (at least 15 minutes).
    pub shift: String,
    /// Emails, in turn order; `nobody` is a turn with nobody on call in this layer.
    pub participants: Vec<String>,
    /// Empty: always active. Otherwise only inside these windows.
    #[serde(default)]
    pub windows: Vec<WindowBody>,
    /// Wall clock: the layer takes part from here (absent: from its first turn)…
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_from: Option<String>,
    /// …until here (absent: for ever); its turns still count from `start`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_until: Option<String>,
}

#[derive(Deserialize, ToSchema, Debug)]
#[serde(deny_unknown_fields)]
pub struct FeedBody {
    /// A schedule's shifts (id or name)…
    pub schedule: Option<String>,
    /// …or one person's shifts in every schedule (an email; yours unless you are an admin).
    pub person: Option<String>,
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

pub async fn find(state: &AppState, id: &str) -> ApiResult<StoredSchedule> {
    Ok(state.store.schedule(id).await?)
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
        let wall_clock = |field: &str, text: &Option<String>| {
            text.as_deref()
                .map(|text| {
                    DateTime::strptime("%Y-%m-%dT%H:%M", text.trim()).map_err(|_| {
                        ApiError::field(
                            &at(field),
                            "a wall-clock date and time, e.g. 2026-11-23T09:00",
                        )
                    })
                })
                .transpose()
        };
        let active_from = wall_clock("active_from", &it.active_from)?;
        let active_until = wall_clock("active_until", &it.active_until)?;
        let participants = it
            .participants
            .iter()
            .map(|email| {
                if email.trim().eq_ignore_ascii_case(NOBODY) {
                    return Ok(NOBODY.to_string());
                }
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
            active_from,
            active_until,
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

pub(crate) fn parse_length(text: &str) -> ApiResult<ShiftLength> {
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

pub(crate) fn parse_time(field: &str, text: &str) -> ApiResult<Time> {
    Time::strptime("%H:%M", text.trim())
        .map_err(|_| ApiError::field(field, "a wall-clock time, HH:MM"))
}

pub(crate) fn parse_weekday(text: &str) -> Option<Weekday> {
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

pub(crate) fn parse_zone(text: &str) -> ApiResult<TimeZone> {
    TimeZone::get(text.trim())
        .map_err(|_| ApiError::field("time_zone", "an IANA time zone, e.g. Europe/Berlin"))
}

/// A core schedule's layers in the API's shape (`parse`'s inverse, for layers made elsewhere:
/// an import). `None` when a time has seconds, which the API's `HH:MM` cannot carry.
pub fn layer_bodies(schedule: &Schedule) -> Option<Vec<LayerBody>> {
    let whole = |time: Time| time.second() == 0 && time.subsec_nanosecond() == 0;
    let day = |it: Weekday| match it {
        Weekday::Monday => "mon",
        Weekday::Tuesday => "tue",
        Weekday::Wednesday => "wed",
        Weekday::Thursday => "thu",
        Weekday::Friday => "fri",
        Weekday::Saturday => "sat",
        Weekday::Sunday => "sun",
    };
    schedule
        .layers
        .iter()
        .map(|layer| {
            let wall_clock = |at: Option<DateTime>| -> Option<Option<String>> {
                match at {
                    None => Some(None),
                    Some(at) if whole(at.time()) => {
                        Some(Some(at.strftime("%Y-%m-%dT%H:%M").to_string()))
                    }
                    Some(_) => None,
                }
            };
            if !whole(layer.start.time()) {
                return None;
            }
            let (active_from, active_until) = (
                wall_clock(layer.active_from)?,
                wall_clock(layer.active_until)?,
            );
            let windows = layer
                .windows
                .iter()
                .map(|it| {
                    (whole(it.from) && whole(it.to)).then(|| WindowBody {
                        days: it.days.iter().map(|d| day(*d).to_string()).collect(),
                        from: it.from.strftime("%H:%M").to_string(),
                        to: it.to.strftime("%H:%M").to_string(),
                    })
                })
                .collect::<Option<Vec<_>>>()?;
            Some(LayerBody {
                name: layer.name.clone(),
                start: layer.start.strftime("%Y-%m-%dT%H:%M").to_string(),
                shift: match layer.length {
                    ShiftLength::Minutes(n) => format!("{n}m"),
                    ShiftLength::Hours(n) => format!("{n}h"),
                    ShiftLength::Days(n) => format!("{n}d"),
                    ShiftLength::Weeks(n) => format!("{n}w"),
                },
                participants: layer.participants.clone(),
                windows,
                active_from,
                active_until,
            })
        })
        .collect()
}
