//! The insights page: headline figures with the clock they used, incidents by week as an SVG
//! bar chart, by severity and service (bus factor flagged), responder load (heroics flagged).

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;

use crate::AppState;
use crate::insights::service::{PeriodQuery, PersonDto, insights_for, period};
use crate::ui::{Chrome, UiResult, Viewer, render};

#[derive(Template)]
#[template(path = "insights.html")]
struct InsightsPage {
    chrome: Chrome,
    from: String,
    to: String,
    n: usize,
    headline: Vec<(&'static str, String, String)>,
    weeks: Vec<(usize, usize, String, usize)>,
    chart_width: usize,
    week_summary: String,
    by_severity: Vec<(String, usize)>,
    by_service: Vec<(String, usize, usize)>,
    people: Vec<(String, PersonDto)>,
}

fn minutes(value: Option<f64>) -> String {
    value.map_or("—".into(), |it| {
        let it = it.round() as i64;
        if it >= 60 {
            format!("{} h {} min", it / 60, it % 60)
        } else {
            format!("{it} min")
        }
    })
}

fn share(value: Option<f64>) -> String {
    value.map_or("—".into(), |it| format!("{:.0} %", it * 100.0))
}

pub async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(query): Query<PeriodQuery>,
) -> UiResult<Response> {
    let range = period(&query)?;
    let it = insights_for(&state, &viewer.0, range).await?;
    let lens = viewer.lens(&state).await?;
    let clock = |c: &crate::insights::service::ClockedDto| {
        format!(
            "{} incidents, {} with an asserted time",
            c.incidents, c.with_asserted_time
        )
    };
    let headline = vec![
        ("MTTA", minutes(it.mtta.mean_minutes), clock(&it.mtta)),
        (
            "Time to mitigate",
            minutes(it.time_to_mitigate.mean_minutes),
            clock(&it.time_to_mitigate),
        ),
        ("MTTR", minutes(it.mttr.mean_minutes), clock(&it.mttr)),
        (
            "Change failure rate",
            share(it.change_failure_rate),
            format!(
                "{} of {} deploys caused an incident",
                it.failed_deploys, it.deploys
            ),
        ),
        (
            "Post-mortems published",
            share(it.postmortem_completion),
            String::new(),
        ),
        (
            "Follow-ups done on time",
            share(it.followups_on_time),
            String::new(),
        ),
    ];
    let max = it.by_week.values().copied().max().unwrap_or(1).max(1);
    let weeks: Vec<(usize, usize, String, usize)> = it
        .by_week
        .iter()
        .enumerate()
        .map(|(idx, (week, n))| (10 + idx * 44, n * 90 / max, week.clone(), *n))
        .collect();
    let week_summary = it
        .by_week
        .iter()
        .map(|(week, n)| format!("{week}: {n}"))
        .collect::<Vec<_>>()
        .join(", ");
    let date = |at: &str| at.get(..10).unwrap_or("").to_string();
    Ok(render(&InsightsPage {
        chrome: viewer.chrome("insights"),
        from: date(&it.from),
        to: date(&it.to),
        n: it.incidents,
        chart_width: (weeks.len() * 44 + 20).max(200),
        weeks,
        week_summary: if week_summary.is_empty() {
            "no incidents".into()
        } else {
            format!("Incidents by week: {week_summary}")
        },
        by_severity: it.by_severity.into_iter().collect(),
        by_service: it
            .by_service
            .iter()
            .map(|(service, n)| {
                (
                    service.clone(),
                    *n,
                    it.bus_factor.get(service).copied().unwrap_or(0),
                )
            })
            .collect(),
        people: it
            .people
            .into_iter()
            .map(|(email, load)| (lens.person(&email), load))
            .collect(),
        headline,
    }))
}
