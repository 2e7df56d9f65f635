//! On call from a terminal: who is on call (now or at a time), schedules from JSON files,
//! shifts, the fairness report, overrides, and calendar feeds.

use std::path::PathBuf;

use anyhow::{Context, anyhow};
use clap::Subcommand;
use reqwest::Method;
use serde_json::{Value, json};

use crate::cli::{encode, path_part, short_time, text};
use crate::client::Client;
use crate::table::print_list;

#[derive(Subcommand, Debug)]
pub(crate) enum ScheduleCmd {
    /// Every schedule with who is on call now.
    List,
    /// Create a schedule from a JSON file (the API's body), or replace the one of that name.
    Apply { file: PathBuf },
    /// The shifts over the next days (nobody on call shows as "-").
    Shifts {
        schedule: String,
        #[arg(long, default_value_t = 7)]
        days: i64,
    },
    /// The fairness report: shifts, hours, weekend and night hours per person.
    Report {
        schedule: String,
        /// e.g. 30d.
        #[arg(long, default_value = "30d")]
        since: String,
    },
    /// Someone covers a range: --from and --to as RFC 3339 times.
    Override {
        schedule: String,
        #[arg(long)]
        person: String,
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
    },
    /// A secret calendar (iCalendar) address for a schedule's shifts, or with --person for
    /// someone's shifts in every schedule.
    Feed {
        schedule: Option<String>,
        #[arg(long)]
        person: Option<String>,
    },
}

/// `firebreak oncall [--at T]`: who is on call in every schedule.
pub(crate) async fn oncall(
    client: &Client,
    as_json: bool,
    at: Option<String>,
) -> anyhow::Result<()> {
    let path = match at {
        Some(at) => format!("/oncall?at={}", encode(&at)),
        None => "/oncall".to_string(),
    };
    let list = client.call(Method::GET, &path, None).await?;
    print_list(as_json, &list, &["SCHEDULE", "ON CALL", "UNTIL"], |it| {
        vec![
            text(&it["schedule"]),
            it["person"].as_str().unwrap_or("nobody").to_string(),
            short_time(&it["until"]),
        ]
    });
    Ok(())
}

pub(crate) async fn command(
    client: &Client,
    as_json: bool,
    command: ScheduleCmd,
) -> anyhow::Result<()> {
    match command {
        ScheduleCmd::List => {
            let list = client.call(Method::GET, "/schedules", None).await?;
            print_list(
                as_json,
                &list,
                &["NAME", "ZONE", "LAYERS", "ON CALL NOW"],
                |it| {
                    vec![
                        text(&it["name"]),
                        text(&it["time_zone"]),
                        it["layers"].as_array().map_or(0, Vec::len).to_string(),
                        it["on_call_now"].as_str().unwrap_or("nobody").to_string(),
                    ]
                },
            );
        }
        ScheduleCmd::Apply { file } => {
            let body: Value = serde_json::from_str(
                &std::fs::read_to_string(&file)
                    .with_context(|| format!("cannot read {}", file.display()))?,
            )
            .with_context(|| format!("{} is not JSON", file.display()))?;
            let name = body["name"]
                .as_str()
                .ok_or_else(|| anyhow!("{} has no \"name\"", file.display()))?;
            let exists = client
                .call(Method::GET, "/schedules", None)
                .await?
                .as_array()
                .is_some_and(|all| all.iter().any(|it| it["name"] == name));
            let result = if exists {
                let path = format!("/schedules/{}", path_part(name));
                client.call(Method::PUT, &path, Some(body)).await?
            } else {
                client.call(Method::POST, "/schedules", Some(body)).await?
            };
            if as_json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&result).unwrap_or_default()
                );
            } else {
                println!(
                    "{} {} (on call now: {})",
                    if exists { "Replaced" } else { "Created" },
                    text(&result["name"]),
                    result["on_call_now"].as_str().unwrap_or("nobody")
                );
            }
        }
        ScheduleCmd::Shifts { schedule, days } => {
            if !(1..=366).contains(&days) {
                return Err(anyhow!("--days is 1 to 366"));
            }
            let from = firebreak_store::clock::now();
            let to = from + jiff::SignedDuration::from_hours(24 * days);
            let path = format!(
                "/schedules/{}/shifts?from={}&to={}",
                path_part(&schedule),
                encode(&from.to_string()),
                encode(&to.to_string())
            );
            let list = client.call(Method::GET, &path, None).await?;
            print_list(as_json, &list, &["FROM", "TO", "ON CALL"], |it| {
                vec![
                    short_time(&it["start"]),
                    short_time(&it["end"]),
                    it["person"].as_str().unwrap_or("-").to_string(),
                ]
            });
        }
        ScheduleCmd::Report { schedule, since } => {
            let days: i64 = since
                .strip_suffix('d')
                .and_then(|it| it.parse().ok())
                .filter(|it| (1..=366).contains(it))
                .ok_or_else(|| anyhow!("--since takes days, e.g. 30d"))?;
            let from = firebreak_store::clock::now() - jiff::SignedDuration::from_hours(24 * days);
            let path = format!(
                "/schedules/{}/report?from={}&to={}",
                path_part(&schedule),
                encode(&from.to_string()),
                encode(&firebreak_store::clock::now().to_string())
            );
            let report = client.call(Method::GET, &path, None).await?;
            if as_json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&report).unwrap_or_default()
                );
                return Ok(());
            }
            print_list(
                false,
                &report["people"],
                &["PERSON", "SHIFTS", "HOURS", "WEEKEND H", "NIGHT H"],
                |it| {
                    let hours = |value: &Value| format!("{:.1}", value.as_f64().unwrap_or(0.0));
                    vec![
                        text(&it["person"]),
                        text(&it["shifts"]),
                        hours(&it["hours"]),
                        hours(&it["weekend_hours"]),
                        hours(&it["night_hours"]),
                    ]
                },
            );
            println!(
                "Nobody on call: {:.1} h",
                report["uncovered_hours"].as_f64().unwrap_or(0.0)
            );
        }
        ScheduleCmd::Override {
            schedule,
            person,
            from,
            to,
        } => {
            let path = format!("/schedules/{}/overrides", path_part(&schedule));
            let added = client
                .call(
                    Method::POST,
                    &path,
                    Some(json!({"start": from, "end": to, "person": person})),
                )
                .await?;
            if as_json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&added).unwrap_or_default()
                );
            } else {
                println!(
                    "{} covers {} from {} to {}",
                    text(&added["person"]),
                    schedule,
                    text(&added["start"]),
                    text(&added["end"])
                );
            }
        }
        ScheduleCmd::Feed { schedule, person } => {
            let body = match (schedule, person) {
                (Some(schedule), None) => json!({ "schedule": schedule }),
                (None, Some(person)) => json!({ "person": person }),
                _ => return Err(anyhow!("give a schedule or --person")),
            };
            let feed = client
                .call(Method::POST, "/calendar-feeds", Some(body))
                .await?;
            println!("{}", text(&feed["url"]));
        }
    }
    Ok(())
}
