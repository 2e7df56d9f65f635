//! Follow-ups as the API and the pages both handle them: due dates in words or dates, and
//! export to an issue tracker.

use axum::http::StatusCode;
use firebreak_core::Role;
use firebreak_core::followup::due_in;
use firebreak_store::Followup;

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::Caller;

pub fn due(due_in_text: Option<&str>, due_at: Option<&str>) -> ApiResult<Option<jiff::Timestamp>> {
    match (
        due_in_text.filter(|it| !it.is_empty()),
        due_at.filter(|it| !it.is_empty()),
    ) {
        (Some(text), None) => {
            let span =
                due_in(text).ok_or_else(|| ApiError::field("due_in", "24h, 48h, 72h or 1w"))?;
            Ok(Some(firebreak_store::clock::now() + span))
        }
        (None, Some(text)) => Ok(Some(text.parse().map_err(|_| {
            ApiError::field("due_at", "an RFC 3339 time, e.g. 2026-12-01T17:00:00Z")
        })?)),
        (None, None) => Ok(None),
        (Some(_), Some(_)) => Err(ApiError::field("due_in", "give due_in or due_at, not both")),
    }
}

/// Exports one follow-up the caller can see to the tracker named `to`; the API and the
/// follow-ups page both come here.
pub async fn export_to(
    state: &AppState,
    caller: &Caller,
    id: &str,
    to: &str,
) -> ApiResult<Followup> {
    caller.require(Role::Responder)?;
    let current = state.store.followup(id).await?;
    let key = firebreak_store::IncidentKey::Id(
        uuid::Uuid::parse_str(&current.incident_id).map_err(ApiError::internal)?,
    );
    state
        .store
        .visible_incident(key, &caller.access())
        .await
        .map_err(|_| ApiError::not_found("follow-up"))?;
    if let Some((kind, _, url)) = &current.external {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "already_exported",
            format!("already exported to {kind}: {url}"),
        ));
    }
    let trackers = crate::followups::trackers::Trackers::from_settings(&state.settings)
        .map_err(ApiError::internal)?;
    let link = format!(
        "{}/incidents/{}",
        state.settings.base_url(),
        current.reference
    );
    let (kind, external_id, url) =
        trackers
            .export(&current, to, &link)
            .await
            .map_err(|err| match err {
                crate::followups::trackers::ExportError::Tracker(err) => ApiError::new(
                    StatusCode::BAD_GATEWAY,
                    "tracker_failed",
                    format!("the tracker refused the issue: {err}"),
                ),
                other => ApiError::field("to", other.to_string()),
            })?;
    Ok(state
        .store
        .set_followup_external(
            id,
            (&kind, &external_id, &url),
            firebreak_store::clock::now(),
        )
        .await?)
}
