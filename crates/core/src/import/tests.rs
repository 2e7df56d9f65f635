use jiff::Timestamp;
use jiff::civil::{Time, Weekday};
use serde_json::{Value, json};

use super::pagerduty;
use super::{Difference, Fidelity, differences};
use crate::schedule::{Shift, ShiftLength, Window};

fn at(text: &str) -> Timestamp {
    crate::paging::parse_time(text).unwrap_or_else(|| panic!("{text}"))
}

fn email_of(id: &str) -> Option<String> {
    match id {
        "PUSR0AA" => Some("ana@example.com".into()),
        "PUSR0BB" => Some("bo@example.com".into()),
        "PUSR0CC" => Some("chidi@example.com".into()),
        _ => None,
    }
}

fn entry(start: &str, end: &str, user: &str) -> Value {
    json!({"start": start, "end": end, "user": {"id": user, "type": "user_reference"}})
}

/// The research document's invented Berlin schedule (§6.1): weekday nights, a weekend layer
/// listed first (so it wins), and an override across the end of summer time.
fn berlin() -> (Value, Vec<Value>) {
    let user = |id: &str| json!({"user": {"id": id, "type": "user_reference"}});
    let doc = json!({
        "id": "PSCH7QX", "type": "schedule", "name": "Payments Primary", "time_zone": "Europe/Berlin",
        "schedule_layers": [
            {"id": "PLAY2WK", "name": "Weekend", "start": "2026-03-06T17:00:00+01:00", "end": null,
             "rotation_virtual_start": "2026-03-06T17:00:00+01:00", "rotation_turn_length_seconds": 604800,
             "users": [user("PUSR0AA"), user("PUSR0BB")],
             "restrictions": [{"type": "weekly_restriction", "start_day_of_week": 5,
                               "start_time_of_day": "17:00:00", "duration_seconds": 226800}]},
            {"id": "PLAY1DY", "name": "Weekday nights", "start": "2026-03-02T18:00:00+01:00", "end": null,
             "rotation_virtual_start": "2026-03-02T18:00:00+01:00", "rotation_turn_length_seconds": 86400,
             "users": [user("PUSR0AA"), user("PUSR0BB"), user("PUSR0CC")],
             "restrictions": [{"type": "daily_restriction", "start_time_of_day": "18:00:00",
                               "duration_seconds": 50400}]}
        ],
        // Who PagerDuty has on call from Monday 19 October to Tuesday 27 October 2026, as its
        // rules say: turns by the wall clock, restrictions masking them, the top layer first,
        // the override over everything; summer time ends on Sunday the 25th.
        "final_schedule": {"name": "Final Schedule", "rendered_schedule_entries": [
            entry("2026-10-19T00:00:00+02:00", "2026-10-19T08:00:00+02:00", "PUSR0AA"),
            entry("2026-10-19T18:00:00+02:00", "2026-10-20T08:00:00+02:00", "PUSR0AA"),
            entry("2026-10-20T18:00:00+02:00", "2026-10-21T08:00:00+02:00", "PUSR0BB"),
            entry("2026-10-21T18:00:00+02:00", "2026-10-22T08:00:00+02:00", "PUSR0CC"),
            entry("2026-10-22T18:00:00+02:00", "2026-10-23T08:00:00+02:00", "PUSR0AA"),
            entry("2026-10-23T17:00:00+02:00", "2026-10-26T09:00:00+01:00", "PUSR0CC"),
            entry("2026-10-26T18:00:00+01:00", "2026-10-27T00:00:00+01:00", "PUSR0BB"),
        ]}
    });
    let overrides = vec![
        json!({"id": "POVR3ZZ", "start": "2026-10-23T17:00:00+02:00",
        "end": "2026-10-26T09:00:00+01:00", "user": {"id": "PUSR0CC", "type": "user_reference"}}),
    ];
    (doc, overrides)
}

#[test]
fn a_berlin_schedule_matches_pagerdutys_rendering_across_the_end_of_summer_time() {
    let (doc, overrides) = berlin();
    let now = at("2026-10-01T00:00:00Z");
    let imported = pagerduty::schedule(&doc, &overrides, &email_of, now).unwrap();
    assert_eq!(imported.fidelity, Fidelity::Exact);
    assert_eq!(imported.zone, "Europe/Berlin");
    let names: Vec<&str> = imported
        .schedule
        .layers
        .iter()
        .map(|it| it.name.as_str())
        .collect();
    assert_eq!(
        names,
        ["Weekday nights", "Weekend"],
        "lowest first: the weekend wins"
    );
    let range = (
        at("2026-10-19T00:00:00+02:00"),
        at("2026-10-27T00:00:00+01:00"),
    );
    let ours = imported.schedule.shifts(range.0, range.1);
    let theirs = pagerduty::rendered(&doc, &email_of);
    assert_eq!(differences(&ours, &theirs, range), Vec::new());

    // A rendering that disagrees is reported where it does, and only there.
    let mut moved = doc.clone();
    moved["final_schedule"]["rendered_schedule_entries"][2]["user"]["id"] = json!("PUSR0CC");
    let theirs = pagerduty::rendered(&moved, &email_of);
    assert_eq!(
        differences(&ours, &theirs, range),
        vec![Difference {
            start: at("2026-10-20T18:00:00+02:00"),
            end: at("2026-10-21T08:00:00+02:00"),
            ours: Some("bo@example.com".into()),
            theirs: Some("chidi@example.com".into()),
        }]
    );
}

#[test]
fn a_new_york_daily_rotation_keeps_its_handoff_across_the_spring_change() {
    let doc = json!({
        "id": "PSCHNY1", "name": "Checkout", "time_zone": "Eastern Time (US & Canada)",
        "schedule_layers": [{"id": "PLAYNY", "name": "Daily", "start": "2027-01-04T09:00:00-05:00", "end": null,
            "rotation_virtual_start": "2027-01-04T09:00:00-05:00", "rotation_turn_length_seconds": 86400,
            "users": [{"user": {"id": "PUSR0AA"}}, {"user": {"id": "PUSR0BB"}}], "restrictions": []}],
        "final_schedule": {"rendered_schedule_entries": [
            entry("2027-03-13T00:00:00-05:00", "2027-03-13T09:00:00-05:00", "PUSR0BB"),
            // 23 hours: the clock jumps from 02:00 to 03:00 on the 14th.
            entry("2027-03-13T09:00:00-05:00", "2027-03-14T09:00:00-04:00", "PUSR0AA"),
            entry("2027-03-14T09:00:00-04:00", "2027-03-15T09:00:00-04:00", "PUSR0BB"),
            entry("2027-03-15T09:00:00-04:00", "2027-03-16T00:00:00-04:00", "PUSR0AA"),
        ]}
    });
    let imported = pagerduty::schedule(&doc, &[], &email_of, at("2027-03-01T00:00:00Z")).unwrap();
    assert_eq!(
        imported.zone, "America/New_York",
        "ActiveSupport names map to IANA"
    );
    let range = (
        at("2027-03-13T00:00:00-05:00"),
        at("2027-03-16T00:00:00-04:00"),
    );
    let ours = imported.schedule.shifts(range.0, range.1);
    assert_eq!(
        differences(&ours, &pagerduty::rendered(&doc, &email_of), range),
        Vec::new()
    );
}

#[test]
fn restrictions_become_windows() {
    let t = |h: i8, m: i8| Time::new(h, m, 0, 0).unwrap();
    let all = crate::schedule::EVERY_DAY.to_vec();
    let window = |days: Vec<Weekday>, from: Time, to: Time| Window { days, from, to };
    let cases: Vec<(Value, Vec<Window>)> = vec![
        // An overnight daily window runs past midnight.
        (
            json!({"type": "daily_restriction", "start_time_of_day": "22:00:00", "duration_seconds": 28800}),
            vec![window(all.clone(), t(22, 0), t(6, 0))],
        ),
        (
            json!({"type": "daily_restriction", "start_time_of_day": "09:00:00", "duration_seconds": 28800}),
            vec![window(all.clone(), t(9, 0), t(17, 0))],
        ),
        // A 63-hour weekend: Friday evening, Saturday and Sunday whole, Monday morning.
        (
            json!({"type": "weekly_restriction", "start_day_of_week": 5, "start_time_of_day": "18:00:00",
                   "duration_seconds": 226800}),
            vec![
                window(vec![Weekday::Friday], t(18, 0), t(0, 0)),
                window(vec![Weekday::Saturday], t(0, 0), t(0, 0)),
                window(vec![Weekday::Sunday], t(0, 0), t(0, 0)),
                window(vec![Weekday::Monday], t(0, 0), t(9, 0)),
            ],
        ),
        // Sunday into Monday wraps the week.
        (
            json!({"type": "weekly_restriction", "start_day_of_week": 7, "start_time_of_day": "20:00:00",
                   "duration_seconds": 57600}),
            vec![
                window(vec![Weekday::Sunday], t(20, 0), t(0, 0)),
                window(vec![Weekday::Monday], t(0, 0), t(12, 0)),
            ],
        ),
        // A whole day (or more) restricts nothing.
        (
            json!({"type": "daily_restriction", "start_time_of_day": "00:00:00", "duration_seconds": 86400}),
            vec![],
        ),
    ];
    for (restriction, expected) in cases {
        assert_eq!(
            pagerduty::windows(&restriction).unwrap(),
            expected,
            "{restriction}"
        );
    }
    for bad in [
        json!({"type": "weekly_restriction", "start_time_of_day": "10:00:00", "duration_seconds": 60}),
        json!({"type": "monthly_restriction", "start_time_of_day": "10:00:00", "duration_seconds": 60}),
        json!({"type": "daily_restriction", "start_time_of_day": "25:00:00", "duration_seconds": 60}),
        json!({"type": "daily_restriction", "start_time_of_day": "10:00:00", "duration_seconds": 0}),
    ] {
        assert!(pagerduty::windows(&bad).is_err(), "{bad}");
    }
}

#[test]
fn turn_lengths_use_the_largest_whole_unit() {
    for (seconds, expected) in [
        (604_800, Some(ShiftLength::Weeks(1))),
        (1_209_600, Some(ShiftLength::Weeks(2))),
        (86_400, Some(ShiftLength::Days(1))),
        (43_200, Some(ShiftLength::Hours(12))),
        (5_400, Some(ShiftLength::Minutes(90))),
        (90, None),
        (0, None),
    ] {
        assert_eq!(pagerduty::turn_length(seconds), expected, "{seconds}");
    }
}

#[test]
fn what_does_not_map_is_said() {
    let (mut doc, overrides) = berlin();
    let now = at("2026-10-01T00:00:00Z");
    // A deactivated user, a layer that ends, one that ended, a turn too long, an unknown zone.
    doc["schedule_layers"][1]["users"][2]["user"]["id"] = json!("PGONE00");
    doc["schedule_layers"][0]["end"] = json!("2026-12-31T00:00:00+01:00");
    let mut ended = doc["schedule_layers"][0].clone();
    ended["name"] = json!("Old weekend");
    ended["end"] = json!("2026-01-01T00:00:00+01:00");
    doc["schedule_layers"].as_array_mut().unwrap().push(ended);
    let mut yearly = doc["schedule_layers"][1].clone();
    yearly["name"] = json!("Yearly");
    yearly["rotation_turn_length_seconds"] = json!(31_536_000);
    doc["schedule_layers"].as_array_mut().unwrap().push(yearly);
    let imported = pagerduty::schedule(&doc, &overrides, &email_of, now).unwrap();
    let Fidelity::Approximated(notes) = &imported.fidelity else {
        panic!("{:?}", imported.fidelity);
    };
    for expected in [
        "user PGONE00 is unknown",
        "layer \"Old weekend\" ended at",
        "layer \"Yearly\": a shift is at most 52 weeks",
    ] {
        assert!(
            notes.iter().any(|it| it.contains(expected)),
            "{expected}: {notes:?}"
        );
    }
    assert!(
        !notes.iter().any(|it| it.contains("\"Weekend\"")),
        "a layer that ends is exact: {notes:?}"
    );
    assert_eq!(imported.schedule.layers.len(), 2);
    // The weekend layer (top in PagerDuty, last here) leaves at its end, in Berlin's wall clock.
    assert_eq!(
        imported.schedule.layers[1].active_until,
        Some(jiff::civil::date(2026, 12, 31).at(0, 0, 0, 0))
    );
    doc["time_zone"] = json!("Atlantis/Capital");
    assert!(pagerduty::schedule(&doc, &overrides, &email_of, now).is_err());
}

#[test]
fn differences_merge_and_see_gaps() {
    let shift = |start: &str, end: &str, person: Option<&str>| Shift {
        start: at(start),
        end: at(end),
        person: person.map(String::from),
    };
    let range = (at("2026-01-01T00:00:00Z"), at("2026-01-02T00:00:00Z"));
    let ours = vec![
        shift("2026-01-01T00:00:00Z", "2026-01-01T12:00:00Z", Some("a")),
        shift("2026-01-01T12:00:00Z", "2026-01-02T00:00:00Z", None),
    ];
    // The vendor leaves out nobody's stretches and splits a person's in two.
    let theirs = vec![
        shift("2026-01-01T00:00:00Z", "2026-01-01T06:00:00Z", Some("a")),
        shift("2026-01-01T06:00:00Z", "2026-01-01T12:00:00Z", Some("a")),
    ];
    assert_eq!(differences(&ours, &theirs, range), Vec::new());
    let theirs = vec![shift(
        "2026-01-01T00:00:00Z",
        "2026-01-01T18:00:00Z",
        Some("a"),
    )];
    assert_eq!(
        differences(&ours, &theirs, range),
        vec![Difference {
            start: at("2026-01-01T12:00:00Z"),
            end: at("2026-01-01T18:00:00Z"),
            ours: None,
            theirs: Some("a".into()),
        }]
    );
}

#[test]
fn an_escalation_policy_maps_step_by_step() {
    use crate::paging::{Step, Target};
    let email = |id: &str| match id {
        "PUSR0DD" => Some("dana@example.com".to_string()),
        other => email_of(other),
    };
    // The research document's invented policy (§6.2).
    let doc = json!({
        "id": "PESC4RT", "type": "escalation_policy", "name": "Payments", "num_loops": 2,
        "escalation_rules": [
            {"id": "PRUL001", "escalation_delay_in_minutes": 10,
             "targets": [{"id": "PSCH7QX", "type": "schedule_reference"}]},
            {"id": "PRUL002", "escalation_delay_in_minutes": 15,
             "targets": [{"id": "PSCH8SE", "type": "schedule_reference"}]},
            {"id": "PRUL003", "escalation_delay_in_minutes": 30, "escalation_rule_assignment_strategy": "assign_to_everyone",
             "targets": [{"id": "PUSR0DD", "type": "user_reference"}]}]
    });
    let imported = pagerduty::escalation_policy(&doc, &email).unwrap();
    assert_eq!(imported.fidelity, Fidelity::Exact);
    assert_eq!(imported.policy.repeat, 2);
    assert_eq!(
        imported.policy.steps,
        vec![
            Step {
                targets: vec![Target::Schedule("PSCH7QX".into())],
                delay_minutes: 10
            },
            Step {
                targets: vec![Target::Schedule("PSCH8SE".into())],
                delay_minutes: 15
            },
            Step {
                targets: vec![Target::Person("dana@example.com".into())],
                delay_minutes: 30
            },
        ]
    );
    // What does not map is said: an unknown user, round robin, a long wait, too many loops;
    // a v3 schedule is a target like any other; a policy with nobody to page is skipped.
    let doc = json!({
        "id": "PESCX", "name": "Odd", "num_loops": 12,
        "escalation_rules": [
            {"escalation_delay_in_minutes": 2000, "escalation_rule_assignment_strategy": "round_robin",
             "targets": [{"id": "PUSR0AA", "type": "user_reference"}, {"id": "PGONE", "type": "user_reference"}]},
            {"escalation_delay_in_minutes": 5, "targets": [{"id": "PV3", "type": "schedule_v3_reference"}]}]
    });
    let imported = pagerduty::escalation_policy(&doc, &email).unwrap();
    assert_eq!(imported.policy.steps.len(), 2);
    assert_eq!(
        imported.policy.steps[1].targets,
        [Target::Schedule("PV3".into())]
    );
    assert_eq!(imported.policy.steps[0].delay_minutes, 1440);
    assert_eq!(imported.policy.repeat, 9);
    let Fidelity::Approximated(notes) = imported.fidelity else {
        panic!()
    };
    for expected in [
        "user PGONE is unknown",
        "round robin",
        "waits 1440 minutes",
        "repeats 9 times",
    ] {
        assert!(
            notes.iter().any(|it| it.contains(expected)),
            "{expected}: {notes:?}"
        );
    }
    let nobody = json!({"id": "P0", "name": "Empty", "escalation_rules": [{"targets": [{"id": "PGONE", "type": "user"}]}]});
    assert!(pagerduty::escalation_policy(&nobody, &email).is_err());
}

#[test]
fn a_service_keeps_its_keys_and_says_what_firebreak_does_not_do() {
    // The research document's invented service (§6.3).
    let doc = json!({
        "id": "PSVC5PA", "name": "payments-api", "auto_resolve_timeout": null, "acknowledgement_timeout": 1800,
        "alert_grouping": "time", "escalation_policy": {"id": "PESC4RT", "type": "escalation_policy_reference"},
        "incident_urgency_rule": {"type": "use_support_hours"},
        "integrations": [
            {"id": "PINT6AM", "type": "events_api_v2_inbound_integration", "name": "Alertmanager",
             "integration_key": "3f9c2a7e51b84d0c9e6a1b2c3d4e5f60"},
            {"id": "PINT7EM", "type": "generic_email_inbound_integration", "name": "Bank e-mails",
             "integration_email": "payments-api@acme.pagerduty.com"}]
    });
    let imported = pagerduty::service(&doc);
    assert_eq!(imported.name, "payments-api");
    assert_eq!(imported.policy_vendor_id.as_deref(), Some("PESC4RT"));
    assert_eq!(
        imported.keys,
        vec![(
            "Alertmanager".to_string(),
            "3f9c2a7e51b84d0c9e6a1b2c3d4e5f60".to_string()
        )]
    );
    let Fidelity::Approximated(notes) = imported.fidelity else {
        panic!()
    };
    for expected in [
        "Bank e-mails",
        "re-triggers after 1800 s",
        "grouping \"time\"",
        "support hours",
    ] {
        assert!(
            notes.iter().any(|it| it.contains(expected)),
            "{expected}: {notes:?}"
        );
    }
    assert!(
        !notes.iter().any(|it| it.contains("auto-resolve")),
        "null is off: {notes:?}"
    );
}

#[test]
fn a_user_brings_phones_unverified_and_high_urgency_rules() {
    // The research document's invented user (§6.4).
    let doc = json!({
        "id": "PUSR0AA", "name": "Ana Ortiz", "email": "Ana.Ortiz@example.com", "time_zone": "Europe/Madrid",
        "role": "user",
        "contact_methods": [
            {"id": "PCM01EM", "type": "email_contact_method", "address": "ana.ortiz@example.com"},
            {"id": "PCM02SM", "type": "sms_contact_method", "country_code": 34, "address": "612345678"},
            {"id": "PCM03PH", "type": "phone_contact_method", "country_code": 34, "address": "612345678"},
            {"id": "PCM04PU", "type": "push_notification_contact_method", "address": "f1e2d3c4b5a6"}],
        "notification_rules": [
            {"type": "assignment_notification_rule", "start_delay_in_minutes": 0, "urgency": "high",
             "contact_method": {"id": "PCM04PU", "type": "push_notification_contact_method_reference"}},
            {"type": "assignment_notification_rule", "start_delay_in_minutes": 3, "urgency": "high",
             "contact_method": {"id": "PCM03PH", "type": "phone_contact_method_reference"}},
            {"type": "assignment_notification_rule", "start_delay_in_minutes": 1, "urgency": "high",
             "contact_method": {"id": "PCM02SM", "type": "sms_contact_method_reference"}},
            {"type": "assignment_notification_rule", "start_delay_in_minutes": 0, "urgency": "low",
             "contact_method": {"id": "PCM01EM", "type": "email_contact_method_reference"}}]
    });
    let person = pagerduty::user(&doc).unwrap();
    assert_eq!(
        person.email, "ana.ortiz@example.com",
        "matched by email, lower case"
    );
    assert_eq!(
        (person.zone.as_str(), person.role),
        ("Europe/Madrid", "responder")
    );
    let contacts: Vec<(&str, &str)> = person
        .contacts
        .iter()
        .map(|it| (it.kind, it.address.as_str()))
        .collect();
    assert_eq!(
        contacts,
        [
            ("email", "ana.ortiz@example.com"),
            ("sms", "+34612345678"),
            ("voice", "+34612345678")
        ]
    );
    assert_eq!(
        person.rules,
        [(1, 1), (3, 2)],
        "by SMS after 1 min, a call after 3"
    );
    let Fidelity::Approximated(notes) = &person.fidelity else {
        panic!()
    };
    for expected in [
        "push_notification_contact_method cannot be carried over",
        "low-urgency",
        "not imported",
    ] {
        assert!(
            notes.iter().any(|it| it.contains(expected)),
            "{expected}: {notes:?}"
        );
    }
    for (role, expected) in [
        ("owner", "admin"),
        ("read_only_user", "viewer"),
        ("limited_user", "responder"),
    ] {
        let mut doc = doc.clone();
        doc["role"] = json!(role);
        assert_eq!(pagerduty::user(&doc).unwrap().role, expected, "{role}");
    }
    assert!(pagerduty::user(&json!({"id": "P1", "name": "No mail"})).is_err());
}

#[test]
fn v3_recurrences_and_strategies() {
    use jiff::civil::Weekday::*;
    for (rule, expected) in [
        ("RRULE:FREQ=DAILY", Ok(crate::schedule::EVERY_DAY.to_vec())),
        ("RRULE:FREQ=WEEKLY;BYDAY=MO,WE", Ok(vec![Monday, Wednesday])),
        ("RRULE:FREQ=WEEKLY;INTERVAL=1;BYDAY=SA", Ok(vec![Saturday])),
        ("RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=MO", Err(())),
        ("RRULE:FREQ=MONTHLY", Err(())),
        ("RRULE:FREQ=WEEKLY;BYDAY=XX", Err(())),
    ] {
        assert_eq!(
            pagerduty::v3::recurrence(rule).map_err(|_| ()),
            expected,
            "{rule}"
        );
    }
    let event = |kind: &str, shifts: i64, rule: &str| {
        json!({"id": "PV3", "name": "Ops", "time_zone": "Europe/Berlin", "rotations": [{"id": "R", "events": [{
            "name": "Day", "start_time": {"date_time": "2027-01-04T09:00:00"}, "end_time": {"date_time": "2027-01-04T17:00:00"},
            "recurrence": [rule],
            "assignment_strategy": {"type": kind, "shifts_per_member": shifts,
                "members": [{"type": "user_member", "user_id": "PUSR0AA"}, {"type": "user_member", "user_id": "PUSR0BB"}]}}]}]})
    };
    let now = at("2027-01-01T00:00:00Z");
    // Five weekday shifts each: a week's turn, exact.
    let planned = pagerduty::v3::schedule(
        &event(
            "rotating_member_assignment_strategy",
            5,
            "RRULE:FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
        ),
        &email_of,
        now,
    );
    let it = planned[0].as_ref().unwrap();
    assert_eq!(it.imported.fidelity, Fidelity::Exact);
    assert_eq!(it.imported.schedule.layers[0].length, ShiftLength::Weeks(1));
    assert_eq!(it.imported.target_id, "PV3");
    // Two weekday shifts each does not fill whole weeks: said.
    let planned = pagerduty::v3::schedule(
        &event(
            "rotating_member_assignment_strategy",
            2,
            "RRULE:FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
        ),
        &email_of,
        now,
    );
    assert!(matches!(
        planned[0].as_ref().unwrap().imported.fidelity,
        Fidelity::Approximated(_)
    ));
    // Everyone at once: a schedule per member.
    let planned = pagerduty::v3::schedule(
        &event("every_member_assignment_strategy", 1, "RRULE:FREQ=DAILY"),
        &email_of,
        now,
    );
    let names: Vec<&str> = planned
        .iter()
        .map(|it| it.as_ref().unwrap().imported.name.as_str())
        .collect();
    assert_eq!(
        names,
        ["Ops / Day (ana@example.com)", "Ops / Day (bo@example.com)"]
    );
    // A shift of a day or more is refused with its reason.
    let mut long = event("every_member_assignment_strategy", 1, "RRULE:FREQ=DAILY");
    long["rotations"][0]["events"][0]["end_time"]["date_time"] = json!("2027-01-05T09:00:00");
    let planned = pagerduty::v3::schedule(&long, &email_of, now);
    assert!(
        planned[0]
            .as_ref()
            .unwrap_err()
            .why
            .contains("shorter than a day")
    );
}

#[test]
fn schedules_on_call_together_are_compared_together() {
    use crate::schedule::{Layer, Schedule};
    let layer = |person: &str, from: i8, to: i8| Layer {
        name: person.into(),
        start: jiff::civil::date(2027, 1, 4).at(0, 0, 0, 0),
        length: ShiftLength::Weeks(1),
        participants: vec![person.into()],
        windows: vec![Window {
            days: crate::schedule::EVERY_DAY.to_vec(),
            from: Time::new(from, 0, 0, 0).unwrap(),
            to: Time::new(to, 0, 0, 0).unwrap(),
        }],
        active_from: None,
        active_until: None,
    };
    let one = |layer| Schedule {
        zone: jiff::tz::TimeZone::UTC,
        layers: vec![layer],
        overrides: Vec::new(),
    };
    let (a, b) = (one(layer("a", 9, 17)), one(layer("b", 12, 20)));
    let shift = |start: &str, end: &str, person: &str| Shift {
        start: at(start),
        end: at(end),
        person: Some(person.into()),
    };
    let theirs = [
        shift("2027-01-05T09:00:00Z", "2027-01-05T17:00:00Z", "a"),
        shift("2027-01-05T12:00:00Z", "2027-01-05T20:00:00Z", "b"),
    ];
    let compared = super::compare_together(&[&a, &b], &theirs).unwrap();
    assert_eq!(compared.differences, Vec::new());
    // The vendor has b leave at 19:00: that hour differs, with both sides' people named.
    let theirs = [
        theirs[0].clone(),
        shift("2027-01-05T12:00:00Z", "2027-01-05T19:00:00Z", "b"),
    ];
    let compared = super::compare_together(&[&a, &b], &theirs).unwrap();
    assert_eq!(
        compared.differences.len(),
        0,
        "the range ends where the vendor's does"
    );
    let theirs = [
        shift("2027-01-05T09:00:00Z", "2027-01-05T17:00:00Z", "a"),
        shift("2027-01-05T12:00:00Z", "2027-01-05T16:00:00Z", "b"),
    ];
    let compared = super::compare_together(&[&a, &b], &theirs).unwrap();
    assert_eq!(
        compared.differences,
        [Difference {
            start: at("2027-01-05T16:00:00Z"),
            end: at("2027-01-05T17:00:00Z"),
            ours: Some("a + b".into()),
            theirs: Some("a".into()),
        }]
    );
}

#[test]
fn a_rendering_that_claims_centuries_is_compared_over_400_days() {
    let (doc, overrides) = berlin();
    let imported =
        pagerduty::schedule(&doc, &overrides, &email_of, at("2026-10-01T00:00:00Z")).unwrap();
    let theirs = [Shift {
        start: at("2026-10-19T00:00:00Z"),
        end: at("8026-10-19T00:00:00Z"),
        person: Some("ana@example.com".into()),
    }];
    let compared = super::compare(&imported.schedule, &theirs).unwrap();
    assert_eq!(compared.to, at("2027-11-23T00:00:00Z"));
    assert!(!compared.differences.is_empty());
}
