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
}

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
        self.participants.get(index)
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
        if !self.in_window(zone, at) {
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
mod tests {
    use super::*;
    use jiff::civil::{date, time};
    use proptest::prelude::*;

    fn zone(name: &str) -> TimeZone {
        TimeZone::get(name).unwrap()
    }

    fn ts(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn rotation(start: DateTime, length: ShiftLength, people: &[&str]) -> Layer {
        Layer {
            name: "primary".into(),
            start,
            length,
            participants: people.iter().map(|it| it.to_string()).collect(),
            windows: Vec::new(),
        }
    }

    fn schedule(zone_name: &str, layers: Vec<Layer>) -> Schedule {
        Schedule {
            zone: zone(zone_name),
            layers,
            overrides: Vec::new(),
        }
    }

    #[test]
    fn gaps_and_folds_resolve_as_documented() {
        let berlin = zone("Europe/Berlin");
        // Each row: wall-clock time, the instant it means.
        let cases = [
            (date(2026, 3, 29).at(1, 30, 0, 0), "2026-03-29T00:30:00Z"),
            // 02:00–03:00 does not exist that night: the moment the clock jumps.
            (date(2026, 3, 29).at(2, 0, 0, 0), "2026-03-29T01:00:00Z"),
            (date(2026, 3, 29).at(2, 30, 0, 0), "2026-03-29T01:00:00Z"),
            (date(2026, 3, 29).at(3, 0, 0, 0), "2026-03-29T01:00:00Z"),
            // 02:00–03:00 happens twice: the first time (summer time).
            (date(2026, 10, 25).at(2, 30, 0, 0), "2026-10-25T00:30:00Z"),
            (date(2026, 10, 25).at(3, 0, 0, 0), "2026-10-25T02:00:00Z"),
        ];
        for (wall, instant) in cases {
            assert_eq!(resolve(&berlin, wall), ts(instant), "{wall}");
        }
        let lord_howe = zone("Australia/Lord_Howe");
        // Lord Howe moves its clock by 30 minutes: 02:00 → 02:30 on 2026-10-04.
        assert_eq!(
            resolve(&lord_howe, date(2026, 10, 4).at(2, 15, 0, 0)),
            resolve(&lord_howe, date(2026, 10, 4).at(2, 30, 0, 0)),
        );
    }

    #[test]
    fn the_picture_has_a_lane_per_layer_the_overrides_and_the_result() {
        let mut office = rotation(
            date(2026, 3, 2).at(9, 0, 0, 0),
            ShiftLength::Weeks(1),
            &["cy"],
        );
        office.name = "office".into();
        office.windows = vec![Window {
            days: vec![Weekday::Monday],
            from: time(10, 0, 0, 0),
            to: time(12, 0, 0, 0),
        }];
        let mut it = schedule(
            "Europe/Berlin",
            vec![
                rotation(
                    date(2026, 3, 2).at(9, 0, 0, 0),
                    ShiftLength::Days(1),
                    &["ana", "bo"],
                ),
                office,
            ],
        );
        it.overrides.push(Override {
            start: ts("2026-03-03T12:00:00Z"),
            end: ts("2026-03-03T14:00:00Z"),
            person: "dee".into(),
        });
        let (from, to) = (ts("2026-03-02T00:00:00Z"), ts("2026-03-04T00:00:00Z"));
        let lanes = it.lanes(from, to);
        let kinds: Vec<(&str, LaneKind)> =
            lanes.iter().map(|it| (it.name.as_str(), it.kind)).collect();
        assert_eq!(
            kinds,
            [
                ("primary", LaneKind::Layer),
                ("office", LaneKind::Layer),
                ("Overrides", LaneKind::Overrides),
                ("On call", LaneKind::Result)
            ]
        );
        assert_eq!(lanes[3].shifts, it.shifts(from, to));
        for lane in &lanes {
            assert_eq!(lane.shifts.first().unwrap().start, from, "{}", lane.name);
            assert_eq!(lane.shifts.last().unwrap().end, to, "{}", lane.name);
        }
        // The office layer alone: cy on Monday 10–12 Berlin (09–11 UTC), nobody else.
        let office: Vec<_> = lanes[1]
            .shifts
            .iter()
            .filter(|it| it.person.is_some())
            .collect();
        assert_eq!(office.len(), 1);
        assert_eq!(office[0].start, ts("2026-03-02T09:00:00Z"));
        assert_eq!(office[0].end, ts("2026-03-02T11:00:00Z"));
        // The first layer has a gap before its first 09:00 handoff; the result shows it too.
        assert_eq!(lanes[0].shifts[0].person, None);
        assert_eq!(lanes[3].shifts[0].person, None);
        let dee: Vec<_> = lanes[2]
            .shifts
            .iter()
            .filter(|it| it.person.is_some())
            .collect();
        assert_eq!(dee.len(), 1);
        assert!(
            lanes[3]
                .shifts
                .iter()
                .any(|it| it.person.as_deref() == Some("dee"))
        );
        // Without overrides there is no overrides lane.
        it.overrides.clear();
        assert_eq!(it.lanes(from, to).len(), 3);
    }

    #[test]
    fn a_daily_handoff_stays_at_nine_across_dst() {
        let it = schedule(
            "Europe/Berlin",
            vec![rotation(
                date(2026, 3, 27).at(9, 0, 0, 0),
                ShiftLength::Days(1),
                &["ana", "bo"],
            )],
        );
        let shifts = it.shifts(ts("2026-03-27T08:00:00Z"), ts("2026-03-31T07:00:00Z"));
        let starts: Vec<String> = shifts
            .iter()
            .map(|s| {
                s.start
                    .to_zoned(it.zone.clone())
                    .strftime("%d %H:%M")
                    .to_string()
            })
            .collect();
        assert_eq!(starts, ["27 09:00", "28 09:00", "29 09:00", "30 09:00"]);
        // The night the clocks go forward, that shift is 23 hours.
        assert_eq!(shifts[1].end.duration_since(shifts[1].start).as_hours(), 23);
        assert_eq!(shifts[0].person.as_deref(), Some("ana"));
        assert_eq!(shifts[1].person.as_deref(), Some("bo"));
        assert_eq!(shifts[2].person.as_deref(), Some("ana"));
    }

    #[test]
    fn hourly_turns_at_the_gap_and_the_fold() {
        let it = schedule(
            "Europe/Berlin",
            vec![rotation(
                date(2026, 1, 1).at(0, 0, 0, 0),
                ShiftLength::Hours(1),
                &["ana", "bo", "cy"],
            )],
        );
        let hours = |from: &str, to: &str| -> Vec<(String, i64)> {
            it.shifts(ts(from), ts(to))
                .iter()
                .map(|s| {
                    (
                        s.start
                            .to_zoned(it.zone.clone())
                            .strftime("%H:%M %Z")
                            .to_string(),
                        s.end.duration_since(s.start).as_mins(),
                    )
                })
                .collect()
        };
        // Spring: the 02:00 turn does not exist; 01:00 hands straight to the 03:00 turn.
        assert_eq!(
            hours("2026-03-29T00:00:00Z", "2026-03-29T03:00:00Z"),
            [
                ("01:00 CET".to_string(), 60),
                ("03:00 CEST".to_string(), 60),
                ("04:00 CEST".to_string(), 60)
            ]
        );
        // Autumn: the 02:00 turn starts at the first 02:00 and lasts until 03:00, two hours.
        assert_eq!(
            hours("2026-10-24T23:00:00Z", "2026-10-25T03:00:00Z"),
            [
                ("01:00 CEST".to_string(), 60),
                ("02:00 CEST".to_string(), 120),
                ("03:00 CET".to_string(), 60)
            ]
        );
    }

    #[test]
    fn precedence_overrides_then_higher_layers_then_nobody() {
        let mut it = schedule(
            "America/New_York",
            vec![
                rotation(
                    date(2026, 1, 5).at(0, 0, 0, 0),
                    ShiftLength::Weeks(1),
                    &["ana", "bo"],
                ),
                Layer {
                    name: "business hours".into(),
                    windows: vec![Window {
                        days: vec![Weekday::Monday, Weekday::Tuesday],
                        from: time(9, 0, 0, 0),
                        to: time(17, 0, 0, 0),
                    }],
                    ..rotation(
                        date(2026, 1, 5).at(9, 0, 0, 0),
                        ShiftLength::Days(1),
                        &["cy"],
                    )
                },
            ],
        );
        // Each row: instant, who.
        let cases = [
            ("2026-01-05T13:59:00Z", Some("ana")), // Monday 08:59 EST
            ("2026-01-05T14:00:00Z", Some("cy")),  // Monday 09:00: the higher layer
            ("2026-01-05T22:00:00Z", Some("ana")), // Monday 17:00: back to the weekly one
            ("2026-01-07T15:00:00Z", Some("ana")), // Wednesday: no window
            ("2026-01-12T14:30:00Z", Some("cy")),
            ("2026-01-12T23:00:00Z", Some("bo")), // the second week
            ("2026-01-05T04:59:00Z", None),       // before anything started
        ];
        for (at, who) in cases {
            assert_eq!(it.on_call(ts(at)).map(String::as_str), who, "{at}");
        }
        it.overrides.push(Override {
            start: ts("2026-01-12T20:00:00Z"),
            end: ts("2026-01-13T20:00:00Z"),
            person: "dee".into(),
        });
        assert_eq!(it.on_call(ts("2026-01-12T23:00:00Z")).unwrap(), "dee");
        assert_eq!(it.on_call(ts("2026-01-13T20:00:00Z")).unwrap(), "cy");
        let shifts = it.shifts(ts("2026-01-05T04:00:00Z"), ts("2026-01-05T23:00:00Z"));
        let who: Vec<Option<&str>> = shifts.iter().map(|it| it.person.as_deref()).collect();
        assert_eq!(who, [None, Some("ana"), Some("cy"), Some("ana")]);
    }

    #[test]
    fn a_window_past_midnight_belongs_to_the_day_it_starts() {
        let night = Layer {
            windows: vec![Window {
                days: vec![Weekday::Friday],
                from: time(22, 0, 0, 0),
                to: time(6, 0, 0, 0),
            }],
            ..rotation(
                date(2026, 1, 1).at(0, 0, 0, 0),
                ShiftLength::Weeks(1),
                &["owl"],
            )
        };
        let it = schedule("UTC", vec![night]);
        assert_eq!(it.on_call(ts("2026-01-09T23:00:00Z")).unwrap(), "owl"); // Friday
        assert_eq!(it.on_call(ts("2026-01-10T05:59:00Z")).unwrap(), "owl"); // Saturday early
        assert_eq!(it.on_call(ts("2026-01-10T06:00:00Z")), None);
        assert_eq!(it.on_call(ts("2026-01-08T23:00:00Z")), None); // Thursday
    }

    #[test]
    fn follow_the_sun_hands_over_at_local_office_hours() {
        // Three offices, 8-hour shifts in UTC made of layers with windows.
        let office = |name: &str, from: i8| Layer {
            name: name.into(),
            windows: vec![Window {
                days: EVERY_DAY.to_vec(),
                from: time(from, 0, 0, 0),
                to: time((from + 8) % 24, 0, 0, 0),
            }],
            ..rotation(
                date(2026, 1, 1).at(0, 0, 0, 0),
                ShiftLength::Weeks(1),
                &[name],
            )
        };
        let it = schedule(
            "UTC",
            vec![office("sydney", 22), office("berlin", 6), office("nyc", 14)],
        );
        let shifts = it.shifts(ts("2026-01-05T00:00:00Z"), ts("2026-01-06T00:00:00Z"));
        let who: Vec<(String, &str)> = shifts
            .iter()
            .map(|s| {
                (
                    s.start.strftime("%H:%M").to_string(),
                    s.person.as_deref().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            who,
            [
                ("00:00".to_string(), "sydney"),
                ("06:00".to_string(), "berlin"),
                ("14:00".to_string(), "nyc"),
                ("22:00".to_string(), "sydney"),
            ]
        );
    }

    #[test]
    fn the_fairness_report_counts_weekends_and_nights() {
        let it = schedule(
            "UTC",
            vec![rotation(
                date(2026, 1, 2).at(9, 0, 0, 0), // a Friday
                ShiftLength::Days(1),
                &["ana", "bo"],
            )],
        );
        let shifts = it.shifts(ts("2026-01-02T09:00:00Z"), ts("2026-01-04T09:00:00Z"));
        let report = fairness(&it.zone, &shifts);
        // ana: Fri 09:00 → Sat 09:00: 15 h on Friday, 9 h on Saturday; night 22–07 = 9 h.
        assert_eq!(report["ana"].shifts, 1);
        assert_eq!(report["ana"].hours, 24.0);
        assert_eq!(report["ana"].weekend_hours, 9.0);
        assert_eq!(report["ana"].night_hours, 9.0);
        // bo: Sat 09:00 → Sun 09:00: all weekend.
        assert_eq!(report["bo"].weekend_hours, 24.0);
    }

    #[test]
    fn bad_layers_are_refused() {
        let good = rotation(
            date(2026, 1, 1).at(9, 0, 0, 0),
            ShiftLength::Hours(4),
            &["a"],
        );
        assert_eq!(good.check(), Ok(()));
        let cases = [
            (
                Layer {
                    participants: vec![],
                    ..good.clone()
                },
                ScheduleError::NoParticipants,
            ),
            (
                Layer {
                    length: ShiftLength::Minutes(5),
                    ..good.clone()
                },
                ScheduleError::ShiftTooShort,
            ),
            (
                Layer {
                    length: ShiftLength::Weeks(60),
                    ..good.clone()
                },
                ScheduleError::ShiftTooLong,
            ),
            // Found by the fuzzer: a length whose minutes do not fit in an i64.
            (
                Layer {
                    length: ShiftLength::Weeks(i64::MAX / 1000),
                    ..good.clone()
                },
                ScheduleError::ShiftTooLong,
            ),
            (
                Layer {
                    windows: vec![Window {
                        days: vec![],
                        from: time(9, 0, 0, 0),
                        to: time(17, 0, 0, 0),
                    }],
                    ..good.clone()
                },
                ScheduleError::NoWeekdays,
            ),
        ];
        for (layer, error) in cases {
            assert_eq!(layer.check(), Err(error));
        }
    }

    const ZONES: [&str; 3] = ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe"];

    fn any_length() -> impl Strategy<Value = ShiftLength> {
        prop_oneof![
            (1i64..=6).prop_map(|n| ShiftLength::Minutes(n * 15)),
            (1i64..=12).prop_map(ShiftLength::Hours),
            (1i64..=3).prop_map(ShiftLength::Days),
            (1i64..=2).prop_map(ShiftLength::Weeks),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// Shifts tile the range (no gap, no overlap, nothing empty), every instant's shift
        /// names who `on_call` says, and a started layer without windows leaves nobody out —
        /// across the DST changes of 2026 in three zones.
        #[test]
        fn shifts_tile_time_across_dst(
            zone_index in 0usize..3,
            start_day in 0i64..330,
            start_minute in 0i64..1440,
            length in any_length(),
            people in 1usize..4,
            offset_hours in 0i64..(24 * 20),
            probes in proptest::collection::vec(0i64..(14 * 24 * 60), 1..8),
        ) {
            let zone_name = ZONES[zone_index];
            let start = date(2026, 1, 1).at(0, 0, 0, 0)
                + Span::new().days(start_day).minutes(start_minute);
            let names: Vec<&str> = ["ana", "bo", "cy"][..people].to_vec();
            let it = schedule(zone_name, vec![rotation(start, length, &names)]);
            let from = resolve(&it.zone, start) + SignedDuration::from_hours(offset_hours);
            let to = from + SignedDuration::from_hours(14 * 24);
            let shifts = it.shifts(from, to);
            prop_assert_eq!(shifts.first().unwrap().start, from);
            prop_assert_eq!(shifts.last().unwrap().end, to);
            for pair in shifts.windows(2) {
                prop_assert_eq!(pair[0].end, pair[1].start);
                prop_assert!(pair[0].person != pair[1].person || people == 1);
            }
            for shift in &shifts {
                prop_assert!(shift.start < shift.end);
                prop_assert!(shift.person.is_some(), "{zone_name}: nobody at {}", shift.start);
            }
            for minutes in probes {
                let at = from + SignedDuration::from_mins(minutes);
                let shift = shifts.iter().find(|s| s.start <= at && at < s.end).unwrap();
                prop_assert_eq!(shift.person.as_ref(), it.on_call(at));
            }
        }

        /// A daily (or weekly) rotation hands off at the same wall-clock minute every time,
        /// unless that minute does not exist that day (then when the clock jumps).
        #[test]
        fn wall_clock_handoffs_stay_put(
            zone_index in 0usize..3,
            start_day in 0i64..300,
            hour in 0i8..24,
            minute in prop_oneof![Just(0i8), Just(30i8)],
            days in 1i64..3,
        ) {
            let zone_name = ZONES[zone_index];
            let start = date(2026, 1, 1).at(hour, minute, 0, 0) + Span::new().days(start_day);
            let names = ["ana", "bo", "cy"];
            let layer = rotation(start, ShiftLength::Days(days), &names[..2]);
            let it = schedule(zone_name, vec![layer.clone()]);
            let from = resolve(&it.zone, start);
            let to = from + SignedDuration::from_hours(24 * 70);
            for shift in it.shifts(from, to).iter().skip(1) {
                let wall = shift.start.to_zoned(it.zone.clone());
                let intended = wall.date().to_datetime(time(hour, minute, 0, 0));
                prop_assert!(
                    (wall.hour(), wall.minute()) == (hour, minute)
                        || resolve(&it.zone, intended) == shift.start,
                    "{zone_name}: handoff at {wall}, wanted {hour:02}:{minute:02}"
                );
            }
        }
    }
}
