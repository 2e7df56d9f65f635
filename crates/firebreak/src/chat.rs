//! Chat from a terminal: open an incident's channel, see where its channels are and what
//! chat still owes it, and try dead chat work again.

use clap::Subcommand;
use reqwest::Method;

use crate::cli::{path_part, short_time, text};
use crate::client::Client;
use crate::commands::print_command_result;
use crate::table::render;

#[derive(Subcommand, Debug)]
pub(crate) enum ChatCmd {
    /// Give the incident a chat channel on every configured platform (once).
    Open { incident: String },
    /// The incident's channels and what chat still owes it.
    Status { incident: String },
    /// Try the incident's dead chat work again.
    Retry { incident: String },
    /// Where the incident's call is (posted to its channel, shown in the room).
    Call {
        incident: String,
        /// An http(s) link; omit with --end.
        url: Option<String>,
        /// End the call (clear the link).
        #[arg(long)]
        end: bool,
    },
}

pub(crate) async fn chat_command(
    client: &Client,
    as_json: bool,
    command: ChatCmd,
) -> anyhow::Result<()> {
    let base = |incident: &str| format!("/incidents/{}", path_part(incident));
    match command {
        ChatCmd::Open { incident } => {
            let path = format!("{}/channel", base(&incident));
            let result = client.call(Method::POST, &path, None).await?;
            print_command_result(as_json, &result);
        }
        ChatCmd::Status { incident } => {
            let status = client
                .call(Method::GET, &format!("{}/chat", base(&incident)), None)
                .await?;
            if as_json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&status).unwrap_or_default()
                );
                return Ok(());
            }
            let channels: Vec<Vec<String>> = status["channels"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|it| {
                    vec![
                        text(&it["platform"]),
                        format!("#{}", text(&it["name"])),
                        it["remote_id"]
                            .as_str()
                            .unwrap_or("(not yet created)")
                            .to_string(),
                        if it["card_posted"] == true {
                            "card posted"
                        } else {
                            "no card yet"
                        }
                        .to_string(),
                    ]
                })
                .collect();
            if channels.is_empty() {
                println!("No chat channel (open one with `firebreak chat open {incident}`).");
            } else {
                print!(
                    "{}",
                    render(&["PLATFORM", "CHANNEL", "ID", "CARD"], &channels)
                );
            }
            let backlog = status["backlog"].as_array().cloned().unwrap_or_default();
            if backlog.is_empty() {
                println!("Chat owes this incident nothing.");
            }
            for it in backlog {
                println!(
                    "{}: {} pending, {} dead{}{}",
                    text(&it["platform"]),
                    text(&it["pending"]),
                    text(&it["dead"]),
                    match it["next_try"].as_str() {
                        Some(_) => format!(", next try {}", short_time(&it["next_try"])),
                        None => String::new(),
                    },
                    match it["last_error"].as_str() {
                        Some(error) => format!(", last error: {error}"),
                        None => String::new(),
                    }
                );
            }
        }
        ChatCmd::Call { incident, url, end } => {
            let url = match (url, end) {
                (Some(url), false) => url,
                (None, true) => String::new(),
                _ => anyhow::bail!("give the call's link, or --end"),
            };
            let path = format!("{}/call", base(&incident));
            let result = client
                .call(Method::POST, &path, Some(serde_json::json!({ "url": url })))
                .await?;
            print_command_result(as_json, &result);
        }
        ChatCmd::Retry { incident } => {
            let retried = client
                .call(
                    Method::POST,
                    &format!("{}/chat/retry", base(&incident)),
                    None,
                )
                .await?;
            if as_json {
                println!("{retried}");
            } else {
                println!(
                    "{} piece(s) of chat work queued again.",
                    text(&retried["retried"])
                );
            }
        }
    }
    Ok(())
}
