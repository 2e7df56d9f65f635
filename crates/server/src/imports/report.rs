//! The plan and what applying it did, as JSON: the API's answer, which the CLI prints and the
//! admin page shows; and an account sent as saved API JSON (`pagerduty_account`,
//! `opsgenie_account`).

use firebreak_core::import::{Fidelity, Plan, Skip};
use firebreak_core::import::{opsgenie, pagerduty};
use serde_json::{Value, json};

/// Checks a saved account's lists: an object whose keys are among `known`, each a list of
/// objects (absent: empty).
fn lists<'a>(
    value: &'a Value,
    known: &[&str],
) -> Result<&'a serde_json::Map<String, Value>, String> {
    let Some(object) = value.as_object() else {
        return Err("the account must be a JSON object".into());
    };
    if let Some(unknown) = object.keys().find(|it| !known.contains(&it.as_str())) {
        return Err(format!(
            "unknown list {unknown:?} (expected {})",
            known.join(", ")
        ));
    }
    for key in known {
        match object.get(*key) {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) if items.iter().all(Value::is_object) => {}
            Some(_) => return Err(format!("{key} must be an array of objects")),
        }
    }
    Ok(object)
}

fn list(object: &serde_json::Map<String, Value>, key: &str) -> Vec<Value> {
    object
        .get(key)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// A schedule entry's `field`: an object (`schedule`, `timeline`) or a list (`overrides`).
fn part(entry: &Value, field: &str, object: bool) -> Result<Value, String> {
    match (&entry[field], object) {
        (Value::Null, false) => Ok(Value::Array(Vec::new())),
        (Value::Null, true) if field == "timeline" => Ok(Value::Null),
        (Value::Object(_), true) | (Value::Array(_), false) => Ok(entry[field].clone()),
        _ => Err(format!(
            "each schedule is {{\"schedule\": {{...}}, \"overrides\": [...]}}; {field} is not {}",
            if object { "an object" } else { "an array" }
        )),
    }
}

/// A PagerDuty account as saved API JSON: `{"users": [...], "teams": [...], "schedules":
/// [{"schedule": {...}, "overrides": [...]}], "v3_schedules": [...], "escalation_policies":
/// [...], "services": [...]}` — each list the items of PagerDuty's list answers.
pub fn pagerduty_account(value: &Value) -> Result<pagerduty::Account, String> {
    let object = lists(
        value,
        &[
            "users",
            "teams",
            "schedules",
            "v3_schedules",
            "escalation_policies",
            "services",
        ],
    )?;
    let schedules = list(object, "schedules")
        .iter()
        .map(|it| {
            let overrides = part(it, "overrides", false)?;
            Ok((
                part(it, "schedule", true)?,
                overrides.as_array().cloned().unwrap_or_default(),
            ))
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(pagerduty::Account {
        users: list(object, "users"),
        teams: list(object, "teams"),
        schedules,
        v3_schedules: list(object, "v3_schedules"),
        escalation_policies: list(object, "escalation_policies"),
        services: list(object, "services"),
    })
}

/// An Opsgenie account as saved API JSON: `{"users": [...] (each with its `contacts` and
/// `notification_rules`, each rule with its `steps`), "teams": [...] (each with its
/// `routing_rules`), "schedules": [{"schedule": {...}, "overrides": [...], "timeline":
/// {...}}], "escalations": [...], "integrations": [...]}` — each the `data` of Opsgenie's
/// answers.
pub fn opsgenie_account(value: &Value) -> Result<opsgenie::Account, String> {
    let object = lists(
        value,
        &["users", "teams", "schedules", "escalations", "integrations"],
    )?;
    let schedules = list(object, "schedules")
        .iter()
        .map(|it| {
            let overrides = part(it, "overrides", false)?;
            Ok((
                part(it, "schedule", true)?,
                overrides.as_array().cloned().unwrap_or_default(),
                part(it, "timeline", true)?,
            ))
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(opsgenie::Account {
        users: list(object, "users"),
        teams: list(object, "teams"),
        schedules,
        escalations: list(object, "escalations"),
        integrations: list(object, "integrations"),
    })
}

fn fidelity(fidelity: &Fidelity) -> Value {
    match fidelity {
        Fidelity::Exact => json!({"fidelity": "exact"}),
        Fidelity::Approximated(notes) => json!({"fidelity": "approximated", "notes": notes}),
        Fidelity::Skipped(why) => json!({"fidelity": "skipped", "why": why}),
    }
}

fn skipped(skip: &Skip) -> Value {
    json!({"fidelity": "skipped", "why": skip.why, "id": skip.vendor_id, "name": skip.name})
}

/// A section of the plan: each imported object as `entry` says, each skipped one as skipped.
fn entries<T>(list: &[Result<T, Skip>], entry: impl Fn(&T) -> Value) -> Vec<Value> {
    list.iter()
        .map(|it| match it {
            Ok(it) => entry(it),
            Err(skip) => skipped(skip),
        })
        .collect()
}

/// The plan: `people`, `teams`, `schedules` (each with what it was `compared` against),
/// `escalation_policies`, `services`; each entry has the vendor's `id` and its `fidelity`
/// (`exact`, `approximated` with `notes`, `skipped` with `why`).
pub fn plan_json(plan: &Plan) -> Value {
    let people = entries(&plan.people, |person| {
        let mut entry = fidelity(&person.fidelity);
        entry["id"] = json!(person.vendor_id);
        entry["email"] = json!(person.email);
        entry["name"] = json!(person.name);
        entry["role"] = json!(person.role);
        entry["zone"] = json!(person.zone);
        entry["contacts"] = json!(
                    person
                        .contacts
                        .iter()
                        .map(|it| json!({"kind": it.kind, "address": it.address, "verified": it.kind == "email"}))
                        .collect::<Vec<_>>()
                );
        entry["rules"] = json!(
                    person
                        .rules
                        .iter()
                        .map(|(delay, index)| json!({"after_minutes": delay, "by": person.contacts[*index].kind}))
                        .collect::<Vec<_>>()
                );
        entry
    });
    let teams: Vec<Value> = plan
        .teams
        .iter()
        .map(|it| json!({"fidelity": "exact", "id": it.vendor_id, "name": it.name, "members": it.members}))
        .collect();
    let schedules = entries(&plan.schedules, |planned| {
        let imported = &planned.imported;
        let mut entry = fidelity(&imported.fidelity);
        entry["id"] = json!(imported.vendor_id);
        entry["name"] = json!(imported.name);
        entry["zone"] = json!(imported.zone);
        entry["layers"] = json!(imported.schedule.layers.len());
        entry["overrides"] = json!(imported.schedule.overrides.len());
        entry["compared"] = match &planned.compared {
            Some(compared) => json!({
                "from": compared.from.to_string(), "to": compared.to.to_string(),
                "differences": compared.differences.iter().map(|it| json!({
                    "start": it.start.to_string(), "end": it.end.to_string(),
                    "firebreak": it.ours, "vendor": it.theirs,
                })).collect::<Vec<_>>(),
            }),
            None => Value::Null,
        };
        entry
    });
    let policies = entries(&plan.policies, |policy| {
        let mut entry = fidelity(&policy.fidelity);
        entry["id"] = json!(policy.vendor_id);
        entry["name"] = json!(policy.name);
        entry["steps"] = json!(policy.policy.steps.len());
        entry["repeat"] = json!(policy.policy.repeat);
        entry
    });
    let services = entries(&plan.services, |it| {
        let mut entry = fidelity(&it.fidelity);
        entry["id"] = json!(it.vendor_id);
        entry["name"] = json!(it.name);
        entry["escalation_policy"] = json!(it.policy_vendor_id);
        entry["keys_kept"] = json!(it.keys.iter().map(|(name, _)| name).collect::<Vec<_>>());
        entry
    });
    json!({
        "people": people,
        "teams": teams,
        "schedules": schedules,
        "escalation_policies": policies,
        "services": services,
    })
}

/// The sections of the plan in the order they are made, with the field that names an entry.
pub const SECTIONS: [(&str, &str); 5] = [
    ("people", "email"),
    ("teams", "name"),
    ("schedules", "name"),
    ("escalation_policies", "name"),
    ("services", "name"),
];

/// The plan in words, one line per object and its notes, then what differs; with `applied`,
/// what applying did to each.
pub fn words(plan: &Value, applied: Option<&Value>, vendor: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let mark = |entry: &Value| match entry["fidelity"].as_str() {
        Some("exact") => "exact",
        Some("approximated") => "APPROXIMATED",
        _ => "SKIPPED",
    };
    for (section, label) in SECTIONS {
        let entries = plan[section].as_array().cloned().unwrap_or_default();
        let _ = writeln!(out, "{} ({})", section.replace('_', " "), entries.len());
        for entry in &entries {
            let id = entry["id"].as_str().unwrap_or("");
            let what = entry[label].as_str().unwrap_or("?");
            let done = applied
                .and_then(|it| it.as_array())
                .into_iter()
                .flatten()
                .find(|it| it["section"] == section && it["id"] == id)
                .map(|it| match it["why"].as_str() {
                    Some(why) => format!("  [{}: {why}]", it["outcome"].as_str().unwrap_or("")),
                    None => format!("  [{}]", it["outcome"].as_str().unwrap_or("")),
                })
                .unwrap_or_default();
            let _ = writeln!(out, "  {:<13} {id} {what}{done}", mark(entry));
            for note in entry["notes"].as_array().into_iter().flatten() {
                let _ = writeln!(out, "                  - {}", note.as_str().unwrap_or(""));
            }
            if let Some(why) = entry["why"].as_str() {
                let _ = writeln!(out, "                  - {why}");
            }
            if let Some(compared) = entry["compared"].as_object() {
                let found = compared["differences"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                if found.is_empty() {
                    let _ = writeln!(
                        out,
                        "                  on call matches {vendor}'s rendering from {} to {}",
                        compared["from"].as_str().unwrap_or(""),
                        compared["to"].as_str().unwrap_or("")
                    );
                }
                for it in found {
                    let _ = writeln!(
                        out,
                        "                  DIFFERS {} → {}: Firebreak {}, {vendor} {}",
                        it["start"].as_str().unwrap_or(""),
                        it["end"].as_str().unwrap_or(""),
                        it["firebreak"].as_str().unwrap_or("nobody"),
                        it["vendor"].as_str().unwrap_or("nobody")
                    );
                }
            }
        }
    }
    out
}
