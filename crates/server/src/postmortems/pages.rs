//! The post-mortem page: the blameless check's warnings, a Markdown editor with a rendered
//! preview, the states, the revisions and what each changed.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use firebreak_core::Role;
use firebreak_core::postmortem::PostmortemStatus;

use crate::AppState;
use crate::error::ApiError;
use crate::incidents::service::visible;
use crate::postmortems::service::{BlameWarning, people_of, revision_detail, warnings};
use crate::ui::{Chrome, NoFields, UiForm, UiResult, Viewer, render, see_other};

pub struct PostmortemView {
    pub status: &'static str,
    pub revision: i64,
    pub updated: String,
    pub body: String,
    pub html: String,
    pub warnings: Vec<BlameWarning>,
    pub next: Vec<(&'static str, &'static str)>,
    pub revisions: Vec<(i64, String, String)>,
}

#[derive(Template)]
#[template(path = "postmortem.html")]
struct PostmortemPage {
    chrome: Chrome,
    csrf: String,
    reference: String,
    title: String,
    can_act: bool,
    pm: Option<PostmortemView>,
    /// (title, owner, due, status).
    followups: Vec<(String, String, String, String)>,
    retro: RetroView,
    /// Set once the post-mortem is published.
    share: Option<ShareView>,
}

/// Sharing the published post-mortem on the status page.
pub struct ShareView {
    /// The public incident's id; empty when the incident was never on the status page.
    pub public_id: String,
    /// Already shared (the public incident's latest state is `postmortem`).
    pub shared: bool,
    /// The customer-facing version to start from.
    pub text: String,
}

/// The retrospective as scheduled (if it is) and the form's starting values.
pub struct RetroView {
    /// "Tue 24 Nov 15:00–16:00 (Europe/Berlin)", empty when none is scheduled.
    pub when: String,
    pub invited: String,
    pub sequence: i64,
    pub warning: String,
    /// `datetime-local` value in the viewer's zone.
    pub start_local: String,
    pub zone: String,
    pub attendees: String,
}

async fn retro_view(
    state: &AppState,
    incident: &firebreak_core::Incident,
    lens: &crate::ui::views::Lens,
) -> UiResult<RetroView> {
    let current = state.store.retrospective(incident.id.0).await?;
    let local = |at: jiff::Timestamp| at.to_zoned(lens.zone.clone());
    Ok(match current {
        Some(it) => RetroView {
            when: format!(
                "{}–{} ({})",
                local(it.starts_at).strftime("%a %-d %b %Y %H:%M"),
                local(it.ends_at).strftime("%H:%M"),
                lens.zone_name
            ),
            invited: it
                .attendees
                .iter()
                .map(|email| lens.person(email))
                .collect::<Vec<_>>()
                .join(", "),
            sequence: it.sequence,
            warning: crate::postmortems::service::late_warning(incident, it.starts_at)
                .unwrap_or_default(),
            start_local: local(it.starts_at).strftime("%Y-%m-%dT%H:%M").to_string(),
            zone: lens.zone_name.clone(),
            attendees: it.attendees.join(", "),
        },
        None => {
            // Default: three days after the resolution (or from now), 15:00 local.
            let from = incident
                .timestamp(firebreak_core::TimestampName::Resolved)
                .effective()
                .unwrap_or(lens.now);
            let day = (local(from) + jiff::Span::new().days(3)).date();
            let mut people: Vec<String> = incident
                .coordination
                .participants
                .iter()
                .map(|it| it.person.clone())
                .chain(incident.roles.values().cloned())
                .filter(|it| it.contains('@'))
                .collect();
            people.sort();
            people.dedup();
            RetroView {
                when: String::new(),
                invited: String::new(),
                sequence: 0,
                warning: String::new(),
                start_local: format!("{}T15:00", day.strftime("%Y-%m-%d")),
                zone: lens.zone_name.clone(),
                attendees: people.join(", "),
            }
        }
    })
}

/// Shares the published post-mortem on the status page in the words the form holds.
pub async fn share(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(text): Path<String>,
    UiForm { csrf, fields }: UiForm<BTreeMap<String, String>>,
) -> UiResult<Response> {
    viewer.may(&csrf, Role::Responder)?;
    let incident = visible(&state, &viewer.0, &text, "share post-mortem").await?;
    let body = fields.get("body").map(|it| it.replace("\r\n", "\n"));
    crate::postmortems::service::share_on_status_page(&state, &viewer.0, &incident, body).await?;
    Ok(see_other(&format!(
        "/incidents/{}/postmortem#share",
        incident.reference
    )))
}

/// Schedules or moves the retrospective from the post-mortem page; the time is read in the
/// viewer's own zone.
pub async fn retrospective(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(text): Path<String>,
    UiForm { csrf, fields }: UiForm<BTreeMap<String, String>>,
) -> UiResult<Response> {
    viewer.may(&csrf, Role::Responder)?;
    let incident = visible(&state, &viewer.0, &text, "schedule retrospective").await?;
    let lens = viewer.lens(&state).await?;
    let field = |name: &str| fields.get(name).map(|it| it.trim()).unwrap_or_default();
    // Browsers send minutes, or seconds too when the field has a step.
    let starts_at = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]
        .iter()
        .find_map(|format| jiff::civil::DateTime::strptime(format, field("starts_at")).ok())
        .and_then(|it| it.to_zoned(lens.zone.clone()).ok())
        .ok_or_else(|| ApiError::field("starts_at", "a date and time, e.g. 2026-11-24T15:00"))?
        .timestamp();
    let body =
        crate::postmortems::service::RetrospectiveBody {
            starts_at: starts_at.to_string(),
            duration_minutes: Some(field("duration_minutes").parse().map_err(|_| {
                ApiError::field("duration_minutes", "a number of minutes, 15 to 480")
            })?),
            attendees: field("attendees")
                .split([',', ';', '\n', ' '])
                .map(str::trim)
                .filter(|it| !it.is_empty())
                .map(String::from)
                .collect(),
            location: field("location").to_string(),
        };
    crate::postmortems::service::schedule(&state, &viewer.0, &incident, body).await?;
    Ok(see_other(&format!(
        "/incidents/{}/postmortem#retrospective",
        incident.reference
    )))
}

#[derive(Template)]
#[template(path = "postmortem_revision.html")]
struct RevisionPage {
    chrome: Chrome,
    reference: String,
    revision: i64,
    author: String,
    when: String,
    diff: Vec<(String, String)>,
}

fn label(status: PostmortemStatus) -> &'static str {
    match status {
        PostmortemStatus::Draft => "Back to draft",
        PostmortemStatus::InReview => "Send for review",
        PostmortemStatus::Published => "Publish",
    }
}

pub async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(text): Path<String>,
) -> UiResult<Response> {
    let incident = visible(&state, &viewer.0, &text, "post-mortem page").await?;
    let lens = viewer.lens(&state).await?;
    let pm = match state.store.postmortem(incident.id.0).await? {
        None => None,
        Some(pm) => {
            let names: Vec<(String, String)> = lens
                .names
                .iter()
                .map(|(email, name)| (email.clone(), name.clone()))
                .collect();
            let revisions = state
                .store
                .postmortem_revisions(incident.id.0)
                .await?
                .into_iter()
                .map(|it| {
                    (
                        it.revision,
                        lens.person(&it.author),
                        lens.time(it.created_at),
                    )
                })
                .collect();
            Some(PostmortemView {
                status: pm.status.as_str(),
                revision: pm.revision,
                updated: lens.time(pm.updated_at),
                html: crate::postmortems::service::render_html(&pm.body),
                warnings: warnings(&pm.body, &people_of(&incident, &names)),
                next: pm
                    .status
                    .next()
                    .iter()
                    .map(|it| (it.as_str(), label(*it)))
                    .collect(),
                body: pm.body,
                revisions,
            })
        }
    };
    let retro = retro_view(&state, &incident, &lens).await?;
    let share = match &pm {
        Some(pm) if pm.status == PostmortemStatus::Published.as_str() => {
            let public = crate::postmortems::service::public_face(&state, &incident).await?;
            Some(ShareView {
                shared: public.as_ref().is_some_and(|it| {
                    it.status == firebreak_core::status_page::PublicStatus::Postmortem
                }),
                public_id: public.map(|it| it.id).unwrap_or_default(),
                text: firebreak_core::postmortem::customer_version(&pm.body),
            })
        }
        _ => None,
    };
    Ok(render(&PostmortemPage {
        retro,
        share,
        chrome: viewer.chrome("incidents"),
        csrf: viewer.csrf(),
        reference: incident.reference.to_string(),
        title: incident.title.clone(),
        can_act: viewer.0.role.allows(Role::Responder),
        pm,
        followups: state
            .store
            .followups(Some(incident.id.0), false)
            .await?
            .into_iter()
            .map(|it| {
                (
                    it.title,
                    lens.person(&it.owner),
                    it.due_at
                        .map(|at| lens.time(at))
                        .unwrap_or_else(|| "—".into()),
                    it.status.as_str().replace('_', " "),
                )
            })
            .collect(),
    }))
}

pub async fn draft(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(text): Path<String>,
    UiForm { csrf, .. }: UiForm<NoFields>,
) -> UiResult<Response> {
    viewer.may(&csrf, Role::Responder)?;
    let incident = visible(&state, &viewer.0, &text, "draft post-mortem").await?;
    crate::postmortems::service::ensure(&state.store, &incident, &viewer.0.actor()).await?;
    Ok(see_other(&format!(
        "/incidents/{}/postmortem",
        incident.reference
    )))
}

pub async fn save(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(text): Path<String>,
    UiForm { csrf, fields }: UiForm<BTreeMap<String, String>>,
) -> UiResult<Response> {
    viewer.may(&csrf, Role::Responder)?;
    let incident = visible(&state, &viewer.0, &text, "save post-mortem").await?;
    let body = fields.get("body").cloned().unwrap_or_default();
    if body.trim().is_empty() || body.len() > crate::postmortems::service::MAX_BODY {
        return Err(ApiError::field("body", "the post-mortem is empty or too long").into());
    }
    let base: i64 = fields
        .get("base_revision")
        .and_then(|it| it.parse().ok())
        .ok_or_else(|| ApiError::field("base_revision", "missing"))?;
    state
        .store
        .save_postmortem(
            incident.id.0,
            // Browsers send CRLF; keep the text as people typed it, with Unix line ends.
            &body.replace("\r\n", "\n"),
            (&viewer.0.actor(), base),
            firebreak_store::clock::now(),
        )
        .await?;
    Ok(see_other(&format!(
        "/incidents/{}/postmortem",
        incident.reference
    )))
}

pub async fn set_status(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(text): Path<String>,
    UiForm { csrf, fields }: UiForm<BTreeMap<String, String>>,
) -> UiResult<Response> {
    viewer.may(&csrf, Role::Responder)?;
    let incident = visible(&state, &viewer.0, &text, "post-mortem status").await?;
    let wanted = fields
        .get("status")
        .and_then(|it| PostmortemStatus::parse(it))
        .ok_or_else(|| ApiError::field("status", "choose a state"))?;
    let pm = state
        .store
        .postmortem(incident.id.0)
        .await?
        .ok_or_else(|| ApiError::not_found("post-mortem"))?;
    if !pm.status.next().contains(&wanted) {
        return Err(
            ApiError::field("status", format!("{} cannot move to {wanted}", pm.status)).into(),
        );
    }
    state
        .store
        .set_postmortem_status(incident.id.0, wanted, firebreak_store::clock::now())
        .await?;
    if wanted == PostmortemStatus::Published {
        crate::postmortems::service::announce(&state, &incident, &viewer.0.actor()).await?;
    }
    Ok(see_other(&format!(
        "/incidents/{}/postmortem",
        incident.reference
    )))
}

pub async fn revision(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((text, number)): Path<(String, String)>,
) -> UiResult<Response> {
    let incident = visible(&state, &viewer.0, &text, "post-mortem revision").await?;
    let number: i64 = number
        .parse()
        .map_err(|_| ApiError::not_found("revision"))?;
    let detail = revision_detail(&state, &incident, number).await?;
    let lens = viewer.lens(&state).await?;
    let when = detail
        .created_at
        .parse::<jiff::Timestamp>()
        .map(|at| lens.time(at))
        .unwrap_or(detail.created_at.clone());
    Ok(render(&RevisionPage {
        chrome: viewer.chrome("incidents"),
        reference: incident.reference.to_string(),
        revision: detail.revision,
        author: lens.person(&detail.author),
        when,
        diff: detail
            .diff
            .into_iter()
            .map(|it| (it.change, it.line))
            .collect(),
    }))
}

/// One row of the post-mortems list: an incident that is over, and where its post-mortem is.
pub struct ListRow {
    pub incident: crate::ui::views::Row,
    /// "not started", "draft", "in review" or "published".
    pub state: &'static str,
    pub published: bool,
    /// When the post-mortem was last saved or published; empty before one exists.
    pub when: String,
}

#[derive(Template)]
#[template(path = "postmortems.html")]
struct ListPage {
    chrome: Chrome,
    rows: Vec<ListRow>,
}

/// The post-mortems (`/postmortems`): the latest incidents that are over, each with its
/// post-mortem's state, those not started first — every one the reader may see.
pub async fn list(State(state): State<AppState>, viewer: Viewer) -> UiResult<Response> {
    use firebreak_core::Status;
    let lens = viewer.lens(&state).await?;
    let filter = firebreak_store::IncidentFilter {
        statuses: vec![Status::Resolved, Status::Learning, Status::Closed],
        limit: 100,
        ..firebreak_store::IncidentFilter::visible_to(viewer.0.access())
    };
    let incidents = state.store.incidents(&filter).await?.items;
    let ids: Vec<uuid::Uuid> = incidents.iter().map(|it| it.id.0).collect();
    let states = state.store.postmortem_states(&ids).await?;
    let catalog = state.store.catalog();
    let mut rows: Vec<ListRow> = incidents
        .iter()
        .map(|incident| {
            let found = states.get(&incident.id.0);
            ListRow {
                incident: crate::ui::views::row(incident, &catalog, &lens),
                state: match found.map(|it| it.status) {
                    None => "not started",
                    Some(PostmortemStatus::Draft) => "draft",
                    Some(PostmortemStatus::InReview) => "in review",
                    Some(PostmortemStatus::Published) => "published",
                },
                published: found.is_some_and(|it| it.status == PostmortemStatus::Published),
                when: found
                    .map(|it| lens.time(it.published_at.unwrap_or(it.updated_at)))
                    .unwrap_or_default(),
            }
        })
        .collect();
    // What still needs writing first; the list is otherwise newest first.
    rows.sort_by_key(|it| it.published);
    Ok(render(&ListPage {
        chrome: viewer.chrome("postmortems"),
        rows,
    }))
}
