//! Tables for channel names, what events owe chat, the card and the chat commands.

use super::*;
use crate::catalog::Catalog;
use crate::command::tests::incident;
use crate::command::{Command, Context, decide};

fn t(seconds: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + seconds).unwrap()
}

#[test]
fn channel_names_follow_slacks_rules_and_keep_the_number() {
    let long = "a".repeat(200);
    let cases: &[(i64, &str, &str)] = &[
        (42, "Checkout fails", "inc-42-checkout-fails"),
        (7, "  DB: p99 > 2s!!  ", "inc-7-db-p99-2s"),
        (3, "Zahlung schlägt fehl", "inc-3-zahlung-schl-gt-fehl"),
        (5, "snake_case kept", "inc-5-snake_case-kept"),
        (9, "---", "inc-9"),
        (10, "", "inc-10"),
        (11, "🔥🔥", "inc-11"),
    ];
    for (number, title, want) in cases {
        assert_eq!(channel_name(Reference(*number), title), *want, "{title:?}");
    }
    let name = channel_name(Reference(123_456), &long);
    assert_eq!(name.len(), MAX_CHANNEL_NAME);
    assert!(name.starts_with("inc-123456-aaa"));
    // Trimming never leaves a trailing hyphen.
    let name = channel_name(Reference(1), &format!("{} b", "a".repeat(73)));
    assert!(!name.ends_with('-'), "{name}");
    for title in [
        "Ünïcödé ＦＵＬＬ width",
        "a--b__c",
        "tab\tand\nnewline",
        &long,
    ] {
        let name = channel_name(Reference(77), title);
        assert!(name.len() <= MAX_CHANNEL_NAME);
        assert!(
            name.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_'),
            "{name}"
        );
        assert!(!name.contains("--"), "{name}");
    }
}

fn chat_catalog() -> Catalog {
    Catalog {
        chat: Some(ChatPolicy {
            announce_target: "announcements".into(),
            platforms: vec!["matrix".into()],
            archive_on_close: true,
        }),
        ..Catalog::default()
    }
}

#[test]
fn what_each_event_owes_chat() {
    let policy = ChatPolicy {
        announce_target: "announcements".into(),
        platforms: vec!["matrix".into()],
        archive_on_close: true,
    };
    let mut with_channel = incident(Status::Investigating);
    with_channel.coordination.chat_channel = Some("inc-1-checkout-is-down".into());
    let without = incident(Status::Investigating);
    let mut private = with_channel.clone();
    private.private = true;
    let fired = |notify: &[&str]| EventData::RuleFired {
        rule: "serious incident".into(),
        trigger: "declared".into(),
        effects: vec![],
        notify: notify.iter().map(|it| it.to_string()).collect(),
    };
    let update = EventData::UpdatePosted {
        message: "Rolled back".into(),
        status: None,
        next_update_due: Some(t(1800)),
        public: false,
    };
    let role = EventData::RoleAssigned {
        role: "lead".into(),
        user: "ana@example.com".into(),
        previous: None,
        handover: None,
    };
    let post = |text: &str| (Place::Channel, Work::Post(text.into()));
    let card = (Place::Channel, Work::Card);
    let open = (Place::Channel, Work::Open);
    let announce = (Place::Announcements, Work::Announce);
    let update_words = "Update (investigating · next update by 08:30 UTC): Rolled back";
    type Case<'a> = (&'a Incident, EventData, Vec<(Place, Work)>);
    let cases: Vec<Case> = vec![
        (
            &without,
            EventData::ChatChannelRequested { name: "x".into() },
            vec![open.clone()],
        ),
        (
            &with_channel,
            update.clone(),
            vec![post(update_words), card.clone()],
        ),
        // No channel yet: nothing for the channel.
        (&without, update.clone(), vec![]),
        (
            &with_channel,
            role.clone(),
            vec![post("ana@example.com is now lead"), card.clone()],
        ),
        (
            &with_channel,
            EventData::StatusChanged {
                from: Status::Investigating,
                to: Status::Resolved,
                merged_into: None,
            },
            vec![post("Status: investigating → resolved"), card.clone()],
        ),
        (
            &with_channel,
            fired(&["announcements"]),
            vec![announce.clone()],
        ),
        (&without, fired(&["announcements"]), vec![announce]),
        (
            &with_channel,
            EventData::StatusChanged {
                from: Status::Learning,
                to: Status::Closed,
                merged_into: None,
            },
            vec![
                post("Status: learning → closed"),
                card.clone(),
                (Place::Channel, Work::Archive),
            ],
        ),
        (
            &with_channel,
            EventData::UpdateReminder {
                due: t(600),
                to: Some("bo@example.com".into()),
            },
            vec![(
                Place::Channel,
                Work::Remind {
                    to: "bo@example.com".into(),
                    text: "the next status update is due by 08:10 UTC".into(),
                },
            )],
        ),
        (
            &with_channel,
            EventData::UpdateOverdue {
                due: t(600),
                to: Some("bo@example.com".into()),
            },
            vec![(
                Place::Channel,
                Work::Remind {
                    to: "bo@example.com".into(),
                    text: "the status update due at 08:10 UTC is overdue".into(),
                },
            )],
        ),
        // Another target, or a private incident: no announcement.
        (&with_channel, fired(&["sre-email"]), vec![]),
        (&private, fired(&["announcements"]), vec![]),
        // A pin came from chat: never echoed back.
        (
            &with_channel,
            EventData::MessagePinned {
                text: "x".into(),
                author: None,
                link: None,
            },
            vec![],
        ),
    ];
    for (incident, event, want) in cases {
        assert_eq!(owed(&event, incident, Some(&policy)), want, "{event:?}");
        assert!(
            owed(&event, incident, None).is_empty(),
            "no chat: nothing owed"
        );
    }
}

#[test]
fn a_channel_is_requested_once_and_only_with_chat() {
    let catalog = chat_catalog();
    let mut it = incident(Status::Investigating);
    let events = decide(&it, &Context::new(&catalog, t(0)), Command::OpenChannel).unwrap();
    assert_eq!(
        events.iter().map(|it| &it.data).collect::<Vec<_>>(),
        vec![&EventData::ChatChannelRequested {
            name: "inc-1-checkout-is-down".into()
        }]
    );
    crate::command::apply(&mut it, &events[0].data, t(0));
    assert_eq!(
        it.coordination.chat_channel.as_deref(),
        Some("inc-1-checkout-is-down")
    );
    let again = decide(&it, &Context::new(&catalog, t(1)), Command::OpenChannel).unwrap();
    assert!(again.is_empty(), "a second request changes nothing");
    let off = Catalog::default();
    assert!(decide(&it, &Context::new(&off, t(1)), Command::OpenChannel).is_err());
}

#[test]
fn the_card_offers_what_makes_sense_now() {
    let mut it = incident(Status::Investigating);
    it.next_update_due = Some(t(600));
    let card = card(&it, "https://fb.example/incidents/INC-1");
    assert_eq!(card.headline, "INC-1: Checkout is down");
    assert_eq!(
        card.buttons,
        vec![Button::TakeLead, Button::PostUpdate, Button::Resolve]
    );
    assert!(
        card.fields
            .contains(&("Next update".into(), "08:10 UTC".into()))
    );
    assert!(card.fields.contains(&("Lead".into(), "nobody".into())));
    it.roles.insert("lead".into(), "ana@example.com".into());
    assert_eq!(
        super::card(&it, "").buttons,
        vec![Button::PostUpdate, Button::Resolve]
    );
    assert_eq!(
        topic(&it),
        format!(
            "{} · investigating · lead ana@example.com · next update 08:10 UTC",
            it.severity
        )
    );
    it.status = Status::Resolved;
    let resolved = super::card(&it, "");
    assert!(resolved.buttons.is_empty());
    assert!(
        !resolved
            .fields
            .iter()
            .any(|(label, _)| label == "Next update")
    );
}

#[test]
fn chat_commands_parse_or_say_why_not() {
    let severities: Vec<String> = vec!["critical".into(), "major".into(), "minor".into()];
    let ok: &[(&str, ChatCommand)] = &[
        ("", ChatCommand::Help),
        ("help", ChatCommand::Help),
        (
            "declare major Checkout fails",
            ChatCommand::Declare {
                severity: Some("major".into()),
                title: "Checkout fails".into(),
            },
        ),
        (
            "declare Checkout fails",
            ChatCommand::Declare {
                severity: None,
                title: "Checkout fails".into(),
            },
        ),
        (
            "declare",
            ChatCommand::Declare {
                severity: None,
                title: String::new(),
            },
        ),
        (
            "update  Rolled back, watching",
            ChatCommand::Update {
                message: "Rolled back, watching".into(),
            },
        ),
        (
            "note cache hit rate 3%",
            ChatCommand::Note {
                text: "cache hit rate 3%".into(),
            },
        ),
        (
            "lead",
            ChatCommand::Role {
                role: "lead".into(),
                who: None,
            },
        ),
        (
            "comms bo@example.com",
            ChatCommand::Role {
                role: "comms".into(),
                who: Some("bo@example.com".into()),
            },
        ),
        (
            "role support @cy:hs",
            ChatCommand::Role {
                role: "support".into(),
                who: Some("@cy:hs".into()),
            },
        ),
        ("sev Critical", ChatCommand::Severity("critical".into())),
        ("status monitoring", ChatCommand::Status(Status::Monitoring)),
        ("resolve", ChatCommand::Resolve { message: None }),
        (
            "resolve fixed by rollback",
            ChatCommand::Resolve {
                message: Some("fixed by rollback".into()),
            },
        ),
        ("ack", ChatCommand::Ack { alert: None }),
        (
            "ack 0190-abc",
            ChatCommand::Ack {
                alert: Some("0190-abc".into()),
            },
        ),
        ("channel", ChatCommand::Channel),
    ];
    for (text, want) in ok {
        assert_eq!(
            parse_command(text, &severities).as_ref(),
            Ok(want),
            "{text:?}"
        );
    }
    let refused: &[(&str, &str)] = &[
        ("update", "needs the update's words"),
        ("severity sev9", "not a severity here"),
        ("status sideways", "not a status"),
        ("role lead", "needs a role and a person"),
        ("frobnicate", "I don't know `frobnicate`"),
    ];
    for (text, why) in refused {
        let err = parse_command(text, &severities).unwrap_err();
        assert!(err.contains(why), "{text:?}: {err}");
    }
}

#[test]
fn pin_reactions() {
    for key in [
        "📌",
        "📌\u{FE0F}",
        "📍",
        "pushpin",
        "round_pushpin",
        "pushpin::skin-tone-2",
    ] {
        assert!(is_pin_reaction(key), "{key:?}");
    }
    for key in ["👍", "✅", "stopwatch", ""] {
        assert!(!is_pin_reaction(key), "{key:?}");
    }
}

#[test]
fn ack_reactions() {
    for key in ["✅", "✔️", "☑️", "white_check_mark"] {
        assert!(is_ack_reaction(key), "{key:?}");
    }
    for key in ["📌", "👍", "x"] {
        assert!(!is_ack_reaction(key), "{key:?}");
    }
}

#[test]
fn the_call_link() {
    let catalog = Catalog::default();
    let mut it = incident(Status::Investigating);
    let set = |url: &str| Command::SetCallLink { url: url.into() };
    for bad in [
        "meet.example.com",
        "ftp://x",
        "https://a b",
        "javascript:alert(1)",
    ] {
        assert!(
            decide(&it, &Context::new(&catalog, t(0)), set(bad)).is_err(),
            "{bad}"
        );
    }
    let events = decide(
        &it,
        &Context::new(&catalog, t(0)),
        set(" https://meet.example.com/abc "),
    )
    .unwrap();
    assert_eq!(
        events[0].data,
        EventData::CallLinkSet {
            url: "https://meet.example.com/abc".into()
        }
    );
    crate::command::apply(&mut it, &events[0].data, t(0));
    assert_eq!(
        it.coordination.call_link.as_deref(),
        Some("https://meet.example.com/abc")
    );
    assert!(
        card(&it, "")
            .fields
            .contains(&("Call".into(), "https://meet.example.com/abc".into()))
    );
    assert!(
        decide(
            &it,
            &Context::new(&catalog, t(1)),
            set("https://meet.example.com/abc")
        )
        .unwrap()
        .is_empty(),
        "the same link again changes nothing"
    );
    let mut with_channel = it.clone();
    with_channel.coordination.chat_channel = Some("inc-1-x".into());
    let policy = ChatPolicy {
        announce_target: "announcements".into(),
        platforms: vec!["slack".into()],
        archive_on_close: true,
    };
    let owed = owed(&events[0].data, &with_channel, Some(&policy));
    assert!(
        matches!(&owed[0], (Place::Channel, Work::Post(text)) if text.contains("https://meet.example.com/abc"))
    );
    let ended = decide(&it, &Context::new(&catalog, t(2)), set("")).unwrap();
    crate::command::apply(&mut it, &ended[0].data, t(2));
    assert_eq!(it.coordination.call_link, None);
    assert_eq!(
        parse_command("call end", &[]).unwrap(),
        ChatCommand::Call { url: String::new() }
    );
    assert_eq!(
        parse_command("call https://meet.example.com/x", &[]).unwrap(),
        ChatCommand::Call {
            url: "https://meet.example.com/x".into()
        }
    );
}
