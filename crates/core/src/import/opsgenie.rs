//! Opsgenie's REST API shapes (`/v2/users` with contacts and notification rules, `/v2/teams`
//! with routing rules, `/v2/schedules` with overrides and timeline, `/v2/escalations`,
//! `/v2/integrations`) mapped to Firebreak's model.
//!
//! Opsgenie's rotations are cumulative: everyone on call in any rotation of a schedule is
//! notified. Firebreak's schedule has one person at a time, so each rotation becomes a
//! schedule of its own, named after both, and a policy step that names the Opsgenie schedule
//! pages every one of them (`ImportedSchedule::target_id`). Opsgenie's escalation delays are
//! offsets from the alert's start; Firebreak's are waits between steps, so the waits are the
//! differences between offsets and rules at the same offset are one step.

use std::collections::HashMap;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde_json::Value;

use super::{
    Fidelity, ImportedContact, ImportedPerson, ImportedPolicy, ImportedSchedule, ImportedService,
    ImportedTeam, Plan, PlannedSchedule, Skip, compare,
};
use crate::paging::{Policy, Step, Target, parse_time};
use crate::schedule::{EVERY_DAY, Layer, NOBODY, Override, Schedule, Shift, ShiftLength, Window};

/// An Opsgenie account as its REST API answers: each object's `data`.
#[derive(Clone, Debug, Default)]
pub struct Account {
    /// `GET /v2/users` items, each with `contacts` (`GET /v2/users/{id}/contacts`) and
    /// `notification_rules` (`GET /v2/users/{id}/notification-rules`, each `create-alert`
    /// rule with its `steps`).
    pub users: Vec<Value>,
    /// `GET /v2/teams/{id}` (with `members`), each with `routing_rules`.
    pub teams: Vec<Value>,
    /// `GET /v2/schedules/{id}`, its overrides and its timeline for the range to compare.
    pub schedules: Vec<(Value, Vec<Value>, Value)>,
    pub escalations: Vec<Value>,
    /// `GET /v2/integrations/{id}` (with its `apiKey`).
    pub integrations: Vec<Value>,
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or("").to_string()
}

fn instant(value: &Value) -> Option<Timestamp> {
    value.as_str().and_then(parse_time)
}

/// Opsgenie's phone form `1-2125550143` (country code, dash, number) as E.164.
pub fn phone(to: &str) -> Result<String, String> {
    let digits: String = to.chars().filter(|it| *it != '-' && *it != ' ').collect();
    let number = format!("+{}", digits.trim_start_matches('+'));
    crate::wake::parse_phone(&number).map_err(|why| format!("{to}: {why}"))
}

/// Minutes from `{timeAmount, timeUnit}` (minutes, hours or days).
fn minutes(amount: &Value) -> Option<i64> {
    let n = amount["timeAmount"].as_i64()?;
    match amount["timeUnit"].as_str().unwrap_or("minutes") {
        "minutes" => Some(n),
        "hours" => n.checked_mul(60),
        "days" => n.checked_mul(1440),
        _ => None,
    }
}

/// A user with its contacts and notification rules. `Err` without an email username.
pub fn user(doc: &Value) -> Result<ImportedPerson, String> {
    let email = doc["username"]
        .as_str()
        .map(str::trim)
        .filter(|it| it.contains('@'))
        .ok_or("a user without an email username")?
        .to_lowercase();
    let mut fidelity = Fidelity::Exact;
    let zone_name = doc["timeZone"].as_str().unwrap_or("UTC");
    let zone = if TimeZone::get(zone_name).is_ok() {
        zone_name.to_string()
    } else {
        fidelity.note(format!("time zone {zone_name:?} is unknown; UTC"));
        "UTC".to_string()
    };
    let role = match doc["role"]["name"].as_str().unwrap_or("User") {
        "Owner" | "Admin" => "admin",
        "Observer" | "Stakeholder" => "viewer",
        _ => "responder",
    };
    if doc["blocked"].as_bool() == Some(true) {
        fidelity.note(
            "blocked in Opsgenie; imported as a person who can be paged: disable them by hand",
        );
    }
    let mut contacts = Vec::new();
    for contact in doc["contacts"].as_array().into_iter().flatten() {
        let id = text(&contact["id"]);
        let to = contact["to"].as_str().unwrap_or("").trim();
        if contact["status"]["enabled"].as_bool() == Some(false) {
            fidelity.note(format!("contact {id} is disabled in Opsgenie; left out"));
            continue;
        }
        let found = match contact["method"].as_str().unwrap_or("") {
            "email" => Ok(("email", to.to_string())),
            "sms" => phone(to).map(|it| ("sms", it)),
            "voice" => phone(to).map(|it| ("voice", it)),
            other => Err(format!("a {other} contact cannot be carried over")),
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
        if rule["actionType"].as_str() != Some("create-alert") {
            continue;
        }
        let name = text(&rule["name"]);
        if rule["enabled"].as_bool() == Some(false) {
            fidelity.note(format!("the rule {name:?} is disabled; left out"));
            continue;
        }
        if rule["criteria"]["type"]
            .as_str()
            .is_some_and(|it| it != "match-all")
            || !rule["timeRestriction"].is_null()
        {
            fidelity.note(format!(
                "the rule {name:?} has criteria or a time restriction; Firebreak's rules apply to every page"
            ));
        }
        for step in rule["steps"].as_array().into_iter().flatten() {
            let method = step["contact"]["method"].as_str().unwrap_or("");
            let to = step["contact"]["to"].as_str().unwrap_or("").trim();
            let delay = minutes(&step["sendAfter"]).unwrap_or(0).max(0);
            if step["enabled"].as_bool() == Some(false) {
                fidelity.note(format!(
                    "the {method} step after {delay} min is disabled; left out"
                ));
                continue;
            }
            let address = match method {
                "sms" | "voice" => phone(to).ok(),
                _ => Some(to.to_string()),
            };
            match contacts
                .iter()
                .position(|it| it.kind == method && Some(&it.address) == address.as_ref())
            {
                Some(index) if !rules.contains(&(delay, index)) => rules.push((delay, index)),
                Some(_) => {}
                None => fidelity.note(format!(
                    "the {method} step after {delay} min uses a contact that is not imported"
                )),
            }
        }
    }
    rules.sort();
    Ok(ImportedPerson {
        vendor_id: text(&doc["id"]),
        name: doc["fullName"].as_str().unwrap_or(&email).to_string(),
        email,
        zone,
        role,
        contacts,
        rules,
        fidelity,
    })
}

fn weekday_index(name: &str) -> Option<i64> {
    [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ]
    .iter()
    .position(|it| name.eq_ignore_ascii_case(it))
    .and_then(|it| i64::try_from(it).ok())
}

/// Seconds since midnight of `{…Hour, …Min}` (hour 24 is the next midnight).
fn clock(value: &Value, hour: &str, minute: &str) -> Option<i64> {
    let (h, m) = (value[hour].as_i64()?, value[minute].as_i64().unwrap_or(0));
    ((0..=24).contains(&h) && (0..60).contains(&m) && !(h == 24 && m > 0))
        .then_some(h * 3_600 + m * 60)
}

/// A rotation's `timeRestriction` as windows. `time-of-day`: one window every day (past
/// midnight when it ends earlier than it starts); `weekday-and-time-of-day`: each stretch from
/// its start day and time to its end day and time, cut at each midnight. A stretch that ends
/// where it starts, or before it in the same day, wraps the week (said in `notes`).
pub fn windows(restriction: &Value, notes: &mut Vec<String>) -> Result<Vec<Window>, String> {
    match restriction["type"].as_str() {
        None => Ok(Vec::new()),
        Some("time-of-day") => {
            let it = &restriction["restriction"];
            let from = clock(it, "startHour", "startMin").ok_or("a bad start")?;
            let to = clock(it, "endHour", "endMin").ok_or("a bad end")?;
            if from == to % 86_400 {
                return Ok(Vec::new());
            }
            let at = |seconds: i64| super::time_of_day(seconds).ok_or("a bad time");
            Ok(vec![Window {
                days: EVERY_DAY.to_vec(),
                from: at(from)?,
                to: at(to)?,
            }])
        }
        Some("weekday-and-time-of-day") => {
            let mut out = Vec::new();
            for it in restriction["restrictions"].as_array().into_iter().flatten() {
                let start_day = weekday_index(it["startDay"].as_str().unwrap_or(""))
                    .ok_or("a restriction without a startDay")?;
                let end_day = weekday_index(it["endDay"].as_str().unwrap_or(""))
                    .ok_or("a restriction without an endDay")?;
                let begin =
                    start_day * 86_400 + clock(it, "startHour", "startMin").ok_or("a bad start")?;
                let mut end =
                    end_day * 86_400 + clock(it, "endHour", "endMin").ok_or("a bad end")?;
                if end <= begin {
                    end += 7 * 86_400;
                    notes.push(format!(
                        "a restriction from {} to {} wraps the week",
                        text(&it["startDay"]),
                        text(&it["endDay"])
                    ));
                }
                out.extend(super::week_windows(begin, end).ok_or("a bad restriction")?);
            }
            Ok(out)
        }
        Some(other) => Err(format!("an unknown restriction type {other:?}")),
    }
}

/// A turn's length from a rotation's `type` and `length`.
fn length(rotation: &Value) -> Option<ShiftLength> {
    let n = rotation["length"].as_i64().unwrap_or(1);
    if n <= 0 {
        return None;
    }
    match rotation["type"].as_str()? {
        "hourly" => Some(ShiftLength::Hours(n)),
        "daily" => Some(ShiftLength::Days(n)),
        "weekly" => Some(ShiftLength::Weeks(n)),
        _ => None,
    }
}

/// A user reference (`{type: user, id, username}`) as an email.
fn email(reference: &Value, email_of: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    reference["username"]
        .as_str()
        .filter(|it| it.contains('@'))
        .map(str::to_lowercase)
        .or_else(|| email_of(reference["id"].as_str().unwrap_or("")))
}

/// Opsgenie's own rendering of one rotation (`finalTimeline.rotations[]` of `GET
/// /v2/schedules/{id}/timeline`): its periods, people as emails (a `none` period: nobody).
pub fn rendered(timeline: &Value, rotation_id: &str) -> Vec<Shift> {
    timeline["finalTimeline"]["rotations"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|it| it["id"].as_str() == Some(rotation_id))
        .flat_map(|it| it["periods"].as_array().cloned().unwrap_or_default())
        .filter_map(|period| {
            let recipient = &period["recipient"];
            let person = match recipient["type"].as_str() {
                Some("none") => None,
                _ => recipient["username"]
                    .as_str()
                    .or(recipient["name"].as_str())
                    .map(str::to_lowercase),
            };
            Some(Shift {
                start: instant(&period["startDate"])?,
                end: instant(&period["endDate"])?,
                person,
            })
        })
        .collect()
}

/// A schedule (`GET /v2/schedules/{id}`'s `data`), its overrides and its timeline, as one
/// Firebreak schedule per rotation, each compared with Opsgenie's rendering of that rotation.
pub fn schedule(
    (doc, overrides, timeline): (&Value, &[Value], &Value),
    email_of: &dyn Fn(&str) -> Option<String>,
    now: Timestamp,
) -> Vec<Result<PlannedSchedule, Skip>> {
    let id = text(&doc["id"]);
    let name = text(&doc["name"]);
    let skip = |vendor_id: String, name: String, why: String| Skip {
        vendor_id,
        name,
        why,
    };
    let zone_name = doc["timezone"].as_str().unwrap_or("");
    let Ok(zone) = TimeZone::get(zone_name) else {
        return vec![Err(skip(
            id,
            name,
            format!("unknown time zone {zone_name:?}"),
        ))];
    };
    let rotations = doc["rotations"].as_array().cloned().unwrap_or_default();
    if rotations.is_empty() {
        return vec![Err(skip(id, name, "a schedule without rotations".into()))];
    }
    let several = rotations.len() > 1;
    let mut out = Vec::new();
    for rotation in &rotations {
        let rotation_id = text(&rotation["id"]);
        let rotation_name = text(&rotation["name"]);
        let vendor_id = format!("{id}/{rotation_id}");
        let full_name = if several {
            format!("{name} / {rotation_name}")
        } else {
            name.clone()
        };
        let mut fidelity = Fidelity::Exact;
        if doc["enabled"].as_bool() == Some(false) {
            fidelity.note("the schedule is disabled in Opsgenie");
        }
        let end = instant(&rotation["endDate"]);
        if end.is_some_and(|it| it <= now) {
            out.push(Err(skip(
                vendor_id,
                full_name,
                "the rotation has ended".into(),
            )));
            continue;
        }
        let (Some(start), Some(length)) = (instant(&rotation["startDate"]), length(rotation))
        else {
            out.push(Err(skip(
                vendor_id,
                full_name,
                "a rotation without a start or a turn length".into(),
            )));
            continue;
        };
        let mut participants = Vec::new();
        for participant in rotation["participants"].as_array().into_iter().flatten() {
            match participant["type"].as_str().unwrap_or("") {
                "none" => participants.push(NOBODY.to_string()),
                "user" => match email(participant, email_of) {
                    Some(email) => participants.push(email),
                    None => fidelity.note(format!(
                        "user {} is unknown; their turns go to the next person",
                        text(&participant["id"])
                    )),
                },
                other => fidelity.note(format!(
                    "a {other} participant ({}) is left out; its turns go to the next person",
                    participant["name"].as_str().unwrap_or("")
                )),
            }
        }
        let mut notes = Vec::new();
        let windows = match windows(&rotation["timeRestriction"], &mut notes) {
            Ok(found) => found,
            Err(why) => {
                notes.push(format!("{why}; restriction left out"));
                Vec::new()
            }
        };
        for note in notes {
            fidelity.note(note);
        }
        let wall_clock = |at: Timestamp| at.to_zoned(zone.clone()).datetime();
        let layer = Layer {
            name: rotation_name.clone(),
            start: wall_clock(start),
            length,
            participants,
            windows,
            active_from: None,
            active_until: end.map(wall_clock),
        };
        if let Err(why) = layer.check() {
            out.push(Err(skip(vendor_id, full_name, why.to_string())));
            continue;
        }
        let mut kept = Vec::new();
        for over in overrides {
            let scoped = over["rotations"].as_array().filter(|it| !it.is_empty());
            if scoped.is_some_and(|list| {
                !list
                    .iter()
                    .any(|it| it["id"].as_str() == Some(rotation_id.as_str()))
            }) {
                continue;
            }
            let (Some(from), Some(to)) = (instant(&over["startDate"]), instant(&over["endDate"]))
            else {
                fidelity.note("an override without a start or an end; left out");
                continue;
            };
            if to <= now || to <= from {
                continue;
            }
            match email(&over["user"], email_of) {
                Some(person) => kept.push(Override {
                    start: from,
                    end: to,
                    person,
                }),
                None => fidelity.note(format!(
                    "the override {} is for someone unknown; left out",
                    text(&over["alias"])
                )),
            }
        }
        let schedule = Schedule {
            zone: zone.clone(),
            layers: vec![layer],
            overrides: kept,
        };
        let compared = compare(&schedule, &rendered(timeline, &rotation_id));
        out.push(Ok(PlannedSchedule {
            imported: ImportedSchedule {
                vendor_id,
                target_id: id.clone(),
                name: full_name,
                zone: zone_name.to_string(),
                schedule,
                fidelity,
            },
            compared,
        }));
    }
    out
}

/// An escalation (`GET /v2/escalations`' element): rules at the same offset are one step,
/// each step waits until the next offset, `repeat.count` is the repeats with the last step
/// waiting `repeat.waitInterval`. A team recipient pages its members as they are now.
pub fn escalation(
    doc: &Value,
    email_of: &dyn Fn(&str) -> Option<String>,
    teams: &[ImportedTeam],
) -> Result<ImportedPolicy, String> {
    let mut fidelity = Fidelity::Exact;
    let mut rules: Vec<(i64, Vec<Target>)> = Vec::new();
    for rule in doc["rules"].as_array().into_iter().flatten() {
        let offset = minutes(&rule["delay"]).unwrap_or(0).max(0);
        let recipient = &rule["recipient"];
        let who = recipient["name"]
            .as_str()
            .or(recipient["username"].as_str())
            .unwrap_or("");
        if rule["condition"].as_str() == Some("if-not-closed") {
            fidelity.note(format!(
                "the rule for {who} at {offset} min fires until the alert is closed in Opsgenie; Firebreak stops at an acknowledgement"
            ));
        }
        if let Some(kind) = rule["notifyType"]
            .as_str()
            .filter(|it| !matches!(*it, "default" | "all" | "users"))
        {
            fidelity.note(format!(
                "the rule for {who} at {offset} min notifies {kind:?}; Firebreak pages whoever is on call"
            ));
        }
        let targets = match recipient["type"].as_str().unwrap_or("") {
            "user" => email(recipient, email_of)
                .map(|it| vec![Target::Person(it)])
                .unwrap_or_default(),
            "schedule" => vec![Target::Schedule(text(&recipient["id"]))],
            "team" => match teams
                .iter()
                .find(|it| it.vendor_id == text(&recipient["id"]))
            {
                Some(team) => {
                    fidelity.note(format!(
                        "team {} is paged as its members today ({})",
                        team.name,
                        team.members.len()
                    ));
                    team.members.iter().cloned().map(Target::Person).collect()
                }
                None => Vec::new(),
            },
            other => {
                fidelity.note(format!("a {other} recipient ({who}) is not imported"));
                Vec::new()
            }
        };
        if targets.is_empty() {
            fidelity.note(format!(
                "the rule for {who} at {offset} min has nobody Firebreak can page; left out"
            ));
            continue;
        }
        match rules.iter_mut().find(|(at, _)| *at == offset) {
            Some((_, existing)) => {
                for target in targets {
                    if !existing.contains(&target) {
                        existing.push(target);
                    }
                }
            }
            None => rules.push((offset, targets)),
        }
    }
    rules.sort_by_key(|(offset, _)| *offset);
    if rules.is_empty() {
        return Err("no rule has anyone Firebreak can page".into());
    }
    // A first rule that waits becomes a first step that pages nobody: the offsets from the
    // alert's start stay what they were.
    if let Some(first) = rules.first().map(|(it, _)| *it).filter(|it| *it > 0) {
        rules.insert(0, (0, Vec::new()));
        if first > 1440 {
            fidelity.note(format!(
                "the first rule waits {first} min; Firebreak waits at most 1440"
            ));
        }
    }
    let repeat = &doc["repeat"];
    let count = repeat["count"].as_i64().unwrap_or(0).max(0);
    let wait = repeat["waitInterval"].as_i64().unwrap_or(0).max(1);
    if count > 9 {
        fidelity.note(format!("repeats 9 times, not {count}"));
    }
    for flag in ["resetRecipientStates", "closeAlertAfterAll"] {
        if repeat[flag].as_bool() == Some(true) {
            fidelity.note(format!("repeat's {flag} is not modelled"));
        }
    }
    let offsets: Vec<i64> = rules.iter().map(|(it, _)| *it).collect();
    let steps = rules
        .into_iter()
        .enumerate()
        .map(|(index, (offset, targets))| {
            let delay = match offsets.get(index + 1) {
                Some(next) => next - offset,
                None if count > 0 => wait,
                // The last step's wait matters only when the policy repeats.
                None => 30,
            };
            Step {
                targets,
                delay_minutes: delay.clamp(1, 1440),
            }
        })
        .collect();
    Ok(ImportedPolicy {
        vendor_id: text(&doc["id"]),
        name: text(&doc["name"]),
        policy: Policy {
            steps,
            repeat: count.min(9),
        },
        fidelity,
    })
}

/// A team (`GET /v2/teams/{id}`' `data`): its members' emails.
pub fn team(doc: &Value, email_of: &dyn Fn(&str) -> Option<String>) -> ImportedTeam {
    ImportedTeam {
        vendor_id: text(&doc["id"]),
        name: text(&doc["name"]),
        members: doc["members"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|it| email(&it["user"], email_of))
            .collect(),
    }
}

/// An integration (`GET /v2/integrations/{id}`' `data`) as a Firebreak service: the key its
/// senders use as `GenieKey`, kept verbatim, and the escalation its team's default routing
/// rule reaches. `Err` for an integration without an API key (email and outgoing ones).
pub fn integration(doc: &Value, teams: &[Value]) -> Result<ImportedService, Skip> {
    let vendor_id = text(&doc["id"]);
    let name = text(&doc["name"]);
    let Some(key) = doc["apiKey"].as_str().filter(|it| !it.is_empty()) else {
        return Err(Skip {
            vendor_id,
            name,
            why: "no API key (an email or outgoing integration); point that sender at Firebreak by hand".into(),
        });
    };
    let mut fidelity = Fidelity::Exact;
    if doc["enabled"].as_bool() == Some(false) {
        fidelity.note("disabled in Opsgenie");
    }
    if doc["suppressNotifications"].as_bool() == Some(true) {
        fidelity.note("suppresses notifications in Opsgenie: keep the service in shadow mode");
    }
    let team_id = doc["ownerTeam"]["id"]
        .as_str()
        .or(doc["teamId"].as_str())
        .map(String::from);
    let team = team_id
        .as_ref()
        .and_then(|id| teams.iter().find(|it| it["id"].as_str() == Some(id)));
    let default_rule = team.and_then(|it| {
        it["routing_rules"]
            .as_array()?
            .iter()
            .find(|rule| rule["isDefault"].as_bool() == Some(true))
            .cloned()
    });
    let policy = match default_rule.as_ref().map(|it| &it["notify"]) {
        Some(notify) if notify["type"].as_str() == Some("escalation") => {
            notify["id"].as_str().map(String::from)
        }
        Some(notify) => {
            fidelity.note(format!(
                "its team's default routing notifies a {}, not an escalation: give the service a policy by hand",
                notify["type"].as_str().unwrap_or("nothing")
            ));
            None
        }
        None => {
            fidelity.note("no team routing to an escalation: give the service a policy by hand");
            None
        }
    };
    if team.is_some_and(|it| {
        it["routing_rules"]
            .as_array()
            .is_some_and(|rules| rules.len() > 1)
    }) {
        fidelity.note("its team routes by rules beyond the default one; only the default is kept");
    }
    Ok(ImportedService {
        vendor_id,
        name,
        policy_vendor_id: policy,
        team_vendor_id: team_id,
        keys: vec![(text(&doc["name"]), key.to_string())],
        fidelity,
    })
}

/// The plan of importing an account.
pub fn plan(account: &Account, now: Timestamp) -> Plan {
    let mut plan = Plan::default();
    let mut emails: HashMap<String, String> = HashMap::new();
    for doc in &account.users {
        match user(doc) {
            Ok(person) => {
                emails.insert(person.vendor_id.clone(), person.email.clone());
                plan.people.push(Ok(person));
            }
            Err(why) => plan.people.push(Err(Skip {
                vendor_id: text(&doc["id"]),
                name: text(&doc["fullName"]),
                why,
            })),
        }
    }
    let email_of = |id: &str| emails.get(id).cloned();
    plan.teams = account.teams.iter().map(|it| team(it, &email_of)).collect();
    for (doc, overrides, timeline) in &account.schedules {
        plan.schedules
            .extend(schedule((doc, overrides, timeline), &email_of, now));
    }
    for doc in &account.escalations {
        plan.policies
            .push(escalation(doc, &email_of, &plan.teams).map_err(|why| Skip {
                vendor_id: text(&doc["id"]),
                name: text(&doc["name"]),
                why,
            }));
    }
    plan.services = account
        .integrations
        .iter()
        .map(|it| integration(it, &account.teams))
        .collect();
    plan.note_unimported_schedules();
    plan
}

#[cfg(test)]
mod tests;
