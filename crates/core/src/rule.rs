//! Workflow rules: *when* something happens to an incident, *if* it matches, *then* do these
//! things. Rules are data (configuration); this module decides, as a pure function of the
//! events a command just produced and the incident after them, which rules fire and which
//! events their effects add. The writer runs it in the same transaction as the command, so
//! a firing exists exactly when its trigger does: never lost, never doubled. Each firing is
//! a `rule_fired` event; its notifications leave through the outbox like every other event.

use jiff::{SignedDuration, Timestamp};

use crate::catalog::Catalog;
use crate::event::EventData;
use crate::incident::{Incident, IncidentType, Mode, text_enum};
use crate::lifecycle::Status;
use crate::playbook;

use std::fmt;

text_enum!(Trigger {
    Declared = "declared",
    SeverityChanged = "severity_changed",
    SeverityRaised = "severity_raised",
    StatusChanged = "status_changed",
    Reopened = "reopened",
    Resolved = "resolved",
    RoleAssigned = "role_assigned",
    UpdateOverdue = "update_overdue",
    TaskOverdue = "task_overdue",
});

/// What an incident must be like for a rule to fire. Empty lists and `None` match anything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Conditions {
    /// This severity or a more severe one.
    pub severity_at_least: Option<String>,
    pub severities: Vec<String>,
    pub types: Vec<IncidentType>,
    /// At least one of these services is affected.
    pub services: Vec<String>,
    pub private: Option<bool>,
    pub mode: Option<Mode>,
}

impl Conditions {
    pub fn hold(&self, incident: &Incident, catalog: &Catalog) -> bool {
        let severity_ok = match &self.severity_at_least {
            None => true,
            Some(bar) => match (
                catalog.severity_rank(&incident.severity),
                catalog.severity_rank(bar),
            ) {
                (Some(rank), Some(bar)) => rank <= bar,
                _ => false,
            },
        };
        severity_ok
            && (self.severities.is_empty() || self.severities.contains(&incident.severity))
            && (self.types.is_empty() || self.types.contains(&incident.incident_type))
            && (self.services.is_empty()
                || self
                    .services
                    .iter()
                    .any(|it| incident.services.contains(it)))
            && self.private.is_none_or(|it| it == incident.private)
            && self.mode.is_none_or(|it| it == incident.mode)
    }
}

/// One thing a rule does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Adds the named playbook (once per incident).
    AddPlaybook(String),
    /// Adds every playbook whose own severities and types match (once each).
    AddMatchingPlaybooks,
    /// Notifies a configured target (webhook, email) through the outbox.
    Notify(String),
    /// Sets the update interval; `None` means the severity's default.
    SetCadence(Option<i64>),
    FreezeDeploys,
    /// These roles must be filled; the room shows the ones still empty.
    RequireRoles(Vec<String>),
    /// Gives the incident a chat channel (when chat is configured).
    OpenChannel,
}

impl Effect {
    fn describe(&self) -> String {
        match self {
            Effect::AddPlaybook(name) => format!("add playbook {name:?}"),
            Effect::AddMatchingPlaybooks => "add matching playbooks".into(),
            Effect::Notify(target) => format!("notify {target}"),
            Effect::SetCadence(Some(minutes)) => format!("updates every {minutes} min"),
            Effect::SetCadence(None) => "updates on the severity's cadence".into(),
            Effect::FreezeDeploys => "freeze deploys".into(),
            Effect::RequireRoles(roles) => format!("require {}", roles.join(", ")),
            Effect::OpenChannel => "open a chat channel".into(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    pub name: String,
    pub when: Vec<Trigger>,
    pub conditions: Conditions,
    pub then: Vec<Effect>,
}

/// The rules an installation runs when its configuration names none: the seeds' playbook
/// for serious incidents, and the company-wide announcement of declare, raise and all-clear.
pub fn default_rules() -> Vec<Rule> {
    let serious = Conditions {
        severity_at_least: Some("major".into()),
        ..Conditions::default()
    };
    vec![
        Rule {
            name: "serious incident".into(),
            when: vec![
                Trigger::Declared,
                Trigger::SeverityRaised,
                Trigger::Reopened,
            ],
            conditions: serious.clone(),
            then: vec![
                Effect::OpenChannel,
                Effect::AddMatchingPlaybooks,
                Effect::SetCadence(None),
                Effect::FreezeDeploys,
                Effect::RequireRoles(vec!["lead".into(), "comms".into()]),
                Effect::Notify("announcements".into()),
            ],
        },
        Rule {
            name: "all-clear".into(),
            when: vec![Trigger::Resolved],
            conditions: serious,
            then: vec![Effect::Notify("announcements".into())],
        },
    ]
}

/// The triggers a list of events sets off, in order, without repeats.
pub fn triggers(events: &[&EventData], catalog: &Catalog) -> Vec<Trigger> {
    let mut found = Vec::new();
    let mut push = |trigger: Trigger| {
        if !found.contains(&trigger) {
            found.push(trigger);
        }
    };
    for event in events {
        match event {
            EventData::Declared { .. } => push(Trigger::Declared),
            EventData::SeverityChanged { from, to } => {
                push(Trigger::SeverityChanged);
                if let (Some(from), Some(to)) =
                    (catalog.severity_rank(from), catalog.severity_rank(to))
                    && to < from
                {
                    push(Trigger::SeverityRaised);
                }
            }
            EventData::StatusChanged { from, to, .. } => {
                push(Trigger::StatusChanged);
                if *to == Status::Resolved {
                    push(Trigger::Resolved);
                }
                if !from.is_live() && to.is_live() {
                    push(Trigger::Reopened);
                }
            }
            EventData::RoleAssigned { .. } => push(Trigger::RoleAssigned),
            EventData::UpdateOverdue { .. } => push(Trigger::UpdateOverdue),
            EventData::TaskOverdue { .. } => push(Trigger::TaskOverdue),
            EventData::DetailsChanged { .. }
            | EventData::RoleUnassigned { .. }
            | EventData::MemberAdded { .. }
            | EventData::FreezeStarted { .. }
            | EventData::PlaybookAdded { .. }
            | EventData::TaskAdded { .. }
            | EventData::TaskAssigned { .. }
            | EventData::TaskClosed { .. }
            | EventData::TaskReopened { .. }
            | EventData::UpdateReminder { .. }
            | EventData::ActionProposed { .. }
            | EventData::ActionApproved { .. }
            | EventData::ActionRejected { .. }
            | EventData::ActionStarted { .. }
            | EventData::ActionFinished { .. }
            | EventData::FreezeEnded { .. }
            | EventData::UpdatePosted { .. }
            | EventData::Note { .. }
            | EventData::MessagePinned { .. }
            | EventData::ChatChannelRequested { .. }
            | EventData::CallLinkSet { .. }
            | EventData::Correction { .. }
            | EventData::TimestampAsserted { .. }
            | EventData::RuleFired { .. }
            | EventData::CadenceSet { .. }
            | EventData::RolesRequired { .. }
            | EventData::ParticipantJoined { .. }
            | EventData::ParticipantLeft { .. }
            | EventData::Nudged { .. }
            | EventData::Thanked { .. }
            | EventData::StakeholderAdded { .. }
            | EventData::StakeholderRemoved { .. }
            | EventData::PostmortemPublished { .. }
            | EventData::PublicUpdatePublished { .. }
            | EventData::DigestSent { .. } => {}
        }
    }
    found
}

/// The events the rules add after `events` left the incident as `incident` is now: for each
/// rule that fires, a `rule_fired` event and then the events of its effects. `apply` is how
/// the caller applies each event before the next is decided, so effects see each other.
pub fn fire(
    incident: &mut Incident,
    events: &[&EventData],
    catalog: &Catalog,
    now: Timestamp,
    apply: &mut dyn FnMut(&mut Incident, &EventData),
) -> Vec<EventData> {
    let fired_by = triggers(events, catalog);
    let mut added = Vec::new();
    for rule in &catalog.rules {
        let Some(trigger) = rule.when.iter().find(|it| fired_by.contains(it)) else {
            continue;
        };
        if !rule.conditions.hold(incident, catalog) {
            continue;
        }
        let mut effects = Vec::new();
        let mut notify = Vec::new();
        let mut made_events = Vec::new();
        let mut draft = incident.clone();
        for effect in &rule.then {
            let made = effect_events(effect, &draft, catalog, now);
            if let Effect::Notify(target) = effect {
                notify.push(target.clone());
            } else if made.is_empty() {
                // Already so (playbook added, deploys frozen…): nothing to record.
                continue;
            }
            effects.push(match made.first() {
                Some(EventData::CadenceSet { minutes, .. }) => {
                    format!("updates every {minutes} min")
                }
                _ => effect.describe(),
            });
            for event in made {
                apply(&mut draft, &event);
                made_events.push(event);
            }
        }
        if effects.is_empty() {
            continue;
        }
        let fired = EventData::RuleFired {
            rule: rule.name.clone(),
            trigger: trigger.as_str().to_string(),
            effects,
            notify,
        };
        apply(incident, &fired);
        added.push(fired);
        for event in made_events {
            apply(incident, &event);
            added.push(event);
        }
    }
    added
}

pub(crate) fn effect_events(
    effect: &Effect,
    incident: &Incident,
    catalog: &Catalog,
    now: Timestamp,
) -> Vec<EventData> {
    let live = incident.status.is_live();
    match effect {
        Effect::Notify(_) => Vec::new(),
        Effect::AddPlaybook(name) => catalog
            .playbooks
            .iter()
            .filter(|it| &it.name == name && live && !incident.playbooks.contains(&it.name))
            .take(1)
            .map(|it| playbook::instantiate(it, incident, now))
            .collect(),
        Effect::AddMatchingPlaybooks => {
            let mut draft = incident.clone();
            let mut made = Vec::new();
            if live {
                for book in &catalog.playbooks {
                    if book.applies_to(&draft) && !draft.playbooks.contains(&book.name) {
                        let event = playbook::instantiate(book, &draft, now);
                        playbook::apply(&mut draft, &event);
                        made.push(event);
                    }
                }
            }
            made
        }
        Effect::SetCadence(minutes) => {
            let minutes =
                minutes.or_else(|| catalog.cadence_minutes.get(&incident.severity).copied());
            match minutes {
                Some(minutes) if live && incident.coordination.cadence_minutes != Some(minutes) => {
                    let next = now + SignedDuration::from_mins(minutes);
                    // An update already promised sooner stays promised.
                    let next_due = match incident.next_update_due {
                        Some(due) if due <= next => due,
                        _ => next,
                    };
                    vec![EventData::CadenceSet { minutes, next_due }]
                }
                _ => Vec::new(),
            }
        }
        Effect::OpenChannel => {
            if live {
                crate::chat::open_channel(incident, catalog)
                    .into_iter()
                    .collect()
            } else {
                Vec::new()
            }
        }
        Effect::FreezeDeploys => {
            if live && incident.freeze.is_none() {
                vec![EventData::FreezeStarted {
                    reason: format!("{} incident is live (rule)", incident.severity),
                }]
            } else {
                Vec::new()
            }
        }
        Effect::RequireRoles(roles) => {
            let missing: Vec<String> = roles
                .iter()
                .filter(|it| !incident.coordination.required_roles.contains(it))
                .cloned()
                .collect();
            if live && !missing.is_empty() {
                let mut all = incident.coordination.required_roles.clone();
                all.extend(missing);
                vec![EventData::RolesRequired { roles: all }]
            } else {
                Vec::new()
            }
        }
    }
}

#[cfg(test)]
mod tests;
