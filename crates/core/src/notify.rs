//! Notifications: who hears about an event, by which channel, and in which words. The
//! outbox fan-out asks `recipients` for every committed event and queues one notification
//! per recipient (unique per event and address, so never twice); a worker sends them.

use jiff::Timestamp;

use crate::coordination::{Informed, Stakeholder};
use crate::event::EventData;
use crate::incident::text_enum;
use std::fmt;

text_enum!(Channel {
    Webhook = "webhook",
    Email = "email",
    Slack = "slack",
    Matrix = "matrix",
    Sms = "sms",
    Voice = "voice",
    Push = "push",
});

/// A named place rules can notify: a webhook (signed like every Firebreak webhook), email
/// addresses, or both. A target with neither is allowed and sends nothing.
#[derive(Clone, PartialEq, Eq)]
pub struct Target {
    pub name: String,
    pub webhook_url: Option<String>,
    pub webhook_secret: String,
    pub email: Vec<String>,
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Target")
            .field("name", &self.name)
            .field("webhook_url", &self.webhook_url)
            .field("email", &self.email)
            .finish_non_exhaustive()
    }
}

/// The company-wide announcement target the default rules notify.
pub const ANNOUNCEMENTS: &str = "announcements";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recipient {
    /// A target's name, or `stakeholders`, `digest` or `person` for the built-in audiences.
    pub target: String,
    pub channel: Channel,
    pub address: String,
}

fn email(target: &str, address: &str) -> Recipient {
    Recipient {
        target: target.to_string(),
        channel: Channel::Email,
        address: address.to_string(),
    }
}

/// Who hears about `event` on an incident with `stakeholders`. Only kinds whose
/// `EventKind::notifies` is true name anyone (a test holds the two together).
pub fn recipients(
    event: &EventData,
    stakeholders: &[Stakeholder],
    targets: &[Target],
) -> Vec<Recipient> {
    let mut out = Vec::new();
    match event {
        EventData::RuleFired { notify, .. } => {
            for name in notify {
                let Some(target) = targets.iter().find(|it| &it.name == name) else {
                    continue;
                };
                if let Some(url) = &target.webhook_url {
                    out.push(Recipient {
                        target: name.to_string(),
                        channel: Channel::Webhook,
                        address: url.clone(),
                    });
                }
                out.extend(target.email.iter().map(|it| email(name, it)));
            }
        }
        EventData::UpdatePosted { .. } => out.extend(
            stakeholders
                .iter()
                .filter(|it| it.mode == Informed::Active)
                .map(|it| email("stakeholders", &it.who)),
        ),
        EventData::DigestSent { to, .. } => out.extend(to.iter().map(|it| email("digest", it))),
        // Everyone kept informed, and the company-wide announcement target.
        EventData::PostmortemPublished { .. } => {
            out.extend(stakeholders.iter().map(|it| email("stakeholders", &it.who)));
            if let Some(target) = targets.iter().find(|it| it.name == ANNOUNCEMENTS) {
                if let Some(url) = &target.webhook_url {
                    out.push(Recipient {
                        target: ANNOUNCEMENTS.into(),
                        channel: Channel::Webhook,
                        address: url.clone(),
                    });
                }
                out.extend(target.email.iter().map(|it| email(ANNOUNCEMENTS, it)));
            }
        }
        EventData::UpdateReminder { to, .. }
        | EventData::UpdateOverdue { to, .. }
        | EventData::TaskOverdue { to, .. }
        | EventData::Nudged { to, .. } => {
            out.extend(
                to.as_deref()
                    .filter(|it| crate::person::parse_email(it).is_some())
                    .map(|it| email("person", it)),
            );
        }
        EventData::Declared { .. }
        | EventData::StatusChanged { .. }
        | EventData::SeverityChanged { .. }
        | EventData::DetailsChanged { .. }
        | EventData::RoleAssigned { .. }
        | EventData::RoleUnassigned { .. }
        | EventData::MemberAdded { .. }
        | EventData::FreezeStarted { .. }
        | EventData::PlaybookAdded { .. }
        | EventData::TaskAdded { .. }
        | EventData::TaskAssigned { .. }
        | EventData::TaskClosed { .. }
        | EventData::TaskReopened { .. }
        | EventData::ActionProposed { .. }
        | EventData::ActionApproved { .. }
        | EventData::ActionRejected { .. }
        | EventData::ActionStarted { .. }
        | EventData::ActionFinished { .. }
        | EventData::FreezeEnded { .. }
        | EventData::Note { .. }
        | EventData::MessagePinned { .. }
        | EventData::ChatChannelRequested { .. }
        | EventData::CallLinkSet { .. }
        | EventData::Correction { .. }
        | EventData::TimestampAsserted { .. }
        | EventData::CadenceSet { .. }
        | EventData::RolesRequired { .. }
        | EventData::ParticipantJoined { .. }
        | EventData::ParticipantLeft { .. }
        | EventData::Thanked { .. }
        | EventData::StakeholderAdded { .. }
        | EventData::StakeholderRemoved { .. }
        | EventData::PublicUpdatePublished { .. } => {}
    }
    let mut seen = std::collections::BTreeSet::new();
    out.retain(|it| seen.insert((it.channel, it.address.clone())));
    out
}

/// What a notification is about: the incident as it is when the notification is queued.
#[derive(Clone, Debug)]
pub struct Brief<'a> {
    pub reference: &'a str,
    pub title: &'a str,
    pub severity: &'a str,
    pub status: &'a str,
    pub summary: &'a str,
    /// A link to the incident room.
    pub url: &'a str,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub subject: String,
    pub text: String,
}

fn trigger_words(trigger: &str) -> &str {
    match trigger {
        "declared" => "declared",
        "severity_raised" => "severity raised",
        "severity_changed" => "severity changed",
        "status_changed" => "status changed",
        "reopened" => "reopened",
        "resolved" => "resolved",
        "role_assigned" => "role assigned",
        "update_overdue" => "update overdue",
        "task_overdue" => "task overdue",
        other => other,
    }
}

/// The words of a notification. `updates` are the texts a digest summarises; `when`
/// formats a time for the reader.
pub fn message(
    event: &EventData,
    brief: &Brief<'_>,
    updates: &[String],
    when: &dyn Fn(Timestamp) -> String,
) -> Message {
    let head = format!("[{} · {}] {}", brief.reference, brief.severity, brief.title);
    let footer = format!(
        "\nSeverity: {} · Status: {}\nIncident room: {}\n",
        brief.severity, brief.status, brief.url
    );
    let (subject, lines) = match event {
        EventData::RuleFired { rule, trigger, .. } => {
            let what = trigger_words(trigger);
            let mut lines = vec![format!("{} {}: {}", brief.reference, what, brief.title)];
            if !brief.summary.is_empty() {
                lines.push(brief.summary.to_string());
            }
            lines.push(format!("(rule \"{rule}\")"));
            (format!("{head} — {what}"), lines)
        }
        EventData::UpdatePosted {
            message,
            next_update_due,
            ..
        } => {
            let mut lines = vec![message.clone()];
            match next_update_due {
                None => lines.push("No further updates are scheduled.".into()),
                Some(due) => lines.push(format!("Next update: {}", when(*due))),
            }
            (format!("{head} — update"), lines)
        }
        EventData::DigestSent { .. } => {
            let mut lines = vec![format!(
                "{} new update(s) on {} since the last digest:",
                updates.len(),
                brief.reference
            )];
            for update in updates {
                lines.push(String::new());
                lines.push(update.clone());
            }
            (format!("{head} — digest"), lines)
        }
        EventData::UpdateReminder { due, .. } => (
            format!("{head} — update due {}", when(*due)),
            vec![format!(
                "The next update on {} is due {}. Post it from the incident room.",
                brief.reference,
                when(*due)
            )],
        ),
        EventData::UpdateOverdue { due, .. } => (
            format!("{head} — update overdue"),
            vec![format!(
                "The update on {} was due {} and has not been posted.",
                brief.reference,
                when(*due)
            )],
        ),
        EventData::TaskOverdue { number, due, .. } => (
            format!("{head} — task #{number} overdue"),
            vec![format!(
                "Task #{number} on {} was due {}.",
                brief.reference,
                when(*due)
            )],
        ),
        EventData::Nudged { kind, text, .. } => (format!("{head} — {kind}"), vec![text.clone()]),
        EventData::PostmortemPublished { url } => (
            format!("{head} — post-mortem published"),
            vec![format!(
                "The post-mortem of {} is published: {url}",
                brief.reference,
            )],
        ),
        EventData::Declared { .. }
        | EventData::StatusChanged { .. }
        | EventData::SeverityChanged { .. }
        | EventData::DetailsChanged { .. }
        | EventData::RoleAssigned { .. }
        | EventData::RoleUnassigned { .. }
        | EventData::MemberAdded { .. }
        | EventData::FreezeStarted { .. }
        | EventData::PlaybookAdded { .. }
        | EventData::TaskAdded { .. }
        | EventData::TaskAssigned { .. }
        | EventData::TaskClosed { .. }
        | EventData::TaskReopened { .. }
        | EventData::ActionProposed { .. }
        | EventData::ActionApproved { .. }
        | EventData::ActionRejected { .. }
        | EventData::ActionStarted { .. }
        | EventData::ActionFinished { .. }
        | EventData::FreezeEnded { .. }
        | EventData::Note { .. }
        | EventData::MessagePinned { .. }
        | EventData::ChatChannelRequested { .. }
        | EventData::CallLinkSet { .. }
        | EventData::Correction { .. }
        | EventData::TimestampAsserted { .. }
        | EventData::CadenceSet { .. }
        | EventData::RolesRequired { .. }
        | EventData::ParticipantJoined { .. }
        | EventData::ParticipantLeft { .. }
        | EventData::Thanked { .. }
        | EventData::StakeholderAdded { .. }
        | EventData::StakeholderRemoved { .. }
        | EventData::PublicUpdatePublished { .. } => {
            (format!("{head} — {}", event.kind()), Vec::new())
        }
    };
    Message {
        subject,
        text: format!("{}\n{footer}", lines.join("\n")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn targets() -> Vec<Target> {
        vec![
            Target {
                name: "announcements".into(),
                webhook_url: Some("http://hooks.local/a".into()),
                webhook_secret: "s".into(),
                email: vec!["all@example.com".into()],
            },
            Target {
                name: "quiet".into(),
                webhook_url: None,
                webhook_secret: String::new(),
                email: vec![],
            },
        ]
    }

    #[test]
    fn who_hears_about_what() {
        let stakeholders = vec![
            Stakeholder {
                who: "cto@example.com".into(),
                mode: Informed::Active,
            },
            Stakeholder {
                who: "board@example.com".into(),
                mode: Informed::Passive,
            },
        ];
        let addresses = |event: EventData| -> Vec<String> {
            recipients(&event, &stakeholders, &targets())
                .iter()
                .map(|it| format!("{}:{}:{}", it.target, it.channel, it.address))
                .collect()
        };
        let fired = |notify: &[&str]| EventData::RuleFired {
            rule: "r".into(),
            trigger: "declared".into(),
            effects: vec![],
            notify: notify.iter().map(|it| it.to_string()).collect(),
        };
        let overdue = |to: Option<&str>| EventData::UpdateOverdue {
            due: Timestamp::UNIX_EPOCH,
            to: to.map(String::from),
        };
        let table: Vec<(EventData, Vec<&str>)> = vec![
            (
                fired(&["announcements", "quiet", "unknown"]),
                vec![
                    "announcements:webhook:http://hooks.local/a",
                    "announcements:email:all@example.com",
                ],
            ),
            (fired(&[]), vec![]),
            (
                EventData::UpdatePosted {
                    message: "x".into(),
                    status: None,
                    next_update_due: None,
                    public: false,
                },
                vec!["stakeholders:email:cto@example.com"],
            ),
            (
                EventData::DigestSent {
                    to: vec!["board@example.com".into()],
                    updates: 1,
                    since: None,
                },
                vec!["digest:email:board@example.com"],
            ),
            (
                overdue(Some("ana@example.com")),
                vec!["person:email:ana@example.com"],
            ),
            (overdue(None), vec![]),
            (
                EventData::Nudged {
                    kind: "break".into(),
                    to: Some("token:ci".into()),
                    text: "x".into(),
                },
                vec![],
            ),
            (EventData::Note { text: "x".into() }, vec![]),
        ];
        for (event, expected) in table {
            assert_eq!(addresses(event.clone()), expected, "{event:?}");
        }
    }

    #[test]
    fn only_kinds_marked_as_notifying_name_anyone() {
        use proptest::strategy::{Strategy, ValueTree};
        let stakeholders = vec![Stakeholder {
            who: "cto@example.com".into(),
            mode: Informed::Active,
        }];
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        for kind in crate::EventKind::ALL {
            for _ in 0..32 {
                let event = crate::event::tests::events_of(*kind)
                    .new_tree(&mut runner)
                    .unwrap()
                    .current();
                let found = recipients(&event, &stakeholders, &targets());
                if !kind.notifies() {
                    assert_eq!(found, vec![], "{kind} is not marked as notifying");
                }
            }
        }
        // And each notifying kind can name someone.
        let notifying: Vec<EventData> = vec![
            EventData::UpdatePosted {
                message: "x".into(),
                status: None,
                next_update_due: None,
                public: false,
            },
            EventData::PostmortemPublished { url: "u".into() },
        ];
        for event in notifying {
            assert!(event.kind().notifies());
            assert!(!recipients(&event, &stakeholders, &targets()).is_empty());
        }
    }

    #[test]
    fn messages_name_the_incident_and_link_to_it() {
        let brief = Brief {
            reference: "INC-7",
            title: "Checkout is down",
            severity: "major",
            status: "investigating",
            summary: "Card payments fail",
            url: "http://firebreak.local/incidents/INC-7",
        };
        let when = |at: Timestamp| at.to_string();
        let fired = message(
            &EventData::RuleFired {
                rule: "serious incident".into(),
                trigger: "declared".into(),
                effects: vec![],
                notify: vec![],
            },
            &brief,
            &[],
            &when,
        );
        assert_eq!(fired.subject, "[INC-7 · major] Checkout is down — declared");
        assert!(fired.text.contains("Card payments fail"), "{}", fired.text);
        assert!(
            fired
                .text
                .contains("http://firebreak.local/incidents/INC-7")
        );
        let digest = message(
            &EventData::DigestSent {
                to: vec![],
                updates: 2,
                since: None,
            },
            &brief,
            &["one".into(), "two".into()],
            &when,
        );
        assert!(
            digest.text.starts_with("2 new update(s) on INC-7"),
            "{}",
            digest.text
        );
        let update = message(
            &EventData::UpdatePosted {
                message: "Rolling back".into(),
                status: None,
                next_update_due: Some("2027-01-15T08:00:00Z".parse().unwrap()),
                public: false,
            },
            &brief,
            &[],
            &when,
        );
        assert!(update.text.contains("Next update: 2027-01-15T08:00:00Z"));
    }
}
