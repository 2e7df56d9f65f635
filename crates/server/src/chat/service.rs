//! What chat commands do, for every platform: who the chat user is in Firebreak, and running
//! a parsed `/inc` / `!inc` command through the same service functions as the API (so the
//! same roles, visibility and rules apply), answering in words for the person who typed it.

use firebreak_core::chat::{ChatCommand, HELP};
use firebreak_core::command::{Entry, RawDeclare};
use firebreak_core::{Command, Incident, Role, Status};
use firebreak_store::User;

use crate::AppState;
use crate::auth::{Caller, Via};
use crate::error::ApiError;
use crate::incidents::service::run_command;

/// The room's chat section: where the channels are and what chat still owes.
pub struct ChatPanel {
    /// A chat platform is configured (so a channel can be opened).
    pub enabled: bool,
    /// `matrix #inc-7-db`, with whether it exists there yet.
    pub channels: Vec<(String, String, bool)>,
    /// "Matrix: 3 posts pending, next try 14:05, last error …"
    pub backlog: Vec<String>,
    pub any_dead: bool,
}

pub async fn panel(
    state: &AppState,
    incident: &Incident,
    when: &(dyn Fn(jiff::Timestamp) -> String + Sync),
) -> Result<ChatPanel, ApiError> {
    let id = incident.id.0.to_string();
    let channels = state
        .store
        .chat_channels(&id)
        .await?
        .into_iter()
        .filter(|it| !it.name.is_empty())
        .map(|it| (it.platform, it.name, it.remote_id.is_some()))
        .collect();
    let mut any_dead = false;
    let backlog = state
        .store
        .chat_backlog(&id)
        .await?
        .into_iter()
        .map(|it| {
            any_dead |= it.dead > 0;
            let mut line = format!("{}: {} pending", it.platform, it.pending);
            if it.dead > 0 {
                line.push_str(&format!(", {} failed for good", it.dead));
            }
            if let Some(at) = it.next_try {
                line.push_str(&format!(", next try {}", when(at)));
            }
            if let Some(error) = it.last_error {
                line.push_str(&format!(", last error: {error}"));
            }
            line
        })
        .collect();
    Ok(ChatPanel {
        enabled: state.store.catalog().chat.is_some(),
        channels,
        backlog,
        any_dead,
    })
}

/// Each chat platform and whether it is connected, for the settings page.
pub async fn connections(state: &AppState) -> Vec<(&'static str, String)> {
    let matrix = match &state.chat.matrix {
        None => "not configured ([chat.matrix] homeserver_url)".to_string(),
        Some(matrix) => {
            let wait = std::time::Duration::from_secs(3);
            match tokio::time::timeout(wait, matrix.me()).await {
                Ok(Ok(me)) => format!("connected as {me}"),
                Ok(Err(err)) => format!("configured, but the homeserver says: {err}"),
                Err(_) => "configured, but the homeserver did not answer within 3 s".to_string(),
            }
        }
    };
    let slack = match &state.chat.slack {
        None => "not configured ([chat.slack] bot_token)".to_string(),
        Some(slack) => {
            let wait = std::time::Duration::from_secs(3);
            match tokio::time::timeout(wait, slack.me()).await {
                Ok(Ok(me)) => format!("connected as bot user {}", me.user_id),
                Ok(Err(err)) => format!("configured, but Slack says: {err}"),
                Err(_) => "configured, but Slack did not answer within 3 s".to_string(),
            }
        }
    };
    vec![("Slack", slack), ("Matrix", matrix)]
}

/// Where a command was typed: the incident whose channel it is, if any.
pub struct Typed<'a> {
    pub platform: &'a str,
    /// The chat user's id on the platform.
    pub user: &'a str,
    /// The Firebreak person, when the chat user is linked to one.
    pub person: Option<User>,
    pub incident: Option<Incident>,
}

/// How a chat user learns to link their account.
pub fn not_linked(platform: &str, user: &str) -> String {
    format!(
        "I don't know who {user} is in Firebreak. Ask an admin to add you as a person whose \
         email matches your {platform} account (or to map {user} to your email under \
         [chat.{platform}] users), then try again."
    )
}

fn said(err: ApiError) -> String {
    let mut text = err.message;
    if !err.fields.is_empty() {
        let fields: Vec<String> = err
            .fields
            .iter()
            .map(|(field, why)| format!("{field}: {why}"))
            .collect();
        text.push_str(&format!(" ({})", fields.join("; ")));
    }
    text
}

/// The person a chat user is, by the email a platform tells (Slack) or by a mapping and the
/// email's localpart (Matrix). Disabled people are nobody.
pub async fn person_by_email(state: &AppState, email: &str) -> Option<User> {
    state
        .store
        .user_by_email(email)
        .await
        .ok()
        .flatten()
        .filter(|it| it.disabled_at.is_none())
}

/// Runs `command` as the typing person; `Ok` is the answer to show, `Err` the refusal.
pub async fn run(
    state: &AppState,
    typed: Typed<'_>,
    command: ChatCommand,
) -> Result<String, String> {
    if let ChatCommand::Help = command {
        return Ok(HELP.to_string());
    }
    let Some(person) = typed.person else {
        return Err(not_linked(typed.platform, typed.user));
    };
    let caller = Caller {
        role: person.role,
        user: Some(person),
        via: Via::Chat {
            platform: typed.platform.to_string(),
            user: typed.user.to_string(),
        },
    };
    let incident = typed.incident;
    let here = || {
        incident
            .as_ref()
            .map(|it| it.id.0.to_string())
            .ok_or_else(|| "Type this in an incident's channel.".to_string())
    };
    let command = match command {
        ChatCommand::Help => return Ok(HELP.to_string()),
        ChatCommand::Declare { severity, title } => {
            if title.trim().is_empty() {
                return Err("`declare` needs a title, e.g. `declare major Checkout fails`".into());
            }
            caller.require(Role::Responder).map_err(said)?;
            let new = firebreak_core::command::parse_declare(
                RawDeclare {
                    title: Some(title),
                    severity,
                    ..RawDeclare::default()
                },
                &state.store.catalog(),
            )
            .map_err(|errors| said(ApiError::validation(errors)))?;
            let declared = state
                .store
                .declare(new, &caller.actor(), caller.access(), None)
                .await
                .map_err(|err| said(err.into()))?;
            let it = declared.incident;
            return Ok(format!(
                "Declared {}: {} ({}). {}/incidents/{}",
                it.reference,
                it.title,
                it.severity,
                state.settings.base_url(),
                it.reference
            ));
        }
        ChatCommand::Update { message } => Command::PostUpdate {
            message,
            status: None,
            next_update_in_minutes: None,
            public: false,
        },
        ChatCommand::Note { text } => Command::Append {
            entry: Entry::Note { text },
            occurred_at: None,
        },
        ChatCommand::Role { role, who } => {
            let user = match who {
                None => caller.actor(),
                Some(who) => resolve_person(state, typed.platform, &who).await?,
            };
            Command::AssignRole {
                role,
                user,
                handover: None,
            }
        }
        ChatCommand::Severity(severity) => Command::Change {
            details: Vec::new(),
            severity: Some(severity),
            status: None,
            merged_into: None,
        },
        ChatCommand::Status(status) => Command::Change {
            details: Vec::new(),
            severity: None,
            status: Some(status),
            merged_into: None,
        },
        ChatCommand::Resolve {
            message: Some(message),
        } => Command::PostUpdate {
            message,
            status: Some(Status::Resolved),
            next_update_in_minutes: None,
            public: false,
        },
        ChatCommand::Resolve { message: None } => Command::Change {
            details: Vec::new(),
            severity: None,
            status: Some(Status::Resolved),
            merged_into: None,
        },
        ChatCommand::Channel => Command::OpenChannel,
        ChatCommand::Call { url } => Command::SetCallLink { url },
        ChatCommand::Ack { alert } => {
            let alert = match alert {
                Some(alert) => Some(alert),
                // The latest page this chat user got.
                None => state
                    .store
                    .latest_chat_page(typed.platform, typed.user)
                    .await
                    .map_err(|err| said(err.into()))?,
            };
            let Some(alert) = alert else {
                return Err("You have no page to acknowledge here; give the alert's id.".into());
            };
            let by = caller.actor();
            let done = crate::paging::service::respond(
                state,
                &alert,
                firebreak_core::paging::AlertAction::Acknowledge,
                (&by, caller.role),
            )
            .await
            .map_err(said)?;
            return Ok(format!("Acknowledged: {}", done.summary));
        }
    };
    let outcome = run_command(state, &caller, &here()?, command)
        .await
        .map_err(said)?;
    Ok(match outcome.events.len() {
        0 => format!("{}: nothing changed.", outcome.incident.reference),
        n => format!(
            "{}: done ({n} event{} on the timeline).",
            outcome.incident.reference,
            if n == 1 { "" } else { "s" }
        ),
    })
}

/// A person named in a command: an email, or a chat user linked to one.
async fn resolve_person(state: &AppState, platform: &str, who: &str) -> Result<String, String> {
    let who = who.trim();
    if who.contains('@') && !who.starts_with('@') && !who.starts_with("<@") {
        return Ok(who.to_string());
    }
    match platform {
        "matrix" => match super::matrix_sync::person_of(state, who).await {
            Some(user) => Ok(user.email),
            None => Err(not_linked(platform, who)),
        },
        // `<@U123>` or `<@U123|ana>`, as Slack escapes a mention.
        "slack" => {
            let id = who
                .trim_start_matches("<@")
                .trim_end_matches('>')
                .split('|')
                .next()
                .unwrap_or_default();
            let email = match &state.chat.slack {
                Some(slack) => slack.email_of(id).await.ok().flatten(),
                None => None,
            };
            match email {
                Some(email) if person_by_email(state, &email).await.is_some() => Ok(email),
                _ => Err(not_linked(platform, who)),
            }
        }
        _ => Err(format!("name the person by their email, not {who}")),
    }
}
