//! Applying a recorded event to the incident's state: the one place state changes, for
//! `decide`'s draft, the writer, rules and reads alike.

use jiff::Timestamp;

use super::*;

fn observe(incident: &mut Incident, name: TimestampName, at: Timestamp) {
    let slot = incident.timestamps.entry(name).or_default();
    if slot.observed.is_none() {
        slot.observed = Some(at);
    }
}

/// Applies a recorded event to the incident's state. `observed_at` is when it was recorded.
pub fn apply(incident: &mut Incident, event: &EventData, observed_at: Timestamp) {
    match event {
        EventData::Declared { .. } => {}
        EventData::StatusChanged {
            from,
            to,
            merged_into,
        } => {
            incident.status = *to;
            if *from == Status::Triage && !matches!(to, Status::Declined | Status::Merged) {
                observe(incident, TimestampName::Acknowledged, observed_at);
            }
            if *from == Status::Resolved && to.is_live() {
                // A reopen: the incident is no longer resolved or mitigated.
                incident.timestamps.remove(&TimestampName::Resolved);
                incident.timestamps.remove(&TimestampName::Mitigated);
            }
            match to {
                Status::Monitoring => observe(incident, TimestampName::Mitigated, observed_at),
                Status::Resolved => {
                    observe(incident, TimestampName::Mitigated, observed_at);
                    observe(incident, TimestampName::Resolved, observed_at);
                }
                Status::Closed | Status::Declined | Status::Merged => {
                    observe(incident, TimestampName::Closed, observed_at);
                }
                _ => {}
            }
            if !to.is_live() {
                incident.next_update_due = None;
            }
            if merged_into.is_some() {
                incident.merged_into = *merged_into;
            }
        }
        EventData::SeverityChanged { to, .. } => incident.severity = to.clone(),
        EventData::DetailsChanged { to, .. } => match to {
            Detail::Title(it) => incident.title = it.clone(),
            Detail::Summary(it) => incident.summary = it.clone(),
            Detail::Impact(it) => incident.impact = *it,
            Detail::Affected(it) => incident.affected = it.clone(),
            Detail::Services(it) => incident.services = it.clone(),
            Detail::Private(it) => incident.private = *it,
        },
        EventData::RoleAssigned { role, user, .. } => {
            incident.roles.insert(role.clone(), user.clone());
        }
        EventData::RoleUnassigned { role, .. } => {
            incident.roles.remove(role);
        }
        EventData::MemberAdded { member } => {
            incident.members.insert(member.clone());
        }
        EventData::FreezeStarted { reason } => {
            incident.freeze = Some(crate::freeze::Freeze {
                since: observed_at,
                reason: reason.clone(),
            });
        }
        EventData::FreezeEnded { .. } => incident.freeze = None,
        EventData::PlaybookAdded { .. }
        | EventData::TaskAdded { .. }
        | EventData::TaskAssigned { .. }
        | EventData::TaskClosed { .. }
        | EventData::TaskReopened { .. } => crate::playbook::apply(incident, event),
        EventData::UpdateReminder { due, .. } => incident.notices.reminded_for = Some(*due),
        EventData::UpdateOverdue { due, .. } => incident.notices.overdue_for = Some(*due),
        EventData::ActionProposed { .. }
        | EventData::ActionApproved { .. }
        | EventData::ActionRejected { .. }
        | EventData::ActionStarted { .. }
        | EventData::ActionFinished { .. } => action::apply(&mut incident.actions, event),
        EventData::UpdatePosted {
            next_update_due, ..
        } => {
            if next_update_due.is_some() {
                incident.next_update_due = *next_update_due;
            }
            incident.updates_posted += 1;
        }
        EventData::RuleFired { .. }
        | EventData::Thanked { .. }
        | EventData::PublicUpdatePublished { .. }
        | EventData::PostmortemPublished { .. } => {}
        EventData::CadenceSet { minutes, next_due } => {
            incident.coordination.cadence_minutes = Some(*minutes);
            incident.next_update_due = Some(*next_due);
        }
        EventData::RolesRequired { roles } => {
            incident.coordination.required_roles = roles.clone();
        }
        EventData::TaskOverdue { .. } | EventData::DigestSent { .. } => {
            crate::due::apply(incident, event, observed_at)
        }
        EventData::ParticipantJoined { .. }
        | EventData::ParticipantLeft { .. }
        | EventData::Nudged { .. } => crate::presence::apply(incident, event, observed_at),
        EventData::StakeholderAdded { who, mode } => {
            let list = &mut incident.coordination.stakeholders;
            match list.iter_mut().find(|it| &it.who == who) {
                Some(it) => it.mode = *mode,
                None => list.push(crate::coordination::Stakeholder {
                    who: who.clone(),
                    mode: *mode,
                }),
            }
        }
        EventData::StakeholderRemoved { who } => {
            incident
                .coordination
                .stakeholders
                .retain(|it| &it.who != who);
        }
        EventData::Note { .. } | EventData::MessagePinned { .. } | EventData::Correction { .. } => {
        }
        EventData::CallLinkSet { url } => {
            incident.coordination.call_link = Some(url.clone()).filter(|it| !it.is_empty());
        }
        EventData::ChatChannelRequested { name } => {
            incident.coordination.chat_channel = Some(name.clone());
        }
        EventData::TimestampAsserted { name, at, .. } => {
            incident.timestamps.entry(*name).or_default().asserted = Some(*at);
        }
    }
}
