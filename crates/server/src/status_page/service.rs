//! The status page as the API, the admin page and post-mortem sharing use it: public incidents
//! in their wire shape, the timeline entry a publication leaves, the page's refresh.

use firebreak_store::PublicIncident;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::error::{ApiError, ApiResult};

/// Records the newest public update on the internal incident's timeline (what customers
/// were told is part of the record). Written after the public update commits; a failure is
/// logged, the public update stands.
pub(crate) async fn record_on_timeline(state: &AppState, actor: &str, public: &PublicIncident) {
    let (Some(internal), Some(update)) = (&public.incident_id, public.updates.first()) else {
        return;
    };
    let Ok(id) = uuid::Uuid::parse_str(internal) else {
        return;
    };
    let command = firebreak_core::Command::RecordPublicUpdate {
        public_id: public.id.clone(),
        status: update.status.as_str().to_string(),
        body: update.body.clone(),
    };
    let key = firebreak_store::IncidentKey::Id(id);
    if let Err(err) = state
        .store
        .execute_command(key, actor, firebreak_core::Access::All, command)
        .await
    {
        tracing::warn!(error = %err, public = %public.id, "could not record the public update on the incident's timeline");
    }
}

pub(crate) fn text(field: &str, value: &str, max: usize) -> ApiResult<String> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > max {
        return Err(ApiError::field(
            field,
            format!("{field} must be 1 to {max} characters"),
        ));
    }
    Ok(value.to_string())
}

/// Re-renders the page after a change; a failure leaves the old page up and is logged.
pub(crate) async fn refresh(state: &AppState) {
    if let Err(err) = crate::status_page::rebuild(state).await {
        tracing::warn!(error = %err, "status page rebuild failed after a change");
    }
}

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct PublicIncidentDto {
    pub id: String,
    /// The internal incident it is the public face of (UUID).
    pub incident_id: Option<String>,
    pub name: String,
    pub status: String,
    /// none, minor, major, critical.
    pub impact: String,
    pub created_at: String,
    pub updated_at: String,
    pub resolved_at: Option<String>,
    /// Newest first.
    pub updates: Vec<PublicUpdateDto>,
    /// Its page: `/status/incidents/{id}`.
    pub url: String,
    /// For a maintenance window: when it starts and ends, and its components.
    pub scheduled_for: Option<String>,
    pub scheduled_until: Option<String>,
    pub maintenance_components: Option<Vec<String>>,
}

pub fn public_incident_dto(it: &PublicIncident) -> PublicIncidentDto {
    PublicIncidentDto {
        id: it.id.clone(),
        incident_id: it.incident_id.clone(),
        name: it.name.clone(),
        status: it.status.as_str().into(),
        impact: it.impact.as_str().into(),
        created_at: it.created_at.to_string(),
        updated_at: it.updated_at.to_string(),
        resolved_at: it.resolved_at.map(|at| at.to_string()),
        updates: it
            .updates
            .iter()
            .map(|update| PublicUpdateDto {
                id: update.id.clone(),
                status: update.status.as_str().into(),
                body: update.body.clone(),
                created_at: update.created_at.to_string(),
                affected: update.affected.as_ref().map(|list| {
                    list.iter()
                        .map(|a| AffectedDto {
                            component: a.code.clone(),
                            name: a.name.clone(),
                            old_status: a.old_status.as_str().into(),
                            new_status: a.new_status.as_str().into(),
                        })
                        .collect()
                }),
            })
            .collect(),
        url: format!("/status/incidents/{}", it.id),
        scheduled_for: it.window.as_ref().map(|w| w.scheduled_for.to_string()),
        scheduled_until: it.window.as_ref().map(|w| w.scheduled_until.to_string()),
        maintenance_components: it.window.as_ref().map(|w| w.components.clone()),
    }
}

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct AffectedDto {
    pub component: String,
    pub name: String,
    pub old_status: String,
    pub new_status: String,
}

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct PublicUpdateDto {
    pub id: String,
    /// investigating, identified, monitoring, resolved, postmortem.
    pub status: String,
    pub body: String,
    pub created_at: String,
    /// The components this update set (absent when it set none).
    pub affected: Option<Vec<AffectedDto>>,
}
