//! Chat, platform-neutral: an incident's channel name, what each event owes its channel and
//! the company-wide announcement, the incident card and topic, and the `/inc` / `!inc`
//! commands people type. Adapters (`integrations::chat`) only speak the wire formats.

use jiff::Timestamp;

use crate::event::EventData;
use crate::incident::{Incident, Reference};
use crate::lifecycle::Status;

/// Slack's limit, and a reasonable one for a Matrix room alias.
pub const MAX_CHANNEL_NAME: usize = 80;

/// What chat means to the rules: whether any platform is configured and which notify
/// target is the announcement channel.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChatPolicy {
    /// A rule's `notify` naming this target also posts (or edits) the incident's
    /// announcement in the chat announcement channel.
    pub announce_target: String,
    /// The configured platforms (`slack`, `matrix`): each gets the same work.
    pub platforms: Vec<String>,
    /// Archive the channel when the incident closes.
    pub archive_on_close: bool,
}

/// `inc-<n>-<slug>`: lowercase, `[a-z0-9_-]` only, runs of anything else one `-`, at most
/// 80 characters with the number always kept.
pub fn channel_name(reference: Reference, title: &str) -> String {
    let prefix = format!("inc-{}", reference.0);
    let mut slug = String::new();
    for c in title.chars().flat_map(char::to_lowercase) {
        let c = if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' {
            c
        } else {
            '-'
        };
        if c == '-' && (slug.is_empty() || slug.ends_with('-')) {
            continue;
        }
        slug.push(c);
    }
    let room = MAX_CHANNEL_NAME.saturating_sub(prefix.len() + 1);
    slug.truncate(room);
    let slug = slug.trim_end_matches('-');
    if slug.is_empty() {
        prefix
    } else {
        format!("{prefix}-{slug}")
    }
}

/// The event that gives `incident` its channel, unless it has one or chat is off.
pub fn open_channel(incident: &Incident, catalog: &crate::catalog::Catalog) -> Option<EventData> {
    (catalog.chat.is_some() && incident.coordination.chat_channel.is_none()).then(|| {
        EventData::ChatChannelRequested {
            name: channel_name(incident.reference, &incident.title),
        }
    })
}

/// Where a piece of chat work goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// The incident's own channel (only once one was requested).
    Channel,
    /// The company-wide announcement channel (never for a private incident).
    Announcements,
}

/// One piece of chat work an event owes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Work {
    /// Create the channel, invite the people, post the card.
    Open,
    /// Post these words (frozen when the event happened).
    Post(String),
    /// Bring the card (and the announcement, where there is one) up to date.
    Card,
    /// Post the announcement, or edit it in place when it exists.
    Announce,
    /// Archive the channel (the incident closed).
    Archive,
    /// Words for one person, who is mentioned (pinged) where the platform knows them.
    Remind { to: String, text: String },
}

/// What `event` owes chat, on `incident` as the event left it.
pub fn owed(
    event: &EventData,
    incident: &Incident,
    policy: Option<&ChatPolicy>,
) -> Vec<(Place, Work)> {
    let Some(policy) = policy else {
        return Vec::new();
    };
    let channel = incident.coordination.chat_channel.is_some();
    let mut out = Vec::new();
    let mut say = |text: String| {
        if channel {
            out.push((Place::Channel, Work::Post(text)));
            out.push((Place::Channel, Work::Card));
        }
    };
    match event {
        EventData::ChatChannelRequested { .. } => out.push((Place::Channel, Work::Open)),
        EventData::UpdatePosted {
            message,
            next_update_due,
            ..
        } => say(update_text(message, incident.status, *next_update_due)),
        EventData::StatusChanged { from, to, .. } => {
            say(format!("Status: {from} → {to}"));
            if *to == Status::Closed && policy.archive_on_close && channel {
                out.push((Place::Channel, Work::Archive));
            }
        }
        // The person who owes the update hears it where the incident is worked.
        EventData::UpdateReminder { due, to: Some(to) } if channel => {
            out.push((
                Place::Channel,
                Work::Remind {
                    to: to.clone(),
                    text: format!("the next status update is due by {}", hh_mm(*due)),
                },
            ));
        }
        EventData::UpdateOverdue { due, to: Some(to) } if channel => {
            out.push((
                Place::Channel,
                Work::Remind {
                    to: to.clone(),
                    text: format!("the status update due at {} is overdue", hh_mm(*due)),
                },
            ));
        }
        EventData::SeverityChanged { from, to } => say(format!("Severity: {from} → {to}")),
        EventData::CallLinkSet { url } if url.is_empty() => say("The call has ended".into()),
        EventData::CallLinkSet { url } => say(format!(
            "The call is here: {url} — after it, post a summary (`update …`)"
        )),
        EventData::RoleAssigned { role, user, .. } => say(format!("{user} is now {role}")),
        EventData::RoleUnassigned { role, .. } => say(format!("Nobody is {role} now")),
        EventData::DetailsChanged { .. } | EventData::CadenceSet { .. } => {
            if channel {
                out.push((Place::Channel, Work::Card));
            }
        }
        EventData::RuleFired { notify, .. } => {
            if !incident.private && notify.iter().any(|it| it == &policy.announce_target) {
                out.push((Place::Announcements, Work::Announce));
            }
        }
        EventData::Declared { .. }
        | EventData::MemberAdded { .. }
        | EventData::FreezeStarted { .. }
        | EventData::PlaybookAdded { .. }
        | EventData::TaskAdded { .. }
        | EventData::TaskAssigned { .. }
        | EventData::TaskClosed { .. }
        | EventData::TaskReopened { .. }
        | EventData::UpdateReminder { .. }
        | EventData::UpdateOverdue { .. }
        | EventData::ActionProposed { .. }
        | EventData::ActionApproved { .. }
        | EventData::ActionRejected { .. }
        | EventData::ActionStarted { .. }
        | EventData::ActionFinished { .. }
        | EventData::FreezeEnded { .. }
        | EventData::Note { .. }
        | EventData::MessagePinned { .. }
        | EventData::Correction { .. }
        | EventData::TimestampAsserted { .. }
        | EventData::RolesRequired { .. }
        | EventData::TaskOverdue { .. }
        | EventData::ParticipantJoined { .. }
        | EventData::ParticipantLeft { .. }
        | EventData::Nudged { .. }
        | EventData::Thanked { .. }
        | EventData::StakeholderAdded { .. }
        | EventData::StakeholderRemoved { .. }
        | EventData::DigestSent { .. }
        | EventData::PublicUpdatePublished { .. }
        | EventData::PostmortemPublished { .. } => {}
    }
    out
}

fn hh_mm(at: Timestamp) -> String {
    at.strftime("%H:%M UTC").to_string()
}

/// A status update as chat shows it: the words, the status, and when the next one is due.
pub fn update_text(message: &str, status: Status, next: Option<Timestamp>) -> String {
    let next = match next {
        Some(at) => format!(" · next update by {}", hh_mm(at)),
        None => String::new(),
    };
    format!("Update ({status}{next}): {message}")
}

/// The incident card: the channel's first message, edited in place as the incident changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Card {
    /// `INC-7`: what the buttons act on.
    pub reference: String,
    /// `INC-7: Checkout fails`
    pub headline: String,
    /// Label and value, in order.
    pub fields: Vec<(String, String)>,
    /// The web room.
    pub link: String,
    /// Which buttons make sense now (a resolved incident offers no Resolve).
    pub buttons: Vec<Button>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Button {
    TakeLead,
    PostUpdate,
    Resolve,
}

impl Button {
    pub fn label(self) -> &'static str {
        match self {
            Button::TakeLead => "Take lead",
            Button::PostUpdate => "Post update",
            Button::Resolve => "Resolve",
        }
    }

    /// The command a press runs (as `/inc <verb>` would).
    pub fn verb(self) -> &'static str {
        match self {
            Button::TakeLead => "lead",
            Button::PostUpdate => "update",
            Button::Resolve => "resolve",
        }
    }
}

fn role_holder(incident: &Incident, role: &str) -> String {
    incident
        .roles
        .get(role)
        .cloned()
        .unwrap_or_else(|| "nobody".into())
}

/// The card for `incident`, linking to its room at `url`.
pub fn card(incident: &Incident, url: &str) -> Card {
    let mut fields = vec![
        ("Severity".to_string(), incident.severity.clone()),
        ("Status".to_string(), incident.status.to_string()),
        ("Lead".to_string(), role_holder(incident, "lead")),
        ("Comms".to_string(), role_holder(incident, "comms")),
    ];
    if let Some(due) = incident
        .next_update_due
        .filter(|_| incident.status.is_live())
    {
        fields.push(("Next update".to_string(), hh_mm(due)));
    }
    if let Some(call) = &incident.coordination.call_link {
        fields.push(("Call".to_string(), call.clone()));
    }
    let mut buttons = Vec::new();
    if incident.status.is_live() {
        if !incident.roles.contains_key("lead") {
            buttons.push(Button::TakeLead);
        }
        buttons.push(Button::PostUpdate);
        buttons.push(Button::Resolve);
    }
    Card {
        reference: incident.reference.to_string(),
        headline: format!("{}: {}", incident.reference, incident.title),
        fields,
        link: url.to_string(),
        buttons,
    }
}

/// The channel topic: severity · status · lead · next update.
pub fn topic(incident: &Incident) -> String {
    let mut parts = vec![
        incident.severity.clone(),
        incident.status.to_string(),
        format!("lead {}", role_holder(incident, "lead")),
    ];
    if let Some(due) = incident
        .next_update_due
        .filter(|_| incident.status.is_live())
    {
        parts.push(format!("next update {}", hh_mm(due)));
    }
    parts.join(" · ")
}

/// A command typed in chat (`/inc …` in Slack, `!inc …` in Matrix), before anyone checked
/// who typed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChatCommand {
    Help,
    Declare {
        severity: Option<String>,
        title: String,
    },
    Update {
        message: String,
    },
    Note {
        text: String,
    },
    /// Take a role yourself (`lead`, `comms`) or give it (`role <role> <who>`).
    Role {
        role: String,
        who: Option<String>,
    },
    Severity(String),
    Status(Status),
    Resolve {
        message: Option<String>,
    },
    /// Acknowledge a page by the alert's id (the page names it).
    Ack {
        alert: Option<String>,
    },
    /// Open the incident's channel from the web or the API twin.
    Channel,
    /// Where the call is (`call <url>`; `call end` ends it).
    Call {
        url: String,
    },
}

/// What `/inc help` answers.
pub const HELP: &str = "Commands: declare [critical|major|minor] <title> · update <message> · \
note <text> · lead · comms · role <role> <who> · severity <level> · status <status> · \
resolve [message] · ack <alert id> · call <link> · channel · help";

/// Parses the words after `/inc` or `!inc`. The error is a sentence for the person.
pub fn parse_command(text: &str, severities: &[String]) -> Result<ChatCommand, String> {
    let text = text.trim();
    let (verb, rest) = match text.split_once(char::is_whitespace) {
        Some((verb, rest)) => (verb, rest.trim()),
        None => (text, ""),
    };
    let need = |what: &str| -> Result<String, String> {
        if rest.is_empty() {
            Err(format!("`{verb}` needs {what}. {HELP}"))
        } else {
            Ok(rest.to_string())
        }
    };
    Ok(match verb.to_ascii_lowercase().as_str() {
        "" | "help" => ChatCommand::Help,
        "declare" => {
            let (first, tail) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
            if severities.iter().any(|it| it.eq_ignore_ascii_case(first)) {
                ChatCommand::Declare {
                    severity: Some(first.to_ascii_lowercase()),
                    title: tail.trim().to_string(),
                }
            } else {
                ChatCommand::Declare {
                    severity: None,
                    title: rest.to_string(),
                }
            }
        }
        "update" => ChatCommand::Update {
            message: need("the update's words")?,
        },
        "note" => ChatCommand::Note {
            text: need("the note's words")?,
        },
        "lead" | "comms" => ChatCommand::Role {
            role: verb.to_ascii_lowercase(),
            who: (!rest.is_empty()).then(|| rest.to_string()),
        },
        "role" => {
            let (role, who) = rest
                .split_once(char::is_whitespace)
                .ok_or_else(|| format!("`role` needs a role and a person. {HELP}"))?;
            ChatCommand::Role {
                role: role.to_ascii_lowercase(),
                who: Some(who.trim().to_string()),
            }
        }
        "severity" | "sev" => {
            let level = need("a severity")?.to_ascii_lowercase();
            if !severities.contains(&level) {
                return Err(format!(
                    "{level:?} is not a severity here; use one of {}",
                    severities.join(", ")
                ));
            }
            ChatCommand::Severity(level)
        }
        "status" => {
            let status = need("a status")?.to_ascii_lowercase();
            ChatCommand::Status(
                Status::parse(&status).ok_or_else(|| format!("{status:?} is not a status"))?,
            )
        }
        "resolve" | "close" => ChatCommand::Resolve {
            message: (!rest.is_empty()).then(|| rest.to_string()),
        },
        "ack" => ChatCommand::Ack {
            alert: (!rest.is_empty()).then(|| rest.to_string()),
        },
        "channel" => ChatCommand::Channel,
        "call" => ChatCommand::Call {
            url: match need("the call's link (or `end`)")?.as_str() {
                "end" => String::new(),
                url => url.to_string(),
            },
        },
        other => return Err(format!("I don't know `{other}`. {HELP}")),
    })
}

/// Whether a reaction key means "pin this into the timeline": 📌 / 📍 in Matrix (with or
/// without the variation selector), `pushpin` / `round_pushpin` in Slack.
pub fn is_pin_reaction(key: &str) -> bool {
    let key = key.trim_end_matches('\u{FE0F}');
    let key = key.split("::").next().unwrap_or(key);
    matches!(key, "📌" | "📍" | "pushpin" | "round_pushpin")
}

/// Whether a reaction key means "acknowledge this page": ✅ ✔️ ☑️ in Matrix.
pub fn is_ack_reaction(key: &str) -> bool {
    let key = key.trim_end_matches('\u{FE0F}');
    matches!(
        key,
        "✅" | "✔" | "☑" | "white_check_mark" | "heavy_check_mark"
    )
}

#[cfg(test)]
mod tests;
