//! Coordination from a terminal: tasks, the action register, the deploy freeze, who is in
//! an incident and who is kept informed, and the workflow in effect.

use anyhow::anyhow;
use clap::Subcommand;
use reqwest::Method;
use serde_json::json;

use crate::cli::{encode, path_part, short_time, text};
use crate::client::Client;
use crate::commands::print_command_result;
use crate::table::render;

#[derive(Subcommand, Debug)]
pub(crate) enum TaskCmd {
    /// The incident's tasks.
    List { incident: String },
    /// Add a task.
    Add {
        incident: String,
        title: String,
        /// Who should do it (email).
        #[arg(long)]
        assignee: Option<String>,
        /// Due in, e.g. 30m, 2h.
        #[arg(long)]
        due: Option<String>,
    },
    /// Mark a task done, with the evidence.
    Done {
        incident: String,
        number: i64,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Skip a task, saying why.
    Skip {
        incident: String,
        number: i64,
        #[arg(long, default_value = "")]
        note: String,
    },
}

#[derive(Subcommand, Debug)]
pub(crate) enum ActionCmd {
    /// The incident's actions.
    List { incident: String },
    /// Propose an action; someone else must approve it.
    Propose {
        incident: String,
        /// What will be run or changed.
        title: String,
        /// command, script, data_fix, rollback, restart, other.
        #[arg(long, default_value = "command")]
        kind: String,
        #[arg(long, default_value = "")]
        target: String,
        /// low, medium, high (high needs --rollback).
        #[arg(long, default_value = "medium")]
        risk: String,
        #[arg(long, default_value = "")]
        rollback: String,
        #[arg(long)]
        destructive: bool,
    },
    /// Approve someone else's action.
    Approve { incident: String, number: i64 },
    /// Reject an action.
    Reject {
        incident: String,
        number: i64,
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Start an approved action (data fixes: confirm the checklist).
    Start {
        incident: String,
        number: i64,
        #[arg(long)]
        backup_taken: bool,
        #[arg(long)]
        tried_on_sample: bool,
    },
    /// Record how a started action ended.
    Finish {
        incident: String,
        number: i64,
        #[arg(long)]
        failed: bool,
        #[arg(long, default_value = "")]
        result: String,
    },
}

#[derive(Subcommand, Debug)]
pub(crate) enum FreezeCmd {
    /// Exit 1 while deploys are frozen (and say why), 0 when they may go ahead.
    Check,
    /// Freeze deploys because of an incident.
    On {
        incident: String,
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Lift an incident's deploy freeze.
    Off {
        incident: String,
        #[arg(long, default_value = "")]
        reason: String,
    },
}

/// `freeze check` found deploys frozen: exit 1, with the reasons already printed.
#[derive(Debug)]
pub struct Frozen;

impl std::fmt::Display for Frozen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("deploys are frozen")
    }
}

impl std::error::Error for Frozen {}

pub(crate) async fn freeze_command(
    client: &Client,
    as_json: bool,
    command: FreezeCmd,
) -> anyhow::Result<()> {
    let (incident, reason, on) = match command {
        FreezeCmd::On { incident, reason } => (incident, reason, true),
        FreezeCmd::Off { incident, reason } => (incident, reason, false),
        FreezeCmd::Check => return freeze_check(client, as_json).await,
    };
    set_freeze(client, as_json, &incident, reason, on).await
}

async fn freeze_check(client: &Client, as_json: bool) -> anyhow::Result<()> {
    let status = client.call(Method::GET, "/freeze", None).await?;
    if as_json {
        println!(
            "{}",
            serde_json::to_string_pretty(&status).unwrap_or_default()
        );
    }
    if status["frozen"].as_bool() != Some(false) {
        if !as_json {
            println!("Deploys are frozen:");
            for reason in status["reasons"].as_array().into_iter().flatten() {
                let reference = reason["incident"].as_str().unwrap_or("-");
                println!(
                    "  {reference}  {} ({}) since {}{}",
                    text(&reason["title"]),
                    text(&reason["severity"]),
                    short_time(&reason["since"]),
                    match reason["reason"].as_str() {
                        Some(why) if !why.is_empty() => format!(" — {why}"),
                        _ => String::new(),
                    }
                );
            }
        }
        return Err(Frozen.into());
    }
    if !as_json {
        println!("Deploys may go ahead: nothing is frozen.");
    }
    Ok(())
}

pub(crate) async fn task_command(
    client: &Client,
    as_json: bool,
    command: TaskCmd,
) -> anyhow::Result<()> {
    let base = |incident: &str| format!("/incidents/{}/tasks", path_part(incident));
    let (path, body) = match command {
        TaskCmd::List { incident } => {
            let tasks = client.call(Method::GET, &base(&incident), None).await?;
            if as_json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&tasks).unwrap_or_default()
                );
                return Ok(());
            }
            let rows: Vec<Vec<String>> = tasks
                .as_array()
                .into_iter()
                .flatten()
                .map(|it| {
                    let who = it["assignee"]
                        .as_str()
                        .or(it["role"].as_str())
                        .unwrap_or("-")
                        .to_string();
                    vec![
                        format!("#{}", text(&it["number"])),
                        text(&it["status"]),
                        who,
                        it["due"]
                            .as_str()
                            .map_or("-".into(), |_| short_time(&it["due"])),
                        text(&it["title"]),
                    ]
                })
                .collect();
            print!("{}", render(&["#", "STATUS", "WHO", "DUE", "TITLE"], &rows));
            return Ok(());
        }
        TaskCmd::Add {
            incident,
            title,
            assignee,
            due,
        } => {
            let due_in_minutes = match due.as_deref() {
                Some(text) => Some(crate::duration::parse_minutes(text).ok_or_else(|| {
                    anyhow!("--due: use minutes and hours such as 30m, 2h or 1h30m")
                })?),
                None => None,
            };
            (
                base(&incident),
                json!({"title": title, "assignee": assignee, "due_in_minutes": due_in_minutes}),
            )
        }
        TaskCmd::Done {
            incident,
            number,
            note,
        } => (
            format!("{}/{number}/done", base(&incident)),
            json!({ "note": note }),
        ),
        TaskCmd::Skip {
            incident,
            number,
            note,
        } => (
            format!("{}/{number}/skip", base(&incident)),
            json!({ "note": note }),
        ),
    };
    let result = client.call(Method::POST, &path, Some(body)).await?;
    print_command_result(as_json, &result);
    Ok(())
}

pub(crate) async fn action_command(
    client: &Client,
    as_json: bool,
    command: ActionCmd,
) -> anyhow::Result<()> {
    let base = |incident: &str| format!("/incidents/{}/actions", path_part(incident));
    let (path, body) = match command {
        ActionCmd::List { incident } => {
            let actions = client.call(Method::GET, &base(&incident), None).await?;
            if as_json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&actions).unwrap_or_default()
                );
                return Ok(());
            }
            let rows: Vec<Vec<String>> = actions
                .as_array()
                .into_iter()
                .flatten()
                .map(|it| {
                    vec![
                        format!("#{}", text(&it["number"])),
                        text(&it["status"]),
                        text(&it["risk"]),
                        text(&it["proposed_by"]),
                        it["approved_by"].as_str().unwrap_or("-").to_string(),
                        text(&it["title"]),
                    ]
                })
                .collect();
            print!(
                "{}",
                render(
                    &["#", "STATUS", "RISK", "PROPOSED BY", "APPROVED BY", "TITLE"],
                    &rows
                )
            );
            return Ok(());
        }
        ActionCmd::Propose {
            incident,
            title,
            kind,
            target,
            risk,
            rollback,
            destructive,
        } => (
            base(&incident),
            json!({"title": title, "kind": kind, "target": target, "risk": risk,
                   "rollback_plan": rollback, "destructive": destructive}),
        ),
        ActionCmd::Approve { incident, number } => {
            (format!("{}/{number}/approve", base(&incident)), json!({}))
        }
        ActionCmd::Reject {
            incident,
            number,
            reason,
        } => (
            format!("{}/{number}/reject", base(&incident)),
            json!({ "reason": reason }),
        ),
        ActionCmd::Start {
            incident,
            number,
            backup_taken,
            tried_on_sample,
        } => (
            format!("{}/{number}/start", base(&incident)),
            json!({"backup_taken": backup_taken, "tried_on_sample": tried_on_sample}),
        ),
        ActionCmd::Finish {
            incident,
            number,
            failed,
            result,
        } => (
            format!("{}/{number}/finish", base(&incident)),
            json!({"succeeded": !failed, "result": result}),
        ),
    };
    let result = client.call(Method::POST, &path, Some(body)).await?;
    print_command_result(as_json, &result);
    Ok(())
}

async fn set_freeze(
    client: &Client,
    as_json: bool,
    incident: &str,
    reason: String,
    on: bool,
) -> anyhow::Result<()> {
    let path = format!("/incidents/{}/freeze", path_part(incident));
    let body = json!({ "on": on, "reason": reason });
    let result = client.call(Method::POST, &path, Some(body)).await?;
    print_command_result(as_json, &result);
    Ok(())
}

pub(crate) async fn presence(
    client: &Client,
    as_json: bool,
    incident: &str,
    join: bool,
) -> anyhow::Result<()> {
    let step = if join { "join" } else { "leave" };
    let path = format!("/incidents/{}/{step}", path_part(incident));
    let result = client.call(Method::POST, &path, None).await?;
    print_command_result(as_json, &result);
    Ok(())
}

pub(crate) async fn stakeholder(
    client: &Client,
    as_json: bool,
    incident: &str,
    who: &str,
    mode: &str,
) -> anyhow::Result<()> {
    // An address keeps its `@` and dots: percent-encoded rather than filtered.
    let path = format!(
        "/incidents/{}/stakeholders/{}",
        path_part(incident),
        encode(who)
    );
    let result = if mode == "remove" {
        client.call(Method::DELETE, &path, None).await?
    } else {
        client
            .call(Method::PUT, &path, Some(json!({ "mode": mode })))
            .await?
    };
    print_command_result(as_json, &result);
    Ok(())
}

pub(crate) async fn notifications(
    client: &Client,
    as_json: bool,
    incident: &str,
) -> anyhow::Result<()> {
    let path = format!("/incidents/{}/notifications", path_part(incident));
    let list = client.call(Method::GET, &path, None).await?;
    let headers = ["QUEUED", "STATUS", "TARGET", "TO", "SUBJECT"];
    crate::table::print_list(as_json, &list, &headers, |it| {
        vec![
            short_time(&it["created_at"]),
            text(&it["status"]),
            text(&it["target"]),
            format!("{} {}", text(&it["channel"]), text(&it["address"])),
            text(&it["subject"]),
        ]
    });
    Ok(())
}

pub(crate) async fn workflow(client: &Client, as_json: bool) -> anyhow::Result<()> {
    let workflow = client.call(Method::GET, "/workflow", None).await?;
    if as_json {
        println!(
            "{}",
            serde_json::to_string_pretty(&workflow).unwrap_or_default()
        );
        return Ok(());
    }
    let words = |value: &serde_json::Value| -> String {
        match value.as_object() {
            Some(map) if !map.is_empty() => map
                .iter()
                .map(|(key, value)| format!("{key} = {value}"))
                .collect::<Vec<_>>()
                .join(", "),
            _ => "-".into(),
        }
    };
    println!("Rules (in order):");
    for rule in workflow["rules"].as_array().into_iter().flatten() {
        let when: Vec<String> = rule["when"]
            .as_array()
            .into_iter()
            .flatten()
            .map(text)
            .collect();
        println!("  {}", text(&rule["name"]));
        println!("    when  {}", when.join(", "));
        println!("    if    {}", words(&rule["if"]));
        println!("    then  {}", words(&rule["then"]));
    }
    println!("Targets:");
    for target in workflow["targets"].as_array().into_iter().flatten() {
        let mut to: Vec<String> = target["email"]
            .as_array()
            .into_iter()
            .flatten()
            .map(text)
            .collect();
        if let Some(url) = target["webhook_url"].as_str() {
            to.insert(0, url.to_string());
        }
        let to = if to.is_empty() {
            "(sends nothing until configured)".to_string()
        } else {
            to.join(", ")
        };
        println!("  {}  {to}", text(&target["name"]));
    }
    println!("Playbooks:");
    for playbook in workflow["playbooks"].as_array().into_iter().flatten() {
        println!(
            "  {} ({} tasks)",
            text(&playbook["name"]),
            playbook["tasks"].as_array().map_or(0, Vec::len)
        );
    }
    Ok(())
}
