//! Insights over a period, real incidents only: how fast the team acknowledges, mitigates and
//! resolves (saying which clock each figure used), what kinds of incidents happen, whether
//! post-mortems and follow-ups get done, the change failure rate, and responder load with its
//! risks — heroics (one person in most incidents) and bus factor (one person leading all of a
//! service's incidents).

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};

use crate::incident::NamedTimestamp;

/// What insights need to know about one incident.
#[derive(Clone, Debug, Default)]
pub struct IncidentFacts {
    pub reference: String,
    pub severity: String,
    pub services: Vec<String>,
    pub declared: NamedTimestamp,
    pub acknowledged: NamedTimestamp,
    pub mitigated: NamedTimestamp,
    pub resolved: NamedTimestamp,
    pub lead: Option<String>,
    /// (person, minutes in the incident, minutes outside their working hours).
    pub participants: Vec<(String, i64, i64)>,
    pub postmortem_published: bool,
    /// The deploy that caused it, if linked.
    pub caused_by_deploy: Option<String>,
}

#[derive(Clone, Debug, Default)]
pub struct FollowupFacts {
    pub due: Option<Timestamp>,
    pub done_at: Option<Timestamp>,
}

/// A mean duration and how it was measured.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Clocked {
    pub mean_minutes: Option<f64>,
    /// Incidents the figure covers.
    pub n: usize,
    /// Of those, how many used a time a person asserted rather than the observed one.
    pub n_asserted: usize,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct PersonLoad {
    pub hours: f64,
    pub out_of_hours_minutes: i64,
    pub incidents: usize,
    pub led: usize,
    /// Took part in more than the heroics share of incidents.
    pub hero: bool,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Insights {
    pub n_incidents: usize,
    pub mtta: Clocked,
    pub time_to_mitigate: Clocked,
    pub mttr: Clocked,
    pub by_severity: BTreeMap<String, usize>,
    pub by_service: BTreeMap<String, usize>,
    /// ISO week (`2026-W47`) → incidents.
    pub by_week: BTreeMap<String, usize>,
    /// Published post-mortems ÷ incidents.
    pub postmortem_completion: Option<f64>,
    /// Follow-ups done by their due time ÷ follow-ups due in the period.
    pub followups_on_time: Option<f64>,
    pub n_deploys: usize,
    pub n_failed_deploys: usize,
    /// Deploys that caused an incident ÷ deploys.
    pub change_failure_rate: Option<f64>,
    pub people: BTreeMap<String, PersonLoad>,
    /// Service → distinct people who led its incidents.
    pub bus_factor: BTreeMap<String, usize>,
}

fn clocked(
    incidents: &[IncidentFacts],
    from: fn(&IncidentFacts) -> NamedTimestamp,
    to: fn(&IncidentFacts) -> NamedTimestamp,
) -> Clocked {
    let mut total = SignedDuration::ZERO;
    let (mut n, mut n_asserted) = (0, 0);
    for it in incidents {
        let (a, b) = (from(it), to(it));
        if let (Some(start), Some(end)) = (a.effective(), b.effective())
            && end >= start
        {
            total += end.duration_since(start);
            n += 1;
            if a.asserted.is_some() || b.asserted.is_some() {
                n_asserted += 1;
            }
        }
    }
    Clocked {
        mean_minutes: (n > 0).then(|| total.as_secs_f64() / 60.0 / n as f64),
        n,
        n_asserted,
    }
}

/// `heroics_share`: someone in more than this share of the incidents is flagged.
pub fn compute(
    incidents: &[IncidentFacts],
    followups: &[FollowupFacts],
    (n_deploys, failed_deploys): (usize, usize),
    heroics_share: f64,
) -> Insights {
    let mut out = Insights {
        n_incidents: incidents.len(),
        mtta: clocked(incidents, |it| it.declared, |it| it.acknowledged),
        time_to_mitigate: clocked(incidents, |it| it.declared, |it| it.mitigated),
        mttr: clocked(incidents, |it| it.declared, |it| it.resolved),
        n_deploys,
        n_failed_deploys: failed_deploys,
        change_failure_rate: (n_deploys > 0).then(|| failed_deploys as f64 / n_deploys as f64),
        ..Insights::default()
    };
    let mut leads: BTreeMap<String, std::collections::BTreeSet<String>> = BTreeMap::new();
    for it in incidents {
        *out.by_severity.entry(it.severity.clone()).or_default() += 1;
        for service in &it.services {
            *out.by_service.entry(service.clone()).or_default() += 1;
            let set = leads.entry(service.clone()).or_default();
            if let Some(lead) = &it.lead {
                set.insert(lead.clone());
            }
        }
        if let Some(at) = it.declared.effective() {
            let date = at.to_zoned(jiff::tz::TimeZone::UTC).date();
            let week = date.iso_week_date();
            let key = format!("{}-W{:02}", week.year(), week.week());
            *out.by_week.entry(key).or_default() += 1;
        }
        for (person, minutes, outside) in &it.participants {
            let load = out.people.entry(person.clone()).or_default();
            load.hours += *minutes as f64 / 60.0;
            load.out_of_hours_minutes += outside;
            load.incidents += 1;
        }
        if let Some(lead) = &it.lead {
            out.people.entry(lead.clone()).or_default().led += 1;
        }
    }
    let n = incidents.len();
    for load in out.people.values_mut() {
        load.hero = n >= 3 && load.incidents as f64 > heroics_share * n as f64;
    }
    out.bus_factor = leads
        .into_iter()
        .map(|(service, set)| (service, set.len()))
        .collect();
    out.postmortem_completion = (n > 0).then(|| {
        incidents
            .iter()
            .filter(|it| it.postmortem_published)
            .count() as f64
            / n as f64
    });
    let due: Vec<&FollowupFacts> = followups.iter().filter(|it| it.due.is_some()).collect();
    out.followups_on_time = (!due.is_empty()).then(|| {
        due.iter()
            .filter(|it| matches!((it.done_at, it.due), (Some(done), Some(due)) if done <= due))
            .count() as f64
            / due.len() as f64
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minutes: i64) -> Timestamp {
        // 2026-11-16 (a Monday) 00:00 UTC + minutes.
        Timestamp::from_second(1_763_251_200 + minutes * 60).unwrap()
    }

    fn observed(minutes: i64) -> NamedTimestamp {
        NamedTimestamp {
            observed: Some(at(minutes)),
            asserted: None,
        }
    }

    #[test]
    fn figures_computed_by_hand() {
        let person = |name: &str, minutes: i64| (name.to_string(), minutes, 0);
        let incidents = vec![
            IncidentFacts {
                reference: "INC-1".into(),
                severity: "major".into(),
                services: vec!["checkout".into()],
                declared: observed(0),
                acknowledged: observed(5),
                mitigated: observed(30),
                resolved: observed(60),
                lead: Some("ana".into()),
                participants: vec![person("ana", 60), person("bo", 30)],
                postmortem_published: true,
                caused_by_deploy: Some("d1".into()),
            },
            IncidentFacts {
                reference: "INC-2".into(),
                severity: "minor".into(),
                services: vec!["checkout".into(), "search".into()],
                declared: observed(1440),
                acknowledged: observed(1450),
                // A responder says it was resolved 90 minutes in (asserted).
                resolved: NamedTimestamp {
                    observed: Some(at(1440 + 120)),
                    asserted: Some(at(1440 + 90)),
                },
                lead: Some("ana".into()),
                participants: vec![person("ana", 90)],
                ..IncidentFacts::default()
            },
            IncidentFacts {
                reference: "INC-3".into(),
                severity: "major".into(),
                services: vec!["search".into()],
                declared: observed(10_080),
                resolved: observed(10_080 + 30),
                lead: Some("cy".into()),
                participants: vec![person("ana", 30), person("cy", 30)],
                ..IncidentFacts::default()
            },
        ];
        let followups = vec![
            FollowupFacts {
                due: Some(at(100)),
                done_at: Some(at(90)),
            },
            FollowupFacts {
                due: Some(at(100)),
                done_at: Some(at(200)),
            },
            FollowupFacts {
                due: Some(at(100)),
                done_at: None,
            },
            FollowupFacts {
                due: None,
                done_at: None,
            },
        ];
        let it = compute(&incidents, &followups, (8, 2), 0.5);
        assert_eq!(it.n_incidents, 3);
        // MTTR: (60 + 90 + 30) / 3 = 60 min; one used an asserted time.
        assert_eq!(
            it.mttr,
            Clocked {
                mean_minutes: Some(60.0),
                n: 3,
                n_asserted: 1
            }
        );
        // MTTA: (5 + 10) / 2.
        assert_eq!(it.mtta.mean_minutes, Some(7.5));
        assert_eq!(
            it.time_to_mitigate,
            Clocked {
                mean_minutes: Some(30.0),
                n: 1,
                n_asserted: 0
            }
        );
        assert_eq!(it.by_severity["major"], 2);
        assert_eq!(it.by_service["checkout"], 2);
        assert_eq!(it.by_week.len(), 2, "{:?}", it.by_week);
        assert_eq!(it.change_failure_rate, Some(0.25));
        assert_eq!(it.postmortem_completion, Some(1.0 / 3.0));
        assert_eq!(it.followups_on_time, Some(1.0 / 3.0));
        // Ana was in all three: a hero; bo and cy in one each.
        assert!(it.people["ana"].hero);
        assert!(!it.people["cy"].hero);
        assert_eq!(it.people["ana"].hours, 3.0);
        assert_eq!(it.people["ana"].led, 2);
        // Checkout was only ever led by Ana; search by Ana and Cy.
        assert_eq!(it.bus_factor["checkout"], 1);
        assert_eq!(it.bus_factor["search"], 2);
        let empty = compute(&[], &[], (0, 0), 0.5);
        assert_eq!(empty.mttr.mean_minutes, None);
        assert_eq!(empty.change_failure_rate, None);
    }
}
