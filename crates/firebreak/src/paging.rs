//! Paging from a terminal: alerts (list, show with the log, acknowledge, resolve) and the
//! catalog (teams, escalation policies, services, integration keys).

use std::path::PathBuf;

use anyhow::{Context, anyhow};
use clap::Subcommand;
use reqwest::Method;
use serde_json::{Value, json};

use crate::cli::{path_part, short_time, text};
use crate::client::Client;
use crate::table::print_list;

#[derive(Subcommand, Debug)]
pub(crate) enum AlertsCmd {
    /// Open alerts, newest first (--all: resolved ones too).
    List {
        #[arg(long)]
        all: bool,
    },
    /// One alert and its log: who was paged and why, who was not and why not.
    Show { id: String },
    /// Resolve an alert.
    Resolve { id: String },
}

#[derive(Subcommand, Debug)]
pub(crate) enum CatalogCmd {
    /// The services.
    Services,
    /// Add a service (admins).
    AddService {
        name: String,
        /// The escalation policy (id or name).
        #[arg(long)]
        policy: Option<String>,
        /// The owner team (id or name).
        #[arg(long)]
        team: Option<String>,
        #[arg(long, default_value = "")]
        runbook: String,
        /// Services it depends on, repeatable.
        #[arg(long = "depends-on")]
        depends_on: Vec<String>,
        /// Shadow mode: escalate alerts on paper only (the alert's log says whom Firebreak would
        /// have paged), to run beside the system you are moving from.
        #[arg(long)]
        shadow: bool,
    },
    /// Change a service (admins): only the options given change; its keys stay.
    UpdateService {
        service: String,
        #[arg(long)]
        name: Option<String>,
        /// The escalation policy (id or name); "" for none.
        #[arg(long)]
        policy: Option<String>,
        /// The owner team (id or name); "" for none.
        #[arg(long)]
        team: Option<String>,
        #[arg(long)]
        runbook: Option<String>,
        /// Services it depends on, repeatable (replaces the list).
        #[arg(long = "depends-on")]
        depends_on: Option<Vec<String>>,
        /// Group alert storms within this many minutes (0: off).
        #[arg(long = "group-window")]
        group_window: Option<i64>,
        /// Open an incident for every alert of at least this severity ("" for never).
        #[arg(long = "auto-declare")]
        auto_declare: Option<String>,
        /// Shadow mode on (true: escalate on paper only) or off (false: page for real).
        #[arg(long)]
        shadow: Option<bool>,
    },
    /// Make an integration key for a service (admins); printed once.
    Key {
        service: String,
        #[arg(long, default_value = "integration")]
        name: String,
        /// Keep this existing key (a PagerDuty integration key or an Opsgenie API key your
        /// monitors already send) instead of making a new one.
        #[arg(long)]
        keep: Option<String>,
    },
    /// Add a heartbeat monitor to a service (admins): a ping is expected every --every minutes.
    Heartbeat {
        service: String,
        name: String,
        #[arg(long)]
        every: i64,
    },
    /// Silence alerts: of one service (with no --matching: a maintenance window) or of every
    /// service whose summary or dedup key contains --matching. They are kept, not paged.
    Silence {
        #[arg(long)]
        service: Option<String>,
        #[arg(long, default_value = "")]
        matching: String,
        /// How long, in minutes.
        #[arg(long)]
        minutes: i64,
        #[arg(long, default_value = "")]
        comment: String,
    },
    /// Silences and maintenance windows now or to come.
    Silences,
    /// End a silence now.
    EndSilence { id: String },
    /// The escalation policies.
    Policies,
    /// Create an escalation policy from a JSON file (the API's body), or replace the one of
    /// that name (admins).
    ApplyPolicy { file: PathBuf },
    /// Your contact methods (how you are paged).
    Contacts,
    /// Add a contact method: `email ADDRESS` or `webhook URL` (a webhook's signing secret is
    /// printed once).
    AddContact {
        /// `email`, `webhook`, `slack` (a member id, U…), `matrix` (@you:server), `sms` or
        /// `voice` (a number with its country code, then `send-code` and `verify`), or
        /// `push` (no address: an ntfy topic is made and printed once).
        kind: String,
        #[arg(default_value = "")]
        address: String,
        /// A webhook's signing secret (16+ characters); made for you when absent.
        #[arg(long)]
        secret: Option<String>,
    },
    /// Remove one of your contact methods and the rules that use it.
    RemoveContact { id: String },
    /// Send a 6-digit code to one of your phone numbers (SMS, or a call that reads it) or push
    /// topics.
    SendCode { id: String },
    /// Verify a phone number or push topic with the code sent to it.
    Verify { id: String, code: String },
    /// Your notification rules. With none, a page is an email to your address at once.
    Rules,
    /// Add a rule: when you are paged, use this contact method after --after minutes.
    AddRule {
        /// A contact method id (see `firebreak paging contacts`).
        contact: String,
        #[arg(long, default_value_t = 0)]
        after: i64,
    },
    /// Remove one of your notification rules.
    RemoveRule { id: String },
    /// The teams.
    Teams,
    /// Add a team (admins).
    AddTeam {
        name: String,
        /// Members' emails, repeatable.
        #[arg(long = "member")]
        members: Vec<String>,
    },
}

fn alert_row(it: &Value) -> Vec<String> {
    vec![
        text(&it["id"]),
        text(&it["status"]),
        text(&it["severity"]),
        text(&it["count"]),
        short_time(&it["created_at"]),
        text(&it["summary"]),
    ]
}

const ALERT_HEADERS: [&str; 6] = ["ID", "STATUS", "SEVERITY", "COUNT", "CREATED", "SUMMARY"];

/// `firebreak ack ID`.
pub(crate) async fn ack(client: &Client, as_json: bool, id: &str) -> anyhow::Result<()> {
    let path = format!("/alerts/{}/ack", path_part(id));
    let it = client.call(Method::POST, &path, None).await?;
    if as_json {
        println!("{}", serde_json::to_string_pretty(&it).unwrap_or_default());
    } else {
        println!(
            "Acknowledged {}: {} (escalation stopped)",
            text(&it["id"]),
            text(&it["summary"])
        );
    }
    Ok(())
}

pub(crate) async fn alerts(
    client: &Client,
    as_json: bool,
    command: AlertsCmd,
) -> anyhow::Result<()> {
    match command {
        AlertsCmd::List { all } => {
            let path = if all { "/alerts?status=all" } else { "/alerts" };
            let list = client.call(Method::GET, path, None).await?;
            print_list(as_json, &list, &ALERT_HEADERS, alert_row);
        }
        AlertsCmd::Show { id } => {
            let it = client
                .call(Method::GET, &format!("/alerts/{}", path_part(&id)), None)
                .await?;
            if as_json {
                println!("{}", serde_json::to_string_pretty(&it).unwrap_or_default());
                return Ok(());
            }
            println!(
                "{} [{}] {}",
                text(&it["id"]),
                text(&it["status"]),
                text(&it["summary"])
            );
            println!(
                "severity {} · seen {} time(s) · step {}",
                text(&it["severity"]),
                text(&it["count"]),
                text(&it["step"])
            );
            for entry in it["log"].as_array().into_iter().flatten() {
                println!(
                    "  {}  {:<13} {}",
                    short_time(&entry["at"]),
                    text(&entry["kind"]),
                    entry["detail"]
                );
            }
        }
        AlertsCmd::Resolve { id } => {
            let path = format!("/alerts/{}/resolve", path_part(&id));
            let it = client.call(Method::POST, &path, None).await?;
            if as_json {
                println!("{}", serde_json::to_string_pretty(&it).unwrap_or_default());
            } else {
                println!("Resolved {}: {}", text(&it["id"]), text(&it["summary"]));
            }
        }
    }
    Ok(())
}

pub(crate) async fn catalog(
    client: &Client,
    as_json: bool,
    command: CatalogCmd,
) -> anyhow::Result<()> {
    let show = |value: &Value| {
        println!(
            "{}",
            serde_json::to_string_pretty(value).unwrap_or_default()
        )
    };
    match command {
        CatalogCmd::Services => {
            let list = client.call(Method::GET, "/services", None).await?;
            print_list(
                as_json,
                &list,
                &["ID", "NAME", "POLICY", "MODE", "RUNBOOK"],
                |it| {
                    vec![
                        text(&it["id"]),
                        text(&it["name"]),
                        it["escalation_policy_id"]
                            .as_str()
                            .unwrap_or("-")
                            .to_string(),
                        if it["shadow"] == true {
                            "shadow"
                        } else {
                            "live"
                        }
                        .to_string(),
                        text(&it["runbook_url"]),
                    ]
                },
            );
        }
        CatalogCmd::AddService {
            name,
            policy,
            team,
            runbook,
            depends_on,
            shadow,
        } => {
            let body = json!({"name": name, "escalation_policy": policy, "team": team,
                              "runbook_url": runbook, "depends_on": depends_on, "shadow": shadow});
            let created = client.call(Method::POST, "/services", Some(body)).await?;
            if as_json {
                show(&created);
            } else {
                println!(
                    "Created service {} ({})",
                    text(&created["name"]),
                    text(&created["id"])
                );
            }
        }
        CatalogCmd::UpdateService {
            service,
            name,
            policy,
            team,
            runbook,
            depends_on,
            group_window,
            auto_declare,
            shadow,
        } => {
            let path = format!("/services/{}", path_part(&service));
            let now = client.call(Method::GET, &path, None).await?;
            let body = json!({
                "name": name.unwrap_or_else(|| text(&now["name"])),
                "escalation_policy": policy.unwrap_or_else(|| now["escalation_policy_id"].as_str().unwrap_or("").to_string()),
                "team": team.unwrap_or_else(|| now["team_id"].as_str().unwrap_or("").to_string()),
                "runbook_url": runbook.unwrap_or_else(|| text(&now["runbook_url"])),
                "depends_on": depends_on.map_or_else(|| now["depends_on"].clone(), |it| json!(it)),
                "group_window_minutes": group_window.map_or_else(|| now["group_window_minutes"].clone(), |it| json!(it)),
                "auto_declare_severity": auto_declare.unwrap_or_else(|| text(&now["auto_declare_severity"])),
                "shadow": shadow.map_or_else(|| now["shadow"].clone(), |it| json!(it)),
            });
            let saved = client.call(Method::PUT, &path, Some(body)).await?;
            if as_json {
                show(&saved);
            } else {
                println!(
                    "Updated service {} ({})",
                    text(&saved["name"]),
                    text(&saved["id"])
                );
            }
        }
        CatalogCmd::Key {
            service,
            name,
            keep,
        } => {
            let path = format!("/services/{}/integration-keys", path_part(&service));
            let created = client
                .call(
                    Method::POST,
                    &path,
                    Some(json!({ "name": name, "key": keep })),
                )
                .await?;
            if as_json {
                show(&created);
            } else {
                println!("{}", text(&created["key"]));
                for (format, url) in created["endpoints"].as_object().into_iter().flatten() {
                    eprintln!("  {format}: {}", text(url));
                }
            }
        }
        CatalogCmd::Heartbeat {
            service,
            name,
            every,
        } => {
            let path = format!("/services/{}/heartbeats", path_part(&service));
            let created = client
                .call(
                    Method::POST,
                    &path,
                    Some(json!({"name": name, "interval_minutes": every})),
                )
                .await?;
            if as_json {
                show(&created);
            } else {
                println!(
                    "Heartbeat {}: ping {} at least every {every} min (first due {})",
                    text(&created["name"]),
                    text(&created["ping_url"]),
                    short_time(&created["next_ping_due"])
                );
            }
        }
        CatalogCmd::Silence {
            service,
            matching,
            minutes,
            comment,
        } => {
            let created = client
                .call(
                    Method::POST,
                    "/silences",
                    Some(json!({"service": service, "matching": matching,
                                "duration_minutes": minutes, "comment": comment})),
                )
                .await?;
            if as_json {
                show(&created);
            } else {
                println!(
                    "Silenced until {} ({})",
                    short_time(&created["ends_at"]),
                    text(&created["id"])
                );
            }
        }
        CatalogCmd::Silences => {
            let list = client.call(Method::GET, "/silences", None).await?;
            print_list(
                as_json,
                &list,
                &["ID", "SERVICE", "MATCHING", "UNTIL", "COMMENT"],
                |it| {
                    vec![
                        text(&it["id"]),
                        it["service_id"].as_str().unwrap_or("every").to_string(),
                        text(&it["matching"]),
                        short_time(&it["ends_at"]),
                        text(&it["comment"]),
                    ]
                },
            );
        }
        CatalogCmd::EndSilence { id } => {
            client
                .call(
                    Method::DELETE,
                    &format!("/silences/{}", path_part(&id)),
                    None,
                )
                .await?;
            println!("Ended {id}");
        }
        CatalogCmd::Policies => {
            let list = client
                .call(Method::GET, "/escalation-policies", None)
                .await?;
            print_list(as_json, &list, &["ID", "NAME", "STEPS", "REPEAT"], |it| {
                vec![
                    text(&it["id"]),
                    text(&it["name"]),
                    it["steps"].as_array().map_or(0, Vec::len).to_string(),
                    text(&it["repeat"]),
                ]
            });
        }
        CatalogCmd::ApplyPolicy { file } => {
            let body: Value = serde_json::from_str(
                &std::fs::read_to_string(&file)
                    .with_context(|| format!("cannot read {}", file.display()))?,
            )
            .with_context(|| format!("{} is not JSON", file.display()))?;
            let name = body["name"]
                .as_str()
                .ok_or_else(|| anyhow!("{} has no \"name\"", file.display()))?
                .to_string();
            let exists = client
                .call(Method::GET, "/escalation-policies", None)
                .await?
                .as_array()
                .is_some_and(|all| all.iter().any(|it| it["name"] == name.as_str()));
            let result = if exists {
                let path = format!("/escalation-policies/{}", path_part(&name));
                client.call(Method::PUT, &path, Some(body)).await?
            } else {
                client
                    .call(Method::POST, "/escalation-policies", Some(body))
                    .await?
            };
            if as_json {
                show(&result);
            } else {
                println!(
                    "{} policy {name} ({} steps)",
                    if exists { "Replaced" } else { "Created" },
                    result["steps"].as_array().map_or(0, Vec::len)
                );
            }
        }
        CatalogCmd::Contacts => {
            let list = client
                .call(Method::GET, "/me/contact-methods", None)
                .await?;
            print_list(as_json, &list, &["ID", "KIND", "ADDRESS", "STATE"], |it| {
                let state = if let Some(failure) = it["failure"].as_str() {
                    format!("failed: {failure}")
                } else if it["stopped"] == true {
                    "stopped (text START to resume)".to_string()
                } else if it["verified"] == false {
                    "not verified".to_string()
                } else {
                    "ok".to_string()
                };
                vec![
                    text(&it["id"]),
                    text(&it["kind"]),
                    text(&it["address"]),
                    state,
                ]
            });
        }
        CatalogCmd::AddContact {
            kind,
            address,
            secret,
        } => {
            let created = client
                .call(
                    Method::POST,
                    "/me/contact-methods",
                    Some(json!({"kind": kind, "address": address, "secret": secret})),
                )
                .await?;
            if as_json {
                show(&created);
            } else {
                println!(
                    "Added {} {} ({})",
                    text(&created["kind"]),
                    text(&created["address"]),
                    text(&created["id"])
                );
                if let Some(secret) = created["secret"].as_str() {
                    println!("signing secret (shown once): {secret}");
                }
                if let Some(subscribe) = created["subscribe"].as_str() {
                    println!("subscribe to this topic in the ntfy app (shown once): {subscribe}");
                }
                if created["verified"] == false {
                    println!(
                        "not verified yet: firebreak paging send-code {0}, then firebreak paging verify {0} CODE",
                        text(&created["id"])
                    );
                }
            }
        }
        CatalogCmd::SendCode { id } => {
            let path = format!("/me/contact-methods/{}/send-code", path_part(&id));
            let sent = client.call(Method::POST, &path, Some(json!({}))).await?;
            println!(
                "A code was sent to {}; it works for 15 minutes.",
                text(&sent["address"])
            );
        }
        CatalogCmd::Verify { id, code } => {
            let path = format!("/me/contact-methods/{}/verify", path_part(&id));
            let done = client
                .call(Method::POST, &path, Some(json!({"code": code})))
                .await?;
            println!(
                "Verified {} {}",
                text(&done["kind"]),
                text(&done["address"])
            );
        }
        CatalogCmd::RemoveContact { id } => {
            let path = format!("/me/contact-methods/{}", path_part(&id));
            client.call(Method::DELETE, &path, None).await?;
            println!("Removed {id}");
        }
        CatalogCmd::Rules => {
            let list = client
                .call(Method::GET, "/me/notification-rules", None)
                .await?;
            print_list(as_json, &list, &["ID", "AFTER", "BY", "ADDRESS"], |it| {
                vec![
                    text(&it["id"]),
                    format!("{} min", text(&it["delay_minutes"])),
                    text(&it["contact_method"]["kind"]),
                    text(&it["contact_method"]["address"]),
                ]
            });
        }
        CatalogCmd::AddRule { contact, after } => {
            let created = client
                .call(
                    Method::POST,
                    "/me/notification-rules",
                    Some(json!({"contact_method": contact, "delay_minutes": after})),
                )
                .await?;
            if as_json {
                show(&created);
            } else {
                println!(
                    "When paged: after {after} min by {} {} ({})",
                    text(&created["contact_method"]["kind"]),
                    text(&created["contact_method"]["address"]),
                    text(&created["id"])
                );
            }
        }
        CatalogCmd::RemoveRule { id } => {
            let path = format!("/me/notification-rules/{}", path_part(&id));
            client.call(Method::DELETE, &path, None).await?;
            println!("Removed {id}");
        }
        CatalogCmd::Teams => {
            let list = client.call(Method::GET, "/teams", None).await?;
            print_list(as_json, &list, &["ID", "NAME", "MEMBERS"], |it| {
                vec![
                    text(&it["id"]),
                    text(&it["name"]),
                    it["members"]
                        .as_array()
                        .map(|all| all.iter().map(text).collect::<Vec<_>>().join(", "))
                        .unwrap_or_default(),
                ]
            });
        }
        CatalogCmd::AddTeam { name, members } => {
            let created = client
                .call(
                    Method::POST,
                    "/teams",
                    Some(json!({"name": name, "members": members})),
                )
                .await?;
            if as_json {
                show(&created);
            } else {
                println!("Created team {}", text(&created["name"]));
            }
        }
    }
    Ok(())
}
