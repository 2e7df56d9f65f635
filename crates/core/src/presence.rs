//! The human element: who is in the incident and since when, the minutes they spent outside
//! their working hours (in their own time zone, for comp time), the nudges to take a break
//! and to order food, and the all-clear that names and thanks everyone who took part.

use jiff::civil::{Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, ToSpan};

use crate::event::EventData;
use crate::incident::Incident;

/// A working day: from `start` to `end` local time on `days`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkingHours {
    pub start: Time,
    pub end: Time,
    pub days: Vec<Weekday>,
}

impl Default for WorkingHours {
    fn default() -> Self {
        WorkingHours {
            start: Time::constant(9, 0, 0, 0),
            end: Time::constant(17, 0, 0, 0),
            days: vec![
                Weekday::Monday,
                Weekday::Tuesday,
                Weekday::Wednesday,
                Weekday::Thursday,
                Weekday::Friday,
            ],
        }
    }
}

/// Whole minutes of `[from, to)` that fall outside `hours` in `zone`. Each local working day
/// is turned into an absolute interval with the zone's rules for that day, so a DST change
/// moves the working window with the wall clock.
pub fn out_of_hours_minutes(
    from: Timestamp,
    to: Timestamp,
    zone: &TimeZone,
    hours: &WorkingHours,
) -> i64 {
    if to <= from {
        return 0;
    }
    let total = to.duration_since(from);
    let mut inside = SignedDuration::ZERO;
    let mut day = from.to_zoned(zone.clone()).date();
    let last = to.to_zoned(zone.clone()).date();
    while day <= last {
        if hours.days.contains(&day.weekday()) && hours.start < hours.end {
            let open = day.to_datetime(hours.start).to_zoned(zone.clone());
            let close = day.to_datetime(hours.end).to_zoned(zone.clone());
            if let (Ok(open), Ok(close)) = (open, close) {
                let start = open.timestamp().max(from);
                let end = close.timestamp().min(to);
                if end > start {
                    inside += end.duration_since(start);
                }
            }
        }
        match day.checked_add(1.day()) {
            Ok(next) => day = next,
            Err(_) => break,
        }
    }
    (total - inside).as_mins()
}

/// A person who acts on a live incident joins it, unless already in it (or the installation
/// turned that off). Only people (an email address) take part; tokens of automation and
/// Firebreak itself do not.
pub fn joins(incident: &Incident, actor: &str, catalog: &crate::Catalog) -> bool {
    catalog.join_on_action
        && incident.status.is_live()
        && actor.contains('@')
        && !incident.coordination.is_active_participant(actor)
}

/// The event of `person` leaving at `now`, with the minutes of the stint.
pub fn leave(
    incident: &Incident,
    person: &str,
    now: Timestamp,
    hours: &WorkingHours,
) -> Option<EventData> {
    let it = incident
        .coordination
        .participant(person)
        .filter(|it| it.active())?;
    let zone = TimeZone::get(&it.zone).unwrap_or(TimeZone::UTC);
    Some(EventData::ParticipantLeft {
        person: person.to_string(),
        minutes: now.duration_since(it.joined_at).as_mins().max(0),
        out_of_hours_minutes: out_of_hours_minutes(it.joined_at, now, &zone, hours),
    })
}

/// When an incident stops being live: everyone still in it leaves, and — when it was
/// resolved (not declined or merged) — the all-clear thanks everyone who took part.
pub fn wrap_up(incident: &Incident, now: Timestamp, hours: &WorkingHours) -> Vec<EventData> {
    let people = &incident.coordination.participants;
    if incident.status.is_live() || people.is_empty() {
        return Vec::new();
    }
    let mut events: Vec<EventData> = people
        .iter()
        .filter_map(|it| leave(incident, &it.person, now, hours))
        .collect();
    if !events.is_empty() && incident.status == crate::lifecycle::Status::Resolved {
        let names: Vec<String> = people.iter().map(|it| it.person.clone()).collect();
        events.push(EventData::Thanked {
            text: format!(
                "All clear on {}. Thank you, {}, for taking part.",
                incident.reference,
                join_names(&names)
            ),
            people: names,
        });
    }
    events
}

fn join_names(names: &[String]) -> String {
    match names {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// How a presence event changes the incident.
pub fn apply(incident: &mut Incident, event: &EventData, now: Timestamp) {
    let state = &mut incident.coordination;
    match event {
        EventData::ParticipantJoined { person, zone } => match state.participant_mut(person) {
            Some(it) => {
                it.joined_at = now;
                it.left_at = None;
                it.break_nudged = false;
                it.zone = zone.clone();
            }
            None => state.participants.push(crate::coordination::Participant {
                person: person.clone(),
                zone: zone.clone(),
                joined_at: now,
                left_at: None,
                break_nudged: false,
                minutes: 0,
                out_of_hours_minutes: 0,
            }),
        },
        EventData::ParticipantLeft {
            person,
            minutes,
            out_of_hours_minutes,
        } => {
            if let Some(it) = state.participant_mut(person) {
                it.left_at = Some(now);
                it.minutes += minutes;
                it.out_of_hours_minutes += out_of_hours_minutes;
            }
        }
        EventData::Nudged { kind, to, .. } => match kind.as_str() {
            "break" => {
                if let Some(it) = to.as_deref().and_then(|to| state.participant_mut(to)) {
                    it.break_nudged = true;
                }
            }
            "food" => state.food_nudged = true,
            _ => {}
        },
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn out_of_hours_minutes_in_the_persons_zone() {
        let hours = WorkingHours::default();
        let berlin = TimeZone::get("Europe/Berlin").unwrap();
        let new_york = TimeZone::get("America/New_York").unwrap();
        let utc = TimeZone::UTC;
        // (from, to, zone, minutes outside working hours)
        let table = [
            // Wednesday 10:00–11:00 UTC is 11–12 in Berlin: inside.
            ("2026-11-18T10:00:00Z", "2026-11-18T11:00:00Z", &berlin, 0),
            // …but 05–06 in New York: outside.
            (
                "2026-11-18T10:00:00Z",
                "2026-11-18T11:00:00Z",
                &new_york,
                60,
            ),
            // Straddling the end of the day: 16:30–17:30 local, half outside.
            ("2026-11-18T16:30:00Z", "2026-11-18T17:30:00Z", &utc, 30),
            // A Saturday is all outside.
            ("2026-11-21T10:00:00Z", "2026-11-21T12:00:00Z", &utc, 120),
            // Friday 16:00 to Monday 10:00: 1 h in on Friday, 1 h in on Monday.
            (
                "2026-11-20T16:00:00Z",
                "2026-11-23T10:00:00Z",
                &utc,
                64 * 60,
            ),
            // The Monday after the clocks go back in Berlin: 08:00–17:00 CET, 1 h before work.
            ("2026-10-26T07:00:00Z", "2026-10-26T16:00:00Z", &berlin, 60),
            // A working Monday after the spring change: 09:00–17:00 CEST is 07–15 UTC.
            ("2026-03-30T07:00:00Z", "2026-03-30T15:00:00Z", &berlin, 0),
            // Empty and reversed ranges.
            ("2026-11-18T10:00:00Z", "2026-11-18T10:00:00Z", &utc, 0),
            ("2026-11-18T11:00:00Z", "2026-11-18T10:00:00Z", &utc, 0),
        ];
        for (from, to, zone, expected) in table {
            assert_eq!(
                out_of_hours_minutes(at(from), at(to), zone, &hours),
                expected,
                "{from} → {to} in {:?}",
                zone.iana_name()
            );
        }
    }

    #[test]
    fn wrap_up_thanks_only_after_a_resolve() {
        use crate::command::tests::incident;
        use crate::lifecycle::Status;
        let hours = WorkingHours::default();
        let joined = at("2026-11-18T10:00:00Z");
        let now = at("2026-11-18T11:00:00Z");
        let with_people = |status: Status| {
            let mut it = incident(status);
            for person in ["ana@x.io", "bo@x.io"] {
                apply(
                    &mut it,
                    &EventData::ParticipantJoined {
                        person: person.into(),
                        zone: "UTC".into(),
                    },
                    joined,
                );
            }
            it
        };
        let kinds = |status: Status| -> Vec<&'static str> {
            wrap_up(&with_people(status), now, &hours)
                .iter()
                .map(|it| it.kind().as_str())
                .collect()
        };
        let table = [
            (Status::Investigating, vec![]),
            (
                Status::Resolved,
                vec!["participant_left", "participant_left", "thanked"],
            ),
            (Status::Merged, vec!["participant_left", "participant_left"]),
            (
                Status::Declined,
                vec!["participant_left", "participant_left"],
            ),
        ];
        for (status, expected) in table {
            assert_eq!(kinds(status), expected, "{status}");
        }
        let events = wrap_up(&with_people(Status::Resolved), now, &hours);
        assert_eq!(
            events[0],
            EventData::ParticipantLeft {
                person: "ana@x.io".into(),
                minutes: 60,
                out_of_hours_minutes: 0,
            }
        );
    }

    #[test]
    fn names_in_words() {
        let names = |list: &[&str]| list.iter().map(|it| it.to_string()).collect::<Vec<_>>();
        assert_eq!(join_names(&names(&["a"])), "a");
        assert_eq!(join_names(&names(&["a", "b"])), "a and b");
        assert_eq!(join_names(&names(&["a", "b", "c"])), "a, b and c");
    }
}
