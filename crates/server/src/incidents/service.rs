//! The incident toolbox every handler and page of an incident uses: the incident the caller
//! may see (404 otherwise, private reads audited), running a command, path keys and numbers,
//! list bounds, the latest update as plain text, and the deploy freeze.

use firebreak_core::command::RawDeclare;
use firebreak_core::{Command, EventData, Incident, Role};
use firebreak_store::{IncidentKey, Outcome};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Caller, Prefer};
use crate::incidents::dto::{AffectedDto, CommandResult, EventDto, IncidentDto};

/// A number in a path (`…/tasks/3`); anything else names nothing, so it is a 404.
pub(crate) fn path_number(text: &str, what: &str) -> ApiResult<i64> {
    text.parse().map_err(|_| ApiError::not_found(what))
}

pub(crate) fn key(text: &str) -> ApiResult<IncidentKey> {
    IncidentKey::parse(text).ok_or_else(|| ApiError::not_found("incident"))
}

/// A command's answer: the events it recorded and the incident's new version, with the whole
/// incident unless the caller sent `Prefer: return=minimal`.
pub(crate) fn result(outcome: &Outcome, prefer: Prefer) -> CommandResult {
    let now = firebreak_store::clock::now();
    CommandResult {
        reference: outcome.incident.reference.to_string(),
        last_seq: outcome.incident.last_seq,
        incident: (!prefer.minimal).then(|| IncidentDto::from_incident(&outcome.incident, now)),
        events: outcome
            .events
            .iter()
            .map(|it| EventDto::from_event(it))
            .collect(),
    }
}

/// Records every private incident among `incidents` as read by the caller.
pub(crate) async fn audit_reads(
    state: &AppState,
    caller: &Caller,
    incidents: &[Incident],
    what: &str,
) -> ApiResult<()> {
    let private: Vec<(String, firebreak_core::Reference)> = incidents
        .iter()
        .filter(|it| it.private)
        .map(|it| (it.id.0.to_string(), it.reference))
        .collect();
    let now = firebreak_store::clock::now();
    state
        .store
        .audit_private_reads(&private, &caller.actor(), what, now)
        .await?;
    Ok(())
}

/// Loads an incident the caller may see — any other is 404, exactly like a missing one —
/// and audits the read when it is private.
pub(crate) async fn visible(
    state: &AppState,
    caller: &Caller,
    text: &str,
    what: &str,
) -> ApiResult<Incident> {
    let incident = state
        .store
        .visible_incident(key(text)?, &caller.access())
        .await?;
    audit_reads(state, caller, std::slice::from_ref(&incident), what).await?;
    Ok(incident)
}

/// Runs a command that does not depend on the incident's current state.
pub(crate) async fn run_command(
    state: &AppState,
    caller: &Caller,
    text: &str,
    command: Command,
) -> ApiResult<Outcome> {
    caller.require(Role::Responder)?;
    let (target, actor) = (key(text)?, caller.actor());
    let outcome = state
        .store
        .execute_command(target, &actor, caller.access(), command);
    Ok(outcome.await?)
}

/// A time bound of a list filter: RFC 3339, or a plain date (its start; with `end_of_day`,
/// the start of the next day, so `to=2026-11-01` includes that whole day).
pub(crate) fn parse_bound(
    field: &str,
    text: Option<&str>,
    end_of_day: bool,
) -> ApiResult<Option<jiff::Timestamp>> {
    let Some(text) = text.map(str::trim).filter(|it| !it.is_empty()) else {
        return Ok(None);
    };
    if let Ok(at) = text.parse::<jiff::Timestamp>() {
        return Ok(Some(at));
    }
    let date: jiff::civil::Date = text
        .parse()
        .map_err(|_| ApiError::field(field, "use a date (2026-11-01) or an RFC 3339 time"))?;
    let date = if end_of_day {
        date.tomorrow()
            .map_err(|_| ApiError::field(field, "date out of range"))?
    } else {
        date
    };
    let at = date
        .to_zoned(jiff::tz::TimeZone::UTC)
        .map_err(|_| ApiError::field(field, "date out of range"))?
        .timestamp();
    Ok(Some(at))
}

/// The message of a status update event.
pub(crate) fn update_message(update: &firebreak_store::StoredEvent) -> Option<&str> {
    match &update.data {
        EventData::UpdatePosted { message, .. } => Some(message),
        _ => None,
    }
}

/// The incident's `latest` status update as plain text, if it has one.
pub(crate) fn update_plain(
    incident: &Incident,
    latest: Option<&firebreak_store::StoredEvent>,
    when: &(dyn Fn(jiff::Timestamp) -> String + Sync),
) -> Option<String> {
    let message = update_message(latest?)?;
    let header = format!(
        "{} · {} · {} · {}",
        incident.reference, incident.title, incident.severity, incident.status
    );
    Some(firebreak_core::update::plain_text(
        &header,
        message,
        incident.next_update_due,
        when,
    ))
}

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct FreezeStatus {
    /// True while any incident freezes deploys.
    pub frozen: bool,
    pub reasons: Vec<FreezeReason>,
}

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct FreezeReason {
    /// The incident's reference; absent for a private incident you may not see.
    pub incident: Option<String>,
    /// Its title, or "a private incident".
    pub title: String,
    pub severity: String,
    pub reason: String,
    pub since: String,
}

/// What deploys should know: frozen or not, and why. Private incidents freeze deploys too;
/// to people who may not see them they are named only as "a private incident".
pub async fn freeze_status(state: &AppState, caller: &Caller) -> ApiResult<FreezeStatus> {
    let access = caller.access();
    let incidents: Vec<Incident> = state.store.frozen_incidents().await?;
    let reasons = incidents
        .iter()
        .filter_map(|incident| {
            let freeze = incident.freeze.as_ref()?;
            let visible = access.can_see(incident);
            Some(FreezeReason {
                incident: visible.then(|| incident.reference.to_string()),
                title: if visible {
                    incident.title.clone()
                } else {
                    "a private incident".into()
                },
                severity: incident.severity.clone(),
                reason: if visible {
                    freeze.reason.clone()
                } else {
                    String::new()
                },
                since: freeze.since.to_string(),
            })
        })
        .collect::<Vec<_>>();
    Ok(FreezeStatus {
        frozen: !reasons.is_empty(),
        reasons,
    })
}

#[derive(Deserialize, ToSchema, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct DeclareBody {
    /// Required, 1–200 characters.
    pub title: Option<String>,
    pub summary: Option<String>,
    /// One of the configured severities (default: critical, major, minor).
    pub severity: Option<String>,
    /// `default` or `security` (security incidents are private unless `private: false`).
    #[serde(rename = "type")]
    pub incident_type: Option<String>,
    /// `degradation`, `data_corruption` or `outage`.
    pub impact: Option<String>,
    pub affected: Option<AffectedDto>,
    pub services: Option<Vec<String>>,
    pub private: Option<bool>,
    /// `real` or `drill`.
    pub mode: Option<String>,
    /// `investigating` (default) or `triage`.
    pub status: Option<String>,
}

/// A declare request as core reads it, before parsing: the API's body and the page's form
/// (through `DeclareBody`) arrive the same way.
impl From<DeclareBody> for RawDeclare {
    fn from(body: DeclareBody) -> RawDeclare {
        let (affected_text, affected_count) = AffectedDto::split(body.affected);
        RawDeclare {
            title: body.title,
            summary: body.summary,
            severity: body.severity,
            incident_type: body.incident_type,
            impact: body.impact,
            affected_text,
            affected_count,
            services: body.services,
            private: body.private,
            mode: body.mode,
            status: body.status,
        }
    }
}
