//! Paging decisions: what an incoming alert event does to the alert with the same dedup key,
//! and how an escalation policy moves from step to step. Pure: the store applies them in
//! one transaction with the row locked.
//!
//! Dedup follows PagerDuty's Events API v2: the key is scoped to the service; a trigger on an
//! open alert with the same key is counted on it (no new alert, no new page); acknowledge
//! stops escalation; resolve closes it; after that a trigger with the same key opens a new
//! alert, while acknowledge or resolve for a key with no open alert is dropped (and still
//! accepted, so the sender does not retry).

use std::fmt;

use jiff::{SignedDuration, Timestamp};

use crate::incident::text_enum;

text_enum!(AlertStatus {
    Triggered = "triggered",
    Acknowledged = "acknowledged",
    Resolved = "resolved",
});

text_enum!(AlertSeverity {
    Critical = "critical",
    Error = "error",
    Warning = "warning",
    Info = "info",
});

/// What a monitoring tool asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlertAction {
    Trigger,
    Acknowledge,
    Resolve,
}

/// What happens to the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// A new alert (and a page).
    Open,
    /// The open alert counts one more trigger.
    Count,
    Acknowledge,
    Resolve,
    /// Nothing to do (accepted all the same).
    Drop,
}

/// `open`: the status of the open alert with the same key on the same service, if any.
pub fn decide(open: Option<AlertStatus>, action: AlertAction) -> Decision {
    match (open, action) {
        (None | Some(AlertStatus::Resolved), AlertAction::Trigger) => Decision::Open,
        (Some(_), AlertAction::Trigger) => Decision::Count,
        (Some(AlertStatus::Triggered), AlertAction::Acknowledge) => Decision::Acknowledge,
        (Some(AlertStatus::Triggered | AlertStatus::Acknowledged), AlertAction::Resolve) => {
            Decision::Resolve
        }
        _ => Decision::Drop,
    }
}

/// Who a step pages: people directly, or whoever a schedule has on call at the time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    Person(String),
    Schedule(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// Empty only in a first step that waits before anyone is paged.
    pub targets: Vec<Target>,
    /// How long the step waits for an acknowledgement before the next step.
    pub delay_minutes: i64,
}

/// An escalation policy as an alert keeps it (a snapshot: later edits do not change an
/// alert already escalating).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    pub steps: Vec<Step>,
    /// How many more times the whole policy runs after the last step (0 = once).
    pub repeat: i64,
}

/// Where an escalation stands: the step paged last and which pass through the policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    pub step: usize,
    pub pass: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("a policy needs at least one step")]
    NoSteps,
    #[error("step {0} pages nobody")]
    NoTargets(usize),
    #[error("step {0} waits 1 to 1440 minutes before escalating")]
    Delay(usize),
    #[error("a policy repeats 0 to 9 times")]
    Repeat,
}

impl Policy {
    pub fn check(&self) -> Result<(), PolicyError> {
        if self.steps.is_empty() {
            return Err(PolicyError::NoSteps);
        }
        for (i, step) in self.steps.iter().enumerate() {
            // The first step may be a wait (Opsgenie's first rule "after 5 minutes"): it pages
            // nobody and escalates after its delay. Any other step must page someone.
            if step.targets.is_empty() && (i > 0 || self.steps.len() == 1) {
                return Err(PolicyError::NoTargets(i + 1));
            }
            if !(1..=1440).contains(&step.delay_minutes) {
                return Err(PolicyError::Delay(i + 1));
            }
        }
        if !(0..=9).contains(&self.repeat) {
            return Err(PolicyError::Repeat);
        }
        Ok(())
    }

    /// The first page: step 0, and when to escalate if nobody acknowledges.
    pub fn start(&self, now: Timestamp) -> Option<(Position, Timestamp)> {
        let step = self.steps.first()?;
        Some((
            Position { step: 0, pass: 0 },
            now + SignedDuration::from_mins(step.delay_minutes),
        ))
    }

    /// The step after `at` (and when it escalates in turn), or `None` when the policy is
    /// exhausted: the alert stays open, nobody more is paged.
    pub fn next(&self, at: Position, now: Timestamp) -> Option<(Position, Timestamp)> {
        let next = if at.step + 1 < self.steps.len() {
            Position {
                step: at.step + 1,
                pass: at.pass,
            }
        } else if at.pass < self.repeat {
            Position {
                step: 0,
                pass: at.pass + 1,
            }
        } else {
            return None;
        };
        let step = self.steps.get(next.step)?;
        Some((next, now + SignedDuration::from_mins(step.delay_minutes)))
    }
}

/// A silence as paging sees it: from `starts` to `ends`, on one service (or every one),
/// matching alerts whose summary or dedup key contains `matching` (any case; empty: every
/// alert). A maintenance window is a silence of a whole service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Silence {
    pub id: String,
    pub service_id: Option<String>,
    pub matching: String,
    pub starts: Timestamp,
    pub ends: Timestamp,
}

impl Silence {
    pub fn covers(&self, service_id: &str, summary: &str, dedup_key: &str, at: Timestamp) -> bool {
        let active = self.starts <= at && at < self.ends;
        let service = self.service_id.as_deref().is_none_or(|it| it == service_id);
        let needle = self.matching.to_lowercase();
        let matches = needle.is_empty()
            || summary.to_lowercase().contains(&needle)
            || dedup_key.to_lowercase().contains(&needle);
        active && service && matches
    }
}

/// Why a new alert is kept but nobody is paged for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Quiet {
    Silenced {
        silence: String,
    },
    /// Its key opened this many alerts within the flapping window.
    Flapping {
        opened: usize,
    },
    /// It joined the storm around this open alert of the service (which was paged).
    Grouped {
        into: String,
    },
}

/// What decides whether a new alert pages.
pub struct NewAlert<'a> {
    pub service_id: &'a str,
    pub summary: &'a str,
    pub dedup_key: &'a str,
    pub at: Timestamp,
    pub silences: &'a [Silence],
    /// Alerts this key opened on the service within the flapping window, this one included.
    pub opened_recently: usize,
    /// From this many on the key is flapping; 0: never.
    pub flap_threshold: usize,
    /// An open alert of the service opened within its grouping window, if grouping is on.
    pub storm: Option<&'a str>,
}

/// Silenced first (someone said so), then flapping, then grouped into a storm; else page.
pub fn quiet(alert: &NewAlert<'_>) -> Option<Quiet> {
    if let Some(silence) = alert
        .silences
        .iter()
        .find(|it| it.covers(alert.service_id, alert.summary, alert.dedup_key, alert.at))
    {
        return Some(Quiet::Silenced {
            silence: silence.id.clone(),
        });
    }
    if alert.flap_threshold > 0 && alert.opened_recently >= alert.flap_threshold {
        return Some(Quiet::Flapping {
            opened: alert.opened_recently,
        });
    }
    alert.storm.map(|into| Quiet::Grouped { into: into.into() })
}

/// How long a person's page budget window lasts.
pub const PAGE_WINDOW: jiff::SignedDuration = jiff::SignedDuration::from_hours(1);

/// A person's page budget after one more page at `now`, from what it was (`None`: never
/// paged): the window's start and the pages in it. A window is an hour long and starts with
/// the first page after the last window ended. (On PostgreSQL the same rule is one upsert
/// shared by every replica, `Store::spend_page`.)
pub fn spend_page(budget: Option<(Timestamp, i64)>, now: Timestamp) -> (Timestamp, i64) {
    match budget {
        Some((start, pages)) if start > now - PAGE_WINDOW => (start, pages.saturating_add(1)),
        _ => (now, 1),
    }
}

/// The rank of an alert severity, for "at least": info 0 … critical 3.
pub fn severity_rank(severity: AlertSeverity) -> u8 {
    match severity {
        AlertSeverity::Info => 0,
        AlertSeverity::Warning => 1,
        AlertSeverity::Error => 2,
        AlertSeverity::Critical => 3,
    }
}

/// Whether a service whose auto-declare rule is `threshold` (a severity, or empty for never)
/// opens an incident for a new alert of `severity`.
pub fn auto_declares(threshold: &str, severity: AlertSeverity) -> bool {
    AlertSeverity::parse(threshold)
        .is_some_and(|threshold| severity_rank(severity) >= severity_rank(threshold))
}

/// Parses the times monitoring tools send: RFC 3339 (`Z` or `+00:00`) and PagerDuty's
/// documented `2015-07-17T08:42:58.315+0000` (no colon in the offset).
pub fn parse_time(text: &str) -> Option<Timestamp> {
    if let Ok(at) = text.parse::<Timestamp>() {
        return Some(at);
    }
    // `+0000` is five ASCII bytes; text that does not end in ASCII is not this form (and
    // splitting it there could cut a character in two).
    let (head, tail) = text.split_at_checked(text.len().checked_sub(5)?)?;
    let sign = tail.chars().next()?;
    if (sign == '+' || sign == '-') && tail[1..].chars().all(|c| c.is_ascii_digit()) {
        return format!("{head}{}:{}", &tail[..3], &tail[3..]).parse().ok();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_budget_windows() {
        let now: Timestamp = "2026-12-07T10:00:00Z".parse().unwrap();
        let ago = |mins: i64| now - jiff::SignedDuration::from_mins(mins);
        for (before, after) in [
            (None, (now, 1)),
            (Some((ago(0), 1)), (now, 2)),
            (Some((ago(59), 7)), (ago(59), 8)),
            // The window ends an hour after it started: the next page opens a new one.
            (Some((ago(60), 7)), (now, 1)),
            (Some((ago(600), 500)), (now, 1)),
            (Some((ago(1), i64::MAX)), (ago(1), i64::MAX)),
        ] {
            assert_eq!(spend_page(before, now), after, "{before:?}");
        }
    }

    #[test]
    fn auto_declare_thresholds() {
        use AlertSeverity::*;
        for (threshold, severity, expected) in [
            ("", Critical, false),
            ("critical", Critical, true),
            ("critical", Error, false),
            ("error", Critical, true),
            ("error", Error, true),
            ("error", Warning, false),
            ("info", Info, true),
            ("nonsense", Critical, false),
        ] {
            assert_eq!(
                auto_declares(threshold, severity),
                expected,
                "{threshold} / {severity:?}"
            );
        }
    }

    #[test]
    fn dedup_decisions_follow_the_events_api() {
        use AlertAction::*;
        use AlertStatus::*;
        // Each row: the open alert with that key (if any), the action, the decision.
        let cases = [
            (None, Trigger, Decision::Open),
            (Some(Triggered), Trigger, Decision::Count),
            (Some(Acknowledged), Trigger, Decision::Count),
            (Some(Resolved), Trigger, Decision::Open),
            (None, Acknowledge, Decision::Drop),
            (Some(Triggered), Acknowledge, Decision::Acknowledge),
            (Some(Acknowledged), Acknowledge, Decision::Drop),
            (Some(Resolved), Acknowledge, Decision::Drop),
            (None, Resolve, Decision::Drop),
            (Some(Triggered), Resolve, Decision::Resolve),
            (Some(Acknowledged), Resolve, Decision::Resolve),
            (Some(Resolved), Resolve, Decision::Drop),
        ];
        for (open, action, decision) in cases {
            assert_eq!(decide(open, action), decision, "{open:?} {action:?}");
        }
    }

    #[test]
    fn a_policy_walks_its_steps_then_repeats_then_stops() {
        let step = |who: &str, delay| Step {
            targets: vec![Target::Person(who.into())],
            delay_minutes: delay,
        };
        let policy = Policy {
            steps: vec![step("ana", 5), step("bo", 10)],
            repeat: 1,
        };
        assert_eq!(policy.check(), Ok(()));
        let t0: Timestamp = "2026-11-21T10:00:00Z".parse().unwrap();
        let (first, due) = policy.start(t0).unwrap();
        assert_eq!((first.step, first.pass), (0, 0));
        assert_eq!(due, "2026-11-21T10:05:00Z".parse().unwrap());
        let (second, due) = policy.next(first, due).unwrap();
        assert_eq!((second.step, second.pass), (1, 0));
        assert_eq!(due, "2026-11-21T10:15:00Z".parse().unwrap());
        let (third, _) = policy.next(second, due).unwrap();
        assert_eq!((third.step, third.pass), (0, 1), "the repeat starts over");
        let (fourth, due) = policy.next(third, due).unwrap();
        assert_eq!(policy.next(fourth, due), None, "exhausted");
        // Bad policies: each refused with its reason.
        let wait = Step {
            targets: vec![],
            delay_minutes: 5,
        };
        let cases = [
            (
                Policy {
                    steps: vec![],
                    repeat: 0,
                },
                PolicyError::NoSteps,
            ),
            (
                Policy {
                    steps: vec![Step {
                        targets: vec![],
                        delay_minutes: 5,
                    }],
                    repeat: 0,
                },
                PolicyError::NoTargets(1),
            ),
            (
                Policy {
                    steps: vec![step("ana", 0)],
                    repeat: 0,
                },
                PolicyError::Delay(1),
            ),
            (
                Policy {
                    steps: vec![step("ana", 5)],
                    repeat: 10,
                },
                PolicyError::Repeat,
            ),
            (
                Policy {
                    steps: vec![step("ana", 5), wait.clone()],
                    repeat: 0,
                },
                PolicyError::NoTargets(2),
            ),
        ];
        for (policy, error) in cases {
            assert_eq!(policy.check(), Err(error));
        }
        // A first step may wait before anyone is paged (an Opsgenie rule "after 5 minutes").
        let waits_first = Policy {
            steps: vec![wait, step("ana", 5)],
            repeat: 0,
        };
        assert_eq!(waits_first.check(), Ok(()));
    }

    #[test]
    fn what_keeps_a_new_alert_quiet() {
        let at: Timestamp = "2026-11-21T10:00:00Z".parse().unwrap();
        let hour = SignedDuration::from_hours(1);
        let silence = |id: &str, service: Option<&str>, matching: &str, from: Timestamp| Silence {
            id: id.into(),
            service_id: service.map(String::from),
            matching: matching.into(),
            starts: from,
            ends: from + hour,
        };
        let silences = [
            silence("maint", Some("db"), "", at - hour / 2),
            silence("disk", None, "DISK", at - hour / 2),
            silence("later", Some("api"), "", at + hour),
        ];
        let base = NewAlert {
            service_id: "api",
            summary: "5xx above 2%",
            dedup_key: "api-5xx",
            at,
            silences: &silences,
            opened_recently: 1,
            flap_threshold: 4,
            storm: None,
        };
        // Each row: what differs from `base`, and the answer.
        let cases: Vec<(NewAlert<'_>, Option<Quiet>)> = vec![
            (NewAlert { ..base }, None),
            (
                NewAlert {
                    service_id: "db",
                    ..base
                },
                Some(Quiet::Silenced {
                    silence: "maint".into(),
                }),
            ),
            (
                NewAlert {
                    summary: "Disk /var 97% full",
                    ..base
                },
                Some(Quiet::Silenced {
                    silence: "disk".into(),
                }),
            ),
            (
                NewAlert {
                    at: at + hour + hour / 2,
                    ..base
                },
                Some(Quiet::Silenced {
                    silence: "later".into(),
                }),
            ),
            (
                NewAlert {
                    opened_recently: 4,
                    ..base
                },
                Some(Quiet::Flapping { opened: 4 }),
            ),
            (
                NewAlert {
                    opened_recently: 9,
                    flap_threshold: 0,
                    ..base
                },
                None,
            ),
            (
                NewAlert {
                    storm: Some("first"),
                    ..base
                },
                Some(Quiet::Grouped {
                    into: "first".into(),
                }),
            ),
            (
                NewAlert {
                    service_id: "db",
                    storm: Some("first"),
                    opened_recently: 5,
                    ..base
                },
                Some(Quiet::Silenced {
                    silence: "maint".into(),
                }),
            ),
        ];
        for (alert, want) in cases {
            assert_eq!(
                quiet(&alert),
                want,
                "{} {} {}",
                alert.service_id,
                alert.summary,
                alert.at
            );
        }
    }

    #[test]
    fn monitoring_timestamps_in_every_documented_form() {
        let want: Timestamp = "2015-07-17T08:42:58.315Z".parse().unwrap();
        for text in [
            "2015-07-17T08:42:58.315Z",
            "2015-07-17T08:42:58.315+00:00",
            "2015-07-17T08:42:58.315+0000",
            "2015-07-17T10:42:58.315+0200",
        ] {
            assert_eq!(parse_time(text), Some(want), "{text}");
        }
        // The last: found by the fuzzer, a multi-byte character where the offset would start.
        for text in [
            "",
            "yesterday",
            "2015-07-17T08:42:58.315+0o00",
            "+0000",
            "2026-11-21T09[dd܋ex0:",
        ] {
            assert_eq!(parse_time(text), None, "{text}");
        }
    }
}
