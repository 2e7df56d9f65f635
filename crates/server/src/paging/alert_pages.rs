//! Alerts in the browser: open alerts (acknowledge, resolve), one alert with its log and
//! "declare an incident from this alert", and the services with their integration keys —
//! through the same functions as the API.

use std::collections::{BTreeMap, HashMap};

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use firebreak_core::Role;
use firebreak_core::paging::AlertAction;

use crate::AppState;
use crate::error::ApiError;
use crate::paging::service::{alert_dto, respond, with_log};
use crate::ui::{Chrome, UiForm, UiResult, Viewer, render, see_other};

pub struct AlertRow {
    pub id: String,
    pub summary: String,
    pub service: String,
    pub severity: String,
    pub status: String,
    pub count: i64,
    pub created: String,
    pub open: bool,
    pub triggered: bool,
}

#[derive(Template)]
#[template(path = "alerts.html")]
struct AlertsPage {
    chrome: Chrome,
    csrf: String,
    can_act: bool,
    show_all: bool,
    rows: Vec<AlertRow>,
}

#[derive(Template)]
#[template(path = "alert.html")]
struct AlertPage {
    chrome: Chrome,
    csrf: String,
    can_act: bool,
    alert: AlertRow,
    source: String,
    runbook: String,
    links: Vec<(String, String)>,
    details: String,
    incident: String,
    /// (when, what, detail).
    log: Vec<(String, String, String)>,
}

#[derive(serde::Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    status: String,
}

async fn service_names(state: &AppState) -> UiResult<HashMap<String, String>> {
    Ok(state
        .store
        .services()
        .await?
        .into_iter()
        .map(|it| (it.id, it.name))
        .collect())
}

fn row(
    it: &crate::paging::service::AlertDto,
    names: &HashMap<String, String>,
    lens: &crate::ui::views::Lens,
) -> AlertRow {
    AlertRow {
        id: it.id.clone(),
        summary: it.summary.clone(),
        service: names.get(&it.service_id).cloned().unwrap_or_default(),
        severity: it.severity.clone(),
        status: it.status.clone(),
        count: it.count,
        created: it
            .created_at
            .parse()
            .map(|at| lens.time(at))
            .unwrap_or_default(),
        open: it.status != "resolved",
        triggered: it.status == "triggered",
    }
}

pub async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(query): Query<ListQuery>,
) -> UiResult<Response> {
    let lens = viewer.lens(&state).await?;
    let names = service_names(&state).await?;
    let show_all = query.status == "all";
    let rows = state
        .store
        .alerts(!show_all, 200)
        .await?
        .into_iter()
        .map(|it| row(&alert_dto(it), &names, &lens))
        .collect();
    Ok(render(&AlertsPage {
        chrome: viewer.chrome("alerts"),
        csrf: viewer.csrf(),
        can_act: viewer.0.role.allows(Role::Responder),
        show_all,
        rows,
    }))
}

pub async fn show(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> UiResult<Response> {
    let lens = viewer.lens(&state).await?;
    let names = service_names(&state).await?;
    let it = with_log(&state, &viewer.0.access(), &id).await?;
    let service = state.store.service(&it.service_id).await?;
    let incident = match &it.incident_id {
        Some(incident) => match uuid::Uuid::parse_str(incident) {
            Ok(uuid) => state
                .store
                .visible_incident(firebreak_store::IncidentKey::Id(uuid), &viewer.0.access())
                .await
                .map(|found| found.reference.to_string())
                .unwrap_or_default(),
            Err(_) => String::new(),
        },
        None => String::new(),
    };
    let log = it
        .log
        .clone()
        .unwrap_or_default()
        .iter()
        .map(|entry| {
            let when = entry["at"]
                .as_str()
                .and_then(|at| at.parse().ok())
                .map(|at| lens.time_with_seconds(at))
                .unwrap_or_default();
            let detail = entry["detail"]
                .as_object()
                .map(|fields| {
                    fields
                        .iter()
                        .map(|(key, value)| {
                            let value = value
                                .as_str()
                                .map(String::from)
                                .unwrap_or(value.to_string());
                            format!("{key}: {value}")
                        })
                        .collect::<Vec<_>>()
                        .join(" · ")
                })
                .unwrap_or_default();
            (
                when,
                entry["kind"].as_str().unwrap_or("").replace('_', " "),
                detail,
            )
        })
        .collect();
    let links = it
        .links
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|link| {
            let href = link["href"].as_str()?;
            (href.starts_with("https://") || href.starts_with("http://")).then(|| {
                (
                    href.to_string(),
                    link["text"].as_str().unwrap_or(href).to_string(),
                )
            })
        })
        .collect();
    Ok(render(&AlertPage {
        chrome: viewer.chrome("alerts"),
        csrf: viewer.csrf(),
        can_act: viewer.0.role.allows(Role::Responder),
        source: it.source.clone(),
        runbook: service.runbook_url,
        links,
        details: serde_json::to_string_pretty(&it.details).unwrap_or_default(),
        incident,
        log,
        alert: row(&it, &names, &lens),
    }))
}

/// Acknowledge, resolve, or declare an incident from an alert.
pub async fn act(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    UiForm { csrf, fields }: UiForm<BTreeMap<String, String>>,
) -> UiResult<Response> {
    viewer.may(&csrf, Role::Responder)?;
    match fields.get("action").map(String::as_str) {
        Some("acknowledge") => {
            let by = viewer.0.actor();
            respond(&state, &id, AlertAction::Acknowledge, (&by, viewer.0.role)).await?;
        }
        Some("resolve") => {
            let by = viewer.0.actor();
            respond(&state, &id, AlertAction::Resolve, (&by, viewer.0.role)).await?;
        }
        Some("declare") => {
            let incident =
                crate::paging::service::declare_from(&state, &viewer.0, &id, None).await?;
            return Ok(see_other(&format!("/incidents/{}", incident.reference)));
        }
        _ => return Err(ApiError::field("action", "acknowledge, resolve or declare").into()),
    }
    let back = if fields.get("back").is_some_and(|it| it == "list") {
        "/alerts".to_string()
    } else {
        format!("/alerts/{id}")
    };
    Ok(see_other(&back))
}
