//! Follow-ups: the action items a post-mortem agrees on, tracked until done (or explicitly
//! accepted as won't-do), with reminders: before the due time and when overdue to the owner,
//! then — still overdue a while later — to the incident lead.

use jiff::{SignedDuration, Timestamp};

use crate::incident::text_enum;
use std::fmt;

text_enum!(FollowupStatus { Open = "open", Done = "done", WontDo = "wont_do" });
text_enum!(FollowupKind { Code = "code", Process = "process", Infrastructure = "infrastructure" });
text_enum!(Priority { High = "high", Medium = "medium", Low = "low" });

/// Which reminder: each is sent at most once per follow-up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Due soon, to the owner.
    BeforeDue,
    /// Overdue, to the owner.
    Overdue,
    /// Still overdue after the grace time, to the incident lead.
    Escalated,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::BeforeDue => "before_due",
            Stage::Overdue => "overdue",
            Stage::Escalated => "escalated",
        }
    }

    /// Distinct per stage (the notifications' sequence number).
    pub fn number(self) -> i64 {
        match self {
            Stage::BeforeDue => 1,
            Stage::Overdue => 2,
            Stage::Escalated => 3,
        }
    }
}

/// The reminders already sent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sent {
    pub before_due: bool,
    pub overdue: bool,
    pub escalated: bool,
}

/// The quick picks for a due time, seed 002's "hotfix now, proper fix within 24/48/72 h".
pub fn due_in(text: &str) -> Option<SignedDuration> {
    Some(match text {
        "24h" => SignedDuration::from_hours(24),
        "48h" => SignedDuration::from_hours(48),
        "72h" => SignedDuration::from_hours(72),
        "1w" => SignedDuration::from_hours(24 * 7),
        _ => return None,
    })
}

pub const REMIND_BEFORE: SignedDuration = SignedDuration::from_hours(24);
pub const ESCALATE_AFTER: SignedDuration = SignedDuration::from_hours(24);

/// The reminder owed at `now`, if any: the latest stage reached that was not sent. A
/// follow-up created when already close to (or past) its due time skips the earlier stages.
pub fn reminder(
    status: FollowupStatus,
    due: Option<Timestamp>,
    sent: Sent,
    now: Timestamp,
) -> Option<Stage> {
    let due = due.filter(|_| status == FollowupStatus::Open)?;
    if now >= due + ESCALATE_AFTER {
        return (!sent.escalated).then_some(Stage::Escalated);
    }
    if now >= due {
        return (!sent.overdue).then_some(Stage::Overdue);
    }
    if now >= due - REMIND_BEFORE {
        return (!sent.before_due && !sent.overdue).then_some(Stage::BeforeDue);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_reminder_per_stage_owner_then_lead() {
        let h = |hours: i64| Timestamp::from_second(1_800_000_000 + hours * 3600).unwrap();
        let due = Some(h(72));
        let none = Sent::default();
        let before = Sent {
            before_due: true,
            ..none
        };
        let overdue = Sent {
            overdue: true,
            ..before
        };
        let all = Sent {
            escalated: true,
            ..overdue
        };
        let table = [
            (FollowupStatus::Open, none, 0, None),
            (FollowupStatus::Open, none, 50, Some(Stage::BeforeDue)),
            (FollowupStatus::Open, before, 60, None),
            (FollowupStatus::Open, before, 72, Some(Stage::Overdue)),
            (FollowupStatus::Open, overdue, 80, None),
            (FollowupStatus::Open, overdue, 96, Some(Stage::Escalated)),
            (FollowupStatus::Open, all, 200, None),
            // Missed the earlier stages (the worker was down): the latest one only.
            (FollowupStatus::Open, none, 100, Some(Stage::Escalated)),
            (FollowupStatus::Done, none, 100, None),
            (FollowupStatus::WontDo, none, 100, None),
        ];
        for (status, sent, now, expected) in table {
            assert_eq!(
                reminder(status, due, sent, h(now)),
                expected,
                "{status} {sent:?} at {now}"
            );
        }
        assert_eq!(reminder(FollowupStatus::Open, None, none, h(1000)), None);
        assert_eq!(due_in("48h"), Some(SignedDuration::from_hours(48)));
        assert_eq!(due_in("soon"), None);
    }
}
