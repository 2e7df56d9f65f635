//! The picture of a schedule: the next 14 days in the reader's zone, a lane per layer, the
//! overrides and who is actually on call (`core::schedule::Schedule::lanes`), drawn as inline
//! SVG by the On call page's template. Every stretch is labelled in text (the person, or
//! "nobody" on red), so colour is never the only signal; days whose length is not 24 hours
//! (a daylight-saving change in the reader's zone) are marked.

use firebreak_core::schedule::{LaneKind, Schedule};
use jiff::{SignedDuration, Timestamp};

use crate::ui::views::Lens;

/// Width of the drawing (viewBox units) and of the lane names on its left.
pub const WIDTH: i64 = 1000;
const LABELS: i64 = 110;
const LANE: i64 = 30;
const TOP: i64 = 22;

pub struct Stretch {
    pub x: i64,
    pub width: i64,
    /// `nobody` (a gap in who is on call), `off` (a layer or the overrides not active),
    /// `person`, `override`.
    pub class: &'static str,
    /// Its fill: red for nobody, amber for an override, a light colour per person (the text
    /// on it is dark, and always there when it fits).
    pub fill: &'static str,
    /// Written in the stretch when it is wide enough.
    pub label: String,
    /// The whole story, for the tooltip and screen readers.
    pub title: String,
    /// Instants (RFC 3339) and the person's email, for tests and scripts.
    pub start: String,
    pub end: String,
    pub person: String,
}

pub struct LaneView {
    pub y: i64,
    pub name: String,
    /// `layer`, `overrides` or `result`.
    pub kind: &'static str,
    pub stretches: Vec<Stretch>,
}

pub struct DayTick {
    pub x: i64,
    pub label: String,
    /// The day is not 24 hours long in the reader's zone.
    pub dst: bool,
}

/// Who appears in the picture, with the initials written on stretches too narrow for a
/// name and the colour of their stretches.
pub struct LegendEntry {
    pub initials: String,
    pub name: String,
    pub fill: &'static str,
}

pub struct Picture {
    pub height: i64,
    pub legend: Vec<LegendEntry>,
    pub lanes: Vec<LaneView>,
    pub days: Vec<DayTick>,
    /// What the picture says, for `aria-label`.
    pub summary: String,
}

/// The days the picture covers.
pub const DAYS: i64 = 14;

/// From the start of today in the reader's zone, 14 calendar days.
pub fn range(lens: &Lens) -> (Timestamp, Timestamp) {
    let today = lens.now.to_zoned(lens.zone.clone()).date();
    let start = today
        .to_zoned(lens.zone.clone())
        .map(|it| it.timestamp())
        .unwrap_or(lens.now);
    let end = today
        .checked_add(jiff::Span::new().days(DAYS))
        .ok()
        .and_then(|it| it.to_zoned(lens.zone.clone()).ok())
        .map(|it| it.timestamp())
        .unwrap_or(start + SignedDuration::from_hours(24 * DAYS));
    (start, end)
}

/// Light colours that dark text reads well on; a person keeps theirs in every lane.
const PALETTE: [&str; 8] = [
    "#cfe3ff", "#d7f5dd", "#fde2c8", "#e8dcff", "#d0f0f0", "#fff3b0", "#f6d6e8", "#e3e3e3",
];

/// "Dev Patel" → "DP"; "maria@example.com" → "M"; at most three letters.
fn initials(name: &str) -> String {
    name.split(|it: char| it.is_whitespace() || it == '-' || it == '@')
        .filter_map(|word| word.chars().next())
        .take(if name.contains('@') { 1 } else { 3 })
        .flat_map(char::to_uppercase)
        .collect()
}

fn colour(person: &str) -> &'static str {
    let sum = person.bytes().fold(0usize, |acc, b| {
        acc.wrapping_mul(31).wrapping_add(usize::from(b))
    });
    PALETTE[sum % PALETTE.len()]
}

pub fn picture(schedule: &Schedule, lens: &Lens) -> Picture {
    let (from, to) = range(lens);
    let span = to.duration_since(from).as_secs().max(1);
    let x_of = |at: Timestamp| LABELS + (WIDTH - LABELS) * at.duration_since(from).as_secs() / span;
    let lanes: Vec<LaneView> = schedule
        .lanes(from, to)
        .into_iter()
        .enumerate()
        .map(|(index, lane)| {
            let kind = match lane.kind {
                LaneKind::Layer => "layer",
                LaneKind::Overrides => "overrides",
                LaneKind::Result => "result",
            };
            let stretches = lane
                .shifts
                .iter()
                .map(|shift| {
                    let (x, end) = (x_of(shift.start), x_of(shift.end));
                    let name = match (&shift.person, lane.kind) {
                        (Some(person), _) => lens.person(person),
                        (None, LaneKind::Result) => "nobody".into(),
                        (None, _) => "not active".into(),
                    };
                    // Nobody on call is a gap only in the result; a layer or the
                    // overrides being inactive is how they are meant to be.
                    let class = match (&shift.person, lane.kind) {
                        (None, LaneKind::Result) => "nobody",
                        (None, _) => "off",
                        (Some(_), LaneKind::Overrides) => "override",
                        (Some(_), _) => "person",
                    };
                    let fill = match class {
                        "nobody" => "#b3261e",
                        "off" => "#f3f3f3",
                        "override" => "#f2b134",
                        _ => colour(shift.person.as_deref().unwrap_or_default()),
                    };
                    let width = (end - x).max(1);
                    // About 7 units a character at the label's size.
                    let fits = usize::try_from(width / 7).unwrap_or(0);
                    Stretch {
                        x,
                        width,
                        class,
                        fill,
                        label: if class == "off" {
                            String::new()
                        } else if name.chars().count() <= fits {
                            name.clone()
                        } else if fits >= 6 {
                            format!("{}…", name.chars().take(fits - 1).collect::<String>())
                        } else if shift.person.is_some() && initials(&name).chars().count() <= fits
                        {
                            initials(&name)
                        } else {
                            String::new()
                        },
                        title: format!(
                            "{}: {name}, {} → {}",
                            lane.name,
                            lens.time(shift.start),
                            lens.time(shift.end)
                        ),
                        start: shift.start.to_string(),
                        end: shift.end.to_string(),
                        person: shift.person.clone().unwrap_or_default(),
                    }
                })
                .collect();
            LaneView {
                y: TOP + LANE * i64::try_from(index).unwrap_or(0),
                name: lane.name,
                kind,
                stretches,
            }
        })
        .collect();
    let mut days = Vec::new();
    let mut day = lens.now.to_zoned(lens.zone.clone()).date();
    for _ in 0..DAYS {
        let start = day.to_zoned(lens.zone.clone()).ok();
        let next = day.tomorrow().ok();
        let end = next.and_then(|it| it.to_zoned(lens.zone.clone()).ok());
        if let (Some(start), Some(end)) = (start, end) {
            let hours = end.timestamp().duration_since(start.timestamp()).as_hours();
            days.push(DayTick {
                x: x_of(start.timestamp()),
                label: format!(
                    "{}{}",
                    day.strftime("%a %-d"),
                    if hours == 24 { "" } else { " (DST)" }
                ),
                dst: hours != 24,
            });
        }
        match next {
            Some(next) => day = next,
            None => break,
        }
    }
    let gaps = lanes
        .last()
        .map(|lane| {
            lane.stretches
                .iter()
                .filter(|it| it.class == "nobody")
                .count()
        })
        .unwrap_or(0);
    let people: std::collections::BTreeSet<&str> = lanes
        .iter()
        .flat_map(|lane| &lane.stretches)
        .map(|it| it.person.as_str())
        .filter(|it| !it.is_empty())
        .collect();
    let mut legend: Vec<LegendEntry> = people
        .into_iter()
        .map(|person| {
            let name = lens.person(person);
            LegendEntry {
                initials: initials(&name),
                name,
                fill: colour(person),
            }
        })
        .collect();
    legend.sort_by(|a, b| a.name.cmp(&b.name));
    Picture {
        legend,
        height: TOP + LANE * i64::try_from(lanes.len()).unwrap_or(0) + 4,
        summary: format!(
            "The next {DAYS} days in {}: {} lanes; {}",
            lens.zone_name,
            lanes.len(),
            if gaps == 0 {
                "someone is on call throughout".to_string()
            } else {
                format!("{gaps} stretches with nobody on call")
            }
        ),
        lanes,
        days,
    }
}

#[cfg(test)]
mod tests {
    use super::initials;

    #[test]
    fn initials_of_names_and_addresses() {
        for (name, expected) in [
            ("Dev Patel", "DP"),
            ("Ana María de la Cruz", "AMD"),
            ("Jean-Luc Picard", "JLP"),
            ("maria@example.com", "M"),
            ("Lee", "L"),
            ("", ""),
        ] {
            assert_eq!(initials(name), expected, "{name}");
        }
    }
}
