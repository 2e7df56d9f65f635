//! The incident lifecycle: statuses and the one table of allowed transitions.

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    Triage,
    Investigating,
    Identified,
    Monitoring,
    Resolved,
    Learning,
    Closed,
    Declined,
    Merged,
}

pub const ALL_STATUSES: [Status; 9] = [
    Status::Triage,
    Status::Investigating,
    Status::Identified,
    Status::Monitoring,
    Status::Resolved,
    Status::Learning,
    Status::Closed,
    Status::Declined,
    Status::Merged,
];

/// Every allowed transition, and nothing else. `resolved → investigating | identified` is a
/// reopen; `declined` and `merged` only end a triage.
const TRANSITIONS: &[(Status, &[Status])] = {
    use Status::*;
    &[
        (
            Triage,
            &[
                Investigating,
                Identified,
                Monitoring,
                Resolved,
                Declined,
                Merged,
            ],
        ),
        (Investigating, &[Identified, Monitoring, Resolved]),
        (Identified, &[Investigating, Monitoring, Resolved]),
        (Monitoring, &[Investigating, Identified, Resolved]),
        (Resolved, &[Investigating, Identified, Learning, Closed]),
        (Learning, &[Closed]),
        (Closed, &[]),
        (Declined, &[]),
        (Merged, &[]),
    ]
};

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Triage => "triage",
            Status::Investigating => "investigating",
            Status::Identified => "identified",
            Status::Monitoring => "monitoring",
            Status::Resolved => "resolved",
            Status::Learning => "learning",
            Status::Closed => "closed",
            Status::Declined => "declined",
            Status::Merged => "merged",
        }
    }

    pub fn parse(text: &str) -> Option<Status> {
        ALL_STATUSES.into_iter().find(|it| it.as_str() == text)
    }

    /// The statuses this one may move to.
    pub fn next_allowed(self) -> &'static [Status] {
        TRANSITIONS
            .iter()
            .find(|(from, _)| *from == self)
            .map(|(_, to)| *to)
            .unwrap_or(&[])
    }

    pub fn can_become(self, to: Status) -> bool {
        self.next_allowed().contains(&to)
    }

    /// Live incidents are the ones still being worked on: someone should be updating them.
    pub fn is_live(self) -> bool {
        matches!(
            self,
            Status::Triage | Status::Investigating | Status::Identified | Status::Monitoring
        )
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The full 9×9 table written out: `x` marks an allowed transition. Rows are `from`,
    /// columns are `to` in the order of `ALL_STATUSES`.
    const EXPECTED: &str = "
        triage        .xxxx..xx
        investigating ..xxx....
        identified    .x.xx....
        monitoring    .xx.x....
        resolved      .xx..xx..
        learning      ......x..
        closed        .........
        declined      .........
        merged        .........
    ";

    #[test]
    fn transition_table() {
        let mut n_rows = 0;
        for line in EXPECTED.lines().map(str::trim).filter(|it| !it.is_empty()) {
            let (from, marks) = line.split_once(' ').unwrap();
            let from = Status::parse(from).unwrap();
            let marks = marks.trim();
            assert_eq!(marks.len(), ALL_STATUSES.len());
            for (to, mark) in ALL_STATUSES.into_iter().zip(marks.chars()) {
                assert_eq!(from.can_become(to), mark == 'x', "{from} → {to}");
            }
            n_rows += 1;
        }
        assert_eq!(n_rows, ALL_STATUSES.len());
    }

    #[test]
    fn statuses_round_trip_through_text() {
        for status in ALL_STATUSES {
            assert_eq!(Status::parse(status.as_str()), Some(status));
        }
        assert_eq!(Status::parse("open"), None);
    }
}
