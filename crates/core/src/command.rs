//! Commands against an incident, `decide` (may it happen, and what events follow?) and
//! `apply` (how the incident's state changes when an event is recorded).

use jiff::{SignedDuration, Timestamp};

use crate::action::{self, ActionError, RawAction};
use crate::catalog::Catalog;
use crate::event::{Detail, EventData};
use crate::hash::GENESIS;
use crate::incident::{
    Affected, ImpactKind, Incident, IncidentId, IncidentType, Mode, Reference, TimestampName,
};
use crate::lifecycle::Status;
use crate::validate::{self, FieldErrors};

mod context;
pub use context::Context;

pub const MAX_TITLE: usize = 200;
pub const MAX_TEXT: usize = 10_000;
pub const MAX_NAME: usize = 200;
pub const MAX_SERVICES: usize = 50;
/// A week: longer than that is not a cadence, it is forgetting.
pub const MAX_NEXT_UPDATE_MINUTES: i64 = 7 * 24 * 60;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DomainError {
    #[error("cannot move an incident from {from} to {to}")]
    InvalidTransition { from: Status, to: Status },
    #[error("invalid input")]
    Validation(FieldErrors),
    #[error(transparent)]
    Action(#[from] ActionError),
    /// Closing waits for a published post-mortem and every follow-up (`closing::check`).
    #[error("{reference} cannot close yet: {}", missing.join("; "))]
    NotReadyToClose {
        reference: Reference,
        missing: Vec<String>,
    },
}

impl From<FieldErrors> for DomainError {
    fn from(errors: FieldErrors) -> Self {
        DomainError::Validation(errors)
    }
}

/// A declare request as it arrives, before parsing.
#[derive(Clone, Debug, Default)]
pub struct RawDeclare {
    pub title: Option<String>,
    pub summary: Option<String>,
    pub severity: Option<String>,
    pub incident_type: Option<String>,
    pub impact: Option<String>,
    pub affected_text: Option<String>,
    pub affected_count: Option<i64>,
    pub services: Option<Vec<String>>,
    pub private: Option<bool>,
    pub mode: Option<String>,
    pub status: Option<String>,
}

/// A declare request that passed every check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewIncident {
    pub title: String,
    pub summary: String,
    pub severity: String,
    pub incident_type: IncidentType,
    pub impact: ImpactKind,
    pub affected: Affected,
    pub services: Vec<String>,
    pub private: bool,
    pub mode: Mode,
    pub status: Status,
}

/// A PATCH as it arrives.
#[derive(Clone, Debug, Default)]
pub struct RawChanges {
    pub title: Option<String>,
    pub summary: Option<String>,
    pub severity: Option<String>,
    pub status: Option<String>,
    pub merged_into: Option<String>,
    pub impact: Option<String>,
    pub affected_text: Option<String>,
    pub affected_count: Option<i64>,
    pub services: Option<Vec<String>>,
    pub private: Option<bool>,
}

/// Everything a responder can ask of an existing incident.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    Change {
        details: Vec<Detail>,
        severity: Option<String>,
        status: Option<Status>,
        merged_into: Option<Reference>,
    },
    PostUpdate {
        message: String,
        status: Option<Status>,
        next_update_in_minutes: Option<i64>,
        public: bool,
    },
    AssignRole {
        role: String,
        user: String,
        /// What the previous holder hands over; the room asks for it on a handoff.
        handover: Option<String>,
    },
    UnassignRole {
        role: String,
    },
    /// Lets a person see a private incident.
    AddMember {
        member: String,
    },
    /// Freezes deploys because of this incident, or lifts its freeze.
    SetFreeze {
        on: bool,
        reason: String,
    },
    /// Records whatever the clock owes the incident `at` (a worker's clock): update
    /// reminder or overdue notice, overdue tasks, nudges, the passive stakeholders' digest.
    Tick {
        at: Timestamp,
    },
    /// A person joins (with their IANA zone) or leaves the incident.
    Presence {
        person: String,
        zone: String,
        join: bool,
    },
    /// Records that the incident's post-mortem was published (its stakeholders and the
    /// announcement target hear of it).
    RecordPostmortemPublished {
        url: String,
    },
    /// Records what was published about this incident on the public status page.
    RecordPublicUpdate {
        public_id: String,
        status: String,
        body: String,
    },
    /// Subscribes someone to the incident's updates, or (`mode: None`) unsubscribes them.
    Stakeholder {
        who: String,
        mode: Option<crate::coordination::Informed>,
    },
    /// A step on the task list; `by` is who asks.
    Task {
        by: String,
        step: crate::playbook::TaskStep,
    },
    /// A step of the action register; `by` is who asks (the server sets it).
    Action {
        by: String,
        step: ActionStep,
    },
    Append {
        entry: Entry,
        occurred_at: Option<Timestamp>,
    },
    AssertTimestamp {
        name: TimestampName,
        at: Timestamp,
        note: String,
    },
    /// Gives the incident a chat channel (once; refused when no chat is configured).
    OpenChannel,
    /// Where the incident's call is (an http(s) link; empty ends it).
    SetCallLink {
        url: String,
    },
}

/// What someone does with the action register.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ActionStep {
    Propose(RawAction),
    Approve {
        number: i64,
    },
    Reject {
        number: i64,
        reason: String,
    },
    Start {
        number: i64,
        backup_taken: bool,
        tried_on_sample: bool,
    },
    Finish {
        number: i64,
        succeeded: bool,
        result: String,
        output: String,
    },
}

/// What a person can append to the timeline by hand.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Entry {
    Note {
        text: String,
    },
    Pinned {
        text: String,
        author: Option<String>,
        link: Option<String>,
    },
    Correction {
        text: String,
        corrects: Option<i64>,
    },
}

/// An event `decide` wants recorded, with the time a human says it happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decided {
    pub data: EventData,
    pub occurred_at: Timestamp,
}

fn parse_severity(errors: &mut FieldErrors, catalog: &Catalog, value: &str) -> String {
    if catalog.severity_rank(value).is_none() {
        errors.add(
            "severity",
            format!(
                "unknown severity {value:?}; expected one of {}",
                catalog.severities.join(", ")
            ),
        );
    }
    value.to_string()
}

fn parse_enum<T: Copy>(
    errors: &mut FieldErrors,
    field: &str,
    value: Option<&str>,
    parse: fn(&str) -> Option<T>,
    expected: fn() -> String,
    default: T,
) -> T {
    match value {
        None => default,
        Some(text) => parse(text).unwrap_or_else(|| {
            errors.add(
                field,
                format!("unknown {field} {text:?}; expected one of {}", expected()),
            );
            default
        }),
    }
}

fn parse_services(errors: &mut FieldErrors, services: Vec<String>) -> Vec<String> {
    let mut res: Vec<String> = Vec::new();
    for service in services {
        let service = service.trim().to_string();
        if service.is_empty() || service.chars().count() > MAX_NAME {
            errors.add(
                "services",
                format!("each service name must be 1–{MAX_NAME} characters"),
            );
        } else if !res.contains(&service) {
            res.push(service);
        }
    }
    if res.len() > MAX_SERVICES {
        errors.add("services", format!("at most {MAX_SERVICES} services"));
    }
    res
}

fn parse_affected(errors: &mut FieldErrors, text: Option<String>, count: Option<i64>) -> Affected {
    let text = validate::text(errors, "affected", text.as_deref(), 0, MAX_TEXT);
    if count.is_some_and(|it| it < 0) {
        errors.add("affected_count", "affected_count cannot be negative");
    }
    Affected { text, count }
}

/// Checks a declare request; every bad field is reported at once.
pub fn parse_declare(raw: RawDeclare, catalog: &Catalog) -> Result<NewIncident, FieldErrors> {
    let mut errors = FieldErrors::default();
    let title = validate::text(&mut errors, "title", raw.title.as_deref(), 1, MAX_TITLE);
    let summary = validate::text(&mut errors, "summary", raw.summary.as_deref(), 0, MAX_TEXT);
    let severity = match raw.severity.as_deref() {
        Some(severity) => parse_severity(&mut errors, catalog, severity),
        None => catalog.default_severity().to_string(),
    };
    let incident_type = parse_enum(
        &mut errors,
        "type",
        raw.incident_type.as_deref(),
        IncidentType::parse,
        IncidentType::expected,
        IncidentType::Default,
    );
    let impact = parse_enum(
        &mut errors,
        "impact",
        raw.impact.as_deref(),
        ImpactKind::parse,
        ImpactKind::expected,
        ImpactKind::Degradation,
    );
    let mode = parse_enum(
        &mut errors,
        "mode",
        raw.mode.as_deref(),
        Mode::parse,
        Mode::expected,
        Mode::Real,
    );
    let status = match raw.status.as_deref() {
        None | Some("investigating") => Status::Investigating,
        Some("triage") => Status::Triage,
        Some(other) => {
            errors.add(
                "status",
                format!("an incident is declared in triage or investigating, not {other:?}"),
            );
            Status::Investigating
        }
    };
    let affected = parse_affected(&mut errors, raw.affected_text, raw.affected_count);
    let services = parse_services(&mut errors, raw.services.unwrap_or_default());
    // Security incidents are private unless the declarer explicitly says otherwise.
    let private = raw
        .private
        .unwrap_or(incident_type == IncidentType::Security);
    errors.into_result()?;
    Ok(NewIncident {
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
    })
}

/// Checks a PATCH against the incident it applies to and turns it into a command.
pub fn parse_changes(
    raw: RawChanges,
    current: &Incident,
    catalog: &Catalog,
) -> Result<Command, FieldErrors> {
    let mut errors = FieldErrors::default();
    let mut details = Vec::new();
    if let Some(title) = raw.title {
        details.push(Detail::Title(validate::text(
            &mut errors,
            "title",
            Some(&title),
            1,
            MAX_TITLE,
        )));
    }
    if let Some(summary) = raw.summary {
        details.push(Detail::Summary(validate::text(
            &mut errors,
            "summary",
            Some(&summary),
            0,
            MAX_TEXT,
        )));
    }
    if let Some(impact) = raw.impact.as_deref() {
        let impact = parse_enum(
            &mut errors,
            "impact",
            Some(impact),
            ImpactKind::parse,
            ImpactKind::expected,
            current.impact,
        );
        details.push(Detail::Impact(impact));
    }
    if raw.affected_text.is_some() || raw.affected_count.is_some() {
        let text = raw
            .affected_text
            .or_else(|| Some(current.affected.text.clone()));
        let count = raw.affected_count.or(current.affected.count);
        details.push(Detail::Affected(parse_affected(&mut errors, text, count)));
    }
    if let Some(services) = raw.services {
        details.push(Detail::Services(parse_services(&mut errors, services)));
    }
    if let Some(private) = raw.private {
        details.push(Detail::Private(private));
    }
    let severity = raw
        .severity
        .map(|it| parse_severity(&mut errors, catalog, &it));
    let status = raw.status.as_deref().and_then(|text| {
        let status = Status::parse(text);
        if status.is_none() {
            errors.add("status", format!("unknown status {text:?}"));
        }
        status
    });
    let merged_into = raw.merged_into.as_deref().and_then(|text| {
        let reference = Reference::parse(text);
        if reference.is_none() {
            errors.add(
                "merged_into",
                format!("{text:?} is not an incident reference like INC-12"),
            );
        }
        reference
    });
    if status == Some(Status::Merged) && raw.merged_into.is_none() {
        errors.add(
            "merged_into",
            "merging needs the reference of the incident to merge into",
        );
    }
    if merged_into == Some(current.reference) {
        errors.add("merged_into", "an incident cannot be merged into itself");
    }
    errors.into_result()?;
    Ok(Command::Change {
        details,
        severity,
        status,
        merged_into,
    })
}

/// Builds a new incident and its `declared` event.
pub fn declare(
    new: NewIncident,
    id: IncidentId,
    reference: Reference,
    actor: &str,
    now: Timestamp,
) -> (Incident, EventData) {
    let event = EventData::Declared {
        reference,
        title: new.title.clone(),
        summary: new.summary.clone(),
        severity: new.severity.clone(),
        incident_type: new.incident_type,
        impact: new.impact,
        affected: new.affected.clone(),
        services: new.services.clone(),
        private: new.private,
        mode: new.mode,
        status: new.status,
    };
    let mut incident = Incident {
        id,
        reference,
        title: new.title,
        summary: new.summary,
        severity: new.severity,
        incident_type: new.incident_type,
        impact: new.impact,
        affected: new.affected,
        services: new.services,
        private: new.private,
        mode: new.mode,
        status: new.status,
        roles: Default::default(),
        freeze: None,
        actions: Vec::new(),
        tasks: Vec::new(),
        playbooks: Vec::new(),
        // Whoever declares a private incident can see it.
        members: if new.private {
            [actor.to_string()].into()
        } else {
            Default::default()
        },
        next_update_due: None,
        notices: Default::default(),
        updates_posted: 0,
        coordination: Default::default(),
        timestamps: Default::default(),
        merged_into: None,
        created_by: actor.to_string(),
        last_seq: 0,
        last_hash: GENESIS.to_string(),
    };
    incident
        .timestamps
        .entry(TimestampName::Declared)
        .or_default()
        .observed = Some(now);
    if new.status != Status::Triage {
        incident
            .timestamps
            .entry(TimestampName::Acknowledged)
            .or_default()
            .observed = Some(now);
    }
    (incident, event)
}

fn transition(
    incident: &Incident,
    to: Status,
    merged_into: Option<Reference>,
    learning: &crate::closing::Learning,
) -> Result<Option<EventData>, DomainError> {
    if to == incident.status {
        return Ok(None);
    }
    if !incident.status.can_become(to) {
        return Err(DomainError::InvalidTransition {
            from: incident.status,
            to,
        });
    }
    if to == Status::Closed {
        crate::closing::check(incident, learning)?;
    }
    Ok(Some(EventData::StatusChanged {
        from: incident.status,
        to,
        merged_into,
    }))
}

/// Decides which events a command produces against the incident's current state.
/// An empty list means the command changes nothing (assigning a role to its holder).
pub fn decide(
    incident: &Incident,
    context: &Context<'_>,
    command: Command,
) -> Result<Vec<Decided>, DomainError> {
    let (catalog, now) = (context.catalog, context.now);
    let at_now = |data| Decided {
        data,
        occurred_at: now,
    };
    let mut events = Vec::new();
    match command {
        Command::Change {
            details,
            severity,
            status,
            merged_into,
        } => {
            for detail in details {
                let from = current_detail(incident, &detail);
                if from != detail {
                    events.push(at_now(EventData::DetailsChanged { from, to: detail }));
                }
            }
            if let Some(severity) = severity.filter(|it| *it != incident.severity) {
                events.push(at_now(EventData::SeverityChanged {
                    from: incident.severity.clone(),
                    to: severity,
                }));
            }
            if let Some(status) = status {
                events.extend(
                    transition(incident, status, merged_into, &context.learning)?.map(at_now),
                );
            }
        }
        Command::PostUpdate {
            message,
            status,
            next_update_in_minutes,
            public,
        } => {
            let mut errors = FieldErrors::default();
            let message = validate::text(&mut errors, "message", Some(&message), 1, MAX_TEXT);
            if let Some(minutes) = next_update_in_minutes
                && !(1..=MAX_NEXT_UPDATE_MINUTES).contains(&minutes)
            {
                errors.add(
                    "next_update_in_minutes",
                    format!("must be between 1 and {MAX_NEXT_UPDATE_MINUTES}"),
                );
            }
            if status == Some(Status::Merged) {
                errors.add("status", "merging needs PATCH with merged_into");
            }
            errors.into_result()?;
            if let Some(status) = status {
                events.extend(transition(incident, status, None, &context.learning)?.map(at_now));
            }
            let final_status = status.unwrap_or(incident.status);
            // Without a time, the next update is due after the severity's cadence.
            let cadence = incident
                .coordination
                .cadence_minutes
                .or_else(|| catalog.cadence_minutes.get(&incident.severity).copied());
            let next_update_due = next_update_in_minutes
                .or(cadence)
                .filter(|_| final_status.is_live())
                .map(|minutes| now + SignedDuration::from_mins(minutes));
            events.push(at_now(EventData::UpdatePosted {
                message,
                status,
                next_update_due,
                public,
            }));
        }
        Command::AssignRole {
            role,
            user,
            handover,
        } => {
            let mut errors = FieldErrors::default();
            if !catalog.has_role(&role) {
                errors.add(
                    "role",
                    format!(
                        "unknown role {role:?}; expected one of {}",
                        catalog.roles.join(", ")
                    ),
                );
            }
            let user = validate::text(&mut errors, "user", Some(&user), 1, MAX_NAME);
            let handover =
                validate::text(&mut errors, "handover", handover.as_deref(), 0, MAX_TEXT);
            errors.into_result()?;
            let previous = incident.roles.get(&role).cloned();
            let handover = Some(handover).filter(|it| !it.is_empty() && previous.is_some());
            if previous.as_deref() != Some(user.as_str()) {
                // Holding a role on a private incident means being able to see it.
                if incident.private && !incident.members.contains(&user) {
                    events.push(at_now(EventData::MemberAdded {
                        member: user.clone(),
                    }));
                }
                events.push(at_now(EventData::RoleAssigned {
                    role,
                    user,
                    previous,
                    handover,
                }));
            }
        }
        Command::UnassignRole { role } => {
            if !catalog.has_role(&role) {
                let mut errors = FieldErrors::default();
                errors.add(
                    "role",
                    format!(
                        "unknown role {role:?}; expected one of {}",
                        catalog.roles.join(", ")
                    ),
                );
                return Err(errors.into());
            }
            if let Some(previous) = incident.roles.get(&role).cloned() {
                events.push(at_now(EventData::RoleUnassigned { role, previous }));
            }
        }
        Command::AddMember { member } => {
            let mut errors = FieldErrors::default();
            let member = validate::text(&mut errors, "member", Some(&member), 1, MAX_NAME);
            errors.into_result()?;
            if !incident.members.contains(&member) {
                events.push(at_now(EventData::MemberAdded { member }));
            }
        }
        Command::Task { by, step } => {
            if let Some(event) = crate::playbook::decide(incident, step, &by, now)? {
                events.push(at_now(event));
            }
        }
        Command::Tick { at } => {
            for data in crate::due::owed(incident, catalog, at) {
                events.push(Decided {
                    data,
                    occurred_at: at.min(now),
                });
            }
        }
        Command::Presence { person, zone, join } => {
            if join {
                if !incident.status.is_live() {
                    let mut errors = FieldErrors::default();
                    errors.add(
                        "status",
                        format!(
                            "{} is {}; there is nothing to join",
                            incident.reference, incident.status
                        ),
                    );
                    return Err(errors.into());
                }
                if !incident.coordination.is_active_participant(&person) {
                    events.push(at_now(EventData::ParticipantJoined { person, zone }));
                }
            } else if let Some(left) =
                crate::presence::leave(incident, &person, now, &catalog.working_hours)
            {
                events.push(at_now(left));
            }
        }
        Command::RecordPostmortemPublished { url } => {
            events.push(at_now(EventData::PostmortemPublished { url }))
        }
        Command::RecordPublicUpdate {
            public_id,
            status,
            body,
        } => events.push(at_now(EventData::PublicUpdatePublished {
            public_id,
            status,
            body,
        })),
        Command::Stakeholder { who, mode } => {
            let Some(who) = crate::person::parse_email(&who) else {
                let mut errors = FieldErrors::default();
                errors.add(
                    "who",
                    "must be an email address (a person or a team's list)",
                );
                return Err(errors.into());
            };
            let current = incident
                .coordination
                .stakeholders
                .iter()
                .find(|it| it.who == who)
                .map(|it| it.mode);
            match mode {
                Some(mode) if current != Some(mode) => {
                    events.push(at_now(EventData::StakeholderAdded { who, mode }))
                }
                None if current.is_some() => {
                    events.push(at_now(EventData::StakeholderRemoved { who }))
                }
                _ => {}
            }
        }
        Command::Action { by, step } => {
            let data = match step {
                ActionStep::Propose(raw) => action::propose(incident, raw, &by)?,
                ActionStep::Approve { number } => action::approve(incident, number, &by)?,
                ActionStep::Reject { number, reason } => {
                    action::reject(incident, number, &by, &reason)?
                }
                ActionStep::Start {
                    number,
                    backup_taken,
                    tried_on_sample,
                } => action::start(incident, number, &by, backup_taken, tried_on_sample)?,
                ActionStep::Finish {
                    number,
                    succeeded,
                    result,
                    output,
                } => action::finish(incident, number, succeeded, &result, &output)?,
            };
            events.push(at_now(data));
        }
        Command::SetFreeze { on, reason } => {
            let mut errors = FieldErrors::default();
            let reason = validate::text(&mut errors, "reason", Some(&reason), 0, MAX_TEXT);
            errors.into_result()?;
            let reason = if reason.is_empty() {
                "by hand".to_string()
            } else {
                reason
            };
            match (on, incident.freeze.is_some()) {
                (true, false) => events.push(at_now(EventData::FreezeStarted { reason })),
                (false, true) => events.push(at_now(EventData::FreezeEnded { reason })),
                _ => {}
            }
        }
        Command::Append { entry, occurred_at } => {
            let mut errors = FieldErrors::default();
            let data = match entry {
                Entry::Note { text } => EventData::Note {
                    text: validate::text(&mut errors, "text", Some(&text), 1, MAX_TEXT),
                },
                Entry::Pinned { text, author, link } => EventData::MessagePinned {
                    text: validate::text(&mut errors, "text", Some(&text), 1, MAX_TEXT),
                    author,
                    link,
                },
                Entry::Correction { text, corrects } => {
                    if corrects.is_some_and(|seq| seq < 1 || seq > incident.last_seq) {
                        errors.add(
                            "corrects",
                            format!(
                                "no event with that seq; this incident has events 1–{}",
                                incident.last_seq
                            ),
                        );
                    }
                    EventData::Correction {
                        text: validate::text(&mut errors, "text", Some(&text), 1, MAX_TEXT),
                        corrects,
                    }
                }
            };
            if occurred_at.is_some_and(|at| at > now) {
                errors.add("occurred_at", "occurred_at cannot be in the future");
            }
            errors.into_result()?;
            events.push(Decided {
                data,
                occurred_at: occurred_at.unwrap_or(now),
            });
        }
        Command::AssertTimestamp { name, at, note } => {
            let mut errors = FieldErrors::default();
            if at > now {
                errors.add("at", "an asserted time cannot be in the future");
            }
            let note = validate::text(&mut errors, "note", Some(&note), 0, MAX_TEXT);
            errors.into_result()?;
            events.push(Decided {
                data: EventData::TimestampAsserted { name, at, note },
                occurred_at: at,
            });
        }
        Command::SetCallLink { url } => {
            let url = url.trim().to_string();
            let mut errors = FieldErrors::default();
            if !url.is_empty()
                && (url.len() > 2048
                    || !(url.starts_with("https://") || url.starts_with("http://"))
                    || url.contains(char::is_whitespace))
            {
                errors.add(
                    "url",
                    "an http(s) link to the call, e.g. https://meet.example.com/abc",
                );
            }
            errors.into_result()?;
            if incident.coordination.call_link.as_deref().unwrap_or("") != url {
                events.push(at_now(EventData::CallLinkSet { url }));
            }
        }
        Command::OpenChannel => {
            if catalog.chat.is_none() {
                let mut errors = FieldErrors::default();
                errors.add(
                    "chat",
                    "no chat platform is configured ([chat.slack], [chat.matrix])",
                );
                return Err(errors.into());
            }
            if let Some(data) = crate::chat::open_channel(incident, catalog) {
                events.push(at_now(data));
            }
        }
    }
    Ok(events)
}

fn current_detail(incident: &Incident, detail: &Detail) -> Detail {
    match detail {
        Detail::Title(_) => Detail::Title(incident.title.clone()),
        Detail::Summary(_) => Detail::Summary(incident.summary.clone()),
        Detail::Impact(_) => Detail::Impact(incident.impact),
        Detail::Affected(_) => Detail::Affected(incident.affected.clone()),
        Detail::Services(_) => Detail::Services(incident.services.clone()),
        Detail::Private(_) => Detail::Private(incident.private),
    }
}

mod apply;
pub use apply::apply;

#[cfg(test)]
pub(crate) mod tests;
