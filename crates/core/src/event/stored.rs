//! Stored bodies back into events: the inverse of `EventData::to_body`, so every consumer
//! of the timeline reads typed events and the hashed bytes stay exactly as they were
//! written.

use std::fmt;

use jiff::Timestamp;
use serde_json::Value;

use super::{Detail, EventData, EventKind, task_from_json};
use crate::action::{ActionKind, Risk};
use crate::coordination::Informed;
use crate::incident::{Affected, ImpactKind, IncidentType, Mode, Reference, TimestampName};
use crate::lifecycle::Status;
use crate::playbook::TaskStatus;

/// A stored body that does not read back as its kind: the field that is missing or wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadEvent {
    pub kind: EventKind,
    pub field: &'static str,
}

impl fmt::Display for BadEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a stored {} event has no valid {:?}",
            self.kind, self.field
        )
    }
}

impl std::error::Error for BadEvent {}

/// Typed access to one stored body; every getter names the field it failed on.
struct Body<'a> {
    kind: EventKind,
    value: &'a Value,
}

type Read<T> = Result<T, BadEvent>;

impl<'a> Body<'a> {
    fn bad(&self, field: &'static str) -> BadEvent {
        BadEvent {
            kind: self.kind,
            field,
        }
    }

    fn get(&self, field: &'static str) -> Option<&'a Value> {
        self.value.get(field).filter(|it| !it.is_null())
    }

    fn text(&self, field: &'static str) -> Read<String> {
        self.opt_text(field)?.ok_or_else(|| self.bad(field))
    }

    fn opt_text(&self, field: &'static str) -> Read<Option<String>> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::String(text)) => Ok(Some(text.clone())),
            Some(_) => Err(self.bad(field)),
        }
    }

    fn number(&self, field: &'static str) -> Read<i64> {
        self.get(field)
            .and_then(Value::as_i64)
            .ok_or_else(|| self.bad(field))
    }

    fn opt_number(&self, field: &'static str) -> Read<Option<i64>> {
        match self.get(field) {
            None => Ok(None),
            Some(value) => value.as_i64().map(Some).ok_or_else(|| self.bad(field)),
        }
    }

    fn flag(&self, field: &'static str) -> Read<bool> {
        self.get(field)
            .and_then(Value::as_bool)
            .ok_or_else(|| self.bad(field))
    }

    fn texts(&self, field: &'static str) -> Read<Vec<String>> {
        texts(self.get(field)).ok_or_else(|| self.bad(field))
    }

    fn parsed<T>(&self, field: &'static str, parse: impl Fn(&str) -> Option<T>) -> Read<T> {
        parse(&self.text(field)?).ok_or_else(|| self.bad(field))
    }

    fn opt_parsed<T>(
        &self,
        field: &'static str,
        parse: impl Fn(&str) -> Option<T>,
    ) -> Read<Option<T>> {
        match self.opt_text(field)? {
            None => Ok(None),
            Some(text) => parse(&text).map(Some).ok_or_else(|| self.bad(field)),
        }
    }

    fn time(&self, field: &'static str) -> Read<Timestamp> {
        self.parsed(field, |it| it.parse().ok())
    }

    fn opt_time(&self, field: &'static str) -> Read<Option<Timestamp>> {
        self.opt_parsed(field, |it| it.parse().ok())
    }
}

fn texts(value: Option<&Value>) -> Option<Vec<String>> {
    value?
        .as_array()?
        .iter()
        .map(|it| it.as_str().map(String::from))
        .collect()
}

fn affected(value: Option<&Value>) -> Option<Affected> {
    let value = value?;
    Some(Affected {
        text: value.get("text")?.as_str()?.to_string(),
        count: match value.get("count") {
            None | Some(Value::Null) => None,
            Some(count) => Some(count.as_i64()?),
        },
    })
}

/// One side of a `details_changed` event: the field names the variant.
fn detail(field: &str, value: &Value) -> Option<Detail> {
    Some(match field {
        "title" => Detail::Title(value.as_str()?.to_string()),
        "summary" => Detail::Summary(value.as_str()?.to_string()),
        "impact" => Detail::Impact(ImpactKind::parse(value.as_str()?)?),
        "affected" => Detail::Affected(affected(Some(value))?),
        "services" => Detail::Services(texts(Some(value))?),
        "private" => Detail::Private(value.as_bool()?),
        _ => return None,
    })
}

impl EventData {
    /// The event a stored `kind` and `body` were written from: `to_body` of the answer is
    /// the body again, byte for byte.
    pub fn from_stored(kind: EventKind, value: &Value) -> Result<EventData, BadEvent> {
        let body = Body { kind, value };
        let status = |field| body.parsed(field, Status::parse);
        let task_number = || body.number("task");
        let action_number = || body.number("action");
        Ok(match kind {
            EventKind::Declared => EventData::Declared {
                reference: body.parsed("reference", Reference::parse)?,
                title: body.text("title")?,
                summary: body.text("summary")?,
                severity: body.text("severity")?,
                incident_type: body.parsed("type", IncidentType::parse)?,
                impact: body.parsed("impact", ImpactKind::parse)?,
                affected: affected(body.get("affected")).ok_or_else(|| body.bad("affected"))?,
                services: body.texts("services")?,
                private: body.flag("private")?,
                mode: body.parsed("mode", Mode::parse)?,
                status: status("status")?,
            },
            EventKind::StatusChanged => EventData::StatusChanged {
                from: status("from")?,
                to: status("to")?,
                merged_into: body.opt_parsed("merged_into", Reference::parse)?,
            },
            EventKind::SeverityChanged => EventData::SeverityChanged {
                from: body.text("from")?,
                to: body.text("to")?,
            },
            EventKind::DetailsChanged => {
                let field = body.text("field")?;
                let side = |name: &'static str| {
                    detail(&field, value.get(name).unwrap_or(&Value::Null))
                        .ok_or_else(|| body.bad(name))
                };
                EventData::DetailsChanged {
                    from: side("from")?,
                    to: side("to")?,
                }
            }
            EventKind::RoleAssigned => EventData::RoleAssigned {
                role: body.text("role")?,
                user: body.text("user")?,
                previous: body.opt_text("previous")?,
                handover: body.opt_text("handover")?,
            },
            EventKind::RoleUnassigned => EventData::RoleUnassigned {
                role: body.text("role")?,
                previous: body.text("previous")?,
            },
            EventKind::MemberAdded => EventData::MemberAdded {
                member: body.text("member")?,
            },
            EventKind::FreezeStarted => EventData::FreezeStarted {
                reason: body.text("reason")?,
            },
            EventKind::FreezeEnded => EventData::FreezeEnded {
                reason: body.text("reason")?,
            },
            EventKind::PlaybookAdded => EventData::PlaybookAdded {
                name: body.text("playbook")?,
                tasks: body
                    .get("tasks")
                    .and_then(Value::as_array)
                    .and_then(|it| it.iter().map(task_from_json).collect())
                    .ok_or_else(|| body.bad("tasks"))?,
            },
            EventKind::TaskAdded => EventData::TaskAdded {
                task: body
                    .get("task")
                    .and_then(task_from_json)
                    .ok_or_else(|| body.bad("task"))?,
            },
            EventKind::TaskAssigned => EventData::TaskAssigned {
                number: task_number()?,
                assignee: body.text("assignee")?,
            },
            EventKind::TaskClosed => EventData::TaskClosed {
                number: task_number()?,
                status: body.parsed("status", TaskStatus::parse)?,
                by: body.text("by")?,
                note: body.text("note")?,
            },
            EventKind::TaskReopened => EventData::TaskReopened {
                number: task_number()?,
            },
            EventKind::UpdateReminder => EventData::UpdateReminder {
                due: body.time("due")?,
                to: body.opt_text("to")?,
            },
            EventKind::UpdateOverdue => EventData::UpdateOverdue {
                due: body.time("due")?,
                to: body.opt_text("to")?,
            },
            EventKind::ActionProposed => EventData::ActionProposed {
                number: action_number()?,
                kind: body.parsed("kind", ActionKind::parse)?,
                title: body.text("title")?,
                target: body.text("target")?,
                risk: body.parsed("risk", Risk::parse)?,
                rollback_plan: body.text("rollback_plan")?,
                destructive: body.flag("destructive")?,
                proposed_by: body.text("proposed_by")?,
            },
            EventKind::ActionApproved => EventData::ActionApproved {
                number: action_number()?,
                proposed_by: body.text("proposed_by")?,
                approved_by: body.text("approved_by")?,
            },
            EventKind::ActionRejected => EventData::ActionRejected {
                number: action_number()?,
                by: body.text("by")?,
                reason: body.text("reason")?,
            },
            EventKind::ActionStarted => EventData::ActionStarted {
                number: action_number()?,
                by: body.text("by")?,
                destructive: body.flag("destructive")?,
                backup_taken: body.flag("backup_taken")?,
                tried_on_sample: body.flag("tried_on_sample")?,
            },
            EventKind::ActionFinished => EventData::ActionFinished {
                number: action_number()?,
                succeeded: body.flag("succeeded")?,
                result: body.text("result")?,
                output: body.text("output")?,
            },
            EventKind::UpdatePosted => EventData::UpdatePosted {
                message: body.text("message")?,
                status: body.opt_parsed("status", Status::parse)?,
                next_update_due: body.opt_time("next_update_due")?,
                public: body.flag("public")?,
            },
            EventKind::Note => EventData::Note {
                text: body.text("text")?,
            },
            EventKind::MessagePinned => EventData::MessagePinned {
                text: body.text("text")?,
                author: body.opt_text("author")?,
                link: body.opt_text("link")?,
            },
            EventKind::CallLinkSet => EventData::CallLinkSet {
                url: body.text("url")?,
            },
            EventKind::ChatChannelRequested => EventData::ChatChannelRequested {
                name: body.text("name")?,
            },
            EventKind::Correction => EventData::Correction {
                text: body.text("text")?,
                corrects: body.opt_number("corrects")?,
            },
            EventKind::TimestampAsserted => EventData::TimestampAsserted {
                name: body.parsed("name", TimestampName::parse)?,
                at: body.time("at")?,
                note: body.text("note")?,
            },
            EventKind::RuleFired => EventData::RuleFired {
                rule: body.text("rule")?,
                trigger: body.text("trigger")?,
                effects: body.texts("effects")?,
                notify: body.texts("notify")?,
            },
            EventKind::CadenceSet => EventData::CadenceSet {
                minutes: body.number("minutes")?,
                next_due: body.time("next_due")?,
            },
            EventKind::RolesRequired => EventData::RolesRequired {
                roles: body.texts("roles")?,
            },
            EventKind::TaskOverdue => EventData::TaskOverdue {
                number: task_number()?,
                due: body.time("due")?,
                to: body.opt_text("to")?,
            },
            EventKind::ParticipantJoined => EventData::ParticipantJoined {
                person: body.text("person")?,
                zone: body.text("zone")?,
            },
            EventKind::ParticipantLeft => EventData::ParticipantLeft {
                person: body.text("person")?,
                minutes: body.number("minutes")?,
                out_of_hours_minutes: body.number("out_of_hours_minutes")?,
            },
            EventKind::Nudged => EventData::Nudged {
                kind: body.text("nudge")?,
                to: body.opt_text("to")?,
                text: body.text("text")?,
            },
            EventKind::Thanked => EventData::Thanked {
                people: body.texts("people")?,
                text: body.text("text")?,
            },
            EventKind::StakeholderAdded => EventData::StakeholderAdded {
                who: body.text("who")?,
                mode: body.parsed("mode", Informed::parse)?,
            },
            EventKind::StakeholderRemoved => EventData::StakeholderRemoved {
                who: body.text("who")?,
            },
            EventKind::PostmortemPublished => EventData::PostmortemPublished {
                url: body.text("url")?,
            },
            EventKind::PublicUpdatePublished => EventData::PublicUpdatePublished {
                public_id: body.text("public_id")?,
                status: body.text("status")?,
                body: body.text("body")?,
            },
            EventKind::DigestSent => EventData::DigestSent {
                to: body.texts("to")?,
                updates: body.number("updates")?,
                since: body.opt_time("since")?,
            },
        })
    }
}
