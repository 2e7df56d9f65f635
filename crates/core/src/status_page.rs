//! The public status page's vocabulary and its decisions: component statuses, public
//! incident states and impacts, the page's overall indicator (Statuspage's rules), a group's
//! rolled-up status, and uptime from a component's status history.

use jiff::{SignedDuration, Timestamp};

use crate::incident::text_enum;
use std::fmt;

text_enum!(ComponentStatus {
    Operational = "operational",
    DegradedPerformance = "degraded_performance",
    PartialOutage = "partial_outage",
    MajorOutage = "major_outage",
    UnderMaintenance = "under_maintenance",
});

impl ComponentStatus {
    /// How bad it is for a reader: maintenance is planned, so it ranks below degradation.
    pub fn badness(self) -> u8 {
        match self {
            ComponentStatus::Operational => 0,
            ComponentStatus::UnderMaintenance => 1,
            ComponentStatus::DegradedPerformance => 2,
            ComponentStatus::PartialOutage => 3,
            ComponentStatus::MajorOutage => 4,
        }
    }

    /// In words, for the page.
    pub fn label(self) -> &'static str {
        match self {
            ComponentStatus::Operational => "Operational",
            ComponentStatus::DegradedPerformance => "Degraded performance",
            ComponentStatus::PartialOutage => "Partial outage",
            ComponentStatus::MajorOutage => "Major outage",
            ComponentStatus::UnderMaintenance => "Under maintenance",
        }
    }
}

text_enum!(PublicStatus {
    Investigating = "investigating",
    Identified = "identified",
    Monitoring = "monitoring",
    Resolved = "resolved",
    Postmortem = "postmortem",
    Scheduled = "scheduled",
    InProgress = "in_progress",
    Verifying = "verifying",
    Completed = "completed",
});

impl PublicStatus {
    /// The states of an incident (the rest belong to maintenance windows).
    pub const INCIDENT: &'static [PublicStatus] = &[
        PublicStatus::Investigating,
        PublicStatus::Identified,
        PublicStatus::Monitoring,
        PublicStatus::Resolved,
        PublicStatus::Postmortem,
    ];
    pub const MAINTENANCE: &'static [PublicStatus] = &[
        PublicStatus::Scheduled,
        PublicStatus::InProgress,
        PublicStatus::Verifying,
        PublicStatus::Completed,
    ];

    pub fn is_resolved(self) -> bool {
        matches!(
            self,
            PublicStatus::Resolved | PublicStatus::Postmortem | PublicStatus::Completed
        )
    }

    pub fn is_maintenance(self) -> bool {
        PublicStatus::MAINTENANCE.contains(&self)
    }

    pub fn label(self) -> &'static str {
        match self {
            PublicStatus::Investigating => "Investigating",
            PublicStatus::Identified => "Identified",
            PublicStatus::Monitoring => "Monitoring",
            PublicStatus::Resolved => "Resolved",
            PublicStatus::Postmortem => "Postmortem",
            PublicStatus::Scheduled => "Scheduled",
            PublicStatus::InProgress => "In progress",
            PublicStatus::Verifying => "Verifying",
            PublicStatus::Completed => "Completed",
        }
    }
}

/// What a maintenance window owes at `now`: start when its time has come while scheduled,
/// complete when its end has come while in progress or verifying.
pub fn maintenance_step(
    status: PublicStatus,
    scheduled_for: Timestamp,
    scheduled_until: Timestamp,
    now: Timestamp,
) -> Option<PublicStatus> {
    match status {
        PublicStatus::Scheduled if now >= scheduled_until => Some(PublicStatus::Completed),
        PublicStatus::Scheduled if now >= scheduled_for => Some(PublicStatus::InProgress),
        PublicStatus::InProgress | PublicStatus::Verifying if now >= scheduled_until => {
            Some(PublicStatus::Completed)
        }
        _ => None,
    }
}

text_enum!(Impact {
    None = "none",
    Minor = "minor",
    Major = "major",
    Critical = "critical",
    Maintenance = "maintenance",
});

text_enum!(Indicator {
    None = "none",
    Minor = "minor",
    Major = "major",
    Critical = "critical",
    Maintenance = "maintenance",
});

/// The worst status among a group's children (operational when it has none).
pub fn group_status(children: &[ComponentStatus]) -> ComponentStatus {
    children
        .iter()
        .copied()
        .max_by_key(|it| it.badness())
        .unwrap_or(ComponentStatus::Operational)
}

fn indicator_rank(it: Indicator) -> u8 {
    match it {
        Indicator::None | Indicator::Maintenance => 0,
        Indicator::Minor => 1,
        Indicator::Major => 2,
        Indicator::Critical => 3,
    }
}

/// The page's overall status from its (leaf) components and the impacts of its unresolved
/// incidents — the rules Statuspage documents:
///
/// | situation | description | indicator |
/// |---|---|---|
/// | all operational | All Systems Operational | none |
/// | some (not all) degraded | Partially Degraded Service | minor |
/// | all degraded | Degraded System Service | minor |
/// | some (not all) partial outage | Minor Service Outage | minor |
/// | all partial outage, or any (not all) major outage | Partial System Outage | major |
/// | all major outage | Major System Outage | critical |
/// | only maintenance | Service Under Maintenance | maintenance |
///
/// The worst situation wins; an unresolved incident's impact raises the indicator to at
/// least its own level.
pub fn rollup(components: &[ComponentStatus], incidents: &[Impact]) -> (Indicator, String) {
    use ComponentStatus::*;
    let n = components.len();
    let count = |status: ComponentStatus| components.iter().filter(|it| **it == status).count();
    let (majors, partials, degraded, maintenance) = (
        count(MajorOutage),
        count(PartialOutage),
        count(DegradedPerformance),
        count(UnderMaintenance),
    );
    let (mut indicator, mut description) = if majors > 0 && majors == n {
        (Indicator::Critical, "Major System Outage")
    } else if majors > 0 || (partials > 0 && partials == n) {
        (Indicator::Major, "Partial System Outage")
    } else if partials > 0 {
        (Indicator::Minor, "Minor Service Outage")
    } else if degraded > 0 && degraded == n {
        (Indicator::Minor, "Degraded System Service")
    } else if degraded > 0 {
        (Indicator::Minor, "Partially Degraded Service")
    } else if maintenance > 0 {
        (Indicator::Maintenance, "Service Under Maintenance")
    } else {
        (Indicator::None, "All Systems Operational")
    };
    for impact in incidents {
        let (raised, words) = match impact {
            Impact::None | Impact::Maintenance => continue,
            Impact::Minor => (Indicator::Minor, "Minor Service Outage"),
            Impact::Major => (Indicator::Major, "Partial System Outage"),
            Impact::Critical => (Indicator::Critical, "Major System Outage"),
        };
        if indicator_rank(raised) > indicator_rank(indicator) {
            indicator = raised;
            description = words;
        }
    }
    (indicator, description.to_string())
}

/// One day of a component's uptime bar (seconds, so a fresh outage shows at once).
#[derive(Clone, Debug, PartialEq)]
pub struct UptimeDay {
    /// Start of the day (UTC).
    pub start: Timestamp,
    pub major_seconds: i64,
    pub partial_seconds: i64,
    pub degraded_seconds: i64,
    /// False for days before the component existed.
    pub known: bool,
}

impl UptimeDay {
    /// The day's worst state, for its colour and label.
    pub fn worst(&self) -> ComponentStatus {
        if self.major_seconds > 0 {
            ComponentStatus::MajorOutage
        } else if self.partial_seconds > 0 {
            ComponentStatus::PartialOutage
        } else if self.degraded_seconds > 0 {
            ComponentStatus::DegradedPerformance
        } else {
            ComponentStatus::Operational
        }
    }
}

/// How partial outage time counts against uptime (the formula the page states).
pub const PARTIAL_WEIGHT: f64 = 0.3;

/// Uptime over `days` UTC days ending with the day of `now`, from a component's status
/// changes `(at, status)` in time order (the first is its creation). Uptime is
/// `1 − (major outage time + 0.3 × partial outage time) / time observed`; degraded
/// performance and maintenance do not count as down.
pub fn uptime(
    changes: &[(Timestamp, ComponentStatus)],
    now: Timestamp,
    days: i64,
) -> (Vec<UptimeDay>, Option<f64>) {
    let day = SignedDuration::from_hours(24);
    let today = now
        .to_zoned(jiff::tz::TimeZone::UTC)
        .start_of_day()
        .map(|it| it.timestamp())
        .unwrap_or(now);
    let first = today - day * (days as i32 - 1).max(0);
    let mut out = Vec::with_capacity(days as usize);
    let (mut down, mut known_seconds) = (0.0_f64, 0_i64);
    for idx in 0..days {
        let start = first + day * idx as i32;
        let end = (start + day).min(now);
        let mut it = UptimeDay {
            start,
            major_seconds: 0,
            partial_seconds: 0,
            degraded_seconds: 0,
            known: false,
        };
        for (pos, (at, status)) in changes.iter().enumerate() {
            let until = changes.get(pos + 1).map_or(now, |next| next.0);
            let (from, to) = ((*at).max(start), until.min(end));
            if to < from || (to == from && until != now) {
                continue;
            }
            it.known = true;
            // A state that began a moment ago still counts (at least a second).
            let seconds = to
                .duration_since(from)
                .as_secs()
                .max(i64::from(until == now));
            known_seconds += seconds;
            match status {
                ComponentStatus::MajorOutage => it.major_seconds += seconds,
                ComponentStatus::PartialOutage => it.partial_seconds += seconds,
                ComponentStatus::DegradedPerformance => it.degraded_seconds += seconds,
                _ => {}
            }
        }
        down += it.major_seconds as f64 + PARTIAL_WEIGHT * it.partial_seconds as f64;
        out.push(it);
    }
    let ratio = (known_seconds > 0).then(|| 1.0 - down / known_seconds as f64);
    (out, ratio)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ComponentStatus::*;

    #[test]
    fn the_page_indicator_follows_statuspage() {
        let table: Vec<(Vec<ComponentStatus>, Vec<Impact>, Indicator, &str)> = vec![
            (vec![], vec![], Indicator::None, "All Systems Operational"),
            (
                vec![Operational, Operational],
                vec![],
                Indicator::None,
                "All Systems Operational",
            ),
            (
                vec![Operational, DegradedPerformance],
                vec![],
                Indicator::Minor,
                "Partially Degraded Service",
            ),
            (
                vec![DegradedPerformance, DegradedPerformance],
                vec![],
                Indicator::Minor,
                "Degraded System Service",
            ),
            (
                vec![Operational, PartialOutage],
                vec![],
                Indicator::Minor,
                "Minor Service Outage",
            ),
            (
                vec![PartialOutage, PartialOutage],
                vec![],
                Indicator::Major,
                "Partial System Outage",
            ),
            (
                vec![PartialOutage, MajorOutage],
                vec![],
                Indicator::Major,
                "Partial System Outage",
            ),
            (
                vec![Operational, MajorOutage],
                vec![],
                Indicator::Major,
                "Partial System Outage",
            ),
            (
                vec![MajorOutage, MajorOutage],
                vec![],
                Indicator::Critical,
                "Major System Outage",
            ),
            (
                vec![MajorOutage],
                vec![],
                Indicator::Critical,
                "Major System Outage",
            ),
            (
                vec![Operational, UnderMaintenance],
                vec![],
                Indicator::Maintenance,
                "Service Under Maintenance",
            ),
            (
                vec![DegradedPerformance, UnderMaintenance],
                vec![],
                Indicator::Minor,
                "Partially Degraded Service",
            ),
            // An unresolved incident raises the indicator to its impact, never lowers it.
            (
                vec![Operational],
                vec![Impact::Minor],
                Indicator::Minor,
                "Minor Service Outage",
            ),
            (
                vec![Operational],
                vec![Impact::None],
                Indicator::None,
                "All Systems Operational",
            ),
            (
                vec![Operational, PartialOutage],
                vec![Impact::Critical],
                Indicator::Critical,
                "Major System Outage",
            ),
            (
                vec![MajorOutage],
                vec![Impact::Minor],
                Indicator::Critical,
                "Major System Outage",
            ),
        ];
        for (components, incidents, indicator, description) in table {
            assert_eq!(
                rollup(&components, &incidents),
                (indicator, description.to_string()),
                "{components:?} {incidents:?}"
            );
        }
    }

    #[test]
    fn maintenance_windows_start_and_end_on_time() {
        use PublicStatus::*;
        let at = |minutes: i64| Timestamp::from_second(1_800_000_000 + minutes * 60).unwrap();
        let (from, until) = (at(60), at(120));
        let table = [
            (Scheduled, 0, None),
            (Scheduled, 60, Some(InProgress)),
            (Scheduled, 119, Some(InProgress)),
            // Missed the whole window (the worker was down): straight to completed.
            (Scheduled, 120, Some(Completed)),
            (InProgress, 90, None),
            (InProgress, 120, Some(Completed)),
            (Verifying, 130, Some(Completed)),
            (Completed, 200, None),
        ];
        for (status, now, expected) in table {
            assert_eq!(
                maintenance_step(status, from, until, at(now)),
                expected,
                "{status} at {now}"
            );
        }
    }

    #[test]
    fn groups_show_their_worst_child() {
        assert_eq!(group_status(&[]), Operational);
        assert_eq!(
            group_status(&[Operational, UnderMaintenance]),
            UnderMaintenance
        );
        assert_eq!(
            group_status(&[UnderMaintenance, DegradedPerformance]),
            DegradedPerformance
        );
        assert_eq!(
            group_status(&[PartialOutage, MajorOutage, Operational]),
            MajorOutage
        );
    }

    #[test]
    fn uptime_weights_partial_outages_and_ignores_days_before_creation() {
        let at = |text: &str| text.parse::<Timestamp>().unwrap();
        let now = at("2026-03-03T12:00:00Z");
        let changes = [
            (at("2026-03-01T00:00:00Z"), Operational),
            (at("2026-03-02T10:00:00Z"), MajorOutage),
            (at("2026-03-02T11:00:00Z"), PartialOutage),
            (at("2026-03-02T13:00:00Z"), DegradedPerformance),
            (at("2026-03-02T14:00:00Z"), Operational),
        ];
        let (days, ratio) = uptime(&changes, now, 4);
        let known: Vec<bool> = days.iter().map(|it| it.known).collect();
        assert_eq!(known, [false, true, true, true]);
        assert_eq!(days[2].major_seconds, 3600);
        assert_eq!(days[2].partial_seconds, 7200);
        assert_eq!(days[2].degraded_seconds, 3600);
        assert_eq!(days[2].worst(), MajorOutage);
        assert_eq!(days[3].worst(), Operational);
        // 2.5 days known = 3,600 minutes; down = 60 + 0.3 × 120 = 96 minutes.
        let expected = 1.0 - 96.0 / 3600.0;
        assert!((ratio.unwrap() - expected).abs() < 1e-9, "{ratio:?}");
        assert_eq!(uptime(&[], now, 3).1, None);
        // An outage that began a moment ago shows today, before a full second has passed.
        let (days, ratio) = uptime(&[(now, MajorOutage)], now, 2);
        assert_eq!(days[1].worst(), MajorOutage);
        assert_eq!(ratio, Some(0.0));
    }
}
