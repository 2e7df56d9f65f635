//! PagerDuty's shift-based ("v3") schedules (`GET /v3/schedules/{id}?include[]=final_schedule`):
//! rotations of events, each event a shift that recurs by an RRULE and goes to its members in
//! turn (`rotating_member_assignment_strategy`, `shifts_per_member` shifts each) or to all of
//! them at once (`every_member_assignment_strategy`). Several people may be on call at once,
//! so, as with Opsgenie's rotations, each event becomes a schedule of its own — an
//! every-member event one per member — and a policy step naming the v3 schedule pages them
//! all. The proof compares who is on call together (`super::super::compare_together`) with
//! PagerDuty's `computed_shift_assignments`.
//!
//! Turns on PagerDuty advance per shift; Firebreak's by the clock. They agree when a member's
//! shifts fill whole days (a daily shift) or whole weeks (as many shifts as the event has
//! weekdays); otherwise the schedule is approximated and the comparison shows where.

use jiff::Timestamp;
use jiff::civil::{DateTime, Weekday};
use jiff::tz::TimeZone;
use serde_json::Value;

use crate::import::{Fidelity, ImportedSchedule, PlannedSchedule, Skip, compare_together};
use crate::paging::parse_time;
use crate::schedule::{EVERY_DAY, Layer, Schedule, Shift, ShiftLength, Window};

fn text(value: &Value) -> String {
    value.as_str().unwrap_or("").to_string()
}

/// The days an RRULE recurs on: `FREQ=DAILY` (every day) or `FREQ=WEEKLY;BYDAY=…`, an
/// interval of 1. Anything else is `Err`, said in words.
pub fn recurrence(rule: &str) -> Result<Vec<Weekday>, String> {
    let rule = rule.trim().strip_prefix("RRULE:").unwrap_or(rule.trim());
    let (mut freq, mut days) = (None, None);
    for part in rule.split(';').filter(|it| !it.is_empty()) {
        let (key, value) = part
            .split_once('=')
            .ok_or_else(|| format!("a recurrence part {part:?}"))?;
        match key {
            "FREQ" => freq = Some(value.to_string()),
            "INTERVAL" if value == "1" => {}
            "BYDAY" => {
                let parsed = value
                    .split(',')
                    .map(|day| match day {
                        "MO" => Ok(Weekday::Monday),
                        "TU" => Ok(Weekday::Tuesday),
                        "WE" => Ok(Weekday::Wednesday),
                        "TH" => Ok(Weekday::Thursday),
                        "FR" => Ok(Weekday::Friday),
                        "SA" => Ok(Weekday::Saturday),
                        "SU" => Ok(Weekday::Sunday),
                        other => Err(format!("a BYDAY of {other:?}")),
                    })
                    .collect::<Result<Vec<_>, String>>()?;
                days = Some(parsed);
            }
            other => return Err(format!("a recurrence with {other}={value}")),
        }
    }
    match (freq.as_deref(), days) {
        (Some("DAILY"), None) => Ok(EVERY_DAY.to_vec()),
        (Some("WEEKLY"), Some(days)) if !days.is_empty() => Ok(days),
        _ => Err(format!("the recurrence {rule:?}")),
    }
}

fn wall_clock(value: &Value) -> Option<DateTime> {
    value["date_time"].as_str()?.parse().ok()
}

/// One event as Firebreak layers (one per member for an every-member event), with how
/// exactly they map.
fn event_layers(
    event: &Value,
    zone: &TimeZone,
    email_of: &dyn Fn(&str) -> Option<String>,
    fidelity: &mut Fidelity,
) -> Result<Vec<Layer>, String> {
    let name = text(&event["name"]);
    let start = wall_clock(&event["start_time"]).ok_or("an event without a start_time")?;
    let end = wall_clock(&event["end_time"]).ok_or("an event without an end_time")?;
    let minutes = start.duration_until(end).as_mins();
    if minutes <= 0 || minutes >= 1440 {
        return Err(format!(
            "event {name:?} lasts {minutes} min; only shifts shorter than a day are imported"
        ));
    }
    let days = recurrence(event["recurrence"][0].as_str().unwrap_or(""))?;
    let window = Window {
        days: days.clone(),
        from: start.time(),
        to: end.time(),
    };
    let strategy = &event["assignment_strategy"];
    let mut members = Vec::new();
    for member in strategy["members"].as_array().into_iter().flatten() {
        let id = member["user_id"].as_str().unwrap_or("");
        match email_of(id) {
            Some(email) => members.push(email),
            None => fidelity.note(format!("event {name:?}: user {id} is unknown; left out")),
        }
    }
    if members.is_empty() {
        return Err(format!("event {name:?} has nobody Firebreak knows"));
    }
    let active = |key: &str| {
        event[key]
            .as_str()
            .and_then(parse_time)
            .map(|at| at.to_zoned(zone.clone()).datetime())
    };
    let layer = |participants: Vec<String>, length: ShiftLength| Layer {
        name: name.clone(),
        start,
        length,
        participants,
        windows: vec![window.clone()],
        active_from: active("effective_since"),
        active_until: active("effective_until"),
    };
    match strategy["type"].as_str().unwrap_or("") {
        "every_member_assignment_strategy" => Ok(members
            .into_iter()
            .map(|member| layer(vec![member], ShiftLength::Weeks(1)))
            .collect()),
        "rotating_member_assignment_strategy" => {
            let shifts = strategy["shifts_per_member"].as_i64().unwrap_or(1).max(1);
            let per_week = i64::try_from(days.len()).unwrap_or(7);
            let length = if per_week == 7 {
                ShiftLength::Days(shifts)
            } else if shifts % per_week == 0 {
                ShiftLength::Weeks(shifts / per_week)
            } else {
                fidelity.note(format!(
                    "event {name:?}: {shifts} shifts each on {per_week} days a week; Firebreak's turns count days, so hand-overs drift from PagerDuty's"
                ));
                ShiftLength::Days(shifts)
            };
            Ok(vec![layer(members, length)])
        }
        other => Err(format!("event {name:?}: an assignment strategy {other:?}")),
    }
}

/// PagerDuty's own rendering of a v3 schedule: its computed shift assignments, a person each
/// (an empty member: nobody).
pub fn rendered(doc: &Value, email_of: &dyn Fn(&str) -> Option<String>) -> Vec<Shift> {
    doc["final_schedule"]["computed_shift_assignments"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|it| {
            let member = &it["member"];
            let person = match member["type"].as_str() {
                Some("user_member") => {
                    let id = member["user_id"].as_str().unwrap_or("");
                    Some(email_of(id).unwrap_or_else(|| format!("pagerduty:{id}")))
                }
                _ => None,
            };
            Some(Shift {
                start: it["start_time"].as_str().and_then(parse_time)?,
                end: it["end_time"].as_str().and_then(parse_time)?,
                person,
            })
        })
        .collect()
}

/// A v3 schedule as Firebreak schedules, one per event (per member for an every-member
/// event), proved together against PagerDuty's assignments.
pub fn schedule(
    doc: &Value,
    email_of: &dyn Fn(&str) -> Option<String>,
    now: Timestamp,
) -> Vec<Result<PlannedSchedule, Skip>> {
    let id = text(&doc["id"]);
    let name = text(&doc["name"]);
    let zone_name = doc["time_zone"].as_str().unwrap_or("");
    let Some((iana, zone)) = super::zone(zone_name) else {
        return vec![Err(Skip {
            vendor_id: id,
            name,
            why: format!("unknown time zone {zone_name:?}"),
        })];
    };
    let mut out = Vec::new();
    for rotation in doc["rotations"].as_array().into_iter().flatten() {
        for event in rotation["events"].as_array().into_iter().flatten() {
            let event_name = text(&event["name"]);
            let vendor_id = format!("{id}/{}/{event_name}", text(&rotation["id"]));
            let ended = event["effective_until"]
                .as_str()
                .and_then(parse_time)
                .is_some_and(|it| it <= now);
            if ended {
                continue;
            }
            let mut fidelity = Fidelity::Exact;
            match event_layers(event, &zone, email_of, &mut fidelity) {
                Ok(layers) => {
                    let several = layers.len() > 1;
                    for layer in layers {
                        let (vendor_id, full_name) = if several {
                            (
                                format!("{vendor_id}/{}", layer.participants[0]),
                                format!("{name} / {event_name} ({})", layer.participants[0]),
                            )
                        } else {
                            (vendor_id.clone(), format!("{name} / {event_name}"))
                        };
                        out.push(Ok(PlannedSchedule {
                            imported: ImportedSchedule {
                                vendor_id,
                                target_id: id.clone(),
                                name: full_name,
                                zone: iana.clone(),
                                schedule: Schedule {
                                    zone: zone.clone(),
                                    layers: vec![layer],
                                    overrides: Vec::new(),
                                },
                                fidelity: fidelity.clone(),
                            },
                            compared: None,
                        }));
                    }
                }
                Err(why) => out.push(Err(Skip {
                    vendor_id,
                    name: format!("{name} / {event_name}"),
                    why,
                })),
            }
        }
    }
    if out.is_empty() {
        return vec![Err(Skip {
            vendor_id: id,
            name,
            why: "a shift-based schedule without a current event".into(),
        })];
    }
    // Who is on call together, against PagerDuty's assignments; the proof is shown once, on
    // the first schedule made from it.
    let schedules: Vec<&Schedule> = out
        .iter()
        .filter_map(|it| it.as_ref().ok())
        .map(|it| &it.imported.schedule)
        .collect();
    let compared = compare_together(&schedules, &rendered(doc, email_of));
    if let Some(Ok(first)) = out.iter_mut().find(|it| it.is_ok()) {
        first.compared = compared;
    }
    out
}
