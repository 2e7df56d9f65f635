use super::*;
use crate::command::tests::incident;
use crate::command::{Command, Context, apply as apply_event, decide};
use crate::coordination::Stakeholder;
use crate::lifecycle::Status;

fn t(minutes: i64) -> Timestamp {
    // The test incident is declared at `t(0)`.
    Timestamp::from_second(1_800_000_000 + minutes * 60).unwrap()
}

fn kinds(incident: &Incident, now: i64) -> Vec<&'static str> {
    owed(incident, &Catalog::default(), t(now))
        .iter()
        .map(|it| it.kind().as_str())
        .collect()
}

fn run(incident: &mut Incident, command: Command, now: i64) -> Vec<&'static str> {
    let events = decide(
        incident,
        &Context::new(&Catalog::default(), t(now)),
        command,
    )
    .unwrap();
    for event in &events {
        apply_event(incident, &event.data, t(now));
    }
    events.iter().map(|it| it.data.kind().as_str()).collect()
}

fn live() -> Incident {
    let mut it = incident(Status::Investigating);
    it.coordination.food_nudged = true; // tested on its own below
    it
}

#[test]
fn nothing_is_owed_to_a_quiet_incident() {
    let it = live();
    assert_eq!(kinds(&it, 10_000), Vec::<&str>::new());
    assert_eq!(wake_at(&it, &Catalog::default()), None);
}

#[test]
fn the_break_nudge_comes_once_per_stint() {
    let mut it = live();
    let join = |join: bool| Command::Presence {
        person: "ana@example.com".into(),
        zone: "UTC".into(),
        join,
    };
    assert_eq!(run(&mut it, join(true), 0), ["participant_joined"]);
    assert_eq!(run(&mut it, join(true), 1), Vec::<&str>::new());
    assert_eq!(wake_at(&it, &Catalog::default()), Some(t(90)));
    assert_eq!(kinds(&it, 89), Vec::<&str>::new());
    assert_eq!(run(&mut it, Command::Tick { at: t(90) }, 90), ["nudged"]);
    assert_eq!(kinds(&it, 200), Vec::<&str>::new());
    assert_eq!(wake_at(&it, &Catalog::default()), None);
    // Leaving records the stint; rejoining starts a new one with its own nudge.
    assert_eq!(run(&mut it, join(false), 120), ["participant_left"]);
    let person = it.coordination.participant("ana@example.com").unwrap();
    assert_eq!(person.minutes, 120);
    assert_eq!(run(&mut it, join(false), 121), Vec::<&str>::new());
    assert_eq!(run(&mut it, join(true), 300), ["participant_joined"]);
    assert_eq!(wake_at(&it, &Catalog::default()), Some(t(390)));
}

#[test]
fn the_food_nudge_comes_once_after_four_hours() {
    let mut it = incident(Status::Investigating);
    it.roles.insert("lead".into(), "ana@example.com".into());
    assert_eq!(wake_at(&it, &Catalog::default()), Some(t(240)));
    assert_eq!(kinds(&it, 239), Vec::<&str>::new());
    assert_eq!(run(&mut it, Command::Tick { at: t(241) }, 241), ["nudged"]);
    assert_eq!(kinds(&it, 1000), Vec::<&str>::new());
    let mut resolved = incident(Status::Resolved);
    resolved.coordination.food_nudged = false;
    assert_eq!(kinds(&resolved, 1000), Vec::<&str>::new());
    assert_eq!(wake_at(&resolved, &Catalog::default()), None);
}

#[test]
fn an_overdue_task_is_noticed_once() {
    let mut it = live();
    run(
        &mut it,
        Command::Task {
            by: "ana@example.com".into(),
            step: crate::playbook::TaskStep::Add {
                title: "Call the vendor".into(),
                assignee: Some("bo@example.com".into()),
                due_in_minutes: Some(15),
            },
        },
        0,
    );
    assert_eq!(wake_at(&it, &Catalog::default()), Some(t(15)));
    let events = owed(&it, &Catalog::default(), t(16));
    assert_eq!(
        events,
        [EventData::TaskOverdue {
            number: 1,
            due: t(15),
            to: Some("bo@example.com".into())
        }]
    );
    assert_eq!(
        run(&mut it, Command::Tick { at: t(16) }, 16),
        ["task_overdue"]
    );
    assert_eq!(kinds(&it, 30), Vec::<&str>::new());
    assert_eq!(wake_at(&it, &Catalog::default()), None);
}

#[test]
fn passive_stakeholders_get_a_digest_of_new_updates() {
    let mut it = live();
    it.coordination.stakeholders.push(Stakeholder {
        who: "execs@example.com".into(),
        mode: crate::coordination::Informed::Passive,
    });
    // No update yet: nothing to digest.
    assert_eq!(kinds(&it, 120), Vec::<&str>::new());
    let update = |message: &str| Command::PostUpdate {
        message: message.into(),
        status: None,
        next_update_in_minutes: Some(600),
        public: false,
    };
    run(&mut it, update("We are looking"), 10);
    run(&mut it, update("Found it"), 20);
    // The first digest is an hour after the declare.
    assert_eq!(wake_at(&it, &Catalog::default()), Some(t(60)));
    let events = owed(&it, &Catalog::default(), t(60));
    assert_eq!(
        events,
        [EventData::DigestSent {
            to: vec!["execs@example.com".into()],
            updates: 2,
            since: Some(t(0)),
        }]
    );
    assert_eq!(
        run(&mut it, Command::Tick { at: t(60) }, 60),
        ["digest_sent"]
    );
    assert_eq!(kinds(&it, 500), Vec::<&str>::new());
    run(&mut it, update("Fixed"), 70);
    assert_eq!(wake_at(&it, &Catalog::default()), Some(t(120)));
}

#[test]
fn the_update_cadence_wakes_for_the_reminder_then_the_overdue_notice() {
    let mut it = live();
    it.next_update_due = Some(t(30));
    assert_eq!(wake_at(&it, &Catalog::default()), Some(t(25)));
    assert_eq!(
        run(&mut it, Command::Tick { at: t(25) }, 25),
        ["update_reminder"]
    );
    assert_eq!(wake_at(&it, &Catalog::default()), Some(t(30)));
    assert_eq!(
        run(&mut it, Command::Tick { at: t(31) }, 31),
        ["update_overdue"]
    );
    assert_eq!(wake_at(&it, &Catalog::default()), None);
}
