//! Event kinds: the name each event is stored under, and what each kind means to the
//! consumers of the timeline. Every classification is an exhaustive match, so a new kind
//! does not compile until each consumer has said what it does with it.

use std::fmt;

use crate::incident::text_enum;

text_enum!(EventKind {
    Declared = "declared",
    StatusChanged = "status_changed",
    SeverityChanged = "severity_changed",
    DetailsChanged = "details_changed",
    RoleAssigned = "role_assigned",
    RoleUnassigned = "role_unassigned",
    MemberAdded = "member_added",
    FreezeStarted = "freeze_started",
    PlaybookAdded = "playbook_added",
    TaskAdded = "task_added",
    TaskAssigned = "task_assigned",
    TaskClosed = "task_closed",
    TaskReopened = "task_reopened",
    UpdateReminder = "update_reminder",
    UpdateOverdue = "update_overdue",
    ActionProposed = "action_proposed",
    ActionApproved = "action_approved",
    ActionRejected = "action_rejected",
    ActionStarted = "action_started",
    ActionFinished = "action_finished",
    FreezeEnded = "freeze_ended",
    UpdatePosted = "update_posted",
    Note = "note",
    MessagePinned = "message_pinned",
    Correction = "correction",
    TimestampAsserted = "timestamp_asserted",
    RuleFired = "rule_fired",
    CadenceSet = "cadence_set",
    RolesRequired = "roles_required",
    TaskOverdue = "task_overdue",
    ParticipantJoined = "participant_joined",
    ParticipantLeft = "participant_left",
    Nudged = "nudged",
    Thanked = "thanked",
    StakeholderAdded = "stakeholder_added",
    StakeholderRemoved = "stakeholder_removed",
    DigestSent = "digest_sent",
    PublicUpdatePublished = "status_page_updated",
    PostmortemPublished = "postmortem_published",
    ChatChannelRequested = "chat_channel_requested",
    CallLinkSet = "call_link_set",
});

/// What each kind means to the consumers that treat kinds as groups. One row per kind,
/// so the groups cannot drift from the list of kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Traits {
    /// The notification fan-out looks at it (`notify::recipients` can name someone).
    pub notifies: bool,
    /// It belongs in a post-mortem's timeline.
    pub key: bool,
    /// It changes the incident's lists (actions, tasks, playbooks, coordination), so the
    /// writer rewrites `incident_lists`.
    pub changes_lists: bool,
}

const fn traits(notifies: bool, key: bool, changes_lists: bool) -> Traits {
    Traits {
        notifies,
        key,
        changes_lists,
    }
}

impl EventKind {
    pub fn traits(self) -> Traits {
        use EventKind::*;
        //                                       notifies key    lists
        match self {
            Declared => traits(false, true, false),
            StatusChanged => traits(false, true, false),
            SeverityChanged => traits(false, true, false),
            DetailsChanged => traits(false, false, false),
            RoleAssigned => traits(false, true, false),
            RoleUnassigned => traits(false, true, false),
            MemberAdded => traits(false, false, false),
            FreezeStarted => traits(false, true, false),
            PlaybookAdded => traits(false, false, true),
            TaskAdded => traits(false, false, true),
            TaskAssigned => traits(false, false, true),
            TaskClosed => traits(false, false, true),
            TaskReopened => traits(false, false, true),
            UpdateReminder => traits(true, false, false),
            UpdateOverdue => traits(true, false, false),
            ActionProposed => traits(false, true, true),
            ActionApproved => traits(false, true, true),
            ActionRejected => traits(false, false, true),
            ActionStarted => traits(false, true, true),
            ActionFinished => traits(false, true, true),
            FreezeEnded => traits(false, true, false),
            UpdatePosted => traits(true, true, false),
            Note => traits(false, false, false),
            MessagePinned => traits(false, true, false),
            Correction => traits(false, false, false),
            TimestampAsserted => traits(false, true, false),
            RuleFired => traits(true, false, false),
            CadenceSet => traits(false, false, true),
            RolesRequired => traits(false, false, true),
            TaskOverdue => traits(true, false, true),
            ParticipantJoined => traits(false, false, true),
            ParticipantLeft => traits(false, false, true),
            Nudged => traits(true, false, true),
            Thanked => traits(false, false, false),
            StakeholderAdded => traits(false, false, true),
            StakeholderRemoved => traits(false, false, true),
            DigestSent => traits(true, false, true),
            PublicUpdatePublished => traits(false, true, false),
            PostmortemPublished => traits(true, false, false),
            ChatChannelRequested => traits(false, false, true),
            CallLinkSet => traits(false, true, true),
        }
    }

    /// The notification fan-out looks at events of this kind.
    pub fn notifies(self) -> bool {
        self.traits().notifies
    }

    /// Events of this kind belong in a post-mortem's timeline.
    pub fn is_key(self) -> bool {
        self.traits().key
    }

    /// Events of this kind change the incident's lists.
    pub fn changes_lists(self) -> bool {
        self.traits().changes_lists
    }
}

/// Who did something, as the timeline records it: a person (by email), an API token that
/// belongs to nobody (by name), or Firebreak itself (rules, the clock).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Actor {
    Person(String),
    Token(String),
    System,
}

impl Actor {
    /// How Firebreak itself appears in timelines.
    pub const SYSTEM: &'static str = "firebreak";
    const TOKEN: &'static str = "token:";

    /// The stored text back into an actor; `to_string` gives the same text again.
    pub fn parse(text: &str) -> Actor {
        if text == Actor::SYSTEM {
            Actor::System
        } else if let Some(name) = text.strip_prefix(Actor::TOKEN) {
            Actor::Token(name.to_string())
        } else {
            Actor::Person(text.to_string())
        }
    }

    /// The person's email, for a person.
    pub fn person(&self) -> Option<&str> {
        match self {
            Actor::Person(email) => Some(email),
            Actor::Token(_) | Actor::System => None,
        }
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::Person(email) => f.write_str(email),
            Actor::Token(name) => write!(f, "{}{name}", Actor::TOKEN),
            Actor::System => f.write_str(Actor::SYSTEM),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_reads_back_from_its_name() {
        for kind in EventKind::ALL {
            assert_eq!(EventKind::parse(kind.as_str()), Some(*kind));
        }
        assert_eq!(EventKind::ALL.len(), 41);
        assert_eq!(EventKind::parse("nonsense"), None);
    }

    #[test]
    fn the_groups_are_the_ones_consumers_relied_on() {
        let names = |keep: fn(EventKind) -> bool| -> Vec<&str> {
            EventKind::ALL
                .iter()
                .filter(|it| keep(**it))
                .map(|it| it.as_str())
                .collect()
        };
        assert_eq!(
            names(EventKind::notifies),
            [
                "update_reminder",
                "update_overdue",
                "update_posted",
                "rule_fired",
                "task_overdue",
                "nudged",
                "digest_sent",
                "postmortem_published",
            ]
        );
        assert_eq!(
            names(EventKind::is_key),
            [
                "declared",
                "status_changed",
                "severity_changed",
                "role_assigned",
                "role_unassigned",
                "freeze_started",
                "action_proposed",
                "action_approved",
                "action_started",
                "action_finished",
                "freeze_ended",
                "update_posted",
                "message_pinned",
                "timestamp_asserted",
                "status_page_updated",
                "call_link_set",
            ]
        );
        // The rule the writer used before kinds were typed: prefixes plus five names.
        for kind in EventKind::ALL {
            let name = kind.as_str();
            let by_name = ["action_", "task_", "participant_", "stakeholder_"]
                .iter()
                .any(|it| name.starts_with(it))
                || matches!(
                    name,
                    "playbook_added"
                        | "nudged"
                        | "digest_sent"
                        | "roles_required"
                        | "cadence_set"
                        // Since chat: the channel's name lives in the coordination document.
                        | "chat_channel_requested"
                        | "call_link_set"
                );
            assert_eq!(kind.changes_lists(), by_name, "{name}");
        }
    }

    #[test]
    fn actors_read_back_as_they_were_written() {
        let table = [
            ("ana@example.com", Actor::Person("ana@example.com".into())),
            ("token:ci", Actor::Token("ci".into())),
            ("firebreak", Actor::System),
            ("unknown", Actor::Person("unknown".into())),
        ];
        for (text, actor) in table {
            assert_eq!(Actor::parse(text), actor);
            assert_eq!(actor.to_string(), text);
        }
    }
}
