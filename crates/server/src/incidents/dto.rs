//! Wire types (serde + OpenAPI) and their conversions from core and store types.
//! Core types stay free of serialization; this is the only place that decides the JSON.

use std::collections::BTreeMap;

use firebreak_core::{Incident, TimestampName};
use firebreak_store::clock::from_micros;
use firebreak_store::{EventRecord, StoredEvent};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Serialize, Deserialize, ToSchema, Clone, Debug, Default)]
pub struct AffectedDto {
    /// Who is affected, in words.
    #[serde(default)]
    pub text: Option<String>,
    /// How many, when known.
    #[serde(default)]
    pub count: Option<i64>,
}

impl AffectedDto {
    /// Who is affected in words and how many, each absent when not given.
    pub fn split(affected: Option<AffectedDto>) -> (Option<String>, Option<i64>) {
        affected.map(|it| (it.text, it.count)).unwrap_or_default()
    }
}

#[derive(Serialize, Deserialize, ToSchema, Clone, Debug)]
pub struct NamedTimestampDto {
    /// When Firebreak saw it happen (RFC 3339).
    pub observed: Option<String>,
    /// When a person says it happened; never replaces `observed`.
    pub asserted: Option<String>,
}

#[derive(Serialize, Deserialize, ToSchema, Clone, Debug)]
pub struct IncidentDto {
    pub id: String,
    /// `INC-42`.
    pub reference: String,
    pub title: String,
    pub summary: String,
    pub severity: String,
    #[serde(rename = "type")]
    pub incident_type: String,
    pub impact: String,
    pub affected: AffectedDto,
    pub services: Vec<String>,
    pub private: bool,
    pub mode: String,
    pub status: String,
    /// Role → who holds it.
    pub roles: BTreeMap<String, String>,
    /// Who may see the incident while it is private (besides admins), by email.
    pub members: Vec<String>,
    /// Set while this incident freezes deploys.
    pub deploy_freeze: Option<FreezeDto>,
    /// The action register: risky steps, each approved by a second person.
    pub actions: Vec<ActionDto>,
    /// Tasks from playbooks and by hand.
    pub tasks: Vec<TaskDto>,
    /// Names of the playbooks added.
    pub playbooks: Vec<String>,
    pub next_update_due: Option<String>,
    /// True when the next update is past due on a live incident.
    pub update_overdue: bool,
    /// Minutes between updates a rule set; absent: the severity's cadence.
    pub cadence_minutes: Option<i64>,
    /// Who takes or took part, and for how long.
    pub participants: Vec<ParticipantDto>,
    /// Who is kept informed: `active` (every update, at once) or `passive` (a digest).
    pub stakeholders: Vec<StakeholderDto>,
    /// Roles a rule requires.
    pub required_roles: Vec<String>,
    /// Where the incident's call is, if it has one.
    pub call_link: Option<String>,
    /// Of those, the ones nobody holds yet.
    pub missing_roles: Vec<String>,
    /// declared, acknowledged, mitigated, resolved, closed.
    pub timestamps: BTreeMap<String, NamedTimestampDto>,
    pub merged_into: Option<String>,
    pub created_by: String,
    /// Number of timeline events.
    pub last_seq: i64,
    /// Hash of the newest timeline event (head of the chain).
    pub last_hash: String,
}

impl IncidentDto {
    pub fn from_incident(incident: &Incident, now: jiff::Timestamp) -> Self {
        let timestamps = TimestampName::ALL
            .iter()
            .map(|name| {
                let slot = incident.timestamp(*name);
                (
                    name.as_str().to_string(),
                    NamedTimestampDto {
                        observed: slot.observed.map(|it| it.to_string()),
                        asserted: slot.asserted.map(|it| it.to_string()),
                    },
                )
            })
            .collect();
        IncidentDto {
            id: incident.id.to_string(),
            reference: incident.reference.to_string(),
            title: incident.title.clone(),
            summary: incident.summary.clone(),
            severity: incident.severity.clone(),
            incident_type: incident.incident_type.as_str().into(),
            impact: incident.impact.as_str().into(),
            affected: AffectedDto {
                text: Some(incident.affected.text.clone()),
                count: incident.affected.count,
            },
            services: incident.services.clone(),
            private: incident.private,
            mode: incident.mode.as_str().into(),
            status: incident.status.as_str().into(),
            roles: incident.roles.clone(),
            members: incident.members.iter().cloned().collect(),
            actions: incident
                .actions
                .iter()
                .map(ActionDto::from_action)
                .collect(),
            tasks: incident.tasks.iter().map(TaskDto::from_task).collect(),
            playbooks: incident.playbooks.clone(),
            deploy_freeze: incident.freeze.as_ref().map(|it| FreezeDto {
                since: it.since.to_string(),
                reason: it.reason.clone(),
            }),
            next_update_due: incident.next_update_due.map(|it| it.to_string()),
            update_overdue: incident.update_overdue(now),
            cadence_minutes: incident.coordination.cadence_minutes,
            participants: incident
                .coordination
                .participants
                .iter()
                .map(|it| ParticipantDto::from_participant(it, now))
                .collect(),
            stakeholders: incident
                .coordination
                .stakeholders
                .iter()
                .map(|it| StakeholderDto {
                    who: it.who.clone(),
                    mode: it.mode.as_str().into(),
                })
                .collect(),
            required_roles: incident.coordination.required_roles.clone(),
            call_link: incident.coordination.call_link.clone(),
            missing_roles: missing_roles(incident),
            timestamps,
            merged_into: incident.merged_into.map(|it| it.to_string()),
            created_by: incident.created_by.clone(),
            last_seq: incident.last_seq,
            last_hash: incident.last_hash.clone(),
        }
    }
}

/// Roles a rule requires that nobody holds.
pub fn missing_roles(incident: &Incident) -> Vec<String> {
    incident
        .coordination
        .required_roles
        .iter()
        .filter(|it| !incident.roles.contains_key(*it))
        .cloned()
        .collect()
}

#[derive(Serialize, Deserialize, ToSchema, Clone, Debug)]
pub struct ParticipantDto {
    pub person: String,
    /// Their IANA time zone.
    pub zone: String,
    /// In the incident now.
    pub active: bool,
    /// Start of the current (or last) stint.
    pub joined_at: String,
    pub left_at: Option<String>,
    /// Minutes over all stints, the current one up to now.
    pub minutes: i64,
    /// Of those, minutes outside their working hours (finished stints), for comp time.
    pub out_of_hours_minutes: i64,
}

impl ParticipantDto {
    pub fn from_participant(
        it: &firebreak_core::coordination::Participant,
        now: jiff::Timestamp,
    ) -> Self {
        let current = if it.active() {
            now.duration_since(it.joined_at).as_mins().max(0)
        } else {
            0
        };
        ParticipantDto {
            person: it.person.clone(),
            zone: it.zone.clone(),
            active: it.active(),
            joined_at: it.joined_at.to_string(),
            left_at: it.left_at.map(|at| at.to_string()),
            minutes: it.minutes + current,
            out_of_hours_minutes: it.out_of_hours_minutes,
        }
    }
}

#[derive(Serialize, Deserialize, ToSchema, Clone, Debug)]
pub struct StakeholderDto {
    /// Email of a person or a team's list.
    pub who: String,
    /// active or passive.
    pub mode: String,
}

#[derive(Serialize, Deserialize, ToSchema, Clone, Debug)]
pub struct TaskDto {
    pub number: i64,
    pub title: String,
    /// The role expected to do it, when no one is named.
    pub role: Option<String>,
    pub assignee: Option<String>,
    pub due: Option<String>,
    /// open, done, skipped.
    pub status: String,
    /// Evidence, or why it was skipped.
    pub note: String,
    /// The playbook it came from; empty when added by hand.
    pub playbook: String,
}

impl TaskDto {
    pub fn from_task(task: &firebreak_core::playbook::Task) -> Self {
        TaskDto {
            number: task.number,
            title: task.title.clone(),
            role: task.role.clone(),
            assignee: task.assignee.clone(),
            due: task.due.map(|it| it.to_string()),
            status: task.status.as_str().into(),
            note: task.note.clone(),
            playbook: task.playbook.clone(),
        }
    }
}

#[derive(Serialize, Deserialize, ToSchema, Clone, Debug)]
pub struct ActionDto {
    pub number: i64,
    /// command, script, data_fix, rollback, restart, other.
    pub kind: String,
    pub title: String,
    pub target: String,
    /// low, medium, high.
    pub risk: String,
    pub rollback_plan: String,
    pub destructive: bool,
    /// proposed, approved, rejected, started, succeeded, failed.
    pub status: String,
    pub proposed_by: String,
    pub approved_by: Option<String>,
    pub started_by: Option<String>,
    pub result: String,
}

impl ActionDto {
    pub fn from_action(action: &firebreak_core::action::Action) -> Self {
        ActionDto {
            number: action.number,
            kind: action.kind.as_str().into(),
            title: action.title.clone(),
            target: action.target.clone(),
            risk: action.risk.as_str().into(),
            rollback_plan: action.rollback_plan.clone(),
            destructive: action.destructive,
            status: action.status.as_str().into(),
            proposed_by: action.proposed_by.clone(),
            approved_by: action.approved_by.clone(),
            started_by: action.started_by.clone(),
            result: action.result.clone(),
        }
    }
}

#[derive(Serialize, Deserialize, ToSchema, Clone, Debug)]
pub struct FreezeDto {
    pub since: String,
    pub reason: String,
}

#[derive(Serialize, Deserialize, ToSchema, Clone, Debug)]
pub struct EventDto {
    pub incident_id: String,
    pub incident_reference: String,
    pub seq: i64,
    /// declared, status_changed, severity_changed, details_changed, role_assigned,
    /// role_unassigned, update_posted, note, message_pinned, correction, timestamp_asserted.
    pub kind: String,
    pub actor: String,
    /// When Firebreak recorded it.
    pub observed_at: String,
    /// When it happened, as far as anyone knows.
    pub occurred_at: String,
    /// Kind-specific details.
    #[schema(value_type = Object)]
    pub body: Box<serde_json::value::RawValue>,
    pub prev_hash: String,
    pub hash: String,
}

impl EventDto {
    pub fn from_event(event: &StoredEvent) -> Self {
        Self::from_record(event.record())
    }

    pub fn from_record(event: EventRecord) -> Self {
        EventDto {
            incident_id: event.incident_id.to_string(),
            incident_reference: event.reference.to_string(),
            seq: event.seq,
            kind: event.kind.as_str().to_string(),
            actor: event.actor.to_string(),
            observed_at: from_micros(event.observed_at_us).to_string(),
            occurred_at: from_micros(event.occurred_at_us).to_string(),
            // The stored body is canonical JSON; it is passed through rather than parsed and
            // written again.
            body: serde_json::value::RawValue::from_string(event.body).unwrap_or_default(),
            prev_hash: event.prev_hash,
            hash: event.hash,
        }
    }
}

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct IncidentPage {
    pub items: Vec<IncidentDto>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct EventPage {
    pub items: Vec<EventDto>,
    /// Pass as `after` for the next page; absent when there is nothing more yet.
    pub next_cursor: Option<String>,
}

/// The events a command recorded and the incident's version after it (`reference`,
/// `last_seq`), with the whole incident unless the request said `Prefer: return=minimal`.
#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct CommandResult {
    pub reference: String,
    /// The incident's version: the sequence number of its latest event.
    pub last_seq: i64,
    /// The whole incident after the command; absent with `Prefer: return=minimal`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident: Option<IncidentDto>,
    pub events: Vec<EventDto>,
}
