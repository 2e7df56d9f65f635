//! Managing the public status page from the browser: components and groups, publishing an
//! incident and posting its public updates — here and from the incident room, through the
//! same store calls as the API.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use firebreak_core::Role;
use firebreak_core::status_page::{ComponentStatus, Impact, PublicStatus};
use firebreak_store::{ComponentPatch, NewComponent, PublicPost};

use crate::AppState;
use crate::error::ApiError;
use crate::status_page::v2::shown_status;
use crate::ui::{Chrome, UiForm, UiResult, Viewer, render, see_other};

pub struct ComponentRow {
    pub id: String,
    pub name: String,
    pub group: String,
    pub is_group: bool,
    pub status: String,
    pub label: &'static str,
}

pub struct PublicRow {
    pub id: String,
    pub name: String,
    pub status: &'static str,
    pub resolved: bool,
    pub latest: String,
}

#[derive(Template)]
#[template(path = "status_admin.html")]
struct StatusAdminPage {
    chrome: Chrome,
    csrf: String,
    components: Vec<ComponentRow>,
    groups: Vec<(String, String)>,
    incidents: Vec<PublicRow>,
    component_statuses: Vec<(&'static str, &'static str)>,
    public_statuses: Vec<(&'static str, &'static str)>,
    impacts: Vec<&'static str>,
}

pub fn component_statuses() -> Vec<(&'static str, &'static str)> {
    ComponentStatus::ALL
        .iter()
        .map(|it| (it.as_str(), it.label()))
        .collect()
}

pub fn public_statuses() -> Vec<(&'static str, &'static str)> {
    PublicStatus::ALL
        .iter()
        .map(|it| (it.as_str(), it.label()))
        .collect()
}

/// The components a public update can set (groups follow their children), for the pickers.
pub async fn rows(state: &AppState) -> UiResult<Vec<ComponentRow>> {
    let all = state.store.status_components().await?;
    let group_name = |id: &Option<String>| {
        id.as_ref()
            .and_then(|id| all.iter().find(|it| &it.id == id))
            .map(|it| it.name.clone())
            .unwrap_or_default()
    };
    Ok(all
        .iter()
        .map(|it| {
            let status = shown_status(it, &all);
            ComponentRow {
                id: it.id.clone(),
                name: it.name.clone(),
                group: group_name(&it.group_id),
                is_group: it.is_group,
                status: status.as_str().to_string(),
                label: status.label(),
            }
        })
        .collect())
}

pub async fn page(State(state): State<AppState>, viewer: Viewer) -> UiResult<Response> {
    viewer.0.require(Role::Responder)?;
    let components = rows(&state).await?;
    let lens = viewer.lens(&state).await?;
    let incidents = state
        .store
        .public_incidents(None, 50)
        .await?
        .into_iter()
        .map(|it| PublicRow {
            latest: it
                .updates
                .first()
                .map(|update| format!("{} — {}", lens.time(update.created_at), update.body))
                .unwrap_or_default(),
            id: it.id,
            name: it.name,
            status: it.status.label(),
            resolved: it.status.is_resolved(),
        })
        .collect();
    Ok(render(&StatusAdminPage {
        chrome: viewer.chrome("status"),
        csrf: viewer.csrf(),
        groups: components
            .iter()
            .filter(|it| it.is_group)
            .map(|it| (it.id.clone(), it.name.clone()))
            .collect(),
        components,
        incidents,
        component_statuses: component_statuses(),
        public_statuses: public_statuses(),
        impacts: Impact::ALL.iter().map(|it| it.as_str()).collect(),
    }))
}

fn field(fields: &BTreeMap<String, String>, name: &str) -> String {
    fields
        .get(name)
        .map(|it| it.trim().to_string())
        .unwrap_or_default()
}

/// `component:<id>` fields with a status chosen.
fn chosen_statuses(fields: &BTreeMap<String, String>) -> UiResult<Vec<(String, ComponentStatus)>> {
    let mut out = Vec::new();
    for (key, value) in fields {
        let Some(id) = key.strip_prefix("component:") else {
            continue;
        };
        if value.is_empty() {
            continue;
        }
        let status = ComponentStatus::parse(value)
            .ok_or_else(|| ApiError::field("components", format!("unknown status {value:?}")))?;
        out.push((id.to_string(), status));
    }
    Ok(out)
}

pub async fn add_component(
    State(state): State<AppState>,
    viewer: Viewer,
    UiForm { csrf, fields }: UiForm<BTreeMap<String, String>>,
) -> UiResult<Response> {
    viewer.may(&csrf, Role::Responder)?;
    let name = field(&fields, "name");
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::field("name", "name must be 1 to 100 characters").into());
    }
    let new = NewComponent {
        name,
        description: field(&fields, "description"),
        group_id: Some(field(&fields, "group_id")).filter(|it| !it.is_empty()),
        is_group: fields.contains_key("group"),
        status: None,
        showcase: true,
        only_show_if_degraded: false,
    };
    state
        .store
        .create_status_component(new, firebreak_store::clock::now())
        .await?;
    refresh(&state).await;
    Ok(see_other("/status-page#components"))
}

pub async fn set_component(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    UiForm { csrf, fields }: UiForm<BTreeMap<String, String>>,
) -> UiResult<Response> {
    viewer.may(&csrf, Role::Responder)?;
    let status = ComponentStatus::parse(&field(&fields, "status"))
        .ok_or_else(|| ApiError::field("status", "choose a status"))?;
    let patch = ComponentPatch {
        status: Some(status),
        ..ComponentPatch::default()
    };
    state
        .store
        .update_status_component(&id, patch, firebreak_store::clock::now())
        .await?;
    refresh(&state).await;
    Ok(see_other("/status-page#components"))
}

async fn refresh(state: &AppState) {
    if let Err(err) = crate::status_page::rebuild(state).await {
        tracing::warn!(error = %err, "status page rebuild failed after a change");
    }
}

fn public_post(fields: &BTreeMap<String, String>, default_status: &str) -> UiResult<PublicPost> {
    let status_text = Some(field(fields, "status"))
        .filter(|it| !it.is_empty())
        .unwrap_or_else(|| default_status.to_string());
    let status = PublicStatus::parse(&status_text)
        .ok_or_else(|| ApiError::field("status", "choose a status"))?;
    let body = field(fields, "body");
    if body.is_empty() || body.chars().count() > 5_000 {
        return Err(ApiError::field(
            "body",
            "write what customers should read (up to 5,000 characters)",
        )
        .into());
    }
    Ok(PublicPost {
        status,
        body,
        components: chosen_statuses(fields)?,
    })
}

/// Publishes an incident (from this page, or from an incident room with `incident`).
pub async fn publish(
    State(state): State<AppState>,
    viewer: Viewer,
    UiForm { csrf, fields }: UiForm<BTreeMap<String, String>>,
) -> UiResult<Response> {
    viewer.may(&csrf, Role::Responder)?;
    let name = field(&fields, "name");
    if name.is_empty() || name.chars().count() > 200 {
        return Err(ApiError::field("name", "give the title customers will read").into());
    }
    let impact = Impact::parse(&field(&fields, "impact")).unwrap_or(Impact::Minor);
    let internal = field(&fields, "incident");
    let (incident_id, back) = if internal.is_empty() {
        (None, "/status-page".to_string())
    } else {
        let incident = crate::incidents::service::visible(
            &state,
            &viewer.0,
            &internal,
            "publish on the status page",
        )
        .await?;
        (
            Some(incident.id.to_string()),
            format!("/incidents/{}#status-page", incident.reference),
        )
    };
    let post = public_post(&fields, "investigating")?;
    let published = state
        .store
        .publish_incident(
            (incident_id, name, impact),
            post,
            firebreak_store::clock::now(),
        )
        .await?;
    crate::status_page::service::record_on_timeline(&state, &viewer.0.actor(), &published).await;
    refresh(&state).await;
    Ok(see_other(&back))
}

/// A public update on a published incident.
pub async fn update(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    UiForm { csrf, fields }: UiForm<BTreeMap<String, String>>,
) -> UiResult<Response> {
    viewer.may(&csrf, Role::Responder)?;
    let post = public_post(&fields, "")?;
    let updated = state
        .store
        .post_public_update(&id, post, firebreak_store::clock::now())
        .await
        .map_err(|err| match err {
            firebreak_store::StoreError::NotFound(_) => {
                ApiError::not_found("public incident").into()
            }
            other => crate::ui::UiError::from(other),
        })?;
    crate::status_page::service::record_on_timeline(&state, &viewer.0.actor(), &updated).await;
    refresh(&state).await;
    let back = match field(&fields, "back").as_str() {
        it if it.starts_with("/incidents/") => it.to_string(),
        _ => "/status-page#incidents".to_string(),
    };
    Ok(see_other(&back))
}
