//! Insights as the API and the page both compute them: the period asked for, the figures and
//! their wire shapes.

use std::collections::BTreeMap;

use firebreak_core::insights::{Clocked, Insights, compute};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::Caller;

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct ClockedDto {
    pub mean_minutes: Option<f64>,
    pub incidents: usize,
    /// How many used a time a person asserted (the rest: what Firebreak observed).
    pub with_asserted_time: usize,
}

#[derive(Deserialize, Debug, Default)]
pub struct PeriodQuery {
    /// A date (`2026-11-01`) or an RFC 3339 time; default 30 days ago.
    pub from: Option<String>,
    /// Exclusive; default now.
    pub to: Option<String>,
}

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct PersonDto {
    pub hours: f64,
    pub out_of_hours_minutes: i64,
    pub incidents: usize,
    pub led: usize,
    /// In more than half of the period's incidents.
    pub heroics: bool,
}

/// Insights over `range` as `caller` may see them (private incidents follow `Access`).
pub async fn insights_for(
    state: &AppState,
    caller: &Caller,
    range: (jiff::Timestamp, jiff::Timestamp),
) -> ApiResult<InsightsDto> {
    let access = caller.access();
    let (incidents, followups, deploys) = state.store.insights_data(&access, range).await?;
    Ok(dto(
        &compute(&incidents, &followups, deploys, HEROICS_SHARE),
        range,
    ))
}

pub fn period(query: &PeriodQuery) -> ApiResult<(jiff::Timestamp, jiff::Timestamp)> {
    let now = firebreak_store::clock::now();
    let to = match query.to.as_deref().filter(|it| !it.is_empty()) {
        Some(text) => moment("to", text)?,
        None => now,
    };
    let from = match query.from.as_deref().filter(|it| !it.is_empty()) {
        Some(text) => moment("from", text)?,
        None => to - jiff::SignedDuration::from_hours(24 * 30),
    };
    if from >= to {
        return Err(ApiError::field("from", "must be before `to`"));
    }
    Ok((from, to))
}

/// Someone in more than this share of the period's incidents is flagged (heroics).
pub const HEROICS_SHARE: f64 = 0.5;

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct InsightsDto {
    pub from: String,
    pub to: String,
    pub incidents: usize,
    pub mtta: ClockedDto,
    pub time_to_mitigate: ClockedDto,
    pub mttr: ClockedDto,
    pub by_severity: BTreeMap<String, usize>,
    pub by_service: BTreeMap<String, usize>,
    pub by_week: BTreeMap<String, usize>,
    pub postmortem_completion: Option<f64>,
    pub followups_on_time: Option<f64>,
    pub deploys: usize,
    pub failed_deploys: usize,
    pub change_failure_rate: Option<f64>,
    pub people: BTreeMap<String, PersonDto>,
    /// Service → distinct people who led its incidents (1 is a risk).
    pub bus_factor: BTreeMap<String, usize>,
}

pub(crate) fn dto(it: &Insights, (from, to): (jiff::Timestamp, jiff::Timestamp)) -> InsightsDto {
    InsightsDto {
        from: from.to_string(),
        to: to.to_string(),
        incidents: it.n_incidents,
        mtta: clocked(&it.mtta),
        time_to_mitigate: clocked(&it.time_to_mitigate),
        mttr: clocked(&it.mttr),
        by_severity: it.by_severity.clone(),
        by_service: it.by_service.clone(),
        by_week: it.by_week.clone(),
        postmortem_completion: it.postmortem_completion,
        followups_on_time: it.followups_on_time,
        deploys: it.n_deploys,
        failed_deploys: it.n_failed_deploys,
        change_failure_rate: it.change_failure_rate,
        people: it
            .people
            .iter()
            .map(|(name, load)| {
                (
                    name.clone(),
                    PersonDto {
                        hours: (load.hours * 100.0).round() / 100.0,
                        out_of_hours_minutes: load.out_of_hours_minutes,
                        incidents: load.incidents,
                        led: load.led,
                        heroics: load.hero,
                    },
                )
            })
            .collect(),
        bus_factor: it.bus_factor.clone(),
    }
}

pub(crate) fn moment(field: &str, text: &str) -> ApiResult<jiff::Timestamp> {
    if let Ok(at) = text.parse::<jiff::Timestamp>() {
        return Ok(at);
    }
    let date: jiff::civil::Date = text
        .parse()
        .map_err(|_| ApiError::field(field, "a date (2026-11-01) or an RFC 3339 time"))?;
    date.to_zoned(jiff::tz::TimeZone::UTC)
        .map(|it| it.timestamp())
        .map_err(|_| ApiError::field(field, "out of range"))
}

pub(crate) fn clocked(it: &Clocked) -> ClockedDto {
    ClockedDto {
        mean_minutes: it.mean_minutes,
        incidents: it.n,
        with_asserted_time: it.n_asserted,
    }
}
