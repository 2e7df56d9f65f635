//! Timeline event payloads and their canonical JSON bodies.

use jiff::Timestamp;
use serde_json::{Value, json};

use crate::action::{ActionKind, Risk};
use crate::coordination::Informed;
use crate::incident::{Affected, ImpactKind, IncidentType, Mode, Reference, TimestampName};
use crate::lifecycle::Status;
use crate::playbook::{Task, TaskStatus};

mod kind;
mod stored;
#[cfg(test)]
pub(crate) mod tests;

pub use kind::{Actor, EventKind, Traits};
pub use stored::BadEvent;

/// One field of an incident's details, as it was before or after a change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Detail {
    Title(String),
    Summary(String),
    Impact(ImpactKind),
    Affected(Affected),
    Services(Vec<String>),
    Private(bool),
}

impl Detail {
    pub fn field(&self) -> &'static str {
        match self {
            Detail::Title(_) => "title",
            Detail::Summary(_) => "summary",
            Detail::Impact(_) => "impact",
            Detail::Affected(_) => "affected",
            Detail::Services(_) => "services",
            Detail::Private(_) => "private",
        }
    }

    fn value(&self) -> Value {
        match self {
            Detail::Title(it) | Detail::Summary(it) => json!(it),
            Detail::Impact(it) => json!(it.as_str()),
            Detail::Affected(it) => affected_json(it),
            Detail::Services(it) => json!(it),
            Detail::Private(it) => json!(it),
        }
    }
}

/// The words of an event that search finds: its body's title, summary, message, text and
/// note, and whom something was handed to (`to`, when it is text), in that order, each
/// separated by a space. SQLite's full-text index holds this per event (written by the
/// writer with the event); PostgreSQL's generated `search` column reads the same fields.
pub fn search_text(body: &Value) -> String {
    let mut text = String::new();
    for field in ["title", "summary", "message", "text", "note", "to"] {
        if let Some(words) = body.get(field).and_then(Value::as_str)
            && !words.trim().is_empty()
        {
            if !text.is_empty() {
                text.push(' ');
            }
            text.push_str(words.trim());
        }
    }
    text
}

/// A task as stored in event bodies and in the incident row.
pub fn task_json(task: &Task) -> Value {
    let mut value = json!({
        "number": task.number,
        "title": task.title,
        "role": task.role,
        "assignee": task.assignee,
        "due": task.due.map(|it| it.to_string()),
        "status": task.status.as_str(),
        "note": task.note,
        "playbook": task.playbook,
    });
    if task.overdue_noticed {
        value["overdue_noticed"] = json!(true);
    }
    value
}

/// The inverse of `task_json`; `None` for a malformed one.
pub fn task_from_json(value: &Value) -> Option<Task> {
    let text = |key: &str| value.get(key).and_then(Value::as_str).map(String::from);
    Some(Task {
        number: value.get("number")?.as_i64()?,
        title: text("title")?,
        role: text("role"),
        assignee: text("assignee"),
        due: match text("due") {
            Some(due) => Some(due.parse().ok()?),
            None => None,
        },
        status: TaskStatus::parse(&text("status")?)?,
        note: text("note").unwrap_or_default(),
        playbook: text("playbook").unwrap_or_default(),
        overdue_noticed: value
            .get("overdue_noticed")
            .and_then(Value::as_bool)
            .unwrap_or(false),
    })
}

fn affected_json(affected: &Affected) -> Value {
    json!({ "text": affected.text, "count": affected.count })
}

/// What happened. Each variant is one timeline event kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventData {
    Declared {
        reference: Reference,
        title: String,
        summary: String,
        severity: String,
        incident_type: IncidentType,
        impact: ImpactKind,
        affected: Affected,
        services: Vec<String>,
        private: bool,
        mode: Mode,
        status: Status,
    },
    StatusChanged {
        from: Status,
        to: Status,
        merged_into: Option<Reference>,
    },
    SeverityChanged {
        from: String,
        to: String,
    },
    DetailsChanged {
        from: Detail,
        to: Detail,
    },
    RoleAssigned {
        role: String,
        user: String,
        previous: Option<String>,
        /// What the previous holder hands over (asked for on a handoff).
        handover: Option<String>,
    },
    RoleUnassigned {
        role: String,
        previous: String,
    },
    MemberAdded {
        member: String,
    },
    FreezeStarted {
        reason: String,
    },
    PlaybookAdded {
        name: String,
        tasks: Vec<Task>,
    },
    TaskAdded {
        task: Task,
    },
    TaskAssigned {
        number: i64,
        assignee: String,
    },
    TaskClosed {
        number: i64,
        status: TaskStatus,
        by: String,
        note: String,
    },
    TaskReopened {
        number: i64,
    },
    UpdateReminder {
        due: Timestamp,
        to: Option<String>,
    },
    UpdateOverdue {
        due: Timestamp,
        to: Option<String>,
    },
    ActionProposed {
        number: i64,
        kind: ActionKind,
        title: String,
        target: String,
        risk: Risk,
        rollback_plan: String,
        destructive: bool,
        proposed_by: String,
    },
    ActionApproved {
        number: i64,
        proposed_by: String,
        approved_by: String,
    },
    ActionRejected {
        number: i64,
        by: String,
        reason: String,
    },
    ActionStarted {
        number: i64,
        by: String,
        destructive: bool,
        backup_taken: bool,
        tried_on_sample: bool,
    },
    ActionFinished {
        number: i64,
        succeeded: bool,
        result: String,
        output: String,
    },
    FreezeEnded {
        reason: String,
    },
    UpdatePosted {
        message: String,
        status: Option<Status>,
        next_update_due: Option<Timestamp>,
        public: bool,
    },
    Note {
        text: String,
    },
    MessagePinned {
        text: String,
        author: Option<String>,
        /// Where the message lives (a chat permalink); absent for pins made by hand.
        link: Option<String>,
    },
    /// The incident gets a chat channel of this name on every configured chat platform.
    ChatChannelRequested {
        name: String,
    },
    /// Where the incident's call is (empty: no call any more).
    CallLinkSet {
        url: String,
    },
    Correction {
        text: String,
        corrects: Option<i64>,
    },
    TimestampAsserted {
        name: TimestampName,
        at: Timestamp,
        note: String,
    },
    /// A workflow rule fired; the events of its effects follow it.
    RuleFired {
        rule: String,
        trigger: String,
        effects: Vec<String>,
        /// Targets notified through the outbox.
        notify: Vec<String>,
    },
    CadenceSet {
        minutes: i64,
        next_due: Timestamp,
    },
    RolesRequired {
        roles: Vec<String>,
    },
    TaskOverdue {
        number: i64,
        due: Timestamp,
        to: Option<String>,
    },
    ParticipantJoined {
        person: String,
        zone: String,
    },
    ParticipantLeft {
        person: String,
        minutes: i64,
        out_of_hours_minutes: i64,
    },
    /// `break` or `food`.
    Nudged {
        kind: String,
        to: Option<String>,
        text: String,
    },
    /// The all-clear's thanks to everyone who took part.
    Thanked {
        people: Vec<String>,
        text: String,
    },
    StakeholderAdded {
        who: String,
        mode: Informed,
    },
    StakeholderRemoved {
        who: String,
    },
    /// The post-mortem was published (its page: `url`).
    PostmortemPublished {
        url: String,
    },
    /// What customers read on the public status page, as it was published.
    PublicUpdatePublished {
        public_id: String,
        status: String,
        body: String,
    },
    /// A digest of `updates` new updates went to the passive stakeholders `to`.
    DigestSent {
        to: Vec<String>,
        updates: i64,
        since: Option<Timestamp>,
    },
}

impl EventData {
    pub fn kind(&self) -> EventKind {
        match self {
            EventData::Declared { .. } => EventKind::Declared,
            EventData::StatusChanged { .. } => EventKind::StatusChanged,
            EventData::SeverityChanged { .. } => EventKind::SeverityChanged,
            EventData::DetailsChanged { .. } => EventKind::DetailsChanged,
            EventData::RoleAssigned { .. } => EventKind::RoleAssigned,
            EventData::RoleUnassigned { .. } => EventKind::RoleUnassigned,
            EventData::MemberAdded { .. } => EventKind::MemberAdded,
            EventData::FreezeStarted { .. } => EventKind::FreezeStarted,
            EventData::PlaybookAdded { .. } => EventKind::PlaybookAdded,
            EventData::TaskAdded { .. } => EventKind::TaskAdded,
            EventData::TaskAssigned { .. } => EventKind::TaskAssigned,
            EventData::TaskClosed { .. } => EventKind::TaskClosed,
            EventData::TaskReopened { .. } => EventKind::TaskReopened,
            EventData::UpdateReminder { .. } => EventKind::UpdateReminder,
            EventData::UpdateOverdue { .. } => EventKind::UpdateOverdue,
            EventData::ActionProposed { .. } => EventKind::ActionProposed,
            EventData::ActionApproved { .. } => EventKind::ActionApproved,
            EventData::ActionRejected { .. } => EventKind::ActionRejected,
            EventData::ActionStarted { .. } => EventKind::ActionStarted,
            EventData::ActionFinished { .. } => EventKind::ActionFinished,
            EventData::FreezeEnded { .. } => EventKind::FreezeEnded,
            EventData::UpdatePosted { .. } => EventKind::UpdatePosted,
            EventData::Note { .. } => EventKind::Note,
            EventData::MessagePinned { .. } => EventKind::MessagePinned,
            EventData::ChatChannelRequested { .. } => EventKind::ChatChannelRequested,
            EventData::CallLinkSet { .. } => EventKind::CallLinkSet,
            EventData::Correction { .. } => EventKind::Correction,
            EventData::TimestampAsserted { .. } => EventKind::TimestampAsserted,
            EventData::RuleFired { .. } => EventKind::RuleFired,
            EventData::CadenceSet { .. } => EventKind::CadenceSet,
            EventData::RolesRequired { .. } => EventKind::RolesRequired,
            EventData::TaskOverdue { .. } => EventKind::TaskOverdue,
            EventData::ParticipantJoined { .. } => EventKind::ParticipantJoined,
            EventData::ParticipantLeft { .. } => EventKind::ParticipantLeft,
            EventData::Nudged { .. } => EventKind::Nudged,
            EventData::Thanked { .. } => EventKind::Thanked,
            EventData::StakeholderAdded { .. } => EventKind::StakeholderAdded,
            EventData::StakeholderRemoved { .. } => EventKind::StakeholderRemoved,
            EventData::DigestSent { .. } => EventKind::DigestSent,
            EventData::PublicUpdatePublished { .. } => EventKind::PublicUpdatePublished,
            EventData::PostmortemPublished { .. } => EventKind::PostmortemPublished,
        }
    }

    /// The stored body. serde_json's map keeps keys sorted, so the text is canonical and
    /// the hash chain can be recomputed from the stored column alone.
    pub fn to_body(&self) -> Value {
        match self {
            EventData::Declared {
                reference,
                title,
                summary,
                severity,
                incident_type,
                impact,
                affected,
                services,
                private,
                mode,
                status,
            } => json!({
                "reference": reference.to_string(),
                "title": title,
                "summary": summary,
                "severity": severity,
                "type": incident_type.as_str(),
                "impact": impact.as_str(),
                "affected": affected_json(affected),
                "services": services,
                "private": private,
                "mode": mode.as_str(),
                "status": status.as_str(),
            }),
            EventData::StatusChanged {
                from,
                to,
                merged_into,
            } => json!({
                "from": from.as_str(),
                "to": to.as_str(),
                "merged_into": merged_into.map(|it| it.to_string()),
            }),
            EventData::SeverityChanged { from, to } => json!({ "from": from, "to": to }),
            EventData::DetailsChanged { from, to } => json!({
                "field": to.field(),
                "from": from.value(),
                "to": to.value(),
            }),
            EventData::RoleAssigned {
                role,
                user,
                previous,
                handover,
            } => {
                let mut body = json!({ "role": role, "user": user, "previous": previous });
                // Only when given, so bodies from before handover notes keep their shape.
                if let Some(note) = handover {
                    body["handover"] = json!(note);
                }
                body
            }
            EventData::RoleUnassigned { role, previous } => {
                json!({ "role": role, "previous": previous })
            }
            EventData::MemberAdded { member } => json!({ "member": member }),
            EventData::FreezeStarted { reason } | EventData::FreezeEnded { reason } => {
                json!({ "reason": reason })
            }
            EventData::PlaybookAdded { name, tasks } => json!({
                "playbook": name,
                "tasks": tasks.iter().map(task_json).collect::<Vec<_>>(),
            }),
            EventData::TaskAdded { task } => json!({ "task": task_json(task) }),
            EventData::TaskAssigned { number, assignee } => {
                json!({ "task": number, "assignee": assignee })
            }
            EventData::TaskClosed {
                number,
                status,
                by,
                note,
            } => json!({ "task": number, "status": status.as_str(), "by": by, "note": note }),
            EventData::TaskReopened { number } => json!({ "task": number }),
            EventData::UpdateReminder { due, to } | EventData::UpdateOverdue { due, to } => {
                json!({ "due": due.to_string(), "to": to })
            }
            EventData::ActionProposed {
                number,
                kind,
                title,
                target,
                risk,
                rollback_plan,
                destructive,
                proposed_by,
            } => json!({
                "action": number,
                "kind": kind.as_str(),
                "title": title,
                "target": target,
                "risk": risk.as_str(),
                "rollback_plan": rollback_plan,
                "destructive": destructive,
                "proposed_by": proposed_by,
            }),
            EventData::ActionApproved {
                number,
                proposed_by,
                approved_by,
            } => json!({
                "action": number,
                "proposed_by": proposed_by,
                "approved_by": approved_by,
            }),
            EventData::ActionRejected { number, by, reason } => {
                json!({ "action": number, "by": by, "reason": reason })
            }
            EventData::ActionStarted {
                number,
                by,
                destructive,
                backup_taken,
                tried_on_sample,
            } => json!({
                "action": number,
                "by": by,
                "destructive": destructive,
                "backup_taken": backup_taken,
                "tried_on_sample": tried_on_sample,
            }),
            EventData::ActionFinished {
                number,
                succeeded,
                result,
                output,
            } => json!({
                "action": number,
                "succeeded": succeeded,
                "result": result,
                "output": output,
            }),
            EventData::UpdatePosted {
                message,
                status,
                next_update_due,
                public,
            } => json!({
                "message": message,
                "status": status.map(Status::as_str),
                "next_update_due": next_update_due.map(|it| it.to_string()),
                "public": public,
            }),
            EventData::Note { text } => json!({ "text": text }),
            EventData::MessagePinned { text, author, link } => {
                let mut body = json!({ "text": text, "author": author });
                if let Some(link) = link {
                    body["link"] = json!(link);
                }
                body
            }
            EventData::ChatChannelRequested { name } => json!({ "name": name }),
            EventData::CallLinkSet { url } => json!({ "url": url }),
            EventData::Correction { text, corrects } => {
                json!({ "text": text, "corrects": corrects })
            }
            EventData::TimestampAsserted { name, at, note } => json!({
                "name": name.as_str(),
                "at": at.to_string(),
                "note": note,
            }),
            EventData::RuleFired {
                rule,
                trigger,
                effects,
                notify,
            } => json!({
                "rule": rule,
                "trigger": trigger,
                "effects": effects,
                "notify": notify,
            }),
            EventData::CadenceSet { minutes, next_due } => {
                json!({ "minutes": minutes, "next_due": next_due.to_string() })
            }
            EventData::RolesRequired { roles } => json!({ "roles": roles }),
            EventData::TaskOverdue { number, due, to } => {
                json!({ "task": number, "due": due.to_string(), "to": to })
            }
            EventData::ParticipantJoined { person, zone } => {
                json!({ "person": person, "zone": zone })
            }
            EventData::ParticipantLeft {
                person,
                minutes,
                out_of_hours_minutes,
            } => json!({
                "person": person,
                "minutes": minutes,
                "out_of_hours_minutes": out_of_hours_minutes,
            }),
            EventData::Nudged { kind, to, text } => {
                json!({ "nudge": kind, "to": to, "text": text })
            }
            EventData::Thanked { people, text } => json!({ "people": people, "text": text }),
            EventData::StakeholderAdded { who, mode } => {
                json!({ "who": who, "mode": mode.as_str() })
            }
            EventData::StakeholderRemoved { who } => json!({ "who": who }),
            EventData::PostmortemPublished { url } => json!({ "url": url }),
            EventData::PublicUpdatePublished {
                public_id,
                status,
                body,
            } => json!({ "public_id": public_id, "status": status, "body": body }),
            EventData::DigestSent { to, updates, since } => json!({
                "to": to,
                "updates": updates,
                "since": since.map(|it| it.to_string()),
            }),
        }
    }
}
