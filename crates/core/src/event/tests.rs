//! Every event reads back from its stored body as itself, and writes the same bytes again.

use jiff::Timestamp;
use proptest::prelude::*;
use proptest::strategy::BoxedStrategy;
use proptest::test_runner::{Config, TestRunner};

use super::*;
use crate::action::{ActionKind, Risk};
use crate::coordination::Informed;
use crate::incident::{Affected, ImpactKind, IncidentType, Mode, Reference, TimestampName};
use crate::lifecycle::{ALL_STATUSES, Status};
use crate::playbook::{Task, TaskStatus};

fn text() -> impl Strategy<Value = String> {
    // Any characters, including quotes, escapes and non-ASCII.
    any::<String>()
}

fn maybe_text() -> impl Strategy<Value = Option<String>> {
    proptest::option::of(text())
}

fn number() -> impl Strategy<Value = i64> {
    any::<i64>()
}

fn time() -> impl Strategy<Value = Timestamp> {
    (
        Timestamp::MIN.as_microsecond()..=Timestamp::MAX.as_microsecond(),
        0..3u8,
    )
        .prop_map(|(us, precision)| {
            // Whole seconds, milliseconds and microseconds print differently.
            let us = match precision {
                0 => us - us.rem_euclid(1_000_000),
                1 => us - us.rem_euclid(1_000),
                _ => us,
            };
            Timestamp::from_microsecond(us).unwrap_or(Timestamp::UNIX_EPOCH)
        })
}

fn one_of<T: Copy + std::fmt::Debug + 'static>(all: &'static [T]) -> impl Strategy<Value = T> {
    proptest::sample::select(all)
}

fn status() -> impl Strategy<Value = Status> {
    one_of(&ALL_STATUSES)
}

fn texts() -> impl Strategy<Value = Vec<String>> {
    proptest::collection::vec(text(), 0..4)
}

fn affected() -> impl Strategy<Value = Affected> {
    (text(), proptest::option::of(number())).prop_map(|(text, count)| Affected { text, count })
}

fn task() -> impl Strategy<Value = Task> {
    (
        (number(), text(), maybe_text(), maybe_text()),
        (
            proptest::option::of(time()),
            one_of(&[TaskStatus::Open, TaskStatus::Done, TaskStatus::Skipped]),
            text(),
            text(),
            any::<bool>(),
        ),
    )
        .prop_map(
            |((number, title, role, assignee), (due, status, note, playbook, overdue_noticed))| {
                Task {
                    number,
                    title,
                    role,
                    assignee,
                    due,
                    status,
                    note,
                    playbook,
                    overdue_noticed,
                }
            },
        )
}

/// A detail and another of the same field: a change never switches fields.
fn detail_pair() -> impl Strategy<Value = (Detail, Detail)> {
    prop_oneof![
        (text(), text()).prop_map(|(a, b)| (Detail::Title(a), Detail::Title(b))),
        (text(), text()).prop_map(|(a, b)| (Detail::Summary(a), Detail::Summary(b))),
        (one_of(ImpactKind::ALL), one_of(ImpactKind::ALL))
            .prop_map(|(a, b)| (Detail::Impact(a), Detail::Impact(b))),
        (affected(), affected()).prop_map(|(a, b)| (Detail::Affected(a), Detail::Affected(b))),
        (texts(), texts()).prop_map(|(a, b)| (Detail::Services(a), Detail::Services(b))),
        (any::<bool>(), any::<bool>()).prop_map(|(a, b)| (Detail::Private(a), Detail::Private(b))),
    ]
}

/// Events of one kind. The match is exhaustive, so a new kind needs a generator here.
pub(crate) fn events_of(kind: EventKind) -> BoxedStrategy<EventData> {
    match kind {
        EventKind::Declared => (
            (number(), text(), text(), text(), one_of(IncidentType::ALL)),
            (one_of(ImpactKind::ALL), affected(), texts(), any::<bool>()),
            (one_of(Mode::ALL), status()),
        )
            .prop_map(
                |(
                    (reference, title, summary, severity, incident_type),
                    (impact, affected, services, private),
                    (mode, status),
                )| EventData::Declared {
                    reference: Reference(reference.max(1)),
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
                },
            )
            .boxed(),
        EventKind::StatusChanged => (status(), status(), proptest::option::of(1..i64::MAX))
            .prop_map(|(from, to, merged)| EventData::StatusChanged {
                from,
                to,
                merged_into: merged.map(Reference),
            })
            .boxed(),
        EventKind::SeverityChanged => (text(), text())
            .prop_map(|(from, to)| EventData::SeverityChanged { from, to })
            .boxed(),
        EventKind::DetailsChanged => detail_pair()
            .prop_map(|(from, to)| EventData::DetailsChanged { from, to })
            .boxed(),
        EventKind::RoleAssigned => (text(), text(), maybe_text(), maybe_text())
            .prop_map(|(role, user, previous, handover)| EventData::RoleAssigned {
                role,
                user,
                previous,
                handover,
            })
            .boxed(),
        EventKind::RoleUnassigned => (text(), text())
            .prop_map(|(role, previous)| EventData::RoleUnassigned { role, previous })
            .boxed(),
        EventKind::MemberAdded => text()
            .prop_map(|member| EventData::MemberAdded { member })
            .boxed(),
        EventKind::FreezeStarted => text()
            .prop_map(|reason| EventData::FreezeStarted { reason })
            .boxed(),
        EventKind::FreezeEnded => text()
            .prop_map(|reason| EventData::FreezeEnded { reason })
            .boxed(),
        EventKind::PlaybookAdded => (text(), proptest::collection::vec(task(), 0..3))
            .prop_map(|(name, tasks)| EventData::PlaybookAdded { name, tasks })
            .boxed(),
        EventKind::TaskAdded => task()
            .prop_map(|task| EventData::TaskAdded { task })
            .boxed(),
        EventKind::TaskAssigned => (number(), text())
            .prop_map(|(number, assignee)| EventData::TaskAssigned { number, assignee })
            .boxed(),
        EventKind::TaskClosed => (
            number(),
            one_of(&[TaskStatus::Open, TaskStatus::Done, TaskStatus::Skipped]),
            text(),
            text(),
        )
            .prop_map(|(number, status, by, note)| EventData::TaskClosed {
                number,
                status,
                by,
                note,
            })
            .boxed(),
        EventKind::TaskReopened => number()
            .prop_map(|number| EventData::TaskReopened { number })
            .boxed(),
        EventKind::UpdateReminder => (time(), maybe_text())
            .prop_map(|(due, to)| EventData::UpdateReminder { due, to })
            .boxed(),
        EventKind::UpdateOverdue => (time(), maybe_text())
            .prop_map(|(due, to)| EventData::UpdateOverdue { due, to })
            .boxed(),
        EventKind::ActionProposed => (
            (number(), one_of(ActionKind::ALL), text(), text()),
            (one_of(Risk::ALL), text(), any::<bool>(), text()),
        )
            .prop_map(
                |(
                    (number, kind, title, target),
                    (risk, rollback_plan, destructive, proposed_by),
                )| {
                    EventData::ActionProposed {
                        number,
                        kind,
                        title,
                        target,
                        risk,
                        rollback_plan,
                        destructive,
                        proposed_by,
                    }
                },
            )
            .boxed(),
        EventKind::ActionApproved => (number(), text(), text())
            .prop_map(
                |(number, proposed_by, approved_by)| EventData::ActionApproved {
                    number,
                    proposed_by,
                    approved_by,
                },
            )
            .boxed(),
        EventKind::ActionRejected => (number(), text(), text())
            .prop_map(|(number, by, reason)| EventData::ActionRejected { number, by, reason })
            .boxed(),
        EventKind::ActionStarted => (
            number(),
            text(),
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
        )
            .prop_map(|(number, by, destructive, backup_taken, tried_on_sample)| {
                EventData::ActionStarted {
                    number,
                    by,
                    destructive,
                    backup_taken,
                    tried_on_sample,
                }
            })
            .boxed(),
        EventKind::ActionFinished => (number(), any::<bool>(), text(), text())
            .prop_map(
                |(number, succeeded, result, output)| EventData::ActionFinished {
                    number,
                    succeeded,
                    result,
                    output,
                },
            )
            .boxed(),
        EventKind::UpdatePosted => (
            text(),
            proptest::option::of(status()),
            proptest::option::of(time()),
            any::<bool>(),
        )
            .prop_map(
                |(message, status, next_update_due, public)| EventData::UpdatePosted {
                    message,
                    status,
                    next_update_due,
                    public,
                },
            )
            .boxed(),
        EventKind::Note => text().prop_map(|text| EventData::Note { text }).boxed(),
        EventKind::MessagePinned => (text(), maybe_text(), maybe_text())
            .prop_map(|(text, author, link)| EventData::MessagePinned { text, author, link })
            .boxed(),
        EventKind::CallLinkSet => text()
            .prop_map(|url| EventData::CallLinkSet { url })
            .boxed(),
        EventKind::ChatChannelRequested => text()
            .prop_map(|name| EventData::ChatChannelRequested { name })
            .boxed(),
        EventKind::Correction => (text(), proptest::option::of(number()))
            .prop_map(|(text, corrects)| EventData::Correction { text, corrects })
            .boxed(),
        EventKind::TimestampAsserted => (one_of(TimestampName::ALL), time(), text())
            .prop_map(|(name, at, note)| EventData::TimestampAsserted { name, at, note })
            .boxed(),
        EventKind::RuleFired => (text(), text(), texts(), texts())
            .prop_map(|(rule, trigger, effects, notify)| EventData::RuleFired {
                rule,
                trigger,
                effects,
                notify,
            })
            .boxed(),
        EventKind::CadenceSet => (number(), time())
            .prop_map(|(minutes, next_due)| EventData::CadenceSet { minutes, next_due })
            .boxed(),
        EventKind::RolesRequired => texts()
            .prop_map(|roles| EventData::RolesRequired { roles })
            .boxed(),
        EventKind::TaskOverdue => (number(), time(), maybe_text())
            .prop_map(|(number, due, to)| EventData::TaskOverdue { number, due, to })
            .boxed(),
        EventKind::ParticipantJoined => (text(), text())
            .prop_map(|(person, zone)| EventData::ParticipantJoined { person, zone })
            .boxed(),
        EventKind::ParticipantLeft => (text(), number(), number())
            .prop_map(
                |(person, minutes, out_of_hours_minutes)| EventData::ParticipantLeft {
                    person,
                    minutes,
                    out_of_hours_minutes,
                },
            )
            .boxed(),
        EventKind::Nudged => (text(), maybe_text(), text())
            .prop_map(|(kind, to, text)| EventData::Nudged { kind, to, text })
            .boxed(),
        EventKind::Thanked => (texts(), text())
            .prop_map(|(people, text)| EventData::Thanked { people, text })
            .boxed(),
        EventKind::StakeholderAdded => (text(), one_of(Informed::ALL))
            .prop_map(|(who, mode)| EventData::StakeholderAdded { who, mode })
            .boxed(),
        EventKind::StakeholderRemoved => text()
            .prop_map(|who| EventData::StakeholderRemoved { who })
            .boxed(),
        EventKind::DigestSent => (texts(), number(), proptest::option::of(time()))
            .prop_map(|(to, updates, since)| EventData::DigestSent { to, updates, since })
            .boxed(),
        EventKind::PublicUpdatePublished => (text(), text(), text())
            .prop_map(
                |(public_id, status, body)| EventData::PublicUpdatePublished {
                    public_id,
                    status,
                    body,
                },
            )
            .boxed(),
        EventKind::PostmortemPublished => text()
            .prop_map(|url| EventData::PostmortemPublished { url })
            .boxed(),
    }
}

#[test]
fn every_event_reads_back_from_its_stored_body() {
    for kind in EventKind::ALL {
        let mut runner = TestRunner::new(Config {
            cases: 64,
            failure_persistence: None,
            ..Config::default()
        });
        runner
            .run(&events_of(*kind), |event| {
                prop_assert_eq!(event.kind(), *kind);
                // Through the stored text, as the database hands it back.
                let stored = event.to_body().to_string();
                let value: serde_json::Value = serde_json::from_str(&stored).unwrap();
                let back = EventData::from_stored(*kind, &value);
                prop_assert_eq!(back.as_ref(), Ok(&event));
                prop_assert_eq!(back.unwrap().to_body().to_string(), stored);
                Ok(())
            })
            .unwrap_or_else(|failure| panic!("{kind}: {failure}"));
    }
}

#[test]
fn a_body_that_does_not_fit_its_kind_names_the_field() {
    let table = [
        (EventKind::Note, serde_json::json!({}), "text"),
        (EventKind::Note, serde_json::json!({ "text": 3 }), "text"),
        (
            EventKind::StatusChanged,
            serde_json::json!({ "from": "triage", "to": "sideways" }),
            "to",
        ),
        (
            EventKind::DetailsChanged,
            serde_json::json!({ "field": "colour", "from": "red", "to": "blue" }),
            "from",
        ),
        (
            EventKind::TaskOverdue,
            serde_json::json!({ "task": 1, "due": "yesterday" }),
            "due",
        ),
    ];
    for (kind, body, field) in table {
        assert_eq!(
            EventData::from_stored(kind, &body),
            Err(BadEvent { kind, field }),
            "{kind} {body}"
        );
    }
}

#[test]
fn search_text_takes_the_human_fields_in_order() {
    for (body, want) in [
        (json!({"text": "db failover"}), "db failover"),
        (
            json!({"title": "Checkout down", "summary": " payments fail "}),
            "Checkout down payments fail",
        ),
        (
            json!({"message": "Fixed", "note": "rolled back"}),
            "Fixed rolled back",
        ),
        (
            json!({"to": "ana@example.com", "role": "lead"}),
            "ana@example.com",
        ),
        (json!({"to": {"status": "resolved"}}), ""),
        (json!({"severity": "critical"}), ""),
    ] {
        assert_eq!(super::search_text(&body), want, "{body}");
    }
}
