//! Moving in from another paging system: its objects mapped to Firebreak's, each with how
//! exactly (`Fidelity`), and the proof that an imported schedule puts the same people on call
//! as the vendor's own rendering (`differences`). Pure: the vendor's JSON in, Firebreak's
//! model and notes out; fetching and storing are the server's.

pub mod pagerduty;

use jiff::Timestamp;

use crate::schedule::Shift;

/// How an imported object maps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fidelity {
    /// Imported as it is.
    Exact,
    /// Imported, with these differences (each in words).
    Approximated(Vec<String>),
    /// Not imported, and why.
    Skipped(String),
}

impl Fidelity {
    /// Adds a difference (an exact mapping becomes approximated; a skipped one stays).
    pub fn note(&mut self, what: impl Into<String>) {
        match self {
            Fidelity::Exact => *self = Fidelity::Approximated(vec![what.into()]),
            Fidelity::Approximated(notes) => notes.push(what.into()),
            Fidelity::Skipped(_) => {}
        }
    }
}

/// An object of the vendor's that is not imported, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skip {
    pub vendor_id: String,
    pub name: String,
    pub why: String,
}

/// A team as Firebreak's: its name and its members' emails.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportedTeam {
    pub vendor_id: String,
    pub name: String,
    pub members: Vec<String>,
}

/// Firebreak's shifts against the vendor's own rendering over `[from, to)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Comparison {
    pub from: Timestamp,
    pub to: Timestamp,
    /// Empty: the same people on call, interval for interval.
    pub differences: Vec<Difference>,
}

/// A schedule as it would be imported, proved against the vendor's rendering when the
/// vendor gave one.
#[derive(Clone, Debug)]
pub struct PlannedSchedule {
    pub imported: pagerduty::ImportedSchedule,
    pub compared: Option<Comparison>,
}

/// Everything a vendor account holds, as it would be imported, in the order it must be
/// made: people, teams, schedules, escalation policies, services.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    pub people: Vec<Result<pagerduty::ImportedPerson, Skip>>,
    pub teams: Vec<ImportedTeam>,
    pub schedules: Vec<Result<PlannedSchedule, Skip>>,
    pub policies: Vec<Result<pagerduty::ImportedPolicy, Skip>>,
    pub services: Vec<pagerduty::ImportedService>,
}

/// Compares a schedule's shifts with the vendor's rendering over the range it rendered.
pub fn compare(schedule: &crate::schedule::Schedule, theirs: &[Shift]) -> Option<Comparison> {
    let from = theirs.iter().map(|it| it.start).min()?;
    let to = theirs.iter().map(|it| it.end).max()?;
    let ours = schedule.shifts(from, to);
    Some(Comparison {
        from,
        to,
        differences: differences(&ours, theirs, (from, to)),
    })
}

/// A stretch where Firebreak and the vendor put different people on call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Difference {
    pub start: Timestamp,
    pub end: Timestamp,
    /// Who Firebreak has on call (`None`: nobody).
    pub ours: Option<String>,
    /// Who the vendor has on call.
    pub theirs: Option<String>,
}

/// Where `ours` and `theirs` disagree within `[from, to)`. `ours` tiles the range (as
/// `Schedule::shifts` does); `theirs` is the vendor's rendered entries, which leave gaps where
/// nobody is on call and may overlap or be unsorted. Adjacent disagreements with the same
/// two people are one difference.
pub fn differences(
    ours: &[Shift],
    theirs: &[Shift],
    (from, to): (Timestamp, Timestamp),
) -> Vec<Difference> {
    let who = |shifts: &[Shift], at: Timestamp| -> Option<String> {
        // The vendor's later entry wins an overlap, as a later override does.
        shifts
            .iter()
            .rev()
            .find(|it| it.start <= at && at < it.end)
            .and_then(|it| it.person.clone())
    };
    let mut edges: Vec<Timestamp> = ours
        .iter()
        .chain(theirs)
        .flat_map(|it| [it.start, it.end])
        .chain([from, to])
        .filter(|at| from <= *at && *at <= to)
        .collect();
    edges.sort();
    edges.dedup();
    let mut out: Vec<Difference> = Vec::new();
    for pair in edges.windows(2) {
        let (start, end) = (pair[0], pair[1]);
        let (a, b) = (who(ours, start), who(theirs, start));
        if a == b {
            continue;
        }
        match out.last_mut() {
            Some(last) if last.end == start && last.ours == a && last.theirs == b => {
                last.end = end;
            }
            _ => out.push(Difference {
                start,
                end,
                ours: a,
                theirs: b,
            }),
        }
    }
    out
}

#[cfg(test)]
mod tests;
