//! What the dashboard decides: the order of live incidents, durations and due times in
//! words, and the severity a new incident most likely has.

use std::cmp::Reverse;

use jiff::{SignedDuration, Timestamp};

use crate::catalog::Catalog;
use crate::incident::Incident;

/// Most severe first; among equals, the one whose update is most overdue (or soonest due),
/// then the oldest.
pub fn order_live(incidents: &mut [Incident], catalog: &Catalog) {
    incidents.sort_by_key(|it| {
        (
            catalog.severity_rank(&it.severity).unwrap_or(usize::MAX),
            it.next_update_due
                .map_or(i64::MAX, |due| due.as_microsecond()),
            it.reference.0,
        )
    });
}

/// A duration for people: "45 s", "12 min", "3 h 05 min", "2 d 4 h".
pub fn duration_in_words(duration: SignedDuration) -> String {
    let seconds = duration.as_secs().abs();
    let (days, hours, minutes) = (
        seconds / 86_400,
        seconds % 86_400 / 3_600,
        seconds % 3_600 / 60,
    );
    if seconds < 60 {
        format!("{seconds} s")
    } else if seconds < 3_600 {
        format!("{minutes} min")
    } else if days == 0 {
        format!("{hours} h {minutes:02} min")
    } else {
        format!("{days} d {hours} h")
    }
}

/// The next update's due time in words, and whether it is overdue. Overdue is said in words
/// ("overdue by 5 min"), never only by colour.
pub fn due_in_words(due: Option<Timestamp>, now: Timestamp) -> (String, bool) {
    match due {
        None => ("no update scheduled".to_string(), false),
        Some(due) if due < now => (
            format!("overdue by {}", duration_in_words(now.duration_since(due))),
            true,
        ),
        Some(due) => (
            format!("due in {}", duration_in_words(due.duration_since(now))),
            false,
        ),
    }
}

/// The severity to preselect: the most common among recent incidents (ties go to the more
/// severe), else the catalog's default.
pub fn likely_severity<'a>(recent: impl IntoIterator<Item = &'a str>, catalog: &Catalog) -> String {
    let mut counts = vec![0usize; catalog.severities.len()];
    for severity in recent {
        if let Some(rank) = catalog.severity_rank(severity) {
            counts[rank] += 1;
        }
    }
    let best = counts
        .iter()
        .enumerate()
        .filter(|(_, count)| **count > 0)
        .max_by_key(|(rank, count)| (**count, Reverse(*rank)));
    match best {
        Some((rank, _)) => catalog.severities[rank].clone(),
        None => catalog.default_severity().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::tests::incident;
    use crate::incident::Reference;
    use crate::lifecycle::Status;

    fn t(seconds: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + seconds).unwrap()
    }

    #[test]
    fn durations() {
        let table = [
            (5, "5 s"),
            (59, "59 s"),
            (60, "1 min"),
            (45 * 60 + 30, "45 min"),
            (3 * 3600 + 5 * 60, "3 h 05 min"),
            (2 * 86_400 + 4 * 3600 + 59, "2 d 4 h"),
            (-90, "1 min"),
        ];
        for (seconds, expected) in table {
            assert_eq!(
                duration_in_words(SignedDuration::from_secs(seconds)),
                expected
            );
        }
    }

    #[test]
    fn due_times() {
        let table = [
            (None, "no update scheduled", false),
            (Some(t(600)), "due in 10 min", false),
            (Some(t(-300)), "overdue by 5 min", true),
        ];
        for (due, text, overdue) in table {
            assert_eq!(due_in_words(due, t(0)), (text.to_string(), overdue));
        }
    }

    #[test]
    fn live_incidents_most_severe_first() {
        let catalog = Catalog::default();
        let make = |number: i64, severity: &str, due: Option<i64>| {
            let mut it = incident(Status::Investigating);
            it.reference = Reference(number);
            it.severity = severity.into();
            it.next_update_due = due.map(t);
            it
        };
        let mut incidents = vec![
            make(1, "minor", Some(0)),
            make(2, "critical", None),
            make(3, "major", Some(100)),
            make(4, "critical", Some(50)),
            make(5, "major", Some(100)),
        ];
        order_live(&mut incidents, &catalog);
        let order: Vec<i64> = incidents.iter().map(|it| it.reference.0).collect();
        assert_eq!(order, [4, 2, 3, 5, 1]);
    }

    #[test]
    fn preselected_severity() {
        let catalog = Catalog::default();
        let table: [(&[&str], &str); 4] = [
            (&[], "major"),
            (&["minor", "minor", "critical"], "minor"),
            (&["minor", "critical"], "critical"),
            (&["unknown", "unknown"], "major"),
        ];
        for (recent, expected) in table {
            assert_eq!(
                likely_severity(recent.iter().copied(), &catalog),
                expected,
                "{recent:?}"
            );
        }
    }
}
