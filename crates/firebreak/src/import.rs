//! `firebreak import pagerduty`: the account read from files of PagerDuty's API JSON (`--from
//! DIR`) and planned here, offline — or sent to the server, which reads PagerDuty itself
//! with `--api-token`, and applies the plan with `--apply`.
//!
//! The directory holds the API's answers as fetched: `users.json` (`GET /users?include[]=
//! contact_methods&include[]=notification_rules&include[]=teams`), `teams.json`,
//! `escalation_policies.json`, `services.json` (`?include[]=integrations&include[]=teams`),
//! `schedules/<ID>.json` (`GET /schedules/<ID>?since=…&until=…`, with its `final_schedule`)
//! with `schedules/<ID>.overrides.json` beside it when it has overrides, and `v3_schedules.json`.
//! A list file may hold one page (`{"users": [...]}`) or a JSON array of pages.

use std::path::Path;

use anyhow::{Context, bail};
use serde_json::{Value, json};

/// The items of a list file: one page (`{"users": [...]}`), an array of pages, or a bare
/// array of items.
fn items(dir: &Path, file: &str, key: &str) -> anyhow::Result<Vec<Value>> {
    let path = dir.join(file);
    if !path.exists() {
        return Ok(Vec::new());
    }
    let value = read(&path)?;
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

fn read(path: &Path) -> anyhow::Result<Value> {
    let text = std::fs::read_to_string(path).with_context(|| path.display().to_string())?;
    serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))
}

/// The account in a directory, in the shape the server's import takes.
pub fn account(dir: &Path) -> anyhow::Result<Value> {
    if !dir.is_dir() {
        bail!("{} is not a directory", dir.display());
    }
    let folder = dir.join("schedules");
    let mut files: Vec<_> = match std::fs::read_dir(&folder) {
        Ok(entries) => entries.filter_map(Result::ok).map(|it| it.path()).collect(),
        Err(_) => Vec::new(),
    };
    files.sort();
    let mut schedules = Vec::new();
    for path in files {
        let name = path.file_name().and_then(|it| it.to_str()).unwrap_or("");
        if !name.ends_with(".json") || name.ends_with(".overrides.json") {
            continue;
        }
        let value = read(&path)?;
        let doc = value.get("schedule").cloned().unwrap_or(value);
        let overrides = items(
            &folder,
            &name.replace(".json", ".overrides.json"),
            "overrides",
        )?;
        schedules.push(json!({"schedule": doc, "overrides": overrides}));
    }
    Ok(json!({
        "users": items(dir, "users.json", "users")?,
        "teams": items(dir, "teams.json", "teams")?,
        "schedules": schedules,
        "v3_schedules": items(dir, "v3_schedules.json", "schedules")?,
        "escalation_policies": items(dir, "escalation_policies.json", "escalation_policies")?,
        "services": items(dir, "services.json", "services")?,
    }))
}

/// The plan of an account, made here (`{"plan": …, "applied": null}`, as the server answers).
pub fn plan(account: &Value) -> anyhow::Result<Value> {
    let account = firebreak_server::imports::report::account_from_json(account)
        .map_err(anyhow::Error::msg)?;
    let plan = firebreak_core::import::pagerduty::plan(&account, firebreak_store::clock::now());
    Ok(json!({"plan": firebreak_server::imports::report::plan_json(&plan), "applied": null}))
}

/// The answer as JSON, or in words.
pub fn show(answer: &Value, as_json: bool) {
    if as_json {
        println!(
            "{}",
            serde_json::to_string_pretty(answer).unwrap_or_default()
        );
    } else {
        let applied = Some(&answer["applied"]).filter(|it| !it.is_null());
        print!(
            "{}",
            firebreak_server::imports::report::words(&answer["plan"], applied, "PagerDuty")
        );
    }
}
