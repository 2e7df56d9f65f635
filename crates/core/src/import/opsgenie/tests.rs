//! Opsgenie's shapes, on the invented account of the research document (§6.5–6.8) that the
//! CLI's and the server's tests also use.

use jiff::Timestamp;
use serde_json::{Value, json};

use super::*;
use crate::import::Fidelity;

fn fixture(name: &str) -> Value {
    let text = match name {
        "users" => include_str!("../../../../firebreak/tests/fixtures/opsgenie/users.json"),
        "teams" => include_str!("../../../../firebreak/tests/fixtures/opsgenie/teams.json"),
        "escalations" => {
            include_str!("../../../../firebreak/tests/fixtures/opsgenie/escalations.json")
        }
        "integrations" => {
            include_str!("../../../../firebreak/tests/fixtures/opsgenie/integrations.json")
        }
        "schedule" => include_str!(
            "../../../../firebreak/tests/fixtures/opsgenie/schedules/b1c2d3e4-5f60-4a1b-9c2d-3e4f5a6b7c8d.json"
        ),
        "overrides" => include_str!(
            "../../../../firebreak/tests/fixtures/opsgenie/schedules/b1c2d3e4-5f60-4a1b-9c2d-3e4f5a6b7c8d.overrides.json"
        ),
        "timeline" => include_str!(
            "../../../../firebreak/tests/fixtures/opsgenie/schedules/b1c2d3e4-5f60-4a1b-9c2d-3e4f5a6b7c8d.timeline.json"
        ),
        other => panic!("{other}"),
    };
    serde_json::from_str::<Value>(text).unwrap()["data"].take()
}

fn now() -> Timestamp {
    "2026-12-01T00:00:00Z".parse().unwrap()
}

fn account() -> Account {
    let list = |name: &str| fixture(name).as_array().unwrap().clone();
    Account {
        users: list("users"),
        teams: list("teams"),
        schedules: vec![(fixture("schedule"), list("overrides"), fixture("timeline"))],
        escalations: list("escalations"),
        integrations: list("integrations"),
    }
}

#[test]
fn phones_become_e164() {
    for (to, expected) in [
        ("1-2125550143", Ok("+12125550143")),
        ("44-7700900123", Ok("+447700900123")),
        ("1-12", Err(())),
    ] {
        assert_eq!(
            phone(to).map_err(|_| ()),
            expected.map(String::from),
            "{to}"
        );
    }
}

#[test]
fn a_user_brings_phones_unverified_and_its_create_alert_steps() {
    let ana = user(&fixture("users")[0]).unwrap();
    assert_eq!(ana.email, "ana.ortiz@example.com");
    assert_eq!(ana.role, "responder");
    let kinds: Vec<(&str, &str)> = ana
        .contacts
        .iter()
        .map(|it| (it.kind, it.address.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("email", "ana.ortiz@example.com"),
            ("sms", "+12125550143"),
            ("voice", "+12125550143")
        ]
    );
    // SMS after 1 minute, a call after 3; the mobile and the disabled steps are said.
    assert_eq!(ana.rules, [(1, 1), (3, 2)]);
    let Fidelity::Approximated(notes) = &ana.fidelity else {
        panic!("{:?}", ana.fidelity)
    };
    assert!(notes.iter().any(|it| it.contains("mobile")), "{notes:?}");
    assert!(notes.iter().any(|it| it.contains("disabled")), "{notes:?}");
    let roles: Vec<&str> = fixture("users")
        .as_array()
        .unwrap()
        .iter()
        .map(|it| user(it).unwrap().role)
        .collect();
    assert_eq!(roles, ["responder", "admin", "responder", "viewer"]);
    assert!(user(&json!({"username": "no-email"})).is_err());
}

#[test]
fn restrictions_become_windows() {
    use crate::schedule::Window;
    use jiff::civil::{Weekday, time};
    let mut notes = Vec::new();
    // 18:00 → 06:30 every day runs past midnight; endHour 24 is midnight.
    let overnight = json!({"type": "time-of-day",
        "restriction": {"startHour": 18, "startMin": 0, "endHour": 6, "endMin": 30}});
    assert_eq!(
        windows(&overnight, &mut notes).unwrap(),
        [Window {
            days: EVERY_DAY.to_vec(),
            from: time(18, 0, 0, 0),
            to: time(6, 30, 0, 0)
        }]
    );
    let to_midnight = json!({"type": "time-of-day",
        "restriction": {"startHour": 22, "startMin": 0, "endHour": 24, "endMin": 0}});
    assert_eq!(
        windows(&to_midnight, &mut notes).unwrap()[0].to,
        time(0, 0, 0, 0)
    );
    // Thursday 09:00 → Friday 13:00: Thursday from 09:00 to midnight, Friday to 13:00.
    let span = json!({"type": "weekday-and-time-of-day", "restrictions": [
        {"startDay": "thursday", "startHour": 9, "startMin": 0, "endDay": "friday", "endHour": 13, "endMin": 0}]});
    assert_eq!(
        windows(&span, &mut notes).unwrap(),
        [
            Window {
                days: vec![Weekday::Thursday],
                from: time(9, 0, 0, 0),
                to: time(0, 0, 0, 0)
            },
            Window {
                days: vec![Weekday::Friday],
                from: time(0, 0, 0, 0),
                to: time(13, 0, 0, 0)
            },
        ]
    );
    assert!(notes.is_empty(), "{notes:?}");
    // Friday 17:00 → Friday 09:00 wraps the week, and says so.
    let wrap = json!({"type": "weekday-and-time-of-day", "restrictions": [
        {"startDay": "friday", "startHour": 17, "startMin": 0, "endDay": "friday", "endHour": 9, "endMin": 0}]});
    assert_eq!(windows(&wrap, &mut notes).unwrap().len(), 8);
    assert_eq!(notes.len(), 1);
    let bad = json!({"type": "time-of-day", "restriction": {"startHour": 25}});
    assert!(windows(&bad, &mut notes).is_err());
}

#[test]
fn each_rotation_is_a_schedule_proved_against_the_timeline() {
    let emails = |_: &str| None;
    let planned = schedule(
        (
            &fixture("schedule"),
            fixture("overrides").as_array().unwrap(),
            &fixture("timeline"),
        ),
        &emails,
        now(),
    );
    assert_eq!(planned.len(), 2);
    let nights = planned[0].as_ref().unwrap();
    assert_eq!(nights.imported.name, "payments_oncall / nights");
    assert_eq!(
        nights.imported.target_id,
        "b1c2d3e4-5f60-4a1b-9c2d-3e4f5a6b7c8d"
    );
    assert_eq!(nights.imported.fidelity, Fidelity::Exact);
    assert_eq!(
        nights.imported.schedule.layers[0].participants,
        ["ana.ortiz@example.com", "bo.lindqvist@example.com", NOBODY]
    );
    assert_eq!(
        nights.imported.schedule.overrides.len(),
        1,
        "scoped to nights"
    );
    // Across the US spring change, with a nobody turn: Opsgenie's own periods, exactly.
    let compared = nights.compared.as_ref().unwrap();
    assert_eq!(compared.differences, Vec::new());
    let business = planned[1].as_ref().unwrap();
    assert!(
        business.imported.schedule.overrides.is_empty(),
        "the override is for nights only"
    );
    assert!(business.imported.schedule.layers[0].active_until.is_some());
    // The team participant is left out, so its turns differ, and that is shown.
    let found = &business.compared.as_ref().unwrap().differences;
    assert_eq!(found.len(), 4, "{found:?}");
    assert!(
        found
            .iter()
            .all(|it| it.theirs.as_deref() == Some("payments"))
    );
    assert!(matches!(
        business.imported.fidelity,
        Fidelity::Approximated(_)
    ));
    // A rotation that ended is skipped with its reason.
    let mut ended = fixture("schedule");
    ended["rotations"][1]["endDate"] = json!("2026-01-01T00:00:00Z");
    let planned = schedule((&ended, &[], &Value::Null), &emails, now());
    assert_eq!(
        planned[1].as_ref().unwrap_err().why,
        "the rotation has ended"
    );
}

#[test]
fn an_escalations_offsets_become_waits() {
    let teams = [ImportedTeam {
        vendor_id: "7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d".into(),
        name: "payments".into(),
        members: vec![
            "ana.ortiz@example.com".into(),
            "bo.lindqvist@example.com".into(),
        ],
    }];
    let it = escalation(&fixture("escalations")[0], &|_| None, &teams).unwrap();
    let schedule = Target::Schedule("b1c2d3e4-5f60-4a1b-9c2d-3e4f5a6b7c8d".into());
    // Offsets 0, 5, 15, 15: waits of 5 and 10, the two rules at 15 one step waiting the
    // repeat's interval; repeated twice.
    assert_eq!(
        it.policy.steps,
        [
            Step {
                targets: vec![schedule.clone()],
                delay_minutes: 5
            },
            Step {
                targets: vec![schedule],
                delay_minutes: 10
            },
            Step {
                targets: vec![
                    Target::Person("dana.kim@example.com".into()),
                    Target::Person("ana.ortiz@example.com".into()),
                    Target::Person("bo.lindqvist@example.com".into()),
                ],
                delay_minutes: 10
            },
        ]
    );
    assert_eq!(it.policy.repeat, 2);
    let Fidelity::Approximated(notes) = &it.fidelity else {
        panic!()
    };
    for expected in [
        "\"next\"",
        "until the alert is closed",
        "as its members today",
    ] {
        assert!(
            notes.iter().any(|it| it.contains(expected)),
            "{expected}: {notes:?}"
        );
    }
    // A first rule that waits: a first step that waits, paging nobody, so every rule keeps
    // its offset from the alert's start (2, 5, 15).
    let mut late = fixture("escalations")[0].clone();
    late["rules"][0]["delay"]["timeAmount"] = json!(2);
    let it = escalation(&late, &|_| None, &teams).unwrap();
    let steps: Vec<(usize, i64)> = it
        .policy
        .steps
        .iter()
        .map(|it| (it.targets.len(), it.delay_minutes))
        .collect();
    assert_eq!(steps, [(0, 2), (1, 3), (1, 10), (3, 10)]);
    assert_eq!(it.policy.check(), Ok(()));
}

#[test]
fn an_account_plans_with_integrations_as_services() {
    let plan = plan(&account(), now());
    assert_eq!(plan.people.len(), 4);
    assert_eq!(plan.teams[0].members.len(), 3);
    assert_eq!(plan.schedules.len(), 2);
    let service = plan.services[0].as_ref().unwrap();
    assert_eq!(service.name, "payments-alertmanager");
    assert_eq!(
        service.keys,
        [(
            "payments-alertmanager".to_string(),
            "c0ffee00-1234-4abc-9def-0123456789ab".to_string()
        )]
    );
    assert_eq!(
        service.policy_vendor_id.as_deref(),
        Some("e5f6a7b8-c9d0-4e1f-a2b3-c4d5e6f7a8b9"),
        "its team's default routing"
    );
    assert!(plan.services[1].is_err(), "an email integration has no key");
    let policy = plan.policies[0].as_ref().unwrap();
    assert_eq!(policy.policy.steps.len(), 3);
}
