//! Data-driven tests for parsing, decide and apply.

use super::*;
use uuid::Uuid;

fn t(seconds: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + seconds).unwrap()
}

fn raw(title: &str) -> RawDeclare {
    RawDeclare {
        title: Some(title.into()),
        ..Default::default()
    }
}

pub(crate) fn incident(status: Status) -> Incident {
    let new = parse_declare(raw("Checkout is down"), &Catalog::default()).unwrap();
    let (mut incident, _) = declare(
        new,
        IncidentId(Uuid::nil()),
        Reference(1),
        "token:test",
        t(0),
    );
    incident.status = status;
    incident
}

/// A context in which everything learning owes is done, so closing is up to the table.
pub(crate) fn learned(catalog: &Catalog, now: Timestamp) -> Context<'_> {
    Context {
        learning: crate::closing::Learning {
            postmortem: Some(crate::postmortem::PostmortemStatus::Published),
            open_followups: 0,
        },
        ..Context::new(catalog, now)
    }
}

fn run(
    incident: &mut Incident,
    command: Command,
    now: Timestamp,
) -> Result<Vec<String>, DomainError> {
    let catalog = Catalog::default();
    let events = decide(incident, &learned(&catalog, now), command)?;
    for event in &events {
        apply(incident, &event.data, now);
    }
    Ok(events.iter().map(|it| it.data.kind().to_string()).collect())
}

fn status_to(status: Status) -> Command {
    Command::Change {
        details: vec![],
        severity: None,
        status: Some(status),
        merged_into: None,
    }
}

#[test]
fn declare_validation() {
    let long = "x".repeat(201);
    let table: Vec<(RawDeclare, &[&str])> = vec![
        (raw("ok"), &[]),
        (RawDeclare::default(), &["title"]),
        (raw("   "), &["title"]),
        (raw(&long), &["title"]),
        (
            RawDeclare {
                severity: Some("sev0".into()),
                ..raw("x")
            },
            &["severity"],
        ),
        (
            RawDeclare {
                incident_type: Some("weird".into()),
                impact: Some("bad".into()),
                ..raw("x")
            },
            &["impact", "type"],
        ),
        (
            RawDeclare {
                mode: Some("test".into()),
                ..raw("x")
            },
            &["mode"],
        ),
        (
            RawDeclare {
                status: Some("resolved".into()),
                ..raw("x")
            },
            &["status"],
        ),
        (
            RawDeclare {
                affected_count: Some(-1),
                ..raw("x")
            },
            &["affected_count"],
        ),
        (
            RawDeclare {
                services: Some(vec!["".into()]),
                ..raw("x")
            },
            &["services"],
        ),
    ];
    for (input, expected) in table {
        let got: Vec<String> = match parse_declare(input.clone(), &Catalog::default()) {
            Ok(_) => vec![],
            Err(errors) => errors.0.keys().cloned().collect(),
        };
        assert_eq!(got, expected, "{input:?}");
    }
}

#[test]
fn declare_defaults() {
    let new = parse_declare(raw("  API down  "), &Catalog::default()).unwrap();
    assert_eq!(new.title, "API down");
    assert_eq!(new.severity, "major");
    assert_eq!(new.status, Status::Investigating);
    assert!(!new.private);
    let security = RawDeclare {
        incident_type: Some("security".into()),
        ..raw("leak")
    };
    assert!(
        parse_declare(security.clone(), &Catalog::default())
            .unwrap()
            .private
    );
    let public_security = RawDeclare {
        private: Some(false),
        ..security
    };
    assert!(
        !parse_declare(public_security, &Catalog::default())
            .unwrap()
            .private
    );
}

#[test]
fn forbidden_transition_names_both_states() {
    let mut closed = incident(Status::Closed);
    let err = run(&mut closed, status_to(Status::Investigating), t(1)).unwrap_err();
    assert_eq!(
        err,
        DomainError::InvalidTransition {
            from: Status::Closed,
            to: Status::Investigating
        }
    );
    assert_eq!(
        err.to_string(),
        "cannot move an incident from closed to investigating"
    );
}

#[test]
fn named_timestamps_follow_transitions() {
    let mut it = incident(Status::Triage);
    it.timestamps.remove(&TimestampName::Acknowledged);
    run(&mut it, status_to(Status::Investigating), t(10)).unwrap();
    run(&mut it, status_to(Status::Monitoring), t(20)).unwrap();
    run(&mut it, status_to(Status::Resolved), t(30)).unwrap();
    let observed = |it: &Incident, name| it.timestamp(name).observed;
    assert_eq!(observed(&it, TimestampName::Declared), Some(t(0)));
    assert_eq!(observed(&it, TimestampName::Acknowledged), Some(t(10)));
    assert_eq!(observed(&it, TimestampName::Mitigated), Some(t(20)));
    assert_eq!(observed(&it, TimestampName::Resolved), Some(t(30)));
    // Reopen clears resolution; resolving again records the new time.
    run(&mut it, status_to(Status::Investigating), t(40)).unwrap();
    assert_eq!(observed(&it, TimestampName::Resolved), None);
    run(&mut it, status_to(Status::Resolved), t(50)).unwrap();
    assert_eq!(observed(&it, TimestampName::Resolved), Some(t(50)));
    run(&mut it, status_to(Status::Closed), t(60)).unwrap();
    assert_eq!(observed(&it, TimestampName::Closed), Some(t(60)));
}

#[test]
fn asserted_time_sits_beside_observed() {
    let mut it = incident(Status::Investigating);
    let command = Command::AssertTimestamp {
        name: TimestampName::Declared,
        at: t(-600),
        note: "alert fired earlier".into(),
    };
    assert_eq!(run(&mut it, command, t(5)).unwrap(), ["timestamp_asserted"]);
    let declared = it.timestamp(TimestampName::Declared);
    assert_eq!(declared.observed, Some(t(0)));
    assert_eq!(declared.asserted, Some(t(-600)));
    assert_eq!(declared.effective(), Some(t(-600)));
    let future = Command::AssertTimestamp {
        name: TimestampName::Mitigated,
        at: t(100),
        note: String::new(),
    };
    assert!(matches!(
        run(&mut it, future, t(5)),
        Err(DomainError::Validation(_))
    ));
}

#[test]
fn roles_hand_off_and_repeat_is_a_no_op() {
    let mut it = incident(Status::Investigating);
    let assign = |user: &str| Command::AssignRole {
        role: "lead".into(),
        user: user.into(),
        handover: Some("Rollback is half done; see the pinned note".into()),
    };
    assert_eq!(
        run(&mut it, assign("alice"), t(1)).unwrap(),
        ["role_assigned"]
    );
    assert_eq!(
        run(&mut it, assign("alice"), t(2)).unwrap(),
        Vec::<String>::new()
    );
    let events = decide(&it, &Context::new(&Catalog::default(), t(3)), assign("bob")).unwrap();
    assert_eq!(
        events[0].data,
        EventData::RoleAssigned {
            role: "lead".into(),
            user: "bob".into(),
            previous: Some("alice".into()),
            handover: Some("Rollback is half done; see the pinned note".into()),
        }
    );
    apply(&mut it, &events[0].data, t(3));
    assert_eq!(
        run(
            &mut it,
            Command::UnassignRole {
                role: "lead".into()
            },
            t(4)
        )
        .unwrap(),
        ["role_unassigned"]
    );
    assert!(it.roles.is_empty());
    let unknown = Command::AssignRole {
        role: "captain".into(),
        user: "x".into(),
        handover: None,
    };
    assert!(matches!(
        run(&mut it, unknown, t(5)),
        Err(DomainError::Validation(_))
    ));
}

#[test]
fn status_update_sets_next_update_due_and_resolving_clears_it() {
    let mut it = incident(Status::Investigating);
    let update = |status, minutes| Command::PostUpdate {
        message: "Rolling back".into(),
        status,
        next_update_in_minutes: minutes,
        public: true,
    };
    assert_eq!(
        run(&mut it, update(Some(Status::Identified), Some(30)), t(0)).unwrap(),
        ["status_changed", "update_posted"]
    );
    assert_eq!(it.next_update_due, Some(t(30 * 60)));
    assert!(!it.update_overdue(t(30 * 60)));
    assert!(it.update_overdue(t(30 * 60 + 1)));
    run(&mut it, update(Some(Status::Resolved), Some(30)), t(60)).unwrap();
    assert_eq!(it.next_update_due, None);
    assert!(matches!(
        run(&mut it, update(None, Some(0)), t(61)),
        Err(DomainError::Validation(_))
    ));
}

#[test]
fn patch_changes_only_what_differs() {
    let catalog = Catalog::default();
    let mut it = incident(Status::Investigating);
    let raw = RawChanges {
        title: Some("Checkout is down".into()),
        summary: Some("Card payments fail".into()),
        severity: Some("critical".into()),
        ..Default::default()
    };
    let command = parse_changes(raw, &it, &catalog).unwrap();
    assert_eq!(
        run(&mut it, command, t(1)).unwrap(),
        ["details_changed", "severity_changed"]
    );
    assert_eq!(it.summary, "Card payments fail");
    assert_eq!(it.severity, "critical");
    let bad = RawChanges {
        severity: Some("sev1".into()),
        status: Some("merged".into()),
        ..Default::default()
    };
    let errors = parse_changes(bad, &it, &catalog).unwrap_err();
    assert_eq!(
        errors.0.keys().collect::<Vec<_>>(),
        ["merged_into", "severity"]
    );
}

#[test]
fn corrections_must_point_at_an_existing_event() {
    let mut it = incident(Status::Investigating);
    it.last_seq = 3;
    let correction = |corrects| Command::Append {
        entry: Entry::Correction {
            text: "The deploy was at 09:10".into(),
            corrects,
        },
        occurred_at: None,
    };
    assert_eq!(
        run(&mut it, correction(Some(2)), t(1)).unwrap(),
        ["correction"]
    );
    assert!(run(&mut it, correction(Some(9)), t(1)).is_err());
    assert!(run(&mut it, correction(Some(0)), t(1)).is_err());
}

#[test]
fn membership_of_private_incidents() {
    let mut raw = raw("Credential leak");
    raw.incident_type = Some("security".into());
    let new = parse_declare(raw, &Catalog::default()).unwrap();
    assert!(new.private, "security incidents are private by default");
    let (mut incident, _) = declare(new, IncidentId(Uuid::nil()), Reference(1), "ana@x", t(0));
    assert_eq!(
        incident.members,
        ["ana@x".to_string()].into(),
        "the declarer is a member"
    );

    let add = |member: &str| Command::AddMember {
        member: member.into(),
    };
    assert_eq!(
        run(&mut incident, add("bo@x"), t(1)).unwrap(),
        ["member_added"]
    );
    assert_eq!(
        run(&mut incident, add("bo@x"), t(2)).unwrap(),
        Vec::<String>::new()
    );
    assert!(matches!(
        run(&mut incident, add(""), t(3)),
        Err(DomainError::Validation(_))
    ));
    // Giving someone a role on a private incident lets them see it, as an event of its own.
    let assign = Command::AssignRole {
        role: "lead".into(),
        user: "cy@x".into(),
        handover: None,
    };
    assert_eq!(
        run(&mut incident, assign, t(4)).unwrap(),
        ["member_added", "role_assigned"]
    );
    assert!(incident.members.contains("cy@x"));

    // On a public incident a role is just a role.
    let mut public = super::tests::incident(Status::Investigating);
    let assign = Command::AssignRole {
        role: "lead".into(),
        user: "cy@x".into(),
        handover: None,
    };
    assert_eq!(run(&mut public, assign, t(5)).unwrap(), ["role_assigned"]);
    assert!(public.members.is_empty());
}

#[test]
fn freeze_by_hand() {
    let mut incident = super::tests::incident(Status::Investigating);
    let set = |on: bool, reason: &str| Command::SetFreeze {
        on,
        reason: reason.into(),
    };
    assert_eq!(
        run(&mut incident, set(false, ""), t(1)).unwrap(),
        Vec::<String>::new()
    );
    assert_eq!(
        run(&mut incident, set(true, ""), t(2)).unwrap(),
        ["freeze_started"]
    );
    let freeze = incident.freeze.clone().unwrap();
    assert_eq!((freeze.since, freeze.reason.as_str()), (t(2), "by hand"));
    assert_eq!(
        run(&mut incident, set(true, "again"), t(3)).unwrap(),
        Vec::<String>::new()
    );
    assert_eq!(
        run(&mut incident, set(false, "shipped"), t(4)).unwrap(),
        ["freeze_ended"]
    );
    assert!(incident.freeze.is_none());
    let too_long = "x".repeat(MAX_TEXT + 1);
    assert!(matches!(
        run(&mut incident, set(true, &too_long), t(5)),
        Err(DomainError::Validation(_))
    ));
}

#[test]
fn two_people_for_every_action() {
    use crate::action::{ActionError, ActionStatus, RawAction};
    let mut incident = super::tests::incident(Status::Investigating);
    let step = |by: &str, step: ActionStep| Command::Action {
        by: by.into(),
        step,
    };
    let propose = |kind: &str, risk: &str, rollback: &str| {
        ActionStep::Propose(RawAction {
            kind: Some(kind.into()),
            title: Some("UPDATE orders SET status = 'paid' WHERE …".into()),
            target: Some("orders on db-1".into()),
            risk: Some(risk.into()),
            rollback_plan: Some(rollback.into()),
            destructive: None,
        })
    };
    // A high-risk proposal without a way back is refused, field by field.
    assert!(matches!(
        run(&mut incident, step("ana", propose("data_fix", "high", "")), t(1)),
        Err(DomainError::Validation(errors)) if errors.0.contains_key("rollback_plan")
    ));
    assert!(matches!(
        run(&mut incident, step("ana", propose("magic", "low", "")), t(1)),
        Err(DomainError::Validation(errors)) if errors.0.contains_key("kind")
    ));
    let kinds = run(
        &mut incident,
        step("ana", propose("data_fix", "high", "restore snapshot")),
        t(2),
    )
    .unwrap();
    assert_eq!(kinds, ["action_proposed"]);
    assert!(
        incident.actions[0].destructive,
        "a data fix is destructive unless told otherwise"
    );

    // (who, step, expected error)
    let refused: [(&str, ActionStep, ActionError); 4] = [
        (
            "ana",
            ActionStep::Approve { number: 1 },
            ActionError::SelfApproval("ana".into(), 1),
        ),
        (
            "bo",
            ActionStep::Approve { number: 9 },
            ActionError::Unknown(9),
        ),
        (
            "bo",
            ActionStep::Start {
                number: 1,
                backup_taken: true,
                tried_on_sample: true,
            },
            ActionError::Wrong {
                number: 1,
                status: "proposed",
                wanted: "started",
            },
        ),
        (
            "bo",
            ActionStep::Finish {
                number: 1,
                succeeded: true,
                result: String::new(),
                output: String::new(),
            },
            ActionError::Wrong {
                number: 1,
                status: "proposed",
                wanted: "finished",
            },
        ),
    ];
    for (by, action_step, expected) in refused {
        assert_eq!(
            run(&mut incident, step(by, action_step), t(3)),
            Err(DomainError::Action(expected))
        );
    }
    assert_eq!(
        run(
            &mut incident,
            step("bo", ActionStep::Approve { number: 1 }),
            t(4)
        )
        .unwrap(),
        ["action_approved"]
    );
    assert_eq!(incident.actions[0].approved_by.as_deref(), Some("bo"));
    // The data-fix checklist comes before the start.
    assert!(matches!(
        run(
            &mut incident,
            step(
                "ana",
                ActionStep::Start {
                    number: 1,
                    backup_taken: true,
                    tried_on_sample: false
                }
            ),
            t(5)
        ),
        Err(DomainError::Action(ActionError::Invalid(_)))
    ));
    assert_eq!(
        run(
            &mut incident,
            step(
                "ana",
                ActionStep::Start {
                    number: 1,
                    backup_taken: true,
                    tried_on_sample: true
                }
            ),
            t(6)
        )
        .unwrap(),
        ["action_started"]
    );
    assert_eq!(
        run(
            &mut incident,
            step(
                "ana",
                ActionStep::Finish {
                    number: 1,
                    succeeded: true,
                    result: "412 rows fixed".into(),
                    output: String::new()
                }
            ),
            t(7)
        )
        .unwrap(),
        ["action_finished"]
    );
    assert_eq!(incident.actions[0].status, ActionStatus::Succeeded);
    assert_eq!(incident.actions[0].result, "412 rows fixed");
}
