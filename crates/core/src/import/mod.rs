//! Moving in from another paging system: its objects mapped to Firebreak's, each with how
//! exactly (`Fidelity`), and the proof that an imported schedule puts the same people on call
//! as the vendor's own rendering (`differences`). Pure: the vendor's JSON in, Firebreak's
//! model and notes out; fetching and storing are the server's.

pub mod opsgenie;
pub mod pagerduty;

use jiff::Timestamp;
use jiff::civil::Time;

use crate::schedule::{Schedule, Shift};

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

/// A vendor's schedule (or, for Opsgenie, one rotation of one) as Firebreak's, with how
/// exactly it maps.
#[derive(Clone, Debug)]
pub struct ImportedSchedule {
    pub vendor_id: String,
    /// The id escalation policies name it by: its own, or the Opsgenie schedule it is a
    /// rotation of (a policy step that names that schedule pages every rotation's person).
    pub target_id: String,
    pub name: String,
    /// The IANA name of its zone.
    pub zone: String,
    pub schedule: Schedule,
    pub fidelity: Fidelity,
}

/// A vendor's escalation policy as Firebreak's. Schedule targets keep the vendor's schedule
/// id (`Target::Schedule`), for the importer to point at the schedule it made from it.
#[derive(Clone, Debug)]
pub struct ImportedPolicy {
    pub vendor_id: String,
    pub name: String,
    pub policy: crate::paging::Policy,
    pub fidelity: Fidelity,
}

/// A vendor's service (an Opsgenie API integration) as Firebreak's: its name, its policy (the vendor's id), and the
/// integration keys its senders use, kept verbatim.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportedService {
    pub vendor_id: String,
    pub name: String,
    pub policy_vendor_id: Option<String>,
    /// Its team (the vendor's id).
    pub team_vendor_id: Option<String>,
    /// (integration name, key) of every Events API integration.
    pub keys: Vec<(String, String)>,
    pub fidelity: Fidelity,
}

/// How a person is reached, as Firebreak's contact methods: (`email`, `sms` or `voice`, the
/// address). Phone numbers come unverified: the person confirms them with a code before
/// they are paged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportedContact {
    pub vendor_id: String,
    pub kind: &'static str,
    pub address: String,
}

/// A vendor's user as a Firebreak person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportedPerson {
    pub vendor_id: String,
    pub email: String,
    pub name: String,
    /// IANA.
    pub zone: String,
    /// `viewer`, `responder` or `admin`.
    pub role: &'static str,
    pub contacts: Vec<ImportedContact>,
    /// (minutes after the page, the contact's index in `contacts`): the high-urgency rules.
    pub rules: Vec<(i64, usize)>,
    pub fidelity: Fidelity,
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
    pub imported: ImportedSchedule,
    pub compared: Option<Comparison>,
}

/// Everything a vendor account holds, as it would be imported, in the order it must be
/// made: people, teams, schedules, escalation policies, services.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    pub people: Vec<Result<ImportedPerson, Skip>>,
    pub teams: Vec<ImportedTeam>,
    pub schedules: Vec<Result<PlannedSchedule, Skip>>,
    pub policies: Vec<Result<ImportedPolicy, Skip>>,
    pub services: Vec<Result<ImportedService, Skip>>,
}

/// A time of day from seconds since midnight (taken modulo a day).
pub(crate) fn time_of_day(seconds: i64) -> Option<Time> {
    let seconds = seconds.rem_euclid(86_400);
    Time::new(
        i8::try_from(seconds / 3_600).ok()?,
        i8::try_from(seconds % 3_600 / 60).ok()?,
        i8::try_from(seconds % 60).ok()?,
        0,
    )
    .ok()
}

/// A stretch of the week as windows cut at each midnight — its first day from its start, the
/// days it covers whole (`from == to`), its last day to its end. `begin` and `end` are seconds
/// from Monday 00:00 (`end` after `begin`, at most a week later).
pub(crate) fn week_windows(begin: i64, end: i64) -> Option<Vec<crate::schedule::Window>> {
    use crate::schedule::{EVERY_DAY, Window};
    let mut out = Vec::new();
    let mut midnight = begin.div_euclid(86_400) * 86_400;
    while midnight < end {
        let from = begin.max(midnight) - midnight;
        let to = end.min(midnight + 86_400) - midnight;
        let weekday =
            EVERY_DAY[usize::try_from(midnight.div_euclid(86_400).rem_euclid(7)).unwrap_or(0)];
        out.push(Window {
            days: vec![weekday],
            from: time_of_day(from)?,
            // A stretch to midnight ends at 00:00 of the next day.
            to: time_of_day(to)?,
        });
        midnight += 86_400;
    }
    Some(out)
}

/// The longest stretch a comparison covers: a vendor's rendering runs 90 days; one that
/// claims centuries is cut here rather than computed.
pub const MAX_COMPARED_DAYS: i64 = 400;

/// The range a rendering covers: its first start to its last end, at most
/// `MAX_COMPARED_DAYS` long.
fn rendered_range(theirs: &[Shift]) -> Option<(Timestamp, Timestamp)> {
    let from = theirs.iter().map(|it| it.start).min()?;
    let to = theirs.iter().map(|it| it.end).max()?;
    let longest = from.checked_add(jiff::SignedDuration::from_hours(24 * MAX_COMPARED_DAYS));
    Some((from, longest.map_or(to, |it| to.min(it))))
}

impl Plan {
    /// Notes each policy step that names a vendor schedule the plan does not import (it will
    /// page nobody there).
    pub fn note_unimported_schedules(&mut self) {
        let imported: Vec<String> = self
            .schedules
            .iter()
            .filter_map(|it| it.as_ref().ok())
            .map(|it| it.imported.target_id.clone())
            .collect();
        for policy in self.policies.iter_mut().filter_map(|it| it.as_mut().ok()) {
            for (index, step) in policy.policy.steps.iter().enumerate() {
                for target in &step.targets {
                    if let crate::paging::Target::Schedule(id) = target
                        && !imported.contains(id)
                    {
                        policy.fidelity.note(format!(
                            "step {}: schedule {id} is not among the imported schedules",
                            index + 1
                        ));
                    }
                }
            }
        }
    }
}

/// Compares a schedule's shifts with the vendor's rendering over the range it rendered.
pub fn compare(schedule: &crate::schedule::Schedule, theirs: &[Shift]) -> Option<Comparison> {
    let (from, to) = rendered_range(theirs)?;
    let ours = schedule.shifts(from, to);
    Some(Comparison {
        from,
        to,
        differences: differences(&ours, theirs, (from, to)),
    })
}

/// Who several schedules have on call together (Opsgenie's rotations, a PagerDuty v3
/// schedule's events) against the vendor's rendering, which may have several people on call at
/// once, over the range it rendered; a difference names each side's people as `a + b`.
pub fn compare_together(schedules: &[&Schedule], theirs: &[Shift]) -> Option<Comparison> {
    let (from, to) = rendered_range(theirs)?;
    let ours: Vec<Vec<Shift>> = schedules.iter().map(|it| it.shifts(from, to)).collect();
    let together = |shifts: &mut dyn Iterator<Item = &Shift>, at: Timestamp| -> Option<String> {
        let mut people: Vec<&str> = shifts
            .filter(|it| it.start <= at && at < it.end)
            .filter_map(|it| it.person.as_deref())
            .collect();
        people.sort_unstable();
        people.dedup();
        (!people.is_empty()).then(|| people.join(" + "))
    };
    let mut edges: Vec<Timestamp> = ours
        .iter()
        .flatten()
        .chain(theirs)
        .flat_map(|it| [it.start, it.end])
        .filter(|at| from <= *at && *at <= to)
        .collect();
    edges.sort();
    edges.dedup();
    let mut found: Vec<Difference> = Vec::new();
    for pair in edges.windows(2) {
        let (start, end) = (pair[0], pair[1]);
        let a = together(&mut ours.iter().flatten(), start);
        let b = together(&mut theirs.iter(), start);
        if a == b {
            continue;
        }
        match found.last_mut() {
            Some(last) if last.end == start && last.ours == a && last.theirs == b => last.end = end,
            _ => found.push(Difference {
                start,
                end,
                ours: a,
                theirs: b,
            }),
        }
    }
    Some(Comparison {
        from,
        to,
        differences: found,
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
