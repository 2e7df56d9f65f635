//! Deploy freeze: while a live incident of a freezing severity is open, deploys wait.
//!
//! The default rule starts a freeze when an incident *enters* that state — declared at such
//! a severity, raised to it, or reopened at it — and ends it when the incident stops being
//! live. Between those moments people may lift or set the freeze by hand, and the rule does
//! not fight them.

use jiff::Timestamp;

use crate::catalog::Catalog;
use crate::event::EventData;
use crate::incident::Incident;

/// An incident's freeze: since when and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Freeze {
    pub since: Timestamp,
    pub reason: String,
}

/// Whether the default rule wants deploys frozen for this incident as it stands.
pub fn freezes(incident: &Incident, catalog: &Catalog) -> bool {
    incident.status.is_live() && catalog.freeze_severities.contains(&incident.severity)
}

/// The freeze event the default rule adds after a change to `after`, if any; `was` is
/// `freezes` of the incident before the change (false for a new incident).
pub fn follow_up(was: bool, after: &Incident, catalog: &Catalog) -> Option<EventData> {
    if freezes(after, catalog) && !was && after.freeze.is_none() {
        return Some(EventData::FreezeStarted {
            reason: format!("{} incident is live (rule)", after.severity),
        });
    }
    if !after.status.is_live() && after.freeze.is_some() {
        return Some(EventData::FreezeEnded {
            reason: format!("incident is {} (rule)", after.status),
        });
    }
    None
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
    fn the_default_rule() {
        let catalog = Catalog::default();
        let make = |severity: &str, status: Status, frozen: bool| {
            let mut it = incident(status);
            it.severity = severity.into();
            it.freeze = frozen.then(|| Freeze {
                since: t(0),
                reason: "x".into(),
            });
            it
        };
        let major = make("major", Status::Investigating, false);
        let major_frozen = make("major", Status::Investigating, true);
        let minor = make("minor", Status::Investigating, false);
        let resolved_frozen = make("major", Status::Resolved, true);
        let resolved = make("major", Status::Resolved, false);
        // (before, after, expected kind)
        let table: [(Option<&Incident>, &Incident, Option<&str>); 7] = [
            (None, &major, Some("freeze_started")),
            (None, &minor, None),
            (Some(&minor), &major, Some("freeze_started")),
            (Some(&resolved), &major, Some("freeze_started")),
            (Some(&major_frozen), &resolved_frozen, Some("freeze_ended")),
            // Lifted by hand while still major: a later note does not freeze again.
            (Some(&major), &major, None),
            (None, &major_frozen, None),
        ];
        for (before, after, expected) in table {
            let was = before.is_some_and(|it| freezes(it, &catalog));
            let got = follow_up(was, after, &catalog).map(|it| it.kind());
            assert_eq!(got, expected, "{before:?} → {after:?}");
        }
        let no_rule = Catalog {
            freeze_severities: Vec::new(),
            ..Catalog::default()
        };
        assert_eq!(follow_up(false, &major, &no_rule), None);
    }
}
