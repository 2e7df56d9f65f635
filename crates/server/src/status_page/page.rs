//! The status page in HTML: server-rendered, no JavaScript needed, status as text and icon
//! (never colour alone), uptime bars whose days are keyboard-focusable with their own
//! description.

use askama::Template;
use firebreak_core::status_page::{ComponentStatus, Indicator, PARTIAL_WEIGHT, uptime};
use firebreak_store::{PublicIncident, StatusData};
use jiff::{SignedDuration, Timestamp};

use super::v2::{Documents, PageInfo, shown_status};
use crate::settings::Settings;

/// Days of history in the uptime bars.
pub const UPTIME_DAYS: i64 = 90;
/// Days of past incidents on the front page.
const HISTORY_DAYS: i64 = 15;

pub fn info(settings: &Settings) -> PageInfo {
    let page = &settings.status_page;
    PageInfo {
        id: page.page_id.clone(),
        name: page.title.clone(),
        url: if page.url.is_empty() {
            format!("{}/status", settings.base_url())
        } else {
            page.url.trim_end_matches('/').to_string()
        },
    }
}

fn icon(status: ComponentStatus) -> &'static str {
    match status {
        ComponentStatus::Operational => "✓",
        ComponentStatus::DegradedPerformance => "◐",
        ComponentStatus::PartialOutage => "▲",
        ComponentStatus::MajorOutage => "✕",
        ComponentStatus::UnderMaintenance => "⚙",
    }
}

fn when(at: Timestamp) -> String {
    at.strftime("%b %-d, %H:%M UTC").to_string()
}

pub struct DayView {
    pub class: &'static str,
    pub label: String,
}

pub struct ComponentView {
    pub name: String,
    pub description: String,
    pub status: String,
    pub class: &'static str,
    pub icon: &'static str,
    pub uptime: String,
    pub days: Vec<DayView>,
    pub showcase: bool,
}

pub struct GroupView {
    pub name: String,
    pub status: String,
    pub class: &'static str,
    pub icon: &'static str,
    pub components: Vec<ComponentView>,
}

pub struct UpdateView {
    pub label: &'static str,
    pub body: String,
    pub when: String,
    pub iso: String,
}

pub struct IncidentView {
    pub id: String,
    pub name: String,
    pub impact: String,
    pub status: &'static str,
    pub updates: Vec<UpdateView>,
    pub affected: String,
}

pub struct MaintenanceView {
    pub id: String,
    pub name: String,
    pub status: &'static str,
    pub window: String,
    pub affected: String,
    pub body: String,
}

pub struct HistoryDay {
    pub date: String,
    pub incidents: Vec<IncidentView>,
}

#[derive(Template)]
#[template(path = "status_history.html")]
struct HistoryPage<'a> {
    title: &'a str,
    accent: &'a str,
    heading: String,
    /// (path, "November 2026", number of incidents), newest first; only on the index.
    months: Vec<(String, String, usize)>,
    incidents: Vec<IncidentView>,
}

#[derive(Template)]
#[template(path = "status_page.html")]
struct StatusPage<'a> {
    title: &'a str,
    logo: &'a str,
    accent: &'a str,
    indicator: &'static str,
    description: String,
    active: Vec<IncidentView>,
    maintenances: Vec<MaintenanceView>,
    groups: Vec<GroupView>,
    history: Vec<HistoryDay>,
    /// Leaf components (id, name) subscribers may choose.
    components: Vec<(String, String)>,
    updated: String,
    partial_weight: String,
}

#[derive(Template)]
#[template(path = "status_incident.html")]
struct IncidentPage<'a> {
    title: &'a str,
    incident: IncidentView,
}

fn class(status: ComponentStatus) -> &'static str {
    match status {
        ComponentStatus::Operational => "ok",
        ComponentStatus::DegradedPerformance => "degraded",
        ComponentStatus::PartialOutage => "partial",
        ComponentStatus::MajorOutage => "major",
        ComponentStatus::UnderMaintenance => "maintenance",
    }
}

fn incident_view(incident: &PublicIncident, data: &StatusData) -> IncidentView {
    let names: Vec<String> = incident
        .component_ids
        .iter()
        .filter_map(|id| data.components.iter().find(|it| &it.id == id))
        .map(|it| it.name.clone())
        .collect();
    IncidentView {
        id: incident.id.clone(),
        name: incident.name.clone(),
        impact: incident.impact.as_str().to_string(),
        status: incident.status.label(),
        updates: incident
            .updates
            .iter()
            .map(|it| UpdateView {
                label: it.status.label(),
                body: it.body.clone(),
                when: when(it.created_at),
                iso: super::v2::time(it.created_at),
            })
            .collect(),
        affected: names.join(", "),
    }
}

fn component_view(
    component: &firebreak_store::Component,
    data: &StatusData,
    now: Timestamp,
) -> ComponentView {
    let status = shown_status(component, &data.components);
    let changes = data
        .changes
        .get(&component.id)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let (days, ratio) = uptime(changes, now, UPTIME_DAYS);
    let days = days
        .iter()
        .map(|day| {
            let date = day.start.strftime("%b %-d, %Y");
            let (class, label) = if !day.known {
                ("none", format!("{date}: no data"))
            } else {
                let worst = day.worst();
                let mut parts = Vec::new();
                let minutes = |seconds: i64| (seconds + 59) / 60;
                if day.major_seconds > 0 {
                    parts.push(format!("major outage {} min", minutes(day.major_seconds)));
                }
                if day.partial_seconds > 0 {
                    parts.push(format!(
                        "partial outage {} min",
                        minutes(day.partial_seconds)
                    ));
                }
                if day.degraded_seconds > 0 {
                    parts.push(format!("degraded {} min", minutes(day.degraded_seconds)));
                }
                if parts.is_empty() {
                    parts.push("no downtime".into());
                }
                (class(worst), format!("{date}: {}", parts.join(", ")))
            };
            DayView { class, label }
        })
        .collect();
    ComponentView {
        name: component.name.clone(),
        description: component.description.clone(),
        status: status.label().to_string(),
        class: class(status),
        icon: icon(status),
        uptime: ratio.map_or("no data yet".into(), |it| {
            format!("{:.2} % uptime", (it * 100.0).clamp(0.0, 100.0))
        }),
        days,
        showcase: component.showcase,
    }
}

/// The front page and a page per incident, by path.
pub fn render(
    data: &StatusData,
    info: &PageInfo,
    (logo, accent): (&str, &str),
    docs: &Documents,
    now: Timestamp,
) -> Vec<(String, String)> {
    let visible = |component: &firebreak_store::Component| {
        !component.only_show_if_degraded
            || shown_status(component, &data.components) != ComponentStatus::Operational
    };
    let mut groups = Vec::new();
    // Ungrouped components first, under no heading, then each group.
    let loose: Vec<ComponentView> = data
        .components
        .iter()
        .filter(|it| it.group_id.is_none() && !it.is_group && visible(it))
        .map(|it| component_view(it, data, now))
        .collect();
    if !loose.is_empty() {
        groups.push(GroupView {
            name: String::new(),
            status: String::new(),
            class: "ok",
            icon: "",
            components: loose,
        });
    }
    for group in data
        .components
        .iter()
        .filter(|it| it.is_group && visible(it))
    {
        let status = shown_status(group, &data.components);
        groups.push(GroupView {
            name: group.name.clone(),
            status: status.label().to_string(),
            class: class(status),
            icon: icon(status),
            components: data
                .components
                .iter()
                .filter(|it| it.group_id.as_deref() == Some(group.id.as_str()) && visible(it))
                .map(|it| component_view(it, data, now))
                .collect(),
        });
    }
    let active: Vec<IncidentView> = data
        .incidents
        .iter()
        .filter(|it| it.window.is_none() && !it.status.is_resolved())
        .map(|it| incident_view(it, data))
        .collect();
    let maintenances: Vec<MaintenanceView> = data
        .incidents
        .iter()
        .filter(|it| !it.status.is_resolved())
        .filter_map(|it| {
            let window = it.window.as_ref()?;
            let names: Vec<String> = window
                .components
                .iter()
                .filter_map(|id| data.components.iter().find(|c| &c.id == id))
                .map(|c| c.name.clone())
                .collect();
            Some(MaintenanceView {
                id: it.id.clone(),
                name: it.name.clone(),
                status: it.status.label(),
                window: format!(
                    "{} – {}",
                    when(window.scheduled_for),
                    when(window.scheduled_until)
                ),
                affected: names.join(", "),
                body: it
                    .updates
                    .first()
                    .map(|u| u.body.clone())
                    .unwrap_or_default(),
            })
        })
        .collect();
    let today = now
        .to_zoned(jiff::tz::TimeZone::UTC)
        .start_of_day()
        .map(|it| it.timestamp())
        .unwrap_or(now);
    let history = (0..HISTORY_DAYS)
        .map(|back| {
            let start = today - SignedDuration::from_hours(24 * back);
            let end = start + SignedDuration::from_hours(24);
            HistoryDay {
                date: start.strftime("%b %-d, %Y").to_string(),
                incidents: data
                    .incidents
                    .iter()
                    .filter(|it| it.window.is_none())
                    .filter(|it| it.created_at >= start && it.created_at < end)
                    .map(|it| incident_view(it, data))
                    .collect(),
            }
        })
        .collect();
    let indicator = docs.status["status"]["indicator"]
        .as_str()
        .and_then(Indicator::parse)
        .unwrap_or(Indicator::None);
    let front = StatusPage {
        title: &info.name,
        logo,
        accent,
        indicator: indicator.as_str(),
        description: docs.status["status"]["description"]
            .as_str()
            .unwrap_or("")
            .to_string(),
        active,
        maintenances,
        groups,
        history,
        components: data
            .components
            .iter()
            .filter(|it| !it.is_group)
            .map(|it| (it.id.clone(), it.name.clone()))
            .collect(),
        updated: when(docs.updated_at.max(Timestamp::UNIX_EPOCH)),
        partial_weight: format!("{PARTIAL_WEIGHT}"),
    };
    let mut pages = vec![("/status".to_string(), front.render().unwrap_or_default())];
    // The archive: an index of months, and a page per month (incidents, not maintenance).
    let mut months: Vec<(String, String, usize)> = Vec::new();
    let mut by_month: Vec<(String, Vec<IncidentView>)> = Vec::new();
    for incident in data.incidents.iter().filter(|it| it.window.is_none()) {
        let key = incident.created_at.strftime("%Y-%m").to_string();
        match by_month.last_mut() {
            Some((last, list)) if *last == key => list.push(incident_view(incident, data)),
            _ => by_month.push((key, vec![incident_view(incident, data)])),
        }
    }
    for (key, incidents) in by_month {
        let label = data
            .incidents
            .iter()
            .find(|it| it.created_at.strftime("%Y-%m").to_string() == key)
            .map(|it| it.created_at.strftime("%B %Y").to_string())
            .unwrap_or_else(|| key.clone());
        let path = format!("/status/history/{key}");
        months.push((path.clone(), label.clone(), incidents.len()));
        let page = HistoryPage {
            title: &info.name,
            accent,
            heading: format!("Incidents in {label}"),
            months: Vec::new(),
            incidents,
        };
        pages.push((path, page.render().unwrap_or_default()));
    }
    let index = HistoryPage {
        title: &info.name,
        accent,
        heading: "Incident history".into(),
        months,
        incidents: Vec::new(),
    };
    pages.push(("/status/history".into(), index.render().unwrap_or_default()));
    for incident in &data.incidents {
        let page = IncidentPage {
            title: &info.name,
            incident: incident_view(incident, data),
        };
        pages.push((
            format!("/status/incidents/{}", incident.id),
            page.render().unwrap_or_default(),
        ));
    }
    pages
}
