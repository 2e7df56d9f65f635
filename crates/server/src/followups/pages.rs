//! The follow-ups page (everyone's, overdue first) and adding follow-ups from a post-mortem.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use firebreak_core::Role;
use firebreak_core::followup::{FollowupKind, FollowupStatus, Priority};
use firebreak_store::{FollowupPatch, NewFollowup};

use crate::AppState;
use crate::error::ApiError;
use crate::incidents::service::visible;
use crate::ui::{Chrome, UiForm, UiResult, Viewer, render, see_other};

pub struct Row {
    pub id: String,
    pub title: String,
    pub incident: String,
    pub owner: String,
    pub due: String,
    pub overdue: bool,
    pub status: String,
    pub open: bool,
    pub kind: String,
    pub priority: String,
    /// The address in GitHub or Jira, once exported.
    pub external: String,
}

#[derive(Template)]
#[template(path = "followups.html")]
struct FollowupsPage {
    chrome: Chrome,
    csrf: String,
    can_act: bool,
    show_all: bool,
    rows: Vec<Row>,
    /// (value, label) of each configured tracker.
    trackers: Vec<(&'static str, &'static str)>,
}

#[derive(serde::Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    status: String,
}

pub async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(query): Query<ListQuery>,
) -> UiResult<Response> {
    let lens = viewer.lens(&state).await?;
    let access = viewer.0.access();
    let show_all = query.status == "all";
    let now = firebreak_store::clock::now();
    let mut rows = Vec::new();
    for it in state.store.followups(None, !show_all).await? {
        let Ok(id) = uuid::Uuid::parse_str(&it.incident_id) else {
            continue;
        };
        if state
            .store
            .visible_incident(firebreak_store::IncidentKey::Id(id), &access)
            .await
            .is_err()
        {
            continue;
        }
        let open = it.status == FollowupStatus::Open;
        rows.push(Row {
            overdue: open && it.due_at.is_some_and(|at| at < now),
            due: it
                .due_at
                .map(|at| lens.time(at))
                .unwrap_or_else(|| "—".into()),
            id: it.id,
            title: it.title,
            incident: it.reference,
            owner: lens.person(&it.owner),
            status: it.status.as_str().replace('_', " "),
            open,
            kind: it.kind.as_str().into(),
            priority: it.priority.as_str().into(),
            external: it.external.map(|(_, _, url)| url).unwrap_or_default(),
        });
    }
    Ok(render(&FollowupsPage {
        chrome: viewer.chrome("followups"),
        csrf: viewer.csrf(),
        can_act: viewer.0.role.allows(Role::Responder),
        show_all,
        rows,
        trackers: [
            (
                "github",
                "GitHub",
                !state.settings.trackers.github.repo.is_empty(),
            ),
            (
                "jira",
                "Jira",
                !state.settings.trackers.jira.project.is_empty(),
            ),
        ]
        .into_iter()
        .filter(|it| it.2)
        .map(|(value, label, _)| (value, label))
        .collect(),
    }))
}

pub async fn set_status(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    UiForm { csrf, fields }: UiForm<BTreeMap<String, String>>,
) -> UiResult<Response> {
    viewer.may(&csrf, Role::Responder)?;
    if let Some(to) = fields.get("export") {
        crate::followups::service::export_to(&state, &viewer.0, &id, to).await?;
        return Ok(see_other("/followups"));
    }
    let status = fields
        .get("status")
        .and_then(|it| FollowupStatus::parse(it))
        .ok_or_else(|| ApiError::field("status", "choose done, won't do or open"))?;
    let current = state.store.followup(&id).await?;
    let incident_id = uuid::Uuid::parse_str(&current.incident_id).map_err(ApiError::internal)?;
    state
        .store
        .visible_incident(
            firebreak_store::IncidentKey::Id(incident_id),
            &viewer.0.access(),
        )
        .await?;
    let patch = FollowupPatch {
        status: Some(status),
        ..FollowupPatch::default()
    };
    state
        .store
        .update_followup(&id, patch, firebreak_store::clock::now())
        .await?;
    Ok(see_other("/followups"))
}

/// Adds a follow-up from the post-mortem page.
pub async fn add(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(text): Path<String>,
    UiForm { csrf, fields }: UiForm<BTreeMap<String, String>>,
) -> UiResult<Response> {
    viewer.may(&csrf, Role::Responder)?;
    let incident = visible(&state, &viewer.0, &text, "add follow-up").await?;
    let field = |name: &str| {
        fields
            .get(name)
            .map(|it| it.trim().to_string())
            .unwrap_or_default()
    };
    let title = field("title");
    if title.is_empty() || title.chars().count() > 300 {
        return Err(ApiError::field("title", "1 to 300 characters").into());
    }
    let owner = firebreak_core::person::parse_email(&field("owner"))
        .ok_or_else(|| ApiError::field("owner", "the owner's email address"))?;
    let new = NewFollowup {
        title,
        description: String::new(),
        owner,
        due_at: crate::followups::service::due(Some(&field("due_in")), None)?,
        priority: Priority::parse(&field("priority")).unwrap_or(Priority::Medium),
        kind: FollowupKind::parse(&field("kind")).unwrap_or(FollowupKind::Code),
    };
    state
        .store
        .create_followup(incident.id.0, new, firebreak_store::clock::now())
        .await?;
    Ok(see_other(&format!(
        "/incidents/{}/postmortem#followups",
        incident.reference
    )))
}
