//! Deploy freeze: while a live incident of a freezing severity is open, deploys wait.
//!
//! A workflow rule starts a freeze (the default rules: when an incident is declared at,
//! raised to or reopened at critical or major), and this module ends it when the incident
//! stops being live. Between those moments people may lift or set the freeze by hand, and
//! the rules do not fight them: they act only on their triggers.

use jiff::Timestamp;

use crate::event::EventData;
use crate::incident::Incident;

/// An incident's freeze: since when and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Freeze {
    pub since: Timestamp,
    pub reason: String,
}

/// The event that ends this incident's freeze once it stops being live. Freezes start by
/// a rule (`rule::Effect::FreezeDeploys`) or by hand.
pub fn follow_up(after: &Incident) -> Option<EventData> {
    (!after.status.is_live() && after.freeze.is_some()).then(|| EventData::FreezeEnded {
        reason: format!("incident is {} (rule)", after.status),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::tests::incident;
    use crate::lifecycle::Status;

    fn t(seconds: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + seconds).unwrap()
    }

    #[test]
    fn a_freeze_ends_when_the_incident_stops_being_live() {
        let make = |status: Status, frozen: bool| {
            let mut it = incident(status);
            it.freeze = frozen.then(|| Freeze {
                since: t(0),
                reason: "x".into(),
            });
            it
        };
        let table = [
            (make(Status::Investigating, true), None),
            (make(Status::Resolved, true), Some("freeze_ended")),
            (make(Status::Resolved, false), None),
            (make(Status::Monitoring, false), None),
        ];
        for (incident, expected) in table {
            assert_eq!(
                follow_up(&incident).map(|it| it.kind().as_str()),
                expected,
                "{incident:?}"
            );
        }
    }
}
