//! The public status page from a terminal: components, publishing an incident and its
//! public updates, maintenance windows.

use anyhow::anyhow;
use clap::Subcommand;
use reqwest::Method;
use serde_json::{Map, Value, json};

use crate::cli::{encode, short_time, text};
use crate::client::Client;
use crate::table::print_list;

#[derive(Subcommand, Debug)]
pub(crate) enum StatusPageCmd {
    /// The components and groups, with their status.
    Components,
    /// Add a component (or, with --group-of-components, a group).
    AddComponent {
        name: String,
        #[arg(long, default_value = "")]
        description: String,
        /// The id of the group it belongs to.
        #[arg(long)]
        group: Option<String>,
        /// Make a group (a heading for other components).
        #[arg(long)]
        group_of_components: bool,
    },
    /// Set a component's status: operational, degraded_performance, partial_outage,
    /// major_outage, under_maintenance.
    SetComponent { id: String, status: String },
    /// The public incidents and maintenance windows, newest first.
    Incidents,
    /// Publish an incident on the status page.
    Publish {
        /// The internal incident it is the public face of (INC-3).
        incident: Option<String>,
        /// The title customers read.
        #[arg(long)]
        name: String,
        #[arg(long)]
        body: String,
        /// none, minor, major, critical.
        #[arg(long, default_value = "minor")]
        impact: String,
        /// COMPONENT_ID=STATUS, repeatable.
        #[arg(long = "component")]
        components: Vec<String>,
    },
    /// Post a public update: investigating, identified, monitoring, resolved (maintenance:
    /// in_progress, verifying, completed).
    Update {
        id: String,
        #[arg(long)]
        status: String,
        #[arg(long)]
        body: String,
        /// COMPONENT_ID=STATUS, repeatable.
        #[arg(long = "component")]
        components: Vec<String>,
    },
    /// Schedule a maintenance window (RFC 3339 times).
    Maintenance {
        #[arg(long)]
        name: String,
        #[arg(long)]
        body: String,
        #[arg(long)]
        from: String,
        #[arg(long)]
        until: String,
        /// A component id that goes under maintenance, repeatable.
        #[arg(long = "component")]
        components: Vec<String>,
    },
}

fn component_statuses(pairs: &[String]) -> anyhow::Result<Value> {
    let mut map = Map::new();
    for pair in pairs {
        let (id, status) = pair
            .split_once('=')
            .ok_or_else(|| anyhow!("--component takes COMPONENT_ID=STATUS, got {pair:?}"))?;
        map.insert(id.trim().to_string(), json!(status.trim()));
    }
    Ok(Value::Object(map))
}

fn print_public(as_json: bool, value: &Value) {
    if as_json {
        println!(
            "{}",
            serde_json::to_string_pretty(value).unwrap_or_default()
        );
    } else {
        println!(
            "{}  {}  [{}]  {}",
            text(&value["id"]),
            text(&value["name"]),
            text(&value["status"]),
            text(&value["url"])
        );
    }
}

pub(crate) async fn command(
    client: &Client,
    as_json: bool,
    command: StatusPageCmd,
) -> anyhow::Result<()> {
    match command {
        StatusPageCmd::Components => {
            let list = client.call(Method::GET, "/status/components", None).await?;
            print_list(as_json, &list, &["ID", "NAME", "KIND", "STATUS"], |it| {
                let kind = if it["group"] == true { "group" } else { "-" };
                vec![
                    text(&it["id"]),
                    text(&it["name"]),
                    kind.into(),
                    text(&it["status"]),
                ]
            });
        }
        StatusPageCmd::AddComponent {
            name,
            description,
            group,
            group_of_components,
        } => {
            let body = json!({"name": name, "description": description, "group_id": group, "group": group_of_components});
            let created = client
                .call(Method::POST, "/status/components", Some(body))
                .await?;
            if as_json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&created).unwrap_or_default()
                );
            } else {
                println!("{}  {}", text(&created["id"]), text(&created["name"]));
            }
        }
        StatusPageCmd::SetComponent { id, status } => {
            let path = format!("/status/components/{}", encode(&id));
            let updated = client
                .call(Method::PATCH, &path, Some(json!({ "status": status })))
                .await?;
            if as_json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&updated).unwrap_or_default()
                );
            } else {
                println!("{}  {}", text(&updated["name"]), text(&updated["status"]));
            }
        }
        StatusPageCmd::Incidents => {
            let list = client.call(Method::GET, "/status/incidents", None).await?;
            print_list(as_json, &list, &["ID", "STATUS", "UPDATED", "NAME"], |it| {
                vec![
                    text(&it["id"]),
                    text(&it["status"]),
                    short_time(&it["updated_at"]),
                    text(&it["name"]),
                ]
            });
        }
        StatusPageCmd::Publish {
            incident,
            name,
            body,
            impact,
            components,
        } => {
            let request = json!({
                "incident": incident, "name": name, "body": body, "impact": impact,
                "components": component_statuses(&components)?,
            });
            let published = client
                .call(Method::POST, "/status/incidents", Some(request))
                .await?;
            print_public(as_json, &published);
        }
        StatusPageCmd::Update {
            id,
            status,
            body,
            components,
        } => {
            let path = format!("/status/incidents/{}/updates", encode(&id));
            let request = json!({"status": status, "body": body, "components": component_statuses(&components)?});
            let updated = client.call(Method::POST, &path, Some(request)).await?;
            print_public(as_json, &updated);
        }
        StatusPageCmd::Maintenance {
            name,
            body,
            from,
            until,
            components,
        } => {
            let request = json!({"name": name, "body": body, "scheduled_for": from, "scheduled_until": until, "components": components});
            let scheduled = client
                .call(Method::POST, "/status/maintenances", Some(request))
                .await?;
            print_public(as_json, &scheduled);
        }
    }
    Ok(())
}
