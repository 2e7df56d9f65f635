//! The commands that talk to a running server through the public API: incidents, updates,
//! roles, the timeline, and the dispatch to each area's commands.

use anyhow::anyhow;
use reqwest::Method;
use serde_json::{Value, json};

use crate::cli::*;
use crate::client::Client;
use crate::coordination::{action_command, freeze_command, task_command};
use crate::duration::parse_minutes;
use crate::table::{render, truncate};

pub(crate) fn incident_row(incident: &Value) -> Vec<String> {
    let due = if incident["update_overdue"].as_bool() == Some(true) {
        format!("{} (OVERDUE)", short_time(&incident["next_update_due"]))
    } else {
        short_time(&incident["next_update_due"])
    };
    vec![
        text(&incident["reference"]),
        text(&incident["severity"]),
        text(&incident["status"]),
        incident["roles"]["lead"]
            .as_str()
            .unwrap_or("—")
            .to_string(),
        due,
        truncate(&text(&incident["title"]), 60),
    ]
}

pub(crate) fn print_incident(incident: &Value) {
    println!(
        "{}  {}",
        text(&incident["reference"]),
        text(&incident["title"])
    );
    println!("  severity     {}", text(&incident["severity"]));
    println!("  status       {}", text(&incident["status"]));
    println!(
        "  type         {}{}",
        text(&incident["type"]),
        if incident["private"] == json!(true) {
            " (private)"
        } else {
            ""
        }
    );
    println!("  impact       {}", text(&incident["impact"]));
    let affected = &incident["affected"];
    if affected["text"].as_str().is_some_and(|it| !it.is_empty()) || !affected["count"].is_null() {
        println!(
            "  affected     {} ({})",
            text(&affected["text"]),
            text(&affected["count"])
        );
    }
    if let Some(services) = incident["services"].as_array().filter(|it| !it.is_empty()) {
        println!(
            "  services     {}",
            services.iter().map(text).collect::<Vec<_>>().join(", ")
        );
    }
    if let Some(roles) = incident["roles"].as_object() {
        for (role, user) in roles {
            println!("  {role:<12} {}", text(user));
        }
    }
    let overdue = if incident["update_overdue"] == json!(true) {
        "  OVERDUE"
    } else {
        ""
    };
    println!(
        "  next update  {}{overdue}",
        short_time(&incident["next_update_due"])
    );
    if let Some(timestamps) = incident["timestamps"].as_object() {
        for (name, slot) in timestamps {
            if slot["observed"].is_null() && slot["asserted"].is_null() {
                continue;
            }
            let asserted = if slot["asserted"].is_null() {
                String::new()
            } else {
                format!(" (asserted {})", short_time(&slot["asserted"]))
            };
            println!("  {name:<12} {}{asserted}", short_time(&slot["observed"]));
        }
    }
    if !incident["summary"].as_str().unwrap_or("").is_empty() {
        println!("\n{}", text(&incident["summary"]));
    }
}

/// The answer to a command: the JSON as is, or the incident after it.
pub(crate) fn print_command_result(as_json: bool, result: &Value) {
    if as_json {
        println!(
            "{}",
            serde_json::to_string_pretty(result).unwrap_or_default()
        );
    } else {
        print_incident(&result["incident"]);
    }
}

pub(crate) async fn client_command(
    url: &str,
    token: Option<&str>,
    as_json: bool,
    command: Cmd,
) -> anyhow::Result<()> {
    let client = Client::new(url, token)?;
    let print_json = |value: &Value| {
        println!(
            "{}",
            serde_json::to_string_pretty(value).unwrap_or_default()
        )
    };
    match command {
        Cmd::Declare {
            title,
            severity,
            summary,
            incident_type,
            impact,
            services,
            private,
            drill,
            idempotency_key,
        } => {
            let mut body = json!({ "title": title, "services": services });
            for (key, value) in [
                ("severity", severity),
                ("summary", summary),
                ("type", incident_type),
                ("impact", impact),
            ] {
                if let Some(value) = value {
                    body[key] = json!(value);
                }
            }
            if private {
                body["private"] = json!(true);
            }
            if drill {
                body["mode"] = json!("drill");
            }
            let incident = client
                .send(
                    Method::POST,
                    "/incidents",
                    Some(body),
                    idempotency_key.as_deref(),
                )
                .await?;
            if as_json {
                print_json(&incident)
            } else {
                print_incident(&incident)
            }
        }
        Cmd::Incidents {
            status,
            severity,
            incident_type,
            service,
            from,
            to,
            query,
            limit,
        } => {
            let mut params = vec![format!("limit={limit}")];
            let filters = [
                ("status", status),
                ("severity", severity),
                ("type", incident_type),
                ("service", service),
                ("from", from),
                ("to", to),
                ("q", query),
            ];
            for (key, value) in filters {
                if let Some(value) = value {
                    params.push(format!("{key}={}", encode(&value)));
                }
            }
            let page = client
                .call(
                    Method::GET,
                    &format!("/incidents?{}", params.join("&")),
                    None,
                )
                .await?;
            if as_json {
                print_json(&page);
            } else {
                let rows: Vec<Vec<String>> = page["items"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(incident_row)
                    .collect();
                print!(
                    "{}",
                    render(
                        &["REF", "SEVERITY", "STATUS", "LEAD", "NEXT UPDATE", "TITLE"],
                        &rows
                    )
                );
            }
        }
        Cmd::Show { incident } => {
            let incident = client
                .call(
                    Method::GET,
                    &format!("/incidents/{}", path_part(&incident)),
                    None,
                )
                .await?;
            if as_json {
                print_json(&incident)
            } else {
                print_incident(&incident)
            }
        }
        Cmd::Update {
            incident,
            message,
            status,
            next_update,
            public,
        } => {
            let mut body = json!({ "message": message, "public": public });
            if let Some(status) = status {
                body["status"] = json!(status);
            }
            if let Some(next) = next_update {
                let minutes = parse_minutes(&next).ok_or_else(|| {
                    anyhow!("--next-update {next:?} is not a duration like 30m, 1h or 1h30m")
                })?;
                body["next_update_in_minutes"] = json!(minutes);
            }
            let result = client
                .call(
                    Method::POST,
                    &format!("/incidents/{}/updates", path_part(&incident)),
                    Some(body),
                )
                .await?;
            print_command_result(as_json, &result);
        }
        Cmd::Resolve { incident, message } => {
            let body = json!({ "message": message.unwrap_or_else(|| "Resolved.".into()), "status": "resolved" });
            let result = client
                .call(
                    Method::POST,
                    &format!("/incidents/{}/updates", path_part(&incident)),
                    Some(body),
                )
                .await?;
            print_command_result(as_json, &result);
        }
        Cmd::Assign {
            incident,
            role,
            user,
            handover,
        } => {
            let path = format!(
                "/incidents/{}/roles/{}",
                path_part(&incident),
                path_part(&role)
            );
            let body = json!({ "user": user, "handover": handover });
            let result = client.call(Method::PUT, &path, Some(body)).await?;
            print_command_result(as_json, &result);
        }
        Cmd::Join { incident } => {
            crate::coordination::presence(&client, as_json, &incident, true).await?
        }
        Cmd::Leave { incident } => {
            crate::coordination::presence(&client, as_json, &incident, false).await?
        }
        Cmd::Stakeholder {
            incident,
            who,
            mode,
        } => crate::coordination::stakeholder(&client, as_json, &incident, &who, &mode).await?,
        Cmd::Notifications { incident } => {
            crate::coordination::notifications(&client, as_json, &incident).await?
        }
        Cmd::Workflow => crate::coordination::workflow(&client, as_json).await?,
        Cmd::Note {
            incident,
            text: note,
        } => {
            let event = client
                .call(
                    Method::POST,
                    &format!("/incidents/{}/timeline", path_part(&incident)),
                    Some(json!({ "text": note })),
                )
                .await?;
            if as_json {
                print_json(&event)
            } else {
                println!("#{} {}", text(&event["seq"]), text(&event["kind"]))
            }
        }
        Cmd::AddMember { incident, user } => {
            let path = format!("/incidents/{}/members", path_part(&incident));
            let result = client
                .call(Method::POST, &path, Some(json!({ "user": user })))
                .await?;
            print_command_result(as_json, &result);
        }
        Cmd::Freeze { command } => freeze_command(&client, as_json, command).await?,
        Cmd::Chat { command } => crate::chat::chat_command(&client, as_json, command).await?,
        Cmd::Postmortem {
            incident,
            edit,
            draft,
            save,
            status,
            share,
        } => {
            let options = crate::postmortem::Options {
                incident,
                edit,
                draft,
                save,
                status,
                share,
            };
            crate::postmortem::command(&client, as_json, options).await?
        }
        Cmd::Followups {
            all,
            add,
            title,
            owner,
            due_in,
            done,
        } => {
            if let Some(incident) = add {
                let body = json!({"title": title.unwrap_or_default(), "owner": owner.unwrap_or_default(), "due_in": due_in});
                let path = format!("/incidents/{}/followups", path_part(&incident));
                client.call(Method::POST, &path, Some(body)).await?;
            }
            if let Some(id) = done {
                let path = format!("/followups/{}", encode(&id));
                client
                    .call(Method::PATCH, &path, Some(json!({"status": "done"})))
                    .await?;
            }
            let path = if all {
                "/followups?status=all"
            } else {
                "/followups"
            };
            let list = client.call(Method::GET, path, None).await?;
            crate::table::print_list(
                as_json,
                &list,
                &["ID", "INCIDENT", "STATUS", "DUE", "OWNER", "TITLE"],
                |it| {
                    let mut status = text(&it["status"]);
                    if it["overdue"] == true {
                        status.push_str(" (overdue)");
                    }
                    vec![
                        text(&it["id"]),
                        text(&it["incident"]),
                        status,
                        it["due_at"]
                            .as_str()
                            .map_or("-".into(), |_| short_time(&it["due_at"])),
                        text(&it["owner"]),
                        text(&it["title"]),
                    ]
                },
            );
        }
        Cmd::Insights { since } => {
            let days: i64 = since
                .strip_suffix('d')
                .and_then(|it| it.parse().ok())
                .filter(|it| *it > 0)
                .ok_or_else(|| anyhow!("--since takes days, e.g. 30d"))?;
            let from = firebreak_store::clock::now() - jiff::SignedDuration::from_hours(24 * days);
            let path = format!("/insights?from={}", encode(&from.to_string()));
            let it = client.call(Method::GET, &path, None).await?;
            if as_json {
                print_json(&it);
            } else {
                let minutes = |value: &Value| {
                    value["mean_minutes"]
                        .as_f64()
                        .map_or("—".to_string(), |it| format!("{it:.0} min"))
                };
                let share = |value: &Value| {
                    value
                        .as_f64()
                        .map_or("—".to_string(), |it| format!("{:.0} %", it * 100.0))
                };
                println!("Incidents (real): {}", text(&it["incidents"]));
                println!(
                    "MTTA: {}  ({} with an asserted time)",
                    minutes(&it["mtta"]),
                    text(&it["mtta"]["with_asserted_time"])
                );
                println!("Time to mitigate: {}", minutes(&it["time_to_mitigate"]));
                println!(
                    "MTTR: {}  ({} with an asserted time)",
                    minutes(&it["mttr"]),
                    text(&it["mttr"]["with_asserted_time"])
                );
                println!(
                    "Change failure rate: {}  ({} of {} deploys)",
                    share(&it["change_failure_rate"]),
                    text(&it["failed_deploys"]),
                    text(&it["deploys"])
                );
                println!(
                    "Post-mortems published: {}",
                    share(&it["postmortem_completion"])
                );
                println!(
                    "Follow-ups done on time: {}",
                    share(&it["followups_on_time"])
                );
                for (person, load) in it["people"].as_object().into_iter().flatten() {
                    let flag = if load["heroics"] == true {
                        "  ← heroics"
                    } else {
                        ""
                    };
                    println!(
                        "  {person}: {} incidents, {} led, {} h{flag}",
                        text(&load["incidents"]),
                        text(&load["led"]),
                        text(&load["hours"])
                    );
                }
                for (service, n) in it["bus_factor"].as_object().into_iter().flatten() {
                    if n == 1 {
                        println!(
                            "  {service}: bus factor 1 (one person has led all its incidents)"
                        );
                    }
                }
            }
        }
        Cmd::Ack { id } => crate::paging::ack(&client, as_json, &id).await?,
        Cmd::Alerts { command } => crate::paging::alerts(&client, as_json, command).await?,
        Cmd::Paging { command } => crate::paging::catalog(&client, as_json, command).await?,
        Cmd::Oncall { at } => crate::oncall::oncall(&client, as_json, at).await?,
        Cmd::Schedules { command } => crate::oncall::command(&client, as_json, command).await?,
        Cmd::StatusPage { command } => {
            crate::status_page::command(&client, as_json, command).await?
        }
        Cmd::Action { command } => action_command(&client, as_json, command).await?,
        Cmd::Task { command } => task_command(&client, as_json, command).await?,
        Cmd::Whoami => {
            let me = client.call(Method::GET, "/me", None).await?;
            if as_json {
                print_json(&me);
            } else {
                println!(
                    "{} <{}> ({}, {})",
                    text(&me["name"]),
                    text(&me["email"]),
                    text(&me["role"]),
                    text(&me["time_zone"])
                );
            }
        }
        Cmd::Timeline { incident, limit } => {
            let mut after = 0;
            let mut items = Vec::new();
            loop {
                let path = format!(
                    "/incidents/{}/timeline?after={after}&limit={}",
                    path_part(&incident),
                    limit.clamp(1, 1000)
                );
                let page = client.call(Method::GET, &path, None).await?;
                let batch = page["items"].as_array().cloned().unwrap_or_default();
                items.extend(batch);
                match page["next_cursor"]
                    .as_str()
                    .and_then(|it| it.parse::<i64>().ok())
                {
                    Some(next) if (items.len() as i64) < limit => after = next,
                    _ => break,
                }
            }
            if as_json {
                print_json(&Value::Array(items));
            } else {
                let rows: Vec<Vec<String>> = items
                    .iter()
                    .map(|event| {
                        vec![
                            text(&event["seq"]),
                            short_time(&event["occurred_at"]),
                            text(&event["actor"]),
                            text(&event["kind"]),
                            truncate(&summarize(event), 80),
                        ]
                    })
                    .collect();
                print!(
                    "{}",
                    render(&["SEQ", "WHEN", "ACTOR", "KIND", "WHAT"], &rows)
                );
            }
        }
        Cmd::Verify { incident } => {
            let result = client
                .call(
                    Method::GET,
                    &format!("/incidents/{}/timeline/verify", path_part(&incident)),
                    None,
                )
                .await?;
            if as_json {
                print_json(&result);
            } else if result["valid"] == json!(true) {
                println!(
                    "Timeline verified: {} events, head {}",
                    text(&result["n_events"]),
                    text(&result["head_hash"])
                );
            } else {
                return Err(anyhow!(
                    "timeline does NOT verify at seq {}: {}",
                    text(&result["first_bad_seq"]),
                    text(&result["reason"])
                ));
            }
        }
        Cmd::Serve { .. }
        | Cmd::Admin { .. }
        | Cmd::Config { .. }
        | Cmd::Openapi
        | Cmd::Import { .. } => {
            return Err(anyhow!("this command does not talk to a server"));
        }
    }
    Ok(())
}

/// One line saying what a timeline event was about (the same words as the incident room).
pub(crate) fn summarize(event: &Value) -> String {
    let person = |person: &str| person.to_string();
    let time = |at: jiff::Timestamp| at.strftime("%Y-%m-%d %H:%M UTC").to_string();
    let reader = firebreak_core::narrate::Reader {
        person: &person,
        time: &time,
    };
    let kind = event["kind"].as_str().unwrap_or("");
    // A server newer than this CLI may send a kind it does not know: say its name.
    let Some(data) = firebreak_core::EventKind::parse(kind)
        .and_then(|it| firebreak_core::EventData::from_stored(it, &event["body"]).ok())
    else {
        return kind.replace('_', " ");
    };
    let told = firebreak_core::narrate::narrate(&data, &reader);
    if told.text.is_empty() {
        told.label
    } else {
        format!("{}: {}", told.label, told.text.replace('\n', " / "))
    }
}
