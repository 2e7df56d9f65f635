//! PagerDuty's REST API v2 shapes (`GET /schedules/{id}`, its overrides and its rendered
//! final schedule) mapped to Firebreak's schedule model.
//!
//! PagerDuty lists a schedule's layers top first and the top one wins; Firebreak's later layer
//! wins, so the order is reversed. A layer's turns run from `rotation_virtual_start` by
//! `rotation_turn_length_seconds`, masked by its restrictions — as Firebreak's do — and the
//! anchor becomes a wall-clock time in the schedule's zone, so handoffs keep their local time
//! across daylight saving (whether PagerDuty does the same is what `super::differences`
//! checks against its own rendering).

use jiff::Timestamp;
use jiff::civil::Time;
use jiff::tz::TimeZone;
use serde_json::Value;

use std::collections::HashMap;

pub mod v3;

use super::{
    Fidelity, ImportedContact, ImportedPerson, ImportedPolicy, ImportedSchedule, ImportedService,
    ImportedTeam, Plan, PlannedSchedule, Skip, compare,
};
use crate::paging::parse_time;
use crate::schedule::{EVERY_DAY, Layer, Override, Schedule, Shift, ShiftLength, Window};

/// ActiveSupport zone names PagerDuty may give, as IANA names (IANA names pass as they are).
const RAILS_ZONES: [(&str, &str); 24] = [
    ("Eastern Time (US & Canada)", "America/New_York"),
    ("Central Time (US & Canada)", "America/Chicago"),
    ("Mountain Time (US & Canada)", "America/Denver"),
    ("Pacific Time (US & Canada)", "America/Los_Angeles"),
    ("Alaska", "America/Juneau"),
    ("Hawaii", "Pacific/Honolulu"),
    ("London", "Europe/London"),
    ("Dublin", "Europe/Dublin"),
    ("Berlin", "Europe/Berlin"),
    ("Paris", "Europe/Paris"),
    ("Amsterdam", "Europe/Amsterdam"),
    ("Madrid", "Europe/Madrid"),
    ("Stockholm", "Europe/Stockholm"),
    ("Rome", "Europe/Rome"),
    ("Vienna", "Europe/Vienna"),
    ("Zurich", "Europe/Zurich"),
    ("Warsaw", "Europe/Warsaw"),
    ("Lisbon", "Europe/Lisbon"),
    ("Singapore", "Asia/Singapore"),
    ("Hong Kong", "Asia/Hong_Kong"),
    ("Tokyo", "Asia/Tokyo"),
    ("Sydney", "Australia/Sydney"),
    ("New Delhi", "Asia/Kolkata"),
    ("UTC", "UTC"),
];

/// The IANA zone for a PagerDuty `time_zone`.
pub fn zone(name: &str) -> Option<(String, TimeZone)> {
    let iana = RAILS_ZONES
        .iter()
        .find(|(rails, _)| *rails == name)
        .map_or(name, |(_, iana)| iana);
    TimeZone::get(iana).ok().map(|it| (iana.to_string(), it))
}

/// A turn length in seconds as the largest whole wall-clock unit.
pub fn turn_length(seconds: i64) -> Option<ShiftLength> {
    match seconds {
        s if s <= 0 || s % 60 != 0 => None,
        s if s % 604_800 == 0 => Some(ShiftLength::Weeks(s / 604_800)),
        s if s % 86_400 == 0 => Some(ShiftLength::Days(s / 86_400)),
        s if s % 3_600 == 0 => Some(ShiftLength::Hours(s / 3_600)),
        s => Some(ShiftLength::Minutes(s / 60)),
    }
}

fn seconds_of(text: &str) -> Option<i64> {
    let time: Time = text.parse().ok()?;
    Some(i64::from(time.hour()) * 3_600 + i64::from(time.minute()) * 60 + i64::from(time.second()))
}

/// A restriction as windows: a daily one is the same window every day (past midnight when it
/// ends the next day); a weekly one, which may last up to a week, is cut at each midnight — its
/// first day from its start, the days it covers whole (`from == to`), its last day to its end.
pub fn windows(restriction: &Value) -> Result<Vec<Window>, String> {
    let start = restriction["start_time_of_day"]
        .as_str()
        .and_then(seconds_of)
        .ok_or("a restriction without a start_time_of_day")?;
    let duration = restriction["duration_seconds"]
        .as_i64()
        .filter(|it| *it > 0)
        .ok_or("a restriction without a positive duration_seconds")?;
    match restriction["type"].as_str() {
        Some("daily_restriction") => {
            if duration >= 86_400 {
                return Ok(Vec::new());
            }
            let from = super::time_of_day(start).ok_or("a bad start_time_of_day")?;
            let to = super::time_of_day(start + duration).ok_or("a bad duration")?;
            Ok(vec![Window {
                days: EVERY_DAY.to_vec(),
                from,
                to,
            }])
        }
        Some("weekly_restriction") => {
            let day = restriction["start_day_of_week"]
                .as_i64()
                .filter(|it| (1..=7).contains(it))
                .ok_or("a weekly restriction without a start_day_of_week from 1 to 7")?;
            if duration >= 604_800 {
                return Ok(Vec::new());
            }
            let (begin, end) = (
                (day - 1) * 86_400 + start,
                (day - 1) * 86_400 + start + duration,
            );
            super::week_windows(begin, end).ok_or_else(|| "a bad start or end".to_string())
        }
        other => Err(format!("an unknown restriction type {other:?}")),
    }
}

fn instant(value: &Value) -> Option<Timestamp> {
    value.as_str().and_then(parse_time)
}

fn user_id(reference: &Value) -> Option<&str> {
    reference["id"].as_str()
}

/// A schedule (`GET /schedules/{id}`'s `schedule`, fetched in its own zone) and its overrides
/// (`GET /schedules/{id}/overrides?overflow=true`'s `overrides`) as Firebreak's, people
/// resolved from PagerDuty ids to emails by `email_of`; what is gone by `now` is left out.
/// `Err` (the schedule is skipped) when its zone is unknown or no layer can be imported.
pub fn schedule(
    doc: &Value,
    overrides: &[Value],
    email_of: &dyn Fn(&str) -> Option<String>,
    now: Timestamp,
) -> Result<ImportedSchedule, String> {
    let zone_name = doc["time_zone"].as_str().unwrap_or("");
    let (iana, tz) = zone(zone_name).ok_or_else(|| format!("unknown time zone {zone_name:?}"))?;
    let mut fidelity = Fidelity::Exact;
    let mut layers = Vec::new();
    for raw in doc["schedule_layers"]
        .as_array()
        .into_iter()
        .flatten()
        .rev()
    {
        let name = raw["name"].as_str().unwrap_or("layer").to_string();
        let end = instant(&raw["end"]);
        if let Some(end) = end.filter(|it| *it <= now) {
            fidelity.note(format!("layer {name:?} ended at {end}; left out"));
            continue;
        }
        let Some(anchor) = instant(&raw["rotation_virtual_start"]) else {
            fidelity.note(format!(
                "layer {name:?} has no rotation_virtual_start; left out"
            ));
            continue;
        };
        // A layer that joins after its rotation's anchor, or leaves, is active for that range.
        let wall_clock = |at: Timestamp| at.to_zoned(tz.clone()).datetime();
        let active_from = instant(&raw["start"])
            .filter(|it| *it > anchor)
            .map(wall_clock);
        let active_until = end.map(wall_clock);
        let seconds = raw["rotation_turn_length_seconds"].as_i64().unwrap_or(0);
        let Some(length) = turn_length(seconds) else {
            fidelity.note(format!(
                "layer {name:?}: a turn of {seconds} s is not whole minutes; left out"
            ));
            continue;
        };
        let mut participants = Vec::new();
        for user in raw["users"].as_array().into_iter().flatten() {
            let id = user_id(&user["user"]).unwrap_or("");
            match email_of(id) {
                Some(email) => participants.push(email),
                None => fidelity.note(format!(
                    "layer {name:?}: user {id} is unknown (deactivated?); their turns go to the next person"
                )),
            }
        }
        let mut windows = Vec::new();
        for restriction in raw["restrictions"].as_array().into_iter().flatten() {
            match self::windows(restriction) {
                Ok(found) => windows.extend(found),
                Err(why) => fidelity.note(format!("layer {name:?}: {why}; restriction left out")),
            }
        }
        let layer = Layer {
            active_from,
            active_until,
            name: name.clone(),
            start: wall_clock(anchor),
            length,
            participants,
            windows,
        };
        match layer.check() {
            Ok(()) => layers.push(layer),
            Err(why) => fidelity.note(format!("layer {name:?}: {why}; left out")),
        }
    }
    if layers.is_empty() {
        return Err("no layer could be imported".into());
    }
    let mut kept = Vec::new();
    for over in overrides {
        let (Some(start), Some(end)) = (instant(&over["start"]), instant(&over["end"])) else {
            fidelity.note("an override without a start or an end; left out");
            continue;
        };
        if end <= now || end <= start {
            continue;
        }
        let id = user_id(&over["user"]).unwrap_or("");
        match email_of(id) {
            Some(person) => kept.push(Override { start, end, person }),
            None => fidelity.note(format!(
                "the override {start} → {end} is for user {id}, who is unknown; left out"
            )),
        }
    }
    Ok(ImportedSchedule {
        vendor_id: doc["id"].as_str().unwrap_or("").to_string(),
        target_id: doc["id"].as_str().unwrap_or("").to_string(),
        name: doc["name"].as_str().unwrap_or("").to_string(),
        zone: iana,
        schedule: Schedule {
            zone: tz,
            layers,
            overrides: kept,
        },
        fidelity,
    })
}

/// PagerDuty's own rendering of who is on call (`final_schedule.rendered_schedule_entries`
/// of `GET /schedules/{id}?since&until`), people as emails (an unknown id as `pagerduty:<id>`,
/// so it differs from anyone Firebreak has).
pub fn rendered(doc: &Value, email_of: &dyn Fn(&str) -> Option<String>) -> Vec<Shift> {
    doc["final_schedule"]["rendered_schedule_entries"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|entry| {
            let id = user_id(&entry["user"]).unwrap_or("");
            Some(Shift {
                start: instant(&entry["start"])?,
                end: instant(&entry["end"])?,
                person: Some(email_of(id).unwrap_or_else(|| format!("pagerduty:{id}"))),
            })
        })
        .collect()
}

/// Firebreak's limits on a step's wait and on repeats.
const DELAY_MINUTES: std::ops::RangeInclusive<i64> = 1..=1440;
const MAX_REPEAT: i64 = 9;

/// An escalation policy (`GET /escalation_policies/{id}`'s `escalation_policy`): each rule a
/// step waiting `escalation_delay_in_minutes`, `num_loops` as repeats. `Err` when no rule
/// has a target Firebreak can page.
pub fn escalation_policy(
    doc: &Value,
    email_of: &dyn Fn(&str) -> Option<String>,
) -> Result<ImportedPolicy, String> {
    use crate::paging::{Policy, Step, Target};
    let mut fidelity = Fidelity::Exact;
    let mut steps = Vec::new();
    for (index, rule) in doc["escalation_rules"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let number = index + 1;
        let mut targets = Vec::new();
        for target in rule["targets"].as_array().into_iter().flatten() {
            let id = target["id"].as_str().unwrap_or("");
            match target["type"].as_str().unwrap_or("") {
                "user" | "user_reference" => match email_of(id) {
                    Some(email) => targets.push(Target::Person(email)),
                    None => fidelity.note(format!("step {number}: user {id} is unknown; left out")),
                },
                "schedule" | "schedule_reference" | "schedule_v3_reference" => {
                    targets.push(Target::Schedule(id.to_string()));
                }
                other => fidelity.note(format!(
                    "step {number}: a {other} target ({id}) is not imported"
                )),
            }
        }
        if rule["escalation_rule_assignment_strategy"].as_str() == Some("round_robin") {
            fidelity.note(format!(
                "step {number}: round robin; Firebreak pages every target"
            ));
        }
        let delay = rule["escalation_delay_in_minutes"].as_i64().unwrap_or(30);
        let clamped = delay.clamp(*DELAY_MINUTES.start(), *DELAY_MINUTES.end());
        if clamped != delay {
            fidelity.note(format!(
                "step {number}: waits {clamped} minutes, not {delay}"
            ));
        }
        if targets.is_empty() {
            fidelity.note(format!(
                "step {number}: nobody Firebreak can page; left out"
            ));
            continue;
        }
        steps.push(Step {
            targets,
            delay_minutes: clamped,
        });
    }
    if steps.is_empty() {
        return Err("no step has anyone Firebreak can page".into());
    }
    let loops = doc["num_loops"].as_i64().unwrap_or(0).max(0);
    if loops > MAX_REPEAT {
        fidelity.note(format!("repeats {MAX_REPEAT} times, not {loops}"));
    }
    Ok(ImportedPolicy {
        vendor_id: doc["id"].as_str().unwrap_or("").to_string(),
        name: doc["name"].as_str().unwrap_or("").to_string(),
        policy: Policy {
            steps,
            repeat: loops.min(MAX_REPEAT),
        },
        fidelity,
    })
}

/// A service (`GET /services/{id}?include[]=integrations`'s `service`). Settings Firebreak
/// does not model are said, each with its value, so nobody is surprised after the switch.
pub fn service(doc: &Value) -> ImportedService {
    let mut fidelity = Fidelity::Exact;
    let mut keys = Vec::new();
    for integration in doc["integrations"].as_array().into_iter().flatten() {
        let name = integration["name"]
            .as_str()
            .unwrap_or("integration")
            .to_string();
        match (
            integration["type"].as_str().unwrap_or(""),
            integration["integration_key"].as_str(),
        ) {
            (
                "events_api_v2_inbound_integration" | "generic_events_api_inbound_integration",
                Some(key),
            ) if !key.is_empty() => keys.push((name, key.to_string())),
            (kind, _) => fidelity.note(format!(
                "integration {name:?} ({kind}) is not an Events API key; point that sender at Firebreak's API by hand"
            )),
        }
    }
    if let Some(seconds) = doc["auto_resolve_timeout"].as_i64() {
        fidelity.note(format!(
            "alerts auto-resolve after {seconds} s in PagerDuty; Firebreak does not"
        ));
    }
    if let Some(seconds) = doc["acknowledgement_timeout"].as_i64() {
        fidelity.note(format!(
            "an acknowledged alert re-triggers after {seconds} s in PagerDuty; Firebreak does not"
        ));
    }
    if let Some(grouping) = doc["alert_grouping"].as_str() {
        fidelity.note(format!(
            "alert grouping {grouping:?}: set the service's storm grouping by hand"
        ));
    }
    if doc["incident_urgency_rule"]["type"].as_str() == Some("use_support_hours") {
        fidelity.note("urgency follows support hours in PagerDuty; Firebreak pages every alert");
    }
    ImportedService {
        vendor_id: doc["id"].as_str().unwrap_or("").to_string(),
        name: doc["name"].as_str().unwrap_or("").to_string(),
        policy_vendor_id: doc["escalation_policy"]["id"].as_str().map(String::from),
        team_vendor_id: doc["teams"][0]["id"].as_str().map(String::from),
        keys,
        fidelity,
    }
}

/// A user (`GET /users?include[]=contact_methods&include[]=notification_rules`' element).
/// `Err` without an email, the key people are matched by.
pub fn user(doc: &Value) -> Result<ImportedPerson, String> {
    let email = doc["email"]
        .as_str()
        .map(str::trim)
        .filter(|it| it.contains('@'))
        .ok_or("a user without an email")?
        .to_lowercase();
    let mut fidelity = Fidelity::Exact;
    let zone_name = doc["time_zone"].as_str().unwrap_or("UTC");
    let zone = match zone(zone_name) {
        Some((iana, _)) => iana,
        None => {
            fidelity.note(format!("time zone {zone_name:?} is unknown; UTC"));
            "UTC".to_string()
        }
    };
    let role = match doc["role"].as_str().unwrap_or("user") {
        "admin" | "owner" | "account_owner" => "admin",
        "observer" | "read_only_user" | "read_only_limited_user" | "restricted_access" => "viewer",
        _ => "responder",
    };
    let mut contacts = Vec::new();
    for method in doc["contact_methods"].as_array().into_iter().flatten() {
        let id = method["id"].as_str().unwrap_or("").to_string();
        let address = method["address"].as_str().unwrap_or("").trim();
        let kind = method["type"].as_str().unwrap_or("");
        let kind = kind.strip_suffix("_reference").unwrap_or(kind);
        let phone = || {
            let number = format!(
                "+{}{}",
                method["country_code"].as_i64().unwrap_or(0),
                address
            );
            crate::wake::parse_phone(&number).map_err(|why| format!("{number}: {why}"))
        };
        let found = match kind {
            "email_contact_method" => Ok(("email", address.to_string())),
            "sms_contact_method" => phone().map(|it| ("sms", it)),
            "phone_contact_method" => phone().map(|it| ("voice", it)),
            other => Err(format!("a {other} cannot be carried over")),
        };
        match found {
            Ok((kind, address)) => contacts.push(ImportedContact {
                vendor_id: id,
                kind,
                address,
            }),
            Err(why) => fidelity.note(format!("contact {id}: {why}; left out")),
        }
    }
    let mut rules = Vec::new();
    for rule in doc["notification_rules"].as_array().into_iter().flatten() {
        if rule["type"]
            .as_str()
            .is_some_and(|it| it != "assignment_notification_rule")
        {
            continue;
        }
        let contact = rule["contact_method"]["id"].as_str().unwrap_or("");
        let delay = rule["start_delay_in_minutes"].as_i64().unwrap_or(0).max(0);
        if rule["urgency"].as_str() == Some("low") {
            fidelity.note(format!(
                "the low-urgency rule by {contact} after {delay} min is not imported (Firebreak has one urgency)"
            ));
            continue;
        }
        match contacts.iter().position(|it| it.vendor_id == contact) {
            Some(index) => rules.push((delay, index)),
            None => fidelity.note(format!(
                "the rule by {contact} after {delay} min uses a contact that is not imported"
            )),
        }
    }
    rules.sort();
    Ok(ImportedPerson {
        vendor_id: doc["id"].as_str().unwrap_or("").to_string(),
        name: doc["name"].as_str().unwrap_or(&email).to_string(),
        email,
        zone,
        role,
        contacts,
        rules,
        fidelity,
    })
}

/// A PagerDuty account as its REST API answers: each list's items, and each schedule
/// (`GET /schedules/{id}?since&until` with its `final_schedule`) beside its overrides.
#[derive(Clone, Debug, Default)]
pub struct Account {
    /// `GET /users?include[]=contact_methods&include[]=notification_rules&include[]=teams`.
    pub users: Vec<Value>,
    /// `GET /teams` (names; members come from each user's `teams`).
    pub teams: Vec<Value>,
    pub schedules: Vec<(Value, Vec<Value>)>,
    /// Shift-based schedules (`GET /v3/schedules/{id}?include[]=final_schedule&since&until`).
    pub v3_schedules: Vec<Value>,
    pub escalation_policies: Vec<Value>,
    /// `GET /services?include[]=integrations`.
    pub services: Vec<Value>,
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or("").to_string()
}

/// The plan of importing an account: every object as Firebreak's or skipped, each schedule
/// compared with PagerDuty's rendering, each policy step that names a schedule not imported
/// noted.
pub fn plan(account: &Account, now: Timestamp) -> Plan {
    let mut plan = Plan::default();
    let mut emails: HashMap<String, String> = HashMap::new();
    let mut teams: Vec<ImportedTeam> = account
        .teams
        .iter()
        .map(|it| ImportedTeam {
            vendor_id: text(&it["id"]),
            name: text(&it["name"]),
            members: Vec::new(),
        })
        .collect();
    for doc in &account.users {
        let id = text(&doc["id"]);
        match user(doc) {
            Ok(person) => {
                emails.insert(id, person.email.clone());
                for reference in doc["teams"].as_array().into_iter().flatten() {
                    let team_id = text(&reference["id"]);
                    let index = match teams.iter().position(|it| it.vendor_id == team_id) {
                        Some(index) => index,
                        None => {
                            teams.push(ImportedTeam {
                                vendor_id: team_id,
                                name: text(&reference["summary"]),
                                members: Vec::new(),
                            });
                            teams.len() - 1
                        }
                    };
                    teams[index].members.push(person.email.clone());
                }
                plan.people.push(Ok(person));
            }
            Err(why) => plan.people.push(Err(Skip {
                vendor_id: id,
                name: text(&doc["name"]),
                why,
            })),
        }
    }
    plan.teams = teams
        .into_iter()
        .filter(|it| !it.vendor_id.is_empty() && !it.name.is_empty())
        .collect();
    let email_of = |id: &str| emails.get(id).cloned();
    for (doc, overrides) in &account.schedules {
        plan.schedules
            .push(match schedule(doc, overrides, &email_of, now) {
                Ok(imported) => {
                    let compared = compare(&imported.schedule, &rendered(doc, &email_of));
                    Ok(PlannedSchedule { imported, compared })
                }
                Err(why) => Err(Skip {
                    vendor_id: text(&doc["id"]),
                    name: text(&doc["name"]),
                    why,
                }),
            });
    }
    for doc in &account.v3_schedules {
        plan.schedules.extend(v3::schedule(doc, &email_of, now));
    }
    for doc in &account.escalation_policies {
        plan.policies
            .push(escalation_policy(doc, &email_of).map_err(|why| Skip {
                vendor_id: text(&doc["id"]),
                name: text(&doc["name"]),
                why,
            }));
    }
    plan.services = account.services.iter().map(|it| Ok(service(it))).collect();
    plan.note_unimported_schedules();
    plan
}
