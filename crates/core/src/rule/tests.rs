use super::*;
use crate::command::tests::incident;
use crate::command::{Command, Context, apply as apply_event, decide};
use crate::incident::Mode;

fn t(minutes: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + minutes * 60).unwrap()
}

fn run_rules(incident: &mut Incident, events: &[EventData], catalog: &Catalog) -> Vec<String> {
    let refs: Vec<&EventData> = events.iter().collect();
    let mut apply = |it: &mut Incident, event: &EventData| apply_event(it, event, t(0));
    fire(incident, &refs, catalog, t(0), &mut apply)
        .iter()
        .map(|it| it.kind().to_string())
        .collect()
}

fn change(from: &str, to: &str) -> EventData {
    EventData::SeverityChanged {
        from: from.into(),
        to: to.into(),
    }
}

fn status(from: Status, to: Status) -> EventData {
    EventData::StatusChanged {
        from,
        to,
        merged_into: None,
    }
}

fn declared(severity: &str) -> EventData {
    EventData::Declared {
        reference: crate::incident::Reference(1),
        title: "x".into(),
        summary: String::new(),
        severity: severity.into(),
        incident_type: IncidentType::Default,
        impact: crate::incident::ImpactKind::Degradation,
        affected: Default::default(),
        services: vec![],
        private: false,
        mode: Mode::Real,
        status: Status::Triage,
    }
}

#[test]
fn triggers_from_events() {
    let catalog = Catalog::default();
    let table: Vec<(Vec<EventData>, Vec<Trigger>)> = vec![
        (vec![declared("major")], vec![Trigger::Declared]),
        (
            vec![change("minor", "major")],
            vec![Trigger::SeverityChanged, Trigger::SeverityRaised],
        ),
        (
            vec![change("critical", "minor")],
            vec![Trigger::SeverityChanged],
        ),
        (
            vec![status(Status::Investigating, Status::Resolved)],
            vec![Trigger::StatusChanged, Trigger::Resolved],
        ),
        (
            vec![status(Status::Resolved, Status::Investigating)],
            vec![Trigger::StatusChanged, Trigger::Reopened],
        ),
        (
            vec![
                status(Status::Triage, Status::Investigating),
                status(Status::Investigating, Status::Identified),
            ],
            vec![Trigger::StatusChanged],
        ),
        (vec![EventData::Note { text: "x".into() }], vec![]),
    ];
    for (events, expected) in table {
        let refs: Vec<&EventData> = events.iter().collect();
        assert_eq!(triggers(&refs, &catalog), expected, "{events:?}");
    }
}

#[test]
fn conditions() {
    let catalog = Catalog::default();
    let mut major = incident(Status::Investigating);
    major.severity = "major".into();
    major.services = vec!["checkout".into()];
    let at_least = |severity: &str| Conditions {
        severity_at_least: Some(severity.into()),
        ..Conditions::default()
    };
    let table = [
        (Conditions::default(), true),
        (at_least("major"), true),
        (at_least("minor"), true),
        (at_least("critical"), false),
        (at_least("unknown"), false),
        (
            Conditions {
                severities: vec!["critical".into()],
                ..Conditions::default()
            },
            false,
        ),
        (
            Conditions {
                types: vec![IncidentType::Security],
                ..Conditions::default()
            },
            false,
        ),
        (
            Conditions {
                services: vec!["search".into(), "checkout".into()],
                ..Conditions::default()
            },
            true,
        ),
        (
            Conditions {
                services: vec!["search".into()],
                ..Conditions::default()
            },
            false,
        ),
        (
            Conditions {
                private: Some(true),
                ..Conditions::default()
            },
            false,
        ),
        (
            Conditions {
                mode: Some(Mode::Drill),
                ..Conditions::default()
            },
            false,
        ),
        (
            Conditions {
                mode: Some(Mode::Real),
                private: Some(false),
                ..at_least("major")
            },
            true,
        ),
    ];
    for (conditions, expected) in table {
        assert_eq!(
            conditions.hold(&major, &catalog),
            expected,
            "{conditions:?}"
        );
    }
}

#[test]
fn the_default_rules() {
    let catalog = Catalog::default();
    let mut major = incident(Status::Triage);
    major.severity = "major".into();
    let kinds = run_rules(&mut major, &[declared("major")], &catalog);
    assert_eq!(
        kinds,
        [
            "rule_fired",
            "playbook_added",
            "cadence_set",
            "freeze_started",
            "roles_required"
        ]
    );
    assert_eq!(major.playbooks, ["serious incident"]);
    assert_eq!(major.coordination.cadence_minutes, Some(60));
    assert_eq!(major.next_update_due, Some(t(60)));
    assert!(major.freeze.is_some());
    assert_eq!(major.coordination.required_roles, ["lead", "comms"]);

    // Raised again (major → critical): only what is not so yet — the critical cadence — and
    // the announcement; the playbook and the freeze are not added twice.
    major.severity = "critical".into();
    let mut fired = major.clone();
    let refs = [change("major", "critical")];
    let refs: Vec<&EventData> = refs.iter().collect();
    let mut apply = |it: &mut Incident, event: &EventData| apply_event(it, event, t(0));
    let events = fire(&mut fired, &refs, &catalog, t(0), &mut apply);
    assert_eq!(events.len(), 2, "{events:?}");
    let EventData::RuleFired {
        effects, notify, ..
    } = &events[0]
    else {
        panic!("{events:?}")
    };
    assert_eq!(effects, &["updates every 30 min", "notify announcements"]);
    assert_eq!(notify, &["announcements"]);
    // An update promised sooner than the new cadence stays promised.
    assert_eq!(fired.next_update_due, Some(t(30)));

    // A minor incident: no rule.
    let mut minor = incident(Status::Triage);
    minor.severity = "minor".into();
    assert!(run_rules(&mut minor, &[declared("minor")], &catalog).is_empty());

    // Lowered: no rule (severity_changed is not in the default rules).
    let mut lowered = major.clone();
    lowered.severity = "minor".into();
    assert!(run_rules(&mut lowered, &[change("major", "minor")], &catalog).is_empty());

    // Resolved: the all-clear announcement only.
    let mut resolved = major.clone();
    resolved.status = Status::Resolved;
    let kinds = run_rules(
        &mut resolved,
        &[status(Status::Monitoring, Status::Resolved)],
        &catalog,
    );
    assert_eq!(kinds, ["rule_fired"]);
}

#[test]
fn effects_on_a_rule_without_notify_record_nothing_when_already_so() {
    let catalog = Catalog {
        rules: vec![Rule {
            name: "freeze".into(),
            when: vec![Trigger::StatusChanged],
            conditions: Conditions::default(),
            then: vec![Effect::FreezeDeploys],
        }],
        ..Catalog::default()
    };
    let mut it = incident(Status::Investigating);
    let event = status(Status::Triage, Status::Investigating);
    assert_eq!(
        run_rules(&mut it, std::slice::from_ref(&event), &catalog),
        ["rule_fired", "freeze_started"]
    );
    assert!(run_rules(&mut it, &[event], &catalog).is_empty());
}

#[test]
fn named_playbooks_and_roles_through_decide() {
    // The command path: a declared major incident, then a role assignment triggers a rule
    // that adds a named playbook only to security incidents.
    let catalog = Catalog {
        rules: vec![Rule {
            name: "security".into(),
            when: vec![Trigger::RoleAssigned],
            conditions: Conditions {
                types: vec![IncidentType::Security],
                ..Conditions::default()
            },
            then: vec![Effect::AddPlaybook("serious incident".into())],
        }],
        ..Catalog::default()
    };
    for (incident_type, expected) in [
        (IncidentType::Security, vec!["rule_fired", "playbook_added"]),
        (IncidentType::Default, vec![]),
    ] {
        let mut it = incident(Status::Investigating);
        it.incident_type = incident_type;
        let command = Command::AssignRole {
            role: "lead".into(),
            user: "ana@example.com".into(),
            handover: None,
        };
        let decided = decide(&it, &Context::new(&catalog, t(0)), command).unwrap();
        let events: Vec<EventData> = decided.into_iter().map(|it| it.data).collect();
        for event in &events {
            apply_event(&mut it, event, t(0));
        }
        assert_eq!(run_rules(&mut it, &events, &catalog), expected);
    }
}
