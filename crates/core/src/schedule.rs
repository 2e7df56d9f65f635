//! On-call schedules: layers of rotations kept in the schedule's wall clock (an IANA zone),
//! each optionally restricted to weekday / time-of-day windows, with overrides on top. Pure
//! functions answer who is on call at an instant, the shifts over a range (tiling it exactly),
//! and how the load fell on each person.
//!
//! Time-zone rules (also in the README):
//! - Handoffs and windows are wall-clock times in the schedule's zone: a 09:00 handoff is at
//!   09:00 local on both sides of a DST change, so that day's shift is an hour shorter or
//!   longer. Hourly and minute rotations count wall-clock time too (a 2-hour rotation hands
//!   off on even hours, always).
//! - A wall-clock time that does not exist (the spring gap) happens when the clock jumps:
//!   a 02:30 handoff on the night Berlin goes 02:00 → 03:00 is at 03:00. Two handoffs that
//!   both fall in the gap meet at the same instant, so the shift between them is empty and
//!   dropped.
//! - A wall-clock time that happens twice (the autumn fold) means the first time: a 02:30
//!   handoff on the night Berlin goes 03:00 → 02:00 is at the first 02:30 (summer time).
//! - So handoffs never go backwards in time: shifts tile the range with no gap and no
//!   overlap, whatever the zone (tested over Europe/Berlin, America/New_York and
//!   Australia/Lord_Howe, whose DST moves the clock by 30 minutes).
//!
//! Precedence: an override wins (the latest one when several cover the instant); else the
//! last layer (the highest) that is active — started, and inside one of its windows if it
//! has any; else nobody is on call (a gap in coverage, shown as such).

use jiff::civil::{Date, DateTime, Time, Weekday};
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{SignedDuration, Span, Timestamp};

/// How long each participant's turn is, in wall-clock units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShiftLength {
    Minutes(i64),
    Hours(i64),
    Days(i64),
    Weeks(i64),
}

impl ShiftLength {
    /// The shortest turn a rotation may have.
    pub const MIN_MINUTES: i64 = 15;

    fn span(self, times: i64) -> Option<Span> {
        let times = |n: i64| n.checked_mul(times);
        let span = match self {
            ShiftLength::Minutes(n) => Span::new().try_minutes(times(n)?),
            ShiftLength::Hours(n) => Span::new().try_hours(times(n)?),
            ShiftLength::Days(n) => Span::new().try_days(times(n)?),
            ShiftLength::Weeks(n) => Span::new().try_weeks(times(n)?),
        };
        span.ok()
    }

    /// The length in minutes on a day without a DST change (saturating: a length too long to
    /// count is longer than any limit).
    pub fn nominal_minutes(self) -> i64 {
        match self {
            ShiftLength::Minutes(n) => n,
            ShiftLength::Hours(n) => n.saturating_mul(60),
            ShiftLength::Days(n) => n.saturating_mul(1440),
            ShiftLength::Weeks(n) => n.saturating_mul(7 * 1440),
        }
    }
}

/// Monday to Sunday: a window on every day.
pub const EVERY_DAY: [Weekday; 7] = [
    Weekday::Monday,
    Weekday::Tuesday,
    Weekday::Wednesday,
    Weekday::Thursday,
    Weekday::Friday,
    Weekday::Saturday,
    Weekday::Sunday,
];

/// A weekday / time-of-day window in the schedule's zone. `to` at or before `from` runs past
/// midnight into the next day (`from == to` is a whole day); the weekday is the start's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Window {
    pub days: Vec<Weekday>,
    pub from: Time,
    pub to: Time,
}

/// One rotation: participants take turns of `length`, the first turn starting at `start`
/// (wall clock in the schedule's zone).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layer {
    pub name: String,
    pub start: DateTime,
    pub length: ShiftLength,
    pub participants: Vec<String>,
    /// Empty: the layer is active all the time once started.
    pub windows: Vec<Window>,
    /// Wall clock in the schedule's zone: the layer takes part from here (`None`: from its
    /// first turn)…
    pub active_from: Option<DateTime>,
    /// …until here (`None`: for ever). Turns still count from `start` either way.
    pub active_until: Option<DateTime>,
}

/// A participant who is nobody: their turns leave the layer empty (Opsgenie's `none`), so
/// a lower layer shows through, or nobody is on call. Never an email, which has an `@`.
pub const NOBODY: &str = "nobody";

/// Someone covers a range, whatever the layers say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Override {
    pub start: Timestamp,
    pub end: Timestamp,
    pub person: String,
}

#[derive(Clone, Debug)]
pub struct Schedule {
    pub zone: TimeZone,
    /// Lowest first; a later layer wins where it is active.
    pub layers: Vec<Layer>,
    pub overrides: Vec<Override>,
}

/// A stretch of time with one person on call (or nobody).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shift {
    pub start: Timestamp,
    pub end: Timestamp,
    pub person: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error("a layer needs at least one participant")]
    NoParticipants,
    #[error("a shift is at least {} minutes", ShiftLength::MIN_MINUTES)]
    ShiftTooShort,
    #[error("a shift is at most 52 weeks")]
    ShiftTooLong,
    #[error("a window needs at least one weekday")]
    NoWeekdays,
    #[error("an override ends after it starts")]
    OverrideBackwards,
    #[error("a layer starts between the years 1970 and 2200")]
    StartOutOfRange,
    #[error("a layer's active range ends after it starts")]
    ActiveBackwards,
}

/// The instant of a wall-clock time in `zone`, by the rules in the module's documentation:
/// a time in a gap is the moment the clock jumps; a time in a fold is its first occurrence.
pub fn resolve(zone: &TimeZone, at: DateTime) -> Timestamp {
    let ambiguous = zone.to_ambiguous_timestamp(at);
    let instant = match ambiguous.offset() {
        AmbiguousOffset::Unambiguous { offset } => offset.to_timestamp(at),
        AmbiguousOffset::Fold { before, .. } => before.to_timestamp(at),
        AmbiguousOffset::Gap { after, .. } => after.to_timestamp(at).map(|early| {
            zone.following(early)
                .next()
                .map(|transition| transition.timestamp())
                .unwrap_or(early)
        }),
    };
    instant.unwrap_or(Timestamp::MAX)
}

fn local(zone: &TimeZone, at: Timestamp) -> DateTime {
    zone.to_datetime(at)
}

impl Layer {
    /// Checks a layer; the API calls this before anything is stored.
    pub fn check(&self) -> Result<(), ScheduleError> {
        if self.participants.is_empty() {
            return Err(ScheduleError::NoParticipants);
        }
        let minutes = self.length.nominal_minutes();
        if minutes < ShiftLength::MIN_MINUTES {
            return Err(ScheduleError::ShiftTooShort);
        }
        if minutes > 52 * 7 * 1440 {
            return Err(ScheduleError::ShiftTooLong);
        }
        if !(1970..=2200).contains(&self.start.year()) {
            return Err(ScheduleError::StartOutOfRange);
        }
        if self.windows.iter().any(|it| it.days.is_empty()) {
            return Err(ScheduleError::NoWeekdays);
        }
        if let (Some(from), Some(until)) = (self.active_from, self.active_until)
            && until <= from
        {
            return Err(ScheduleError::ActiveBackwards);
        }
        Ok(())
    }

    /// When turn `k` starts (turn 0 at `start`).
    fn handoff(&self, zone: &TimeZone, k: i64) -> Timestamp {
        match self
            .length
            .span(k)
            .and_then(|span| self.start.checked_add(span).ok())
        {
            Some(at) => resolve(zone, at),
            None if k < 0 => Timestamp::MIN,
            None => Timestamp::MAX,
        }
    }

    /// The turn in progress at `at`, if the layer has started.
    fn turn_at(&self, zone: &TimeZone, at: Timestamp) -> Option<i64> {
        let first = self.handoff(zone, 0);
        if at < first {
            return None;
        }
        let nominal = self.length.nominal_minutes().max(1) * 60;
        let mut k = at.duration_since(first).as_secs() / nominal;
        // DST moves a handoff by at most a few hours: a few steps settle it.
        while self.handoff(zone, k) > at && k > 0 {
            k -= 1;
        }
        while self.handoff(zone, k + 1) <= at {
            k += 1;
        }
        Some(k)
    }

    fn person(&self, k: i64) -> Option<&String> {
        let n = i64::try_from(self.participants.len()).ok()?;
        let index = usize::try_from(k.rem_euclid(n.max(1))).ok()?;
        self.participants.get(index).filter(|it| *it != NOBODY)
    }

    /// Whether `at` is inside the layer's active range.
    fn active_at(&self, zone: &TimeZone, at: Timestamp) -> bool {
        self.active_from
            .is_none_or(|from| resolve(zone, from) <= at)
            && self
                .active_until
                .is_none_or(|until| at < resolve(zone, until))
    }

    /// The window occurrences that start on `day`, as instants.
    fn windows_on(&self, zone: &TimeZone, day: Date) -> Vec<(Timestamp, Timestamp)> {
        self.windows
            .iter()
            .filter(|it| it.days.contains(&day.weekday()))
            .map(|it| {
                let end_day = if it.to > it.from {
                    day
                } else {
                    day.tomorrow().unwrap_or(day)
                };
                (
                    resolve(zone, day.to_datetime(it.from)),
                    resolve(zone, end_day.to_datetime(it.to)),
                )
            })
            .collect()
    }

    fn in_window(&self, zone: &TimeZone, at: Timestamp) -> bool {
        if self.windows.is_empty() {
            return true;
        }
        let today = local(zone, at).date();
        [today.yesterday().unwrap_or(today), today]
            .into_iter()
            .flat_map(|day| self.windows_on(zone, day))
            .any(|(start, end)| start <= at && at < end)
    }

    /// Who this layer puts on call at `at`, if it is active then.
    pub fn on_call(&self, zone: &TimeZone, at: Timestamp) -> Option<&String> {
        if !self.active_at(zone, at) || !self.in_window(zone, at) {
            return None;
        }
        self.person(self.turn_at(zone, at)?)
    }

    /// Every instant in `[from, to)` where this layer may change hands or (de)activate.
    fn boundaries(
        &self,
        zone: &TimeZone,
        from: Timestamp,
        to: Timestamp,
        out: &mut Vec<Timestamp>,
    ) {
        out.extend(
            [self.active_from, self.active_until]
                .into_iter()
                .flatten()
                .map(|it| resolve(zone, it))
                .filter(|it| from <= *it && *it < to),
        );
        let mut k = self.turn_at(zone, from).unwrap_or(0);
        loop {
            let at = self.handoff(zone, k);
            if at >= to {
                break;
            }
            if at >= from {
                out.push(at);
            }
            k += 1;
        }
        if self.windows.is_empty() {
            return;
        }
        let Some(mut day) = local(zone, from).date().yesterday().ok() else {
            return;
        };
        let last = local(zone, to).date();
        while day <= last {
            for (start, end) in self.windows_on(zone, day) {
                out.extend(
                    [start, end]
                        .into_iter()
                        .filter(|it| from <= *it && *it < to),
                );
            }
            let Ok(next) = day.tomorrow() else { break };
            day = next;
        }
    }
}

impl Schedule {
    /// Who is on call at `at`, by the precedence in the module's documentation.
    pub fn on_call(&self, at: Timestamp) -> Option<&String> {
        if let Some(over) = self
            .overrides
            .iter()
            .rev()
            .find(|it| it.start <= at && at < it.end)
        {
            return Some(&over.person);
        }
        self.layers
            .iter()
            .rev()
            .find_map(|layer| layer.on_call(&self.zone, at))
    }

    /// The shifts over `[from, to)`: consecutive, covering the range exactly, a person's
    /// adjacent stretches merged, and stretches with nobody on call as `person: None`.
    pub fn shifts(&self, from: Timestamp, to: Timestamp) -> Vec<Shift> {
        if to <= from {
            return Vec::new();
        }
        let mut edges = vec![from];
        for layer in &self.layers {
            layer.boundaries(&self.zone, from, to, &mut edges);
        }
        for over in &self.overrides {
            edges.extend(
                [over.start, over.end]
                    .into_iter()
                    .filter(|it| from <= *it && *it < to),
            );
        }
        edges.sort();
        edges.dedup();
        let mut shifts: Vec<Shift> = Vec::new();
        for (i, start) in edges.iter().enumerate() {
            let end = edges.get(i + 1).copied().unwrap_or(to);
            let person = self.on_call(*start).cloned();
            match shifts.last_mut() {
                Some(last) if last.person == person => last.end = end,
                _ => shifts.push(Shift {
                    start: *start,
                    end,
                    person,
                }),
            }
        }
        shifts
    }
}

/// What a lane of a schedule's picture shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LaneKind {
    /// One layer on its own (where it is not active: nobody).
    Layer,
    /// The overrides (elsewhere: nobody).
    Overrides,
    /// Who is actually on call: every layer and override together (`Schedule::shifts`).
    Result,
}

/// One lane of the picture: its name and its shifts, tiling the range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lane {
    pub name: String,
    pub kind: LaneKind,
    pub shifts: Vec<Shift>,
}

impl Schedule {
    /// The picture of `[from, to)`: a lane per layer (lowest first), the overrides when there
    /// are any, and the result, each computed by `shifts` so the picture cannot disagree with
    /// who is paged.
    pub fn lanes(&self, from: Timestamp, to: Timestamp) -> Vec<Lane> {
        let alone = |layers: Vec<Layer>, overrides: Vec<Override>| Schedule {
            zone: self.zone.clone(),
            layers,
            overrides,
        };
        let mut lanes: Vec<Lane> = self
            .layers
            .iter()
            .map(|layer| Lane {
                name: layer.name.clone(),
                kind: LaneKind::Layer,
                shifts: alone(vec![layer.clone()], Vec::new()).shifts(from, to),
            })
            .collect();
        let overrides: Vec<Override> = self
            .overrides
            .iter()
            .filter(|it| it.start < to && from < it.end)
            .cloned()
            .collect();
        if !overrides.is_empty() {
            lanes.push(Lane {
                name: "Overrides".into(),
                kind: LaneKind::Overrides,
                shifts: alone(Vec::new(), overrides).shifts(from, to),
            });
        }
        lanes.push(Lane {
            name: "On call".into(),
            kind: LaneKind::Result,
            shifts: self.shifts(from, to),
        });
        lanes
    }
}

/// How on-call time fell on one person over a range.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Load {
    pub shifts: usize,
    pub hours: f64,
    /// Hours on Saturdays and Sundays (schedule's zone).
    pub weekend_hours: f64,
    /// Hours between 22:00 and 07:00 (schedule's zone).
    pub night_hours: f64,
}

/// The fairness report: per person, shifts, hours, weekend hours and night hours, counted
/// minute by minute in the schedule's zone (so a DST night is as long as it really was).
pub fn fairness(zone: &TimeZone, shifts: &[Shift]) -> std::collections::BTreeMap<String, Load> {
    let mut out: std::collections::BTreeMap<String, Load> = Default::default();
    for shift in shifts {
        let Some(person) = &shift.person else {
            continue;
        };
        let load = out.entry(person.clone()).or_default();
        load.shifts += 1;
        let (mut weekend, mut night, mut total) = (0i64, 0i64, 0i64);
        let mut at = shift.start;
        while at < shift.end {
            let step_end = (at + SignedDuration::from_mins(1)).min(shift.end);
            let seconds = step_end.duration_since(at).as_secs();
            let wall = local(zone, at);
            total += seconds;
            if matches!(wall.weekday(), Weekday::Saturday | Weekday::Sunday) {
                weekend += seconds;
            }
            if wall.hour() >= 22 || wall.hour() < 7 {
                night += seconds;
            }
            at = step_end;
        }
        load.hours += total as f64 / 3600.0;
        load.weekend_hours += weekend as f64 / 3600.0;
        load.night_hours += night as f64 / 3600.0;
    }
    out
}

#[cfg(test)]
mod tests;
