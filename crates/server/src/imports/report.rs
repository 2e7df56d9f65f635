//! The plan and what applying it did, as JSON: the API's answer, which the CLI prints and the
//! admin page shows; and an account sent as saved API JSON.

use firebreak_core::import::pagerduty::Account;
use firebreak_core::import::{Fidelity, Plan, Skip};
use serde_json::{Value, json};

/// An account as saved API JSON: `{"users": [...], "teams": [...], "schedules": [{"schedule":
/// {...}, "overrides": [...]}], "v3_schedules": [...], "escalation_policies": [...],
/// "services": [...]}` — each list the items of PagerDuty's list answers (absent: empty).
pub fn account_from_json(value: &Value) -> Result<Account, String> {
    let Some(object) = value.as_object() else {
        return Err("the account must be a JSON object".into());
    };
    const KNOWN: [&str; 6] = [
        "users",
        "teams",
        "schedules",
        "v3_schedules",
        "escalation_policies",
        "services",
    ];
    if let Some(unknown) = object.keys().find(|it| !KNOWN.contains(&it.as_str())) {
        return Err(format!(
            "unknown list {unknown:?} (expected {})",
            KNOWN.join(", ")
        ));
    }
    let list = |key: &str| -> Result<Vec<Value>, String> {
        match value.get(key) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) if items.iter().all(Value::is_object) => Ok(items.clone()),
            Some(_) => Err(format!("{key} must be an array of objects")),
        }
    };
    let schedules = list("schedules")?
        .into_iter()
        .map(|it| {
            let overrides = match &it["overrides"] {
                Value::Null => Vec::new(),
                Value::Array(items) => items.clone(),
                _ => return Err("a schedule's overrides must be an array".to_string()),
            };
            match &it["schedule"] {
                Value::Object(_) => Ok((it["schedule"].clone(), overrides)),
                _ => Err("each schedule is {\"schedule\": {...}, \"overrides\": [...]}".into()),
            }
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(Account {
        users: list("users")?,
        teams: list("teams")?,
        schedules,
        v3_schedules: list("v3_schedules")?,
        escalation_policies: list("escalation_policies")?,
        services: list("services")?,
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

/// The plan: `people`, `teams`, `schedules` (each with what it was `compared` against),
/// `escalation_policies`, `services`; each entry has the vendor's `id` and its `fidelity`
/// (`exact`, `approximated` with `notes`, `skipped` with `why`).
pub fn plan_json(plan: &Plan) -> Value {
    let people: Vec<Value> = plan
        .people
        .iter()
        .map(|it| match it {
            Ok(person) => {
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
            }
            Err(skip) => skipped(skip),
        })
        .collect();
    let teams: Vec<Value> = plan
        .teams
        .iter()
        .map(|it| json!({"fidelity": "exact", "id": it.vendor_id, "name": it.name, "members": it.members}))
        .collect();
    let schedules: Vec<Value> = plan
        .schedules
        .iter()
        .map(|it| match it {
            Ok(planned) => {
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
            }
            Err(skip) => skipped(skip),
        })
        .collect();
    let policies: Vec<Value> = plan
        .policies
        .iter()
        .map(|it| match it {
            Ok(policy) => {
                let mut entry = fidelity(&policy.fidelity);
                entry["id"] = json!(policy.vendor_id);
                entry["name"] = json!(policy.name);
                entry["steps"] = json!(policy.policy.steps.len());
                entry["repeat"] = json!(policy.policy.repeat);
                entry
            }
            Err(skip) => skipped(skip),
        })
        .collect();
    let services: Vec<Value> = plan
        .services
        .iter()
        .map(|it| {
            let mut entry = fidelity(&it.fidelity);
            entry["id"] = json!(it.vendor_id);
            entry["name"] = json!(it.name);
            entry["escalation_policy"] = json!(it.policy_vendor_id);
            entry["keys_kept"] = json!(it.keys.iter().map(|(name, _)| name).collect::<Vec<_>>());
            entry
        })
        .collect();
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
