//! Notifications: who hears about an event, by which channel, and in which words. The
//! outbox fan-out asks `recipients` for every committed event and queues one notification
//! per recipient (unique per event and address, so never twice); a worker sends them.

use jiff::Timestamp;
use serde_json::Value;

use crate::coordination::{Informed, Stakeholder};
use crate::incident::text_enum;
use std::fmt;

text_enum!(Channel { Webhook = "webhook", Email = "email" });

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

/// Event kinds that can notify someone; the fan-out skips every other kind cheaply.
pub const NOTIFYING_KINDS: &[&str] = &[
    "rule_fired",
    "update_posted",
    "digest_sent",
    "update_reminder",
    "update_overdue",
    "task_overdue",
    "nudged",
    "postmortem_published",
];

fn email(target: &str, address: &str) -> Recipient {
    Recipient {
        target: target.to_string(),
        channel: Channel::Email,
        address: address.to_string(),
    }
}

/// Who hears about an event of `kind` with `body` on an incident with `stakeholders`.
pub fn recipients(
    kind: &str,
    body: &Value,
    stakeholders: &[Stakeholder],
    targets: &[Target],
) -> Vec<Recipient> {
    let text = |key: &str| body.get(key).and_then(Value::as_str);
    let list = |key: &str| -> Vec<&str> {
        body.get(key)
            .and_then(Value::as_array)
            .map(|it| it.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    };
    let mut out = Vec::new();
    match kind {
        "rule_fired" => {
            for name in list("notify") {
                let Some(target) = targets.iter().find(|it| it.name == name) else {
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
        "update_posted" => out.extend(
            stakeholders
                .iter()
                .filter(|it| it.mode == Informed::Active)
                .map(|it| email("stakeholders", &it.who)),
        ),
        "digest_sent" => out.extend(list("to").into_iter().map(|it| email("digest", it))),
        // Everyone kept informed, and the company-wide announcement target.
        "postmortem_published" => {
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
        "update_reminder" | "update_overdue" | "task_overdue" | "nudged" => {
            out.extend(
                text("to")
                    .filter(|it| crate::person::parse_email(it).is_some())
                    .map(|it| email("person", it)),
            );
        }
        _ => {}
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
    kind: &str,
    body: &Value,
    brief: &Brief<'_>,
    updates: &[String],
    when: &dyn Fn(Timestamp) -> String,
) -> Message {
    let text = |key: &str| body.get(key).and_then(Value::as_str).unwrap_or("");
    let time = |key: &str| {
        body.get(key)
            .and_then(Value::as_str)
            .and_then(|it| it.parse::<Timestamp>().ok())
            .map(when)
            .unwrap_or_default()
    };
    let head = format!("[{} · {}] {}", brief.reference, brief.severity, brief.title);
    let footer = format!(
        "\nSeverity: {} · Status: {}\nIncident room: {}\n",
        brief.severity, brief.status, brief.url
    );
    let (subject, lines) = match kind {
        "rule_fired" => {
            let what = trigger_words(text("trigger"));
            let mut lines = vec![format!("{} {}: {}", brief.reference, what, brief.title)];
            if !brief.summary.is_empty() {
                lines.push(brief.summary.to_string());
            }
            lines.push(format!("(rule \"{}\")", text("rule")));
            (format!("{head} — {what}"), lines)
        }
        "update_posted" => {
            let mut lines = vec![text("message").to_string()];
            match text("next_update_due") {
                "" => lines.push("No further updates are scheduled.".into()),
                _ => lines.push(format!("Next update: {}", time("next_update_due"))),
            }
            (format!("{head} — update"), lines)
        }
        "digest_sent" => {
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
        "update_reminder" => (
            format!("{head} — update due {}", time("due")),
            vec![format!(
                "The next update on {} is due {}. Post it from the incident room.",
                brief.reference,
                time("due")
            )],
        ),
        "update_overdue" => (
            format!("{head} — update overdue"),
            vec![format!(
                "The update on {} was due {} and has not been posted.",
                brief.reference,
                time("due")
            )],
        ),
        "task_overdue" => (
            format!("{head} — task #{} overdue", body["task"]),
            vec![format!(
                "Task #{} on {} was due {}.",
                body["task"],
                brief.reference,
                time("due")
            )],
        ),
        "nudged" => (
            format!("{head} — {}", text("nudge")),
            vec![text("text").to_string()],
        ),
        "postmortem_published" => (
            format!("{head} — post-mortem published"),
            vec![format!(
                "The post-mortem of {} is published: {}",
                brief.reference,
                text("url")
            )],
        ),
        other => (format!("{head} — {other}"), Vec::new()),
    };
    Message {
        subject,
        text: format!("{}\n{footer}", lines.join("\n")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
        let addresses = |kind: &str, body: Value| -> Vec<String> {
            recipients(kind, &body, &stakeholders, &targets())
                .iter()
                .map(|it| format!("{}:{}:{}", it.target, it.channel, it.address))
                .collect()
        };
        let table: Vec<(&str, Value, Vec<&str>)> = vec![
            (
                "rule_fired",
                json!({ "notify": ["announcements", "quiet", "unknown"] }),
                vec![
                    "announcements:webhook:http://hooks.local/a",
                    "announcements:email:all@example.com",
                ],
            ),
            ("rule_fired", json!({ "notify": [] }), vec![]),
            (
                "update_posted",
                json!({ "message": "x" }),
                vec!["stakeholders:email:cto@example.com"],
            ),
            (
                "digest_sent",
                json!({ "to": ["board@example.com"] }),
                vec!["digest:email:board@example.com"],
            ),
            (
                "update_overdue",
                json!({ "to": "ana@example.com" }),
                vec!["person:email:ana@example.com"],
            ),
            ("update_overdue", json!({ "to": null }), vec![]),
            ("nudged", json!({ "to": "token:ci" }), vec![]),
            ("note", json!({ "text": "x" }), vec![]),
        ];
        for (kind, body, expected) in table {
            assert_eq!(addresses(kind, body.clone()), expected, "{kind} {body}");
        }
        for kind in NOTIFYING_KINDS {
            // Every kind the fan-out looks at is one `recipients` knows.
            let _ = recipients(kind, &json!({}), &stakeholders, &targets());
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
            "rule_fired",
            &json!({ "rule": "serious incident", "trigger": "declared" }),
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
            "digest_sent",
            &json!({ "updates": 2 }),
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
            "update_posted",
            &json!({ "message": "Rolling back", "next_update_due": "2027-01-15T08:00:00Z" }),
            &brief,
            &[],
            &when,
        );
        assert!(update.text.contains("Next update: 2027-01-15T08:00:00Z"));
    }
}
