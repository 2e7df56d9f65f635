//! Statuspage v2 compatible JSON: the same field names, types, value sets and top-level
//! indicator rules as Atlassian's public Status API, so tools that read `summary.json` read
//! ours. Every key is always present (`null`, never omitted), except `components` on groups
//! only, as Statuspage does.

use firebreak_core::status_page::{ComponentStatus, Impact, PublicStatus, group_status, rollup};
use firebreak_store::{Component, PublicIncident, PublicUpdate, StatusData};
use jiff::Timestamp;
use serde_json::{Value, json};

/// Timestamps as Statuspage writes them: RFC 3339, milliseconds, UTC `Z`.
pub fn time(at: Timestamp) -> String {
    at.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// What a page needs besides its data: who it is and where it lives.
pub struct PageInfo {
    pub id: String,
    pub name: String,
    /// The page's address, e.g. `https://status.example.com` or `http://host/status`.
    pub url: String,
}

pub struct Documents {
    pub summary: Value,
    pub status: Value,
    pub components: Value,
    pub incidents: Value,
    pub unresolved: Value,
    pub maintenances: Value,
    pub upcoming: Value,
    pub active: Value,
    pub updated_at: Timestamp,
}

/// A component's status as shown: a group's is the worst of its children's.
pub fn shown_status(component: &Component, all: &[Component]) -> ComponentStatus {
    if component.is_group {
        let children: Vec<ComponentStatus> = all
            .iter()
            .filter(|it| it.group_id.as_deref() == Some(component.id.as_str()))
            .map(|it| it.status)
            .collect();
        group_status(&children)
    } else {
        component.status
    }
}

fn component_json(component: &Component, all: &[Component], page_id: &str) -> Value {
    let mut value = json!({
        "id": component.id,
        "name": component.name,
        "status": shown_status(component, all).as_str(),
        "created_at": time(component.created_at),
        "updated_at": time(component.updated_at),
        "position": component.position,
        "description": (!component.description.is_empty()).then(|| component.description.clone()),
        "showcase": component.showcase && !component.is_group,
        "start_date": (!component.is_group).then(|| component.created_at.strftime("%Y-%m-%d").to_string()),
        "group_id": component.group_id,
        "page_id": page_id,
        "group": component.is_group,
        "only_show_if_degraded": component.only_show_if_degraded,
    });
    if component.is_group {
        value["components"] = json!(
            all.iter()
                .filter(|it| it.group_id.as_deref() == Some(component.id.as_str()))
                .map(|it| it.id.clone())
                .collect::<Vec<_>>()
        );
    }
    value
}

fn update_json(update: &PublicUpdate, incident_id: &str) -> Value {
    json!({
        "id": update.id,
        "status": update.status.as_str(),
        "body": update.body,
        "incident_id": incident_id,
        "created_at": time(update.created_at),
        "updated_at": time(update.created_at),
        "display_at": time(update.created_at),
        "affected_components": update.affected.as_ref().map(|list| list.iter().map(|it| json!({
            "code": it.code,
            "name": it.name,
            "old_status": it.old_status.as_str(),
            "new_status": it.new_status.as_str(),
        })).collect::<Vec<_>>()),
        "deliver_notifications": true,
        "custom_tweet": null,
        "tweet_id": null,
    })
}

fn incident_json(incident: &PublicIncident, all: &[Component], page: &PageInfo) -> Value {
    let mut value = json!({
        "id": incident.id,
        "name": incident.name,
        "status": incident.status.as_str(),
        "created_at": time(incident.created_at),
        "updated_at": time(incident.updated_at),
        "monitoring_at": incident.monitoring_at.map(time),
        "resolved_at": incident.resolved_at.map(time),
        "impact": incident.impact.as_str(),
        "shortlink": format!("{}/incidents/{}", page.url, incident.id),
        "started_at": time(incident.started_at),
        "page_id": page.id,
        "incident_updates": incident.updates.iter().map(|it| update_json(it, &incident.id)).collect::<Vec<_>>(),
        "components": incident.component_ids.iter()
            .filter_map(|id| all.iter().find(|it| &it.id == id))
            .map(|it| component_json(it, all, &page.id))
            .collect::<Vec<_>>(),
        "reminder_intervals": null,
    });
    if let Some(window) = &incident.window {
        value["scheduled_for"] = json!(time(window.scheduled_for));
        value["scheduled_until"] = json!(time(window.scheduled_until));
        // A window names its components from the start, before any update changed them.
        value["components"] = json!(
            window
                .components
                .iter()
                .filter_map(|id| all.iter().find(|it| &it.id == id))
                .map(|it| component_json(it, all, &page.id))
                .collect::<Vec<_>>()
        );
    }
    value
}

/// The moment anything on the page last changed (the epoch for an empty page).
pub fn updated_at(data: &StatusData) -> Timestamp {
    data.components
        .iter()
        .map(|it| it.updated_at)
        .chain(data.incidents.iter().map(|it| it.updated_at))
        .max()
        .unwrap_or(Timestamp::UNIX_EPOCH)
}

/// Every v2 document of the page.
pub fn documents(data: &StatusData, page: &PageInfo) -> Documents {
    let updated_at = updated_at(data);
    let page_json = json!({
        "id": page.id,
        "name": page.name,
        "url": page.url,
        "time_zone": "Etc/UTC",
        "updated_at": time(updated_at),
    });
    let all = &data.components;
    let components: Vec<Value> = all
        .iter()
        .map(|it| component_json(it, all, &page.id))
        .collect();
    let (windows, incidents): (Vec<&PublicIncident>, Vec<&PublicIncident>) =
        data.incidents.iter().partition(|it| it.window.is_some());
    let unresolved: Vec<&PublicIncident> = incidents
        .iter()
        .copied()
        .filter(|it| !it.status.is_resolved())
        .collect();
    let leaves: Vec<ComponentStatus> = all
        .iter()
        .filter(|it| !it.is_group)
        .map(|it| it.status)
        .collect();
    let impacts: Vec<Impact> = unresolved.iter().map(|it| it.impact).collect();
    let (indicator, description) = rollup(&leaves, &impacts);
    let status = json!({ "indicator": indicator.as_str(), "description": description });
    // Like Statuspage: the 50 most recent, no pagination.
    let incidents: Vec<Value> = incidents
        .iter()
        .take(50)
        .map(|it| incident_json(it, all, page))
        .collect();
    let unresolved: Vec<Value> = unresolved
        .iter()
        .map(|it| incident_json(it, all, page))
        .collect();
    let with_status = |wanted: &[PublicStatus]| -> Vec<Value> {
        windows
            .iter()
            .filter(|it| wanted.contains(&it.status))
            .map(|it| incident_json(it, all, page))
            .collect()
    };
    let upcoming = with_status(&[PublicStatus::Scheduled]);
    let active = with_status(&[PublicStatus::InProgress, PublicStatus::Verifying]);
    let current: Vec<Value> = active.iter().chain(upcoming.iter()).cloned().collect();
    let maintenances: Vec<Value> = windows
        .iter()
        .take(50)
        .map(|it| incident_json(it, all, page))
        .collect();
    Documents {
        summary: json!({
            "page": page_json,
            "components": components,
            "incidents": unresolved,
            "scheduled_maintenances": current,
            "status": status,
        }),
        status: json!({ "page": page_json, "status": status }),
        components: json!({ "page": page_json, "components": components }),
        incidents: json!({ "page": page_json, "incidents": incidents }),
        unresolved: json!({ "page": page_json, "incidents": unresolved }),
        maintenances: json!({ "page": page_json, "scheduled_maintenances": maintenances }),
        upcoming: json!({ "page": page_json, "scheduled_maintenances": upcoming }),
        active: json!({ "page": page_json, "scheduled_maintenances": active }),
        updated_at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_have_milliseconds_and_z() {
        let at: Timestamp = "2026-03-02T10:41:07.118456Z".parse().unwrap();
        assert_eq!(time(at), "2026-03-02T10:41:07.118Z");
        assert_eq!(time(Timestamp::UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
    }
}
