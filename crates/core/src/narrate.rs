//! Timeline events told in words, for the incident room, exports and post-mortems.

use crate::event::{Detail, EventData};
use crate::incident::Affected;

/// One event in words: a short headline and, for messages, the message itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Narration {
    pub label: String,
    pub text: String,
}

fn affected(affected: &Affected) -> String {
    match affected.count {
        Some(count) if affected.text.is_empty() => format!("{count}"),
        Some(count) => format!("{} ({count})", affected.text),
        None => affected.text.clone(),
    }
}

fn detail(value: &Detail) -> String {
    match value {
        Detail::Title(text) | Detail::Summary(text) => text.clone(),
        Detail::Impact(impact) => impact.as_str().to_string(),
        Detail::Affected(it) => affected(it),
        Detail::Services(items) => items.join(", "),
        Detail::Private(flag) => if *flag { "yes" } else { "no" }.to_string(),
    }
}

/// How the reader sees people and times: `person` turns an identifier (an email) into a
/// name, `time` an instant into the reader's zone.
pub struct Reader<'a> {
    pub person: &'a dyn Fn(&str) -> String,
    pub time: &'a dyn Fn(jiff::Timestamp) -> String,
}

/// "ana: " for an event addressed to someone, else nothing.
fn addressed(to: &Option<String>, reader: &Reader<'_>) -> String {
    match to {
        Some(person) => format!("{}: ", (reader.person)(person)),
        None => String::new(),
    }
}

/// `reader` says how people and times are shown.
pub fn narrate(event: &EventData, reader: &Reader<'_>) -> Narration {
    let display = reader.person;
    let time = reader.time;
    let (label, text) = match event {
        EventData::Declared {
            reference,
            title,
            summary,
            severity,
            status,
            ..
        } => (
            format!("Declared {reference} ({severity}, {status})"),
            [title.as_str(), summary.as_str()]
                .iter()
                .filter(|it| !it.is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join("\n"),
        ),
        EventData::StatusChanged {
            from,
            to,
            merged_into,
        } => {
            let mut label = format!("Status {from} → {to}");
            if let Some(target) = merged_into {
                label.push_str(&format!(" (into {target})"));
            }
            (label, String::new())
        }
        EventData::SeverityChanged { from, to } => {
            (format!("Severity {from} → {to}"), String::new())
        }
        EventData::DetailsChanged { from, to } => (
            format!("Changed {}", to.field()),
            format!("{} → {}", detail(from), detail(to)),
        ),
        EventData::RoleAssigned {
            role,
            user,
            previous,
            handover,
        } => {
            let mut label = format!("{} is now {role}", display(user));
            if let Some(previous) = previous {
                label.push_str(&format!(" (was {})", display(previous)));
            }
            let handover = match handover {
                Some(note) => format!("Handover: {note}"),
                None => String::new(),
            };
            (label, handover)
        }
        EventData::RoleUnassigned { role, previous } => (
            format!("{} is no longer {role}", display(previous)),
            String::new(),
        ),
        EventData::MemberAdded { member } => (
            format!("{} can now see this private incident", display(member)),
            String::new(),
        ),
        EventData::UpdatePosted {
            message,
            status,
            public,
            ..
        } => {
            let mut label = String::from("Status update");
            if let Some(status) = status {
                label.push_str(&format!(" · now {status}"));
            }
            if *public {
                label.push_str(" · public");
            }
            (label, message.clone())
        }
        EventData::Note { text } => ("Note".to_string(), text.clone()),
        EventData::ActionProposed {
            number,
            kind,
            title,
            target,
            risk,
            rollback_plan,
            destructive,
            proposed_by,
        } => {
            let destructive = if *destructive { ", destructive" } else { "" };
            let mut text = title.clone();
            if !target.is_empty() {
                text.push_str(&format!("\non: {target}"));
            }
            if !rollback_plan.is_empty() {
                text.push_str(&format!("\nrollback: {rollback_plan}"));
            }
            (
                format!(
                    "{} proposed action #{number} ({}, {risk} risk{destructive})",
                    display(proposed_by),
                    kind.as_str().replace('_', " "),
                ),
                text,
            )
        }
        EventData::ActionApproved {
            number,
            proposed_by,
            approved_by,
        } => (
            format!(
                "{} approved action #{number} proposed by {}",
                display(approved_by),
                display(proposed_by)
            ),
            String::new(),
        ),
        EventData::ActionRejected { number, by, reason } => (
            format!("{} rejected action #{number}", display(by)),
            reason.clone(),
        ),
        EventData::ActionStarted {
            number,
            by,
            destructive,
            backup_taken,
            tried_on_sample,
        } => {
            let mut label = format!("{} is starting action #{number}", display(by));
            if *destructive {
                label = format!("Heads up: {label} (destructive)");
            }
            let mut checks = Vec::new();
            if *backup_taken {
                checks.push("backup taken");
            }
            if *tried_on_sample {
                checks.push("tried on a handful of records first");
            }
            (label, checks.join("; "))
        }
        EventData::ActionFinished {
            number,
            succeeded,
            result,
            ..
        } => {
            let outcome = if *succeeded { "succeeded" } else { "failed" };
            (format!("Action #{number} {outcome}"), result.clone())
        }
        EventData::PlaybookAdded { name, tasks } => {
            let tasks: Vec<String> = tasks
                .iter()
                .map(|task| format!("#{} {}", task.number, task.title))
                .collect();
            (
                format!("Playbook “{name}” added {} tasks", tasks.len()),
                tasks.join("\n"),
            )
        }
        EventData::TaskAdded { task } => {
            (format!("Task #{} added", task.number), task.title.clone())
        }
        EventData::TaskAssigned { number, assignee } => (
            format!("Task #{number} assigned to {}", display(assignee)),
            String::new(),
        ),
        EventData::TaskClosed {
            number,
            status,
            by,
            note,
        } => (
            format!("{} marked task #{number} {}", display(by), status.as_str()),
            note.clone(),
        ),
        EventData::TaskReopened { number } => (format!("Task #{number} reopened"), String::new()),
        EventData::UpdateReminder { due, to } => (
            format!(
                "{}the next status update is due soon",
                addressed(to, reader)
            ),
            format!("due {}", time(*due)),
        ),
        EventData::UpdateOverdue { due, to } => (
            format!("{}the status update is overdue", addressed(to, reader)),
            format!("due {}", time(*due)),
        ),
        EventData::FreezeStarted { reason } => ("Deploys frozen".to_string(), reason.clone()),
        EventData::FreezeEnded { reason } => ("Deploy freeze lifted".to_string(), reason.clone()),
        EventData::CallLinkSet { url } if url.is_empty() => {
            ("Call ended".to_string(), String::new())
        }
        EventData::CallLinkSet { url } => ("The call is here".to_string(), url.clone()),
        EventData::ChatChannelRequested { name } => {
            ("Chat channel opened".to_string(), format!("#{name}"))
        }
        EventData::MessagePinned { text, author, .. } => {
            let label = match author {
                Some(author) => format!("Pinned message from {author}"),
                None => "Pinned message".to_string(),
            };
            (label, text.clone())
        }
        EventData::Correction { text, corrects } => {
            let label = match corrects {
                Some(seq) => format!("Correction of #{seq}"),
                None => "Correction".to_string(),
            };
            (label, text.clone())
        }
        EventData::TimestampAsserted { name, at, note } => (
            format!("Says {name} happened at {}", time(*at)),
            note.clone(),
        ),
        EventData::RuleFired {
            rule,
            trigger,
            effects,
            notify,
        } => {
            let mut effects: Vec<&str> = effects.iter().map(String::as_str).collect();
            if effects.is_empty() && !notify.is_empty() {
                effects.push("notify");
            }
            (
                format!("Rule “{rule}” fired on {}", trigger.replace('_', " ")),
                effects.join("; "),
            )
        }
        EventData::CadenceSet { minutes, next_due } => (
            format!("Updates every {minutes} minutes"),
            format!("next due {}", time(*next_due)),
        ),
        EventData::RolesRequired { roles } => (
            format!("Roles required: {}", roles.join(", ")),
            String::new(),
        ),
        EventData::TaskOverdue { number, due, to } => (
            format!("{}task #{number} is overdue", addressed(to, reader)),
            format!("due {}", time(*due)),
        ),
        EventData::ParticipantJoined { person, .. } => {
            (format!("{} joined", display(person)), String::new())
        }
        EventData::ParticipantLeft {
            person,
            minutes,
            out_of_hours_minutes,
        } => {
            let mut text = format!("{minutes} min in the incident");
            if *out_of_hours_minutes > 0 {
                text.push_str(&format!(", {out_of_hours_minutes} outside working hours"));
            }
            (format!("{} left", display(person)), text)
        }
        EventData::Nudged { kind, to, text } => {
            let label = match (kind.as_str(), to) {
                ("break", Some(to)) => format!("{}: time for a break", display(to)),
                ("food", _) => "Time to order food".to_string(),
                (other, _) => format!("Nudge: {other}"),
            };
            (label, text.clone())
        }
        EventData::Thanked { people, .. } => {
            let names: Vec<String> = people.iter().map(|it| display(it)).collect();
            (
                format!("All clear: thank you, {}", names.join(", ")),
                String::new(),
            )
        }
        EventData::StakeholderAdded { who, mode } => (
            format!(
                "{} is kept informed ({})",
                display(who),
                match mode {
                    crate::coordination::Informed::Active => "every update",
                    crate::coordination::Informed::Passive => "digest",
                }
            ),
            String::new(),
        ),
        EventData::StakeholderRemoved { who } => (
            format!("{} is no longer kept informed", display(who)),
            String::new(),
        ),
        EventData::PostmortemPublished { url } => {
            ("Post-mortem published".to_string(), url.clone())
        }
        EventData::PublicUpdatePublished { status, body, .. } => (
            format!(
                "Published on the status page · {}",
                status.replace('_', " ")
            ),
            body.clone(),
        ),
        EventData::DigestSent { to, updates, .. } => (
            format!("Digest of {updates} update(s) sent to {}", to.join(", ")),
            String::new(),
        ),
    };
    Narration { label, text }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EventKind;
    use serde_json::json;

    #[test]
    fn events_in_words() {
        let display = |email: &str| email.split('@').next().unwrap_or(email).to_string();
        // Each row is a stored body, read back the way the timeline reads it.
        let table = [
            (
                "declared",
                json!({"reference": "INC-1", "severity": "major", "status": "investigating", "title": "Checkout down", "summary": "",
                       "type": "default", "impact": "outage", "affected": {"text": "", "count": null}, "services": [], "private": false, "mode": "real"}),
                "Declared INC-1 (major, investigating)",
                "Checkout down",
            ),
            (
                "status_changed",
                json!({"from": "triage", "to": "merged", "merged_into": "INC-2"}),
                "Status triage → merged (into INC-2)",
                "",
            ),
            (
                "role_assigned",
                json!({"role": "lead", "user": "ana@x.io", "previous": "bo@x.io"}),
                "ana is now lead (was bo)",
                "",
            ),
            (
                "update_posted",
                json!({"message": "Rolling back", "status": "identified", "public": true}),
                "Status update · now identified · public",
                "Rolling back",
            ),
            (
                "details_changed",
                json!({"field": "affected", "from": {"text": "", "count": null}, "to": {"text": "EU", "count": 40}}),
                "Changed affected",
                " → EU (40)",
            ),
            (
                "member_added",
                json!({"member": "cy@x.io"}),
                "cy can now see this private incident",
                "",
            ),
            (
                "action_approved",
                json!({"action": 2, "proposed_by": "ana@x.io", "approved_by": "bo@x.io"}),
                "bo approved action #2 proposed by ana",
                "",
            ),
            (
                "action_started",
                json!({"action": 2, "by": "ana@x.io", "destructive": true, "backup_taken": true, "tried_on_sample": true}),
                "Heads up: ana is starting action #2 (destructive)",
                "backup taken; tried on a handful of records first",
            ),
            (
                "role_assigned",
                json!({"role": "lead", "user": "ana@x.io", "previous": "bo@x.io", "handover": "Rollback half done"}),
                "ana is now lead (was bo)",
                "Handover: Rollback half done",
            ),
            (
                "rule_fired",
                json!({"rule": "serious incident", "trigger": "severity_raised", "effects": ["freeze deploys", "notify announcements"], "notify": ["announcements"]}),
                "Rule “serious incident” fired on severity raised",
                "freeze deploys; notify announcements",
            ),
            (
                "participant_left",
                json!({"person": "ana@x.io", "minutes": 95, "out_of_hours_minutes": 30}),
                "ana left",
                "95 min in the incident, 30 outside working hours",
            ),
            (
                "thanked",
                json!({"people": ["ana@x.io", "bo@x.io"], "text": "x"}),
                "All clear: thank you, ana, bo",
                "",
            ),
        ];
        for (kind, body, label, text) in table {
            let time = |at: jiff::Timestamp| at.strftime("%H:%M").to_string();
            let reader = Reader {
                person: &display,
                time: &time,
            };
            let kind = EventKind::parse(kind).unwrap();
            let event = EventData::from_stored(kind, &body).unwrap();
            let told = narrate(&event, &reader);
            assert_eq!(
                (told.label.as_str(), told.text.as_str()),
                (label, text),
                "{kind}"
            );
        }
    }
}
