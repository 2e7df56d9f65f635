//! Playbooks: the tasks an incident of some severity and type should not forget, added to
//! the incident as it is declared (or raised into a playbook's reach), and the task list
//! people work through — assigned, due, done or skipped with a note, all on the timeline.

use jiff::{SignedDuration, Timestamp};

use crate::event::EventData;
use crate::incident::{Incident, IncidentType};
use crate::validate::{self, FieldErrors};

/// A template task: what, for which role, due how long after the playbook is added.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskTemplate {
    pub title: String,
    pub role: Option<String>,
    pub due_minutes: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Playbook {
    pub name: String,
    /// Applies to these severities; empty means every severity.
    pub severities: Vec<String>,
    /// Applies to these types; empty means every type.
    pub types: Vec<IncidentType>,
    pub tasks: Vec<TaskTemplate>,
}

impl Playbook {
    pub fn applies_to(&self, incident: &Incident) -> bool {
        (self.severities.is_empty() || self.severities.contains(&incident.severity))
            && (self.types.is_empty() || self.types.contains(&incident.incident_type))
    }
}

/// The seeds' playbook for serious incidents.
pub fn default_playbooks() -> Vec<Playbook> {
    let task = |title: &str, role: Option<&str>, due_minutes: Option<i64>| TaskTemplate {
        title: title.to_string(),
        role: role.map(String::from),
        due_minutes,
    };
    vec![Playbook {
        name: "serious incident".into(),
        severities: vec!["critical".into(), "major".into()],
        types: Vec::new(),
        tasks: vec![
            task("Pick an incident lead and a comms lead", None, Some(5)),
            task("Open the incident channel", Some("lead"), Some(5)),
            task(
                "Announce in the company-wide channel",
                Some("comms"),
                Some(15),
            ),
            task(
                "Cancel or move the responders' meetings",
                Some("lead"),
                Some(30),
            ),
            task("Huddle with stakeholders", Some("comms"), Some(30)),
            task("Open a status page incident", Some("comms"), Some(15)),
            task(
                "Tell support the scope of impact and the expected resolution time",
                Some("comms"),
                Some(30),
            ),
            task("Take a backup before any data fix", Some("lead"), None),
            task(
                "Stop the bleeding before the root cause (rollback first)",
                Some("lead"),
                None,
            ),
            task("Give the all-clear", Some("comms"), None),
            task(
                "Schedule the retrospective within a week",
                Some("lead"),
                None,
            ),
        ],
    }]
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskStatus {
    Open,
    Done,
    Skipped,
}

impl TaskStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Open => "open",
            TaskStatus::Done => "done",
            TaskStatus::Skipped => "skipped",
        }
    }

    pub fn parse(text: &str) -> Option<TaskStatus> {
        [TaskStatus::Open, TaskStatus::Done, TaskStatus::Skipped]
            .into_iter()
            .find(|it| it.as_str() == text)
    }
}

/// One task on an incident.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Task {
    pub number: i64,
    pub title: String,
    /// The role expected to do it (its holder, when no one is named).
    pub role: Option<String>,
    pub assignee: Option<String>,
    pub due: Option<Timestamp>,
    pub status: TaskStatus,
    pub note: String,
    /// The playbook it came from; empty for a task added by hand.
    pub playbook: String,
    /// Its overdue notice was given.
    pub overdue_noticed: bool,
}

/// The `playbook_added` event that puts `playbook`'s tasks on `incident`, numbered after
/// its existing tasks and due from `now`.
pub fn instantiate(playbook: &Playbook, incident: &Incident, now: Timestamp) -> EventData {
    let first = incident.tasks.len() as i64 + 1;
    let tasks = playbook
        .tasks
        .iter()
        .zip(first..)
        .map(|(template, number)| Task {
            number,
            title: template.title.clone(),
            role: template.role.clone(),
            assignee: None,
            due: template
                .due_minutes
                .and_then(|minutes| now.checked_add(SignedDuration::from_mins(minutes)).ok()),
            status: TaskStatus::Open,
            note: String::new(),
            playbook: playbook.name.clone(),
            overdue_noticed: false,
        })
        .collect();
    EventData::PlaybookAdded {
        name: playbook.name.clone(),
        tasks,
    }
}

/// What someone does with the task list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TaskStep {
    Add {
        title: String,
        assignee: Option<String>,
        due_in_minutes: Option<i64>,
    },
    Assign {
        number: i64,
        assignee: String,
    },
    /// Done or skipped, with an optional note (evidence, or why not).
    Close {
        number: i64,
        done: bool,
        note: String,
    },
    Reopen {
        number: i64,
    },
}

fn find(incident: &Incident, number: i64) -> Result<&Task, FieldErrors> {
    incident
        .tasks
        .iter()
        .find(|it| it.number == number)
        .ok_or_else(|| {
            let mut errors = FieldErrors::default();
            errors.add(
                "task",
                format!("there is no task #{number} on this incident"),
            );
            errors
        })
}

/// The event a task step records, if it changes anything.
pub fn decide(
    incident: &Incident,
    step: TaskStep,
    by: &str,
    now: Timestamp,
) -> Result<Option<EventData>, FieldErrors> {
    let mut errors = FieldErrors::default();
    let event = match step {
        TaskStep::Add {
            title,
            assignee,
            due_in_minutes,
        } => {
            let title = validate::text(&mut errors, "title", Some(&title), 1, 500);
            if due_in_minutes
                .is_some_and(|it| !(1..=crate::command::MAX_NEXT_UPDATE_MINUTES).contains(&it))
            {
                errors.add("due_in_minutes", "must be between 1 minute and a week");
            }
            errors.into_result()?;
            Some(EventData::TaskAdded {
                task: Task {
                    number: incident.tasks.len() as i64 + 1,
                    title,
                    role: None,
                    assignee: assignee
                        .map(|it| it.trim().to_string())
                        .filter(|it| !it.is_empty()),
                    due: due_in_minutes.map(|minutes| now + SignedDuration::from_mins(minutes)),
                    status: TaskStatus::Open,
                    note: String::new(),
                    playbook: String::new(),
                    overdue_noticed: false,
                },
            })
        }
        TaskStep::Assign { number, assignee } => {
            let task = find(incident, number)?;
            let assignee = validate::text(&mut errors, "assignee", Some(&assignee), 1, 200);
            errors.into_result()?;
            (task.assignee.as_deref() != Some(assignee.as_str()))
                .then_some(EventData::TaskAssigned { number, assignee })
        }
        TaskStep::Close { number, done, note } => {
            let task = find(incident, number)?;
            let note = validate::text(&mut errors, "note", Some(&note), 0, 5_000);
            errors.into_result()?;
            let status = if done {
                TaskStatus::Done
            } else {
                TaskStatus::Skipped
            };
            (task.status != status).then(|| EventData::TaskClosed {
                number,
                status,
                by: by.to_string(),
                note,
            })
        }
        TaskStep::Reopen { number } => {
            let task = find(incident, number)?;
            (task.status != TaskStatus::Open).then_some(EventData::TaskReopened { number })
        }
    };
    Ok(event)
}

fn task_mut(incident: &mut Incident, number: i64) -> Option<&mut Task> {
    incident.tasks.iter_mut().find(|it| it.number == number)
}

/// How a task event changes the incident.
pub fn apply(incident: &mut Incident, event: &EventData) {
    match event {
        EventData::PlaybookAdded { name, tasks } => {
            incident.playbooks.push(name.clone());
            incident.tasks.extend(tasks.iter().cloned());
        }
        EventData::TaskAdded { task } => incident.tasks.push(task.clone()),
        EventData::TaskAssigned { number, assignee } => {
            if let Some(it) = task_mut(incident, *number) {
                it.assignee = Some(assignee.clone());
            }
        }
        EventData::TaskClosed {
            number,
            status,
            note,
            ..
        } => {
            if let Some(it) = task_mut(incident, *number) {
                it.status = *status;
                it.note = note.clone();
            }
        }
        EventData::TaskReopened { number } => {
            if let Some(it) = task_mut(incident, *number) {
                it.status = TaskStatus::Open;
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use crate::command::tests::incident;
    use crate::lifecycle::Status;

    fn t(minutes: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + minutes * 60).unwrap()
    }

    /// What the rules' "add matching playbooks" effect adds.
    fn follow_ups(incident: &Incident, catalog: &Catalog, now: Timestamp) -> Vec<EventData> {
        crate::rule::effect_events(
            &crate::rule::Effect::AddMatchingPlaybooks,
            incident,
            catalog,
            now,
        )
    }

    #[test]
    fn playbooks_follow_severity_and_type_once() {
        let catalog = Catalog::default();
        let make = |severity: &str, status: Status| {
            let mut it = incident(status);
            it.severity = severity.into();
            it
        };
        let major = make("major", Status::Investigating);
        let mut added = major.clone();
        added.playbooks.push("serious incident".into());
        // (incident, playbooks owed)
        let table = [
            (make("critical", Status::Triage), 1),
            (major.clone(), 1),
            (make("minor", Status::Investigating), 0),
            (added, 0),
            (make("major", Status::Resolved), 0),
        ];
        for (incident, expected) in table {
            assert_eq!(
                follow_ups(&incident, &catalog, t(0)).len(),
                expected,
                "{incident:?}"
            );
        }
        let events = follow_ups(&major, &catalog, t(0));
        let EventData::PlaybookAdded { tasks, .. } = &events[0] else {
            panic!("{events:?}")
        };
        assert_eq!(tasks.len(), 11);
        assert_eq!(tasks[0].number, 1);
        assert_eq!(tasks[0].due, Some(t(5)));
        assert_eq!(tasks[2].role.as_deref(), Some("comms"));
        let security_only = Playbook {
            name: "security".into(),
            severities: Vec::new(),
            types: vec![IncidentType::Security],
            tasks: Vec::new(),
        };
        assert!(!security_only.applies_to(&major));
    }

    #[test]
    fn task_steps() {
        let mut incident = incident(Status::Investigating);
        for event in follow_ups(
            &Incident {
                severity: "major".into(),
                ..incident.clone()
            },
            &Catalog::default(),
            t(0),
        ) {
            apply(&mut incident, &event);
        }
        let mut run = |step: TaskStep| -> Result<Option<&'static str>, FieldErrors> {
            let event = decide(&incident, step, "ana@x", t(1))?;
            if let Some(event) = &event {
                apply(&mut incident, event);
            }
            Ok(event.map(|it| it.kind().as_str()))
        };
        let close = |number: i64, done: bool, note: &str| TaskStep::Close {
            number,
            done,
            note: note.into(),
        };
        assert_eq!(
            run(close(2, true, "#inc-checkout")).unwrap(),
            Some("task_closed")
        );
        assert_eq!(
            run(close(2, true, "again")).unwrap(),
            None,
            "done twice is a no-op"
        );
        assert_eq!(
            run(close(4, false, "no meetings today")).unwrap(),
            Some("task_closed")
        );
        assert!(run(close(99, true, "")).is_err());
        assert_eq!(
            run(TaskStep::Reopen { number: 4 }).unwrap(),
            Some("task_reopened")
        );
        assert_eq!(
            run(TaskStep::Add {
                title: "Page the database team".into(),
                assignee: Some("bo@x".into()),
                due_in_minutes: Some(10)
            })
            .unwrap(),
            Some("task_added")
        );
        assert!(
            run(TaskStep::Add {
                title: " ".into(),
                assignee: None,
                due_in_minutes: None
            })
            .is_err()
        );
        assert_eq!(
            run(TaskStep::Assign {
                number: 1,
                assignee: "bo@x".into()
            })
            .unwrap(),
            Some("task_assigned")
        );
        assert_eq!(incident.tasks[1].status, TaskStatus::Done);
        assert_eq!(incident.tasks[1].note, "#inc-checkout");
        assert_eq!(incident.tasks[3].status, TaskStatus::Open);
        assert_eq!(incident.tasks[11].due, Some(t(11)));
        assert_eq!(incident.tasks[0].assignee.as_deref(), Some("bo@x"));
    }
}
