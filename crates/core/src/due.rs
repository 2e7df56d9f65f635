//! Time-driven work: what the clock owes a live incident at a given moment (the update
//! reminder or overdue notice, overdue tasks, the break and food nudges, the digest for
//! passive stakeholders), each once, and the next moment anything will be owed (`wake_at`),
//! which the store keeps on the incident row so a worker finds due incidents with an index.

use jiff::{SignedDuration, Timestamp};

use crate::catalog::Catalog;
use crate::coordination::Informed;
use crate::event::EventData;
use crate::incident::{Incident, TimestampName};
use crate::playbook::TaskStatus;

fn minutes(n: i64) -> SignedDuration {
    SignedDuration::from_mins(n)
}

fn declared_at(incident: &Incident) -> Option<Timestamp> {
    incident.timestamp(TimestampName::Declared).observed
}

/// When the next digest may go to passive stakeholders, if one is owed at all.
fn digest_at(incident: &Incident, catalog: &Catalog) -> Option<Timestamp> {
    let state = &incident.coordination;
    let owed = state.stakeholders(Informed::Passive).next().is_some()
        && incident.updates_posted > state.digest.updates_seen;
    if !owed {
        return None;
    }
    let base = state.digest.last_at.or_else(|| declared_at(incident))?;
    base.checked_add(minutes(catalog.digest_minutes)).ok()
}

/// Everything owed at `now`, in a stable order.
pub fn owed(incident: &Incident, catalog: &Catalog, now: Timestamp) -> Vec<EventData> {
    if !incident.status.is_live() {
        return Vec::new();
    }
    let mut events = Vec::new();
    events.extend(crate::cadence::notice(
        incident,
        now,
        minutes(catalog.remind_before_minutes),
    ));
    for task in &incident.tasks {
        if task.status == TaskStatus::Open
            && !task.overdue_noticed
            && let Some(due) = task.due.filter(|due| *due <= now)
        {
            events.push(EventData::TaskOverdue {
                number: task.number,
                due,
                to: task
                    .assignee
                    .clone()
                    .or_else(|| {
                        task.role
                            .as_ref()
                            .and_then(|it| incident.roles.get(it))
                            .cloned()
                    })
                    .or_else(|| incident.roles.get("lead").cloned()),
            });
        }
    }
    for it in &incident.coordination.participants {
        if it.active()
            && !it.break_nudged
            && now.duration_since(it.joined_at) >= minutes(catalog.break_after_minutes)
        {
            events.push(EventData::Nudged {
                kind: "break".into(),
                to: Some(it.person.clone()),
                text: format!(
                    "You have been on {} for {} minutes. Take a break; hand over if you can.",
                    incident.reference,
                    now.duration_since(it.joined_at).as_mins()
                ),
            });
        }
    }
    if !incident.coordination.food_nudged
        && declared_at(incident)
            .is_some_and(|at| now.duration_since(at) >= minutes(catalog.food_after_minutes))
    {
        events.push(EventData::Nudged {
            kind: "food".into(),
            to: incident.roles.get("lead").cloned(),
            text: format!(
                "{} has been running for over {} hours. Order food for the team.",
                incident.reference,
                catalog.food_after_minutes / 60
            ),
        });
    }
    if digest_at(incident, catalog).is_some_and(|at| at <= now) {
        let state = &incident.coordination;
        events.push(EventData::DigestSent {
            to: state
                .stakeholders(Informed::Passive)
                .map(|it| it.who.clone())
                .collect(),
            updates: incident.updates_posted - state.digest.updates_seen,
            since: state.digest.last_at.or_else(|| declared_at(incident)),
        });
    }
    events
}

/// The earliest moment `owed` will answer something, if ever (while nothing else changes).
pub fn wake_at(incident: &Incident, catalog: &Catalog) -> Option<Timestamp> {
    if !incident.status.is_live() {
        return None;
    }
    let mut times = Vec::new();
    if let Some(due) = incident.next_update_due {
        if incident.notices.reminded_for != Some(due) && incident.notices.overdue_for != Some(due) {
            times.push(
                due.checked_sub(minutes(catalog.remind_before_minutes))
                    .unwrap_or(due),
            );
        } else if incident.notices.overdue_for != Some(due) {
            times.push(due);
        }
    }
    times.extend(
        incident
            .tasks
            .iter()
            .filter(|it| it.status == TaskStatus::Open && !it.overdue_noticed)
            .filter_map(|it| it.due),
    );
    times.extend(
        incident
            .coordination
            .participants
            .iter()
            .filter(|it| it.active() && !it.break_nudged)
            .filter_map(|it| {
                it.joined_at
                    .checked_add(minutes(catalog.break_after_minutes))
                    .ok()
            }),
    );
    if !incident.coordination.food_nudged {
        times.extend(
            declared_at(incident)
                .and_then(|at| at.checked_add(minutes(catalog.food_after_minutes)).ok()),
        );
    }
    times.extend(digest_at(incident, catalog));
    times.into_iter().min()
}

/// How a time-driven event changes the incident.
pub fn apply(incident: &mut Incident, event: &EventData, now: Timestamp) {
    match event {
        EventData::TaskOverdue { number, .. } => {
            if let Some(task) = incident.tasks.iter_mut().find(|it| it.number == *number) {
                task.overdue_noticed = true;
            }
        }
        EventData::DigestSent { .. } => {
            incident.coordination.digest.last_at = Some(now);
            incident.coordination.digest.updates_seen = incident.updates_posted;
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests;
