//! `firebreak import pagerduty --from DIR`: the plan of moving a PagerDuty account in, read
//! from files of its API's JSON — every person, schedule, escalation policy and service as
//! exact, approximated (how) or skipped (why), and each schedule's shifts compared with
//! PagerDuty's own rendering. It changes nothing.
//!
//! The directory holds the API's answers as fetched: `users.json` (`GET /users?include[]=
//! contact_methods&include[]=notification_rules`), `escalation_policies.json`, `services.json`
//! (`?include[]=integrations`), and `schedules/<ID>.json` (`GET /schedules/<ID>?since=…&until=…`,
//! with its `final_schedule`) with `schedules/<ID>.overrides.json` beside it when it has
//! overrides. A list file may hold one page (`{"users": [...]}`) or a JSON array of pages.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context, bail};
use firebreak_core::import::{Fidelity, differences, pagerduty};
use serde_json::{Value, json};

/// The items of a list file: one page (`{"users": [...]}`), an array of pages, or a bare
/// array of items.
fn items(dir: &Path, file: &str, key: &str) -> anyhow::Result<Vec<Value>> {
    let path = dir.join(file);
    if !path.exists() {
        return Ok(Vec::new());
    }
    let text = std::fs::read_to_string(&path).with_context(|| path.display().to_string())?;
    let value: Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    let pages = match value {
        Value::Array(pages) if pages.iter().all(|it| it.get(key).is_some()) => pages,
        Value::Array(items) => return Ok(items),
        page => vec![page],
    };
    Ok(pages
        .iter()
        .flat_map(|page| page[key].as_array().cloned().unwrap_or_default())
        .collect())
}

fn fidelity_json(fidelity: &Fidelity) -> Value {
    match fidelity {
        Fidelity::Exact => json!({"fidelity": "exact"}),
        Fidelity::Approximated(notes) => json!({"fidelity": "approximated", "notes": notes}),
        Fidelity::Skipped(why) => json!({"fidelity": "skipped", "why": why}),
    }
}

/// The plan, as JSON: `people`, `schedules` (each with its `differences` from PagerDuty's
/// rendering over the range it rendered), `escalation_policies`, `services`.
pub fn plan(dir: &Path, now: jiff::Timestamp) -> anyhow::Result<Value> {
    if !dir.is_dir() {
        bail!("{} is not a directory", dir.display());
    }
    let mut people = Vec::new();
    let mut emails: HashMap<String, String> = HashMap::new();
    for user in items(dir, "users.json", "users")? {
        let id = user["id"].as_str().unwrap_or("").to_string();
        match pagerduty::user(&user) {
            Ok(person) => {
                emails.insert(id.clone(), person.email.clone());
                let mut entry = fidelity_json(&person.fidelity);
                entry["id"] = json!(id);
                entry["email"] = json!(person.email);
                entry["name"] = json!(person.name);
                entry["role"] = json!(person.role);
                entry["zone"] = json!(person.zone);
                entry["contacts"] = json!(person.contacts.iter().map(|it| json!({"kind": it.kind, "address": it.address, "verified": it.kind == "email"})).collect::<Vec<_>>());
                entry["rules"] = json!(person.rules.iter().map(|(delay, index)| json!({"after_minutes": delay, "by": person.contacts[*index].kind})).collect::<Vec<_>>());
                people.push(entry);
            }
            Err(why) => {
                let mut entry = fidelity_json(&Fidelity::Skipped(why));
                entry["id"] = json!(id);
                people.push(entry);
            }
        }
    }
    let email_of = |id: &str| emails.get(id).cloned();
    let mut schedules = Vec::new();
    let folder = dir.join("schedules");
    let mut files: Vec<_> = match std::fs::read_dir(&folder) {
        Ok(entries) => entries.filter_map(Result::ok).map(|it| it.path()).collect(),
        Err(_) => Vec::new(),
    };
    files.sort();
    for path in files {
        let name = path.file_name().and_then(|it| it.to_str()).unwrap_or("");
        if !name.ends_with(".json") || name.ends_with(".overrides.json") {
            continue;
        }
        let text = std::fs::read_to_string(&path).with_context(|| path.display().to_string())?;
        let value: Value = serde_json::from_str(&text)
            .with_context(|| format!("{} is not JSON", path.display()))?;
        let doc = value.get("schedule").cloned().unwrap_or(value);
        let overrides = items(
            &folder,
            &name.replace(".json", ".overrides.json"),
            "overrides",
        )?;
        let id = doc["id"].as_str().unwrap_or("").to_string();
        match pagerduty::schedule(&doc, &overrides, &email_of, now) {
            Ok(imported) => {
                let mut entry = fidelity_json(&imported.fidelity);
                let theirs = pagerduty::rendered(&doc, &email_of);
                let range = theirs
                    .iter()
                    .map(|it| it.start)
                    .min()
                    .zip(theirs.iter().map(|it| it.end).max());
                entry["compared"] = match range {
                    Some((from, to)) => {
                        let ours = imported.schedule.shifts(from, to);
                        let found = differences(&ours, &theirs, (from, to));
                        json!({
                            "from": from.to_string(), "to": to.to_string(),
                            "differences": found.iter().map(|it| json!({
                                "start": it.start.to_string(), "end": it.end.to_string(),
                                "firebreak": it.ours, "pagerduty": it.theirs,
                            })).collect::<Vec<_>>(),
                        })
                    }
                    None => Value::Null,
                };
                entry["id"] = json!(id);
                entry["name"] = json!(imported.name);
                entry["zone"] = json!(imported.zone);
                entry["layers"] = json!(imported.schedule.layers.len());
                entry["overrides"] = json!(imported.schedule.overrides.len());
                schedules.push(entry);
            }
            Err(why) => {
                let mut entry = fidelity_json(&Fidelity::Skipped(why));
                entry["id"] = json!(id);
                entry["name"] = doc["name"].clone();
                schedules.push(entry);
            }
        }
    }
    let imported: Vec<String> = schedules
        .iter()
        .filter(|it| it["fidelity"] != "skipped")
        .filter_map(|it| it["id"].as_str().map(String::from))
        .collect();
    let mut policies = Vec::new();
    for doc in items(dir, "escalation_policies.json", "escalation_policies")? {
        let id = doc["id"].as_str().unwrap_or("").to_string();
        let mut entry = match pagerduty::escalation_policy(&doc, &email_of) {
            Ok(mut it) => {
                for (index, step) in it.policy.steps.iter().enumerate() {
                    for target in &step.targets {
                        if let firebreak_core::paging::Target::Schedule(schedule) = target
                            && !imported.contains(schedule)
                        {
                            it.fidelity.note(format!(
                                "step {}: schedule {schedule} is not among the imported schedules",
                                index + 1
                            ));
                        }
                    }
                }
                let mut entry = fidelity_json(&it.fidelity);
                entry["steps"] = json!(it.policy.steps.len());
                entry["repeat"] = json!(it.policy.repeat);
                entry
            }
            Err(why) => fidelity_json(&Fidelity::Skipped(why)),
        };
        entry["id"] = json!(id);
        entry["name"] = doc["name"].clone();
        policies.push(entry);
    }
    let mut services = Vec::new();
    for doc in items(dir, "services.json", "services")? {
        let it = pagerduty::service(&doc);
        let mut entry = fidelity_json(&it.fidelity);
        entry["id"] = json!(it.vendor_id);
        entry["name"] = json!(it.name);
        entry["escalation_policy"] = json!(it.policy_vendor_id);
        entry["keys_kept"] = json!(it.keys.iter().map(|(name, _)| name).collect::<Vec<_>>());
        services.push(entry);
    }
    Ok(json!({
        "people": people,
        "schedules": schedules,
        "escalation_policies": policies,
        "services": services,
    }))
}

/// The plan in words, one line per object, then what differs.
pub fn print(plan: &Value) {
    let mark = |entry: &Value| match entry["fidelity"].as_str() {
        Some("exact") => "exact",
        Some("approximated") => "APPROXIMATED",
        _ => "SKIPPED",
    };
    for (section, label) in [
        ("people", "email"),
        ("schedules", "name"),
        ("escalation_policies", "name"),
        ("services", "name"),
    ] {
        let entries = plan[section].as_array().cloned().unwrap_or_default();
        println!("{} ({})", section.replace('_', " "), entries.len());
        for entry in &entries {
            let what = entry[label].as_str().unwrap_or("?");
            println!(
                "  {:<13} {} {}",
                mark(entry),
                entry["id"].as_str().unwrap_or(""),
                what
            );
            for note in entry["notes"].as_array().into_iter().flatten() {
                println!("                  - {}", note.as_str().unwrap_or(""));
            }
            if let Some(why) = entry["why"].as_str() {
                println!("                  - {why}");
            }
            if let Some(compared) = entry["compared"].as_object() {
                let found = compared["differences"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                if found.is_empty() {
                    println!(
                        "                  on call matches PagerDuty's rendering from {} to {}",
                        compared["from"].as_str().unwrap_or(""),
                        compared["to"].as_str().unwrap_or("")
                    );
                }
                for it in found {
                    println!(
                        "                  DIFFERS {} → {}: Firebreak {}, PagerDuty {}",
                        it["start"].as_str().unwrap_or(""),
                        it["end"].as_str().unwrap_or(""),
                        it["firebreak"].as_str().unwrap_or("nobody"),
                        it["pagerduty"].as_str().unwrap_or("nobody")
                    );
                }
            }
        }
    }
}
