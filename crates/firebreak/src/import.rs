//! `firebreak import pagerduty|opsgenie`: the account read from files of the vendor's API
//! JSON (`--from DIR`) and planned here, offline — or sent to the server, which reads the
//! vendor itself with `--api-token` / `--api-key`, and applies the plan with `--apply`.
//!
//! A PagerDuty directory holds the API's answers as fetched: `users.json` (`GET /users?
//! include[]=contact_methods&include[]=notification_rules&include[]=teams`), `teams.json`,
//! `escalation_policies.json`, `services.json` (`?include[]=integrations&include[]=teams`),
//! `schedules/<ID>.json` (`GET /schedules/<ID>?since=…&until=…`, with its `final_schedule`)
//! with `schedules/<ID>.overrides.json` beside it, and `v3_schedules.json`. An Opsgenie
//! directory holds `users.json` (each user with its `contacts` and `notification_rules`, each
//! `create-alert` rule with its `steps`), `teams.json` (each team with `members` and
//! `routing_rules`), `schedules/<ID>.json` with `<ID>.overrides.json` and `<ID>.timeline.json`,
//! `escalations.json` and `integrations.json` (with their `apiKey`). A list file may hold one
//! page (`{"users": [...]}`, `{"data": [...]}`), a JSON array of pages, or the items.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use firebreak_server::imports::{Vendor, report};
use serde_json::{Value, json};

/// The items of a list file: one page (`{key: [...]}`), an array of pages, or a bare array of
/// items.
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

/// The schedule files of a directory (`schedules/<ID>.json`), sorted, each with the path of a
/// companion file (`<ID>.<what>.json`).
fn schedule_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<_> = match std::fs::read_dir(dir.join("schedules")) {
        Ok(entries) => entries.filter_map(Result::ok).map(|it| it.path()).collect(),
        Err(_) => Vec::new(),
    };
    files.retain(|it| {
        let name = it.file_name().and_then(|it| it.to_str()).unwrap_or("");
        name.ends_with(".json") && name.matches('.').count() == 1
    });
    files.sort();
    files
}

fn companion(path: &Path, what: &str) -> PathBuf {
    path.with_extension(format!("{what}.json"))
}

/// The account in a directory, in the shape the server's import takes.
pub fn account(vendor: Vendor, dir: &Path) -> anyhow::Result<Value> {
    if !dir.is_dir() {
        bail!("{} is not a directory", dir.display());
    }
    let folder = dir.join("schedules");
    let mut schedules = Vec::new();
    for path in schedule_files(dir) {
        let value = read(&path)?;
        let name = |what: &str| {
            companion(&path, what)
                .file_name()
                .and_then(|it| it.to_str())
                .unwrap_or("")
                .to_string()
        };
        schedules.push(match vendor {
            Vendor::PagerDuty => json!({
                "schedule": value.get("schedule").cloned().unwrap_or(value),
                "overrides": items(&folder, &name("overrides"), "overrides")?,
            }),
            Vendor::Opsgenie => {
                let timeline = companion(&path, "timeline");
                json!({
                    "schedule": value.get("data").cloned().unwrap_or(value),
                    "overrides": items(&folder, &name("overrides"), "data")?,
                    "timeline": if timeline.exists() {
                        let it = read(&timeline)?;
                        it.get("data").cloned().unwrap_or(it)
                    } else {
                        Value::Null
                    },
                })
            }
        });
    }
    Ok(match vendor {
        Vendor::PagerDuty => json!({
            "users": items(dir, "users.json", "users")?,
            "teams": items(dir, "teams.json", "teams")?,
            "schedules": schedules,
            "v3_schedules": items(dir, "v3_schedules.json", "schedules")?,
            "escalation_policies": items(dir, "escalation_policies.json", "escalation_policies")?,
            "services": items(dir, "services.json", "services")?,
        }),
        Vendor::Opsgenie => json!({
            "users": items(dir, "users.json", "data")?,
            "teams": items(dir, "teams.json", "data")?,
            "schedules": schedules,
            "escalations": items(dir, "escalations.json", "data")?,
            "integrations": items(dir, "integrations.json", "data")?,
        }),
    })
}

/// The plan of an account, made here (`{"plan": …, "applied": null}`, as the server answers).
pub fn plan(vendor: Vendor, account: &Value) -> anyhow::Result<Value> {
    let now = firebreak_store::clock::now();
    let plan = match vendor {
        Vendor::PagerDuty => report::pagerduty_account(account)
            .map(|it| firebreak_core::import::pagerduty::plan(&it, now)),
        Vendor::Opsgenie => report::opsgenie_account(account)
            .map(|it| firebreak_core::import::opsgenie::plan(&it, now)),
    }
    .map_err(anyhow::Error::msg)?;
    Ok(json!({"plan": report::plan_json(&plan), "applied": null}))
}

/// The answer as JSON, or in words.
pub fn show(vendor: Vendor, answer: &Value, as_json: bool) {
    if as_json {
        println!(
            "{}",
            serde_json::to_string_pretty(answer).unwrap_or_default()
        );
    } else {
        let applied = Some(&answer["applied"]).filter(|it| !it.is_null());
        print!("{}", report::words(&answer["plan"], applied, vendor.name()));
    }
}

/// Runs the command: offline for `--from` without `--apply`, else through the server.
pub async fn run(
    (url, token, as_json): (&str, Option<&str>, bool),
    vendor: Vendor,
    (from, key, api_url): (Option<PathBuf>, Option<String>, String),
    apply: bool,
) -> anyhow::Result<()> {
    let body = match (from, key) {
        (Some(dir), None) => {
            let account = account(vendor, &dir)?;
            if !apply {
                show(vendor, &plan(vendor, &account)?, as_json);
                return Ok(());
            }
            json!({"account": account, "apply": true})
        }
        (None, Some(key)) => {
            json!({vendor.key_field(): key, "api_url": api_url, "apply": apply})
        }
        _ => bail!(
            "give --{} (or {}) to read from {}, or --from DIR",
            vendor.key_field().replace('_', "-"),
            match vendor {
                Vendor::PagerDuty => "PAGERDUTY_API_TOKEN",
                Vendor::Opsgenie => "OPSGENIE_API_KEY",
            },
            vendor.name()
        ),
    };
    let client = crate::client::Client::new(url, token)?;
    let answer = client
        .call(
            reqwest::Method::POST,
            &format!("/imports/{}", vendor.slug()),
            Some(body),
        )
        .await?;
    show(vendor, &answer, as_json);
    Ok(())
}
