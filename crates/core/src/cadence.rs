//! Update cadence: how often a live incident's stakeholders hear from it, and the reminder
//! before an update is due and the notice once it is overdue — each exactly once per due
//! time, so posting an update (a new due time) starts the cycle again.

use jiff::{SignedDuration, Timestamp};

use crate::event::EventData;
use crate::incident::Incident;

/// Which notices were sent for which due time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Notices {
    pub reminded_for: Option<Timestamp>,
    pub overdue_for: Option<Timestamp>,
}

/// Who is reminded: the comms lead, else the incident lead, else nobody in particular.
pub fn addressee(incident: &Incident) -> Option<String> {
    incident
        .roles
        .get("comms")
        .or_else(|| incident.roles.get("lead"))
        .cloned()
}

/// The notice due at `now`, if any: a reminder within `remind_before` of the due time, an
/// overdue notice after it; never the same one twice for one due time.
pub fn notice(
    incident: &Incident,
    now: Timestamp,
    remind_before: SignedDuration,
) -> Option<EventData> {
    let due = incident
        .next_update_due
        .filter(|_| incident.status.is_live())?;
    let to = addressee(incident);
    if now >= due {
        return (incident.notices.overdue_for != Some(due))
            .then_some(EventData::UpdateOverdue { due, to });
    }
    let remind_at = due.checked_sub(remind_before).unwrap_or(due);
    (now >= remind_at && incident.notices.reminded_for != Some(due))
        .then_some(EventData::UpdateReminder { due, to })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::tests::incident;
    use crate::lifecycle::Status;

    fn t(minutes: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + minutes * 60).unwrap()
    }

    #[test]
    fn one_reminder_and_one_overdue_notice_per_due_time() {
        let before = SignedDuration::from_mins(5);
        let mut live = incident(Status::Investigating);
        live.next_update_due = Some(t(30));
        live.roles.insert("lead".into(), "ana@x".into());
        let mut reminded = live.clone();
        reminded.notices.reminded_for = Some(t(30));
        let mut noticed = reminded.clone();
        noticed.notices.overdue_for = Some(t(30));
        let mut resolved = live.clone();
        resolved.status = Status::Resolved;
        // (incident, now, expected kind)
        let table: [(&Incident, i64, Option<&str>); 8] = [
            (&live, 0, None),
            (&live, 24, None),
            (&live, 25, Some("update_reminder")),
            (&reminded, 26, None),
            (&reminded, 30, Some("update_overdue")),
            (&noticed, 45, None),
            // Missed the reminder window entirely: only the overdue notice.
            (&live, 40, Some("update_overdue")),
            (&resolved, 40, None),
        ];
        for (incident, now, expected) in table {
            let got = notice(incident, t(now), before).map(|it| it.kind().as_str());
            assert_eq!(got, expected, "at minute {now}");
        }
        let mut with_comms = live.clone();
        with_comms.roles.insert("comms".into(), "bo@x".into());
        assert_eq!(addressee(&with_comms).as_deref(), Some("bo@x"));
        assert_eq!(addressee(&live).as_deref(), Some("ana@x"));
    }
}
