//! The dashboard, the incident list, the declare form and the incident room.

use std::sync::Arc;

use askama::Template;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::Event;
use axum::response::{IntoResponse, Response};
use firebreak_core::board::{likely_severity, order_live};
use firebreak_core::command::{Entry, RawChanges, RawDeclare, parse_changes, parse_declare};
use firebreak_core::lifecycle::ALL_STATUSES;
use firebreak_core::{Command, ImpactKind, Incident, IncidentType, Role, Status};
use firebreak_store::{BuildCommand, IncidentFilter, IncidentKey};
use serde::Deserialize;

use super::views::{self, EventView, HeadView, Lens, Row};
use super::{Chrome, NoFields, UiForm, UiResult, Viewer, render, see_other};
use crate::AppState;
use crate::api::dto::{EventDto, IncidentDto};
use crate::api::incidents::{audit_reads, key, parse_bound, visible};
use crate::error::ApiError;

pub struct Table {
    pub rows: Vec<Row>,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct Dashboard {
    chrome: Chrome,
    live: Table,
    recent: Table,
}

pub async fn dashboard(State(state): State<AppState>, viewer: Viewer) -> UiResult<Response> {
    let lens = viewer.lens(&state).await?;
    let catalog = state.store.catalog();
    let live_filter = IncidentFilter {
        statuses: ALL_STATUSES.into_iter().filter(|it| it.is_live()).collect(),
        // Every live incident belongs on the board.
        limit: 200,
        ..IncidentFilter::visible_to(viewer.0.access())
    };
    let mut live = state.store.incidents(&live_filter).await?.items;
    order_live(&mut live, catalog);
    let week_ago = lens.now - jiff::SignedDuration::from_hours(7 * 24);
    let recent_filter = IncidentFilter {
        statuses: vec![Status::Resolved, Status::Learning, Status::Closed],
        limit: 10,
        ..IncidentFilter::visible_to(viewer.0.access())
    };
    let recent: Vec<Incident> = state
        .store
        .incidents(&recent_filter)
        .await?
        .items
        .into_iter()
        .filter(|it| {
            it.timestamp(firebreak_core::TimestampName::Resolved)
                .observed
                .is_none_or(|at| at >= week_ago)
        })
        .collect();
    audit_reads(&state, &viewer.0, &live, "dashboard").await?;
    audit_reads(&state, &viewer.0, &recent, "dashboard").await?;
    Ok(render(&Dashboard {
        chrome: viewer.chrome("dashboard"),
        live: Table {
            rows: live
                .iter()
                .map(|it| views::row(it, catalog, &lens))
                .collect(),
        },
        recent: Table {
            rows: recent
                .iter()
                .map(|it| views::row(it, catalog, &lens))
                .collect(),
        },
    }))
}

#[derive(Deserialize, Default)]
pub struct ListForm {
    #[serde(default)]
    q: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    severity: String,
    #[serde(default, rename = "type")]
    incident_type: String,
    #[serde(default)]
    service: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    cursor: String,
}

#[derive(Template)]
#[template(path = "incidents.html")]
struct ListPage {
    chrome: Chrome,
    f: ListForm,
    statuses: Vec<String>,
    severities: Vec<String>,
    types: Vec<String>,
    rows: Vec<Row>,
    error: Option<String>,
    next_page: Option<String>,
}

fn query_string(form: &ListForm, cursor: &str) -> String {
    let pairs = [
        ("q", form.q.as_str()),
        ("status", &form.status),
        ("severity", &form.severity),
        ("type", &form.incident_type),
        ("service", &form.service),
        ("from", &form.from),
        ("to", &form.to),
        ("cursor", cursor),
    ];
    let encoded: Vec<String> = pairs
        .iter()
        .filter(|(_, value)| !value.is_empty())
        .map(|(name, value)| format!("{name}={}", super::encode_component(value)))
        .collect();
    format!("/incidents?{}", encoded.join("&"))
}

pub async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(form): Query<ListForm>,
) -> UiResult<Response> {
    let lens = viewer.lens(&state).await?;
    let catalog = state.store.catalog();
    let mut error = None;
    let mut incident_filter = IncidentFilter::visible_to(viewer.0.access());
    if let Some(status) = Status::parse(form.status.trim()) {
        incident_filter.statuses.push(status);
    }
    if catalog.severity_rank(form.severity.trim()).is_some() {
        incident_filter
            .severities
            .push(form.severity.trim().to_string());
    }
    if let Some(kind) = IncidentType::parse(form.incident_type.trim()) {
        incident_filter.types.push(kind);
    }
    incident_filter.service = Some(form.service.trim().to_string()).filter(|it| !it.is_empty());
    incident_filter.query = Some(form.q.trim().to_string()).filter(|it| !it.is_empty());
    incident_filter.before_number = form.cursor.parse().ok();
    match (
        parse_bound("from", Some(&form.from), false),
        parse_bound("to", Some(&form.to), true),
    ) {
        (Ok(from), Ok(to)) => {
            incident_filter.declared_from = from;
            incident_filter.declared_to = to;
        }
        (Err(err), _) | (_, Err(err)) => error = Some(err.message),
    }
    let page = state.store.incidents(&incident_filter).await?;
    let what = if incident_filter.query.is_some() {
        "search"
    } else {
        "list"
    };
    audit_reads(&state, &viewer.0, &page.items, what).await?;
    let next_page = page
        .next_cursor
        .as_deref()
        .map(|cursor| query_string(&form, cursor));
    Ok(render(&ListPage {
        chrome: viewer.chrome("incidents"),
        statuses: ALL_STATUSES.iter().map(|it| it.to_string()).collect(),
        severities: catalog.severities.clone(),
        types: IncidentType::ALL.iter().map(|it| it.to_string()).collect(),
        rows: page
            .items
            .iter()
            .map(|it| views::row(it, catalog, &lens))
            .collect(),
        f: form,
        error,
        next_page,
    }))
}

#[derive(Deserialize, Default)]
pub struct DeclareForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    severity: String,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    incident_type: String,
    #[serde(default)]
    impact: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    mode: String,
    #[serde(default)]
    affected_text: String,
    #[serde(default)]
    affected_count: String,
    #[serde(default)]
    services: String,
    #[serde(default)]
    private: String,
}

#[derive(Template)]
#[template(path = "declare.html")]
struct DeclarePage {
    chrome: Chrome,
    csrf: String,
    form: DeclareForm,
    errors: Vec<(String, String)>,
    severities: Vec<String>,
    types: Vec<String>,
    impacts: Vec<String>,
}

fn declare_page(
    viewer: &Viewer,
    state: &AppState,
    form: DeclareForm,
    errors: Vec<(String, String)>,
) -> DeclarePage {
    DeclarePage {
        chrome: viewer.chrome("declare"),
        csrf: viewer.csrf(),
        form,
        errors,
        severities: state.store.catalog().severities.clone(),
        types: IncidentType::ALL.iter().map(|it| it.to_string()).collect(),
        impacts: ImpactKind::ALL.iter().map(|it| it.to_string()).collect(),
    }
}

pub async fn declare_form(State(state): State<AppState>, viewer: Viewer) -> UiResult<Response> {
    viewer.0.require(Role::Responder)?;
    // Preselect what this team picks most often (among the last 50 it can see).
    let recent = state
        .store
        .incidents(&IncidentFilter::visible_to(viewer.0.access()))
        .await?
        .items;
    let severity = likely_severity(
        recent.iter().map(|it| it.severity.as_str()),
        state.store.catalog(),
    );
    let form = DeclareForm {
        severity,
        incident_type: "default".into(),
        impact: "degradation".into(),
        status: "investigating".into(),
        mode: "real".into(),
        ..Default::default()
    };
    Ok(render(&declare_page(&viewer, &state, form, Vec::new())))
}

fn some(text: &str) -> Option<String> {
    Some(text.trim().to_string()).filter(|it| !it.is_empty())
}

pub async fn declare(
    State(state): State<AppState>,
    viewer: Viewer,
    UiForm { csrf, fields: form }: UiForm<DeclareForm>,
) -> UiResult<Response> {
    viewer.may(&csrf, Role::Responder)?;
    let mut errors = firebreak_core::FieldErrors::default();
    let affected_count = match form.affected_count.trim() {
        "" => None,
        text => match text.parse::<i64>() {
            Ok(count) => Some(count),
            Err(_) => {
                errors.add("affected_count", "must be a whole number");
                None
            }
        },
    };
    let raw = RawDeclare {
        title: Some(form.title.clone()),
        summary: some(&form.summary),
        severity: some(&form.severity),
        incident_type: some(&form.incident_type),
        impact: some(&form.impact),
        affected_text: some(&form.affected_text),
        affected_count,
        services: some(&form.services).map(|it| {
            it.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        }),
        private: match form.private.as_str() {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        },
        mode: some(&form.mode),
        status: some(&form.status),
    };
    let parsed = parse_declare(raw, state.store.catalog());
    let new = match parsed {
        Ok(new) if errors.is_empty() => new,
        other => {
            if let Err(more) = other {
                for (field, message) in more.0 {
                    errors.add(&field, message);
                }
            }
            let mut response = render(&declare_page(
                &viewer,
                &state,
                form,
                errors.0.into_iter().collect(),
            ));
            *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            return Ok(response);
        }
    };
    let declared = state.store.declare(new, &viewer.0.actor(), None).await?;
    Ok(see_other(&format!(
        "/incidents/{}",
        declared.incident.reference
    )))
}

#[derive(Template)]
#[template(path = "room.html")]
struct RoomPage {
    chrome: Chrome,
    h: HeadView,
    events: Vec<EventView>,
    last_seq: i64,
    loaded: String,
    flash: Option<String>,
    can_act: bool,
    csrf: String,
    is_lead: bool,
    next_statuses: Vec<String>,
    severities: Vec<String>,
    roles: Vec<String>,
    people: Vec<(String, String)>,
    quick_picks: Vec<(i64, &'static str)>,
    default_pick: i64,
}

#[derive(Template)]
#[template(path = "room_head.html")]
struct HeadFragment {
    h: HeadView,
}

#[derive(Template)]
#[template(path = "event.html")]
struct EventFragment {
    e: EventView,
}

#[derive(Template)]
#[template(path = "print.html")]
struct PrintPage {
    h: HeadView,
    events: Vec<EventView>,
    zone: String,
}

async fn head_view(state: &AppState, incident: &Incident, lens: &Lens) -> UiResult<HeadView> {
    let chain = match state.store.verify_timeline(incident.id.0).await? {
        Ok(n_events) => Ok(n_events),
        Err(broken) => Err(format!("{broken:?}")),
    };
    Ok(views::head(incident, state.store.catalog(), lens, chain))
}

/// The update cadence quick picks; the default follows the severity (more severe, sooner).
fn quick_picks(
    catalog: &firebreak_core::Catalog,
    severity: &str,
) -> (Vec<(i64, &'static str)>, i64) {
    let picks = vec![
        (15, "15 min"),
        (30, "30 min"),
        (60, "1 h"),
        (120, "2 h"),
        (240, "4 h"),
    ];
    let default = match catalog.severity_rank(severity) {
        Some(0) => 30,
        Some(1) => 60,
        _ => 240,
    };
    (picks, default)
}

pub async fn room(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(text): Path<String>,
) -> UiResult<Response> {
    let incident = visible(&state, &viewer.0, &text, "incident room").await?;
    let lens = viewer.lens(&state).await?;
    let events = state.store.timeline(incident.id.0, 0, 5_000).await?;
    let catalog = state.store.catalog();
    let mut people: Vec<(String, String)> = lens
        .names
        .iter()
        .map(|(email, name)| (email.clone(), name.clone()))
        .collect();
    people.sort_by(|a, b| a.1.cmp(&b.1));
    let me = viewer.0.actor();
    let (quick_picks, default_pick) = quick_picks(catalog, &incident.severity);
    let page = RoomPage {
        chrome: viewer.chrome("incidents"),
        h: head_view(&state, &incident, &lens).await?,
        last_seq: events.last().map_or(0, |it| it.seq),
        events: events.iter().map(|it| views::event(it, &lens)).collect(),
        loaded: lens.time_with_seconds(lens.now),
        flash: None,
        can_act: viewer.0.role.allows(Role::Responder),
        csrf: viewer.csrf(),
        is_lead: incident.roles.get("lead") == Some(&me),
        next_statuses: incident
            .status
            .next_allowed()
            .iter()
            .map(|it| it.to_string())
            .collect(),
        severities: catalog.severities.clone(),
        roles: catalog.roles.clone(),
        people,
        quick_picks,
        default_pick,
    };
    Ok(render(&page))
}

pub async fn head(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(text): Path<String>,
) -> UiResult<Response> {
    let incident = visible(&state, &viewer.0, &text, "incident room").await?;
    let lens = viewer.lens(&state).await?;
    Ok(render(&HeadFragment {
        h: head_view(&state, &incident, &lens).await?,
    }))
}

#[derive(Deserialize, Default)]
pub struct LiveQuery {
    after: Option<i64>,
}

/// The room's live timeline: each new event as a rendered `<li>` (SSE event `timeline`).
pub async fn live(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(text): Path<String>,
    headers: HeaderMap,
    Query(query): Query<LiveQuery>,
) -> UiResult<Response> {
    let incident = visible(&state, &viewer.0, &text, "live timeline").await?;
    let subscription = state.store.subscribe();
    let lens = Arc::new(viewer.lens(&state).await?);
    let resume = headers
        .get("Last-Event-ID")
        .and_then(|it| it.to_str().ok())
        .and_then(|it| it.trim().parse::<i64>().ok());
    let after = resume.or(query.after).unwrap_or(incident.last_seq).max(0);
    let render_event = move |stored: &firebreak_store::StoredEvent| {
        let fragment = EventFragment {
            e: views::event(stored, &lens),
        };
        let html = fragment.render().unwrap_or_default().replace('\n', " ");
        Event::default()
            .id(stored.seq.to_string())
            .event("timeline")
            .data(html)
    };
    Ok(crate::api::sse::stream(
        state,
        subscription,
        viewer.0.access(),
        incident.id.0,
        after,
        Arc::new(render_event),
    )
    .into_response())
}

pub async fn print(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(text): Path<String>,
) -> UiResult<Response> {
    let incident = visible(&state, &viewer.0, &text, "print view").await?;
    let lens = viewer.lens(&state).await?;
    let events = state.store.timeline(incident.id.0, 0, i64::MAX).await?;
    Ok(render(&PrintPage {
        h: head_view(&state, &incident, &lens).await?,
        events: events.iter().map(|it| views::event(it, &lens)).collect(),
        zone: lens.zone_name.clone(),
    }))
}

fn attachment(incident: &Incident, extension: &str) -> String {
    format!(
        "attachment; filename=\"{}-timeline.{extension}\"",
        incident.reference
    )
}

pub async fn export_markdown(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(text): Path<String>,
) -> UiResult<Response> {
    let incident = visible(&state, &viewer.0, &text, "export markdown").await?;
    let lens = viewer.lens(&state).await?;
    let events = state.store.timeline(incident.id.0, 0, i64::MAX).await?;
    let body = views::markdown(&incident, &events, state.store.catalog(), &lens);
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "text/markdown; charset=utf-8".to_string(),
            ),
            (header::CONTENT_DISPOSITION, attachment(&incident, "md")),
        ],
        body,
    )
        .into_response())
}

#[derive(serde::Serialize)]
struct ExportJson {
    incident: IncidentDto,
    events: Vec<EventDto>,
}

pub async fn export_json(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(text): Path<String>,
) -> UiResult<Response> {
    let incident = visible(&state, &viewer.0, &text, "export json").await?;
    let events = state.store.timeline(incident.id.0, 0, i64::MAX).await?;
    let export = ExportJson {
        incident: IncidentDto::from_incident(&incident, firebreak_store::clock::now()),
        events: events.iter().map(EventDto::from_event).collect(),
    };
    Ok((
        [(header::CONTENT_DISPOSITION, attachment(&incident, "json"))],
        Json(export),
    )
        .into_response())
}

/// Runs a command from a room form: checks CSRF and role, then back to the room.
async fn act(
    state: &AppState,
    viewer: &Viewer,
    text: &str,
    csrf: &str,
    command: Command,
) -> UiResult<Response> {
    let build: BuildCommand = Box::new(move |_, _| Ok(command.clone()));
    act_on(state, viewer, text, csrf, build).await
}

/// `act` for a command built from the incident's current state.
async fn act_on(
    state: &AppState,
    viewer: &Viewer,
    text: &str,
    csrf: &str,
    build: BuildCommand,
) -> UiResult<Response> {
    viewer.may(csrf, Role::Responder)?;
    let target: IncidentKey = key(text)?;
    let outcome = state
        .store
        .execute(target, &viewer.0.actor(), viewer.0.access(), build)
        .await?;
    Ok(see_other(&format!(
        "/incidents/{}#timeline",
        outcome.incident.reference
    )))
}

#[derive(Deserialize)]
pub struct UpdateForm {
    #[serde(default)]
    message: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    next_update_in_minutes: String,
    #[serde(default)]
    public: String,
}

pub async fn post_update(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(text): Path<String>,
    UiForm { csrf, fields: form }: UiForm<UpdateForm>,
) -> UiResult<Response> {
    let status = match form.status.trim() {
        "" => None,
        name => {
            Some(Status::parse(name).ok_or_else(|| ApiError::field("status", "unknown status"))?)
        }
    };
    let next_update_in_minutes = match form.next_update_in_minutes.trim() {
        "" => None,
        minutes => Some(minutes.parse::<i64>().map_err(|_| {
            ApiError::field("next_update_in_minutes", "must be a number of minutes")
        })?),
    };
    let command = Command::PostUpdate {
        message: form.message,
        status,
        next_update_in_minutes,
        public: form.public == "true",
    };
    act(&state, &viewer, &text, &csrf, command).await
}

#[derive(Deserialize)]
pub struct NoteForm {
    #[serde(default)]
    text: String,
}

pub async fn post_note(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(text): Path<String>,
    UiForm { csrf, fields: form }: UiForm<NoteForm>,
) -> UiResult<Response> {
    let command = Command::Append {
        entry: Entry::Note { text: form.text },
        occurred_at: None,
    };
    act(&state, &viewer, &text, &csrf, command).await
}

pub async fn take_lead(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(text): Path<String>,
    UiForm { csrf, .. }: UiForm<NoFields>,
) -> UiResult<Response> {
    let command = Command::AssignRole {
        role: "lead".into(),
        user: viewer.0.actor(),
    };
    act(&state, &viewer, &text, &csrf, command).await
}

#[derive(Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    role: String,
    #[serde(default)]
    user: String,
}

pub async fn assign_role(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(text): Path<String>,
    UiForm { csrf, fields: form }: UiForm<RoleForm>,
) -> UiResult<Response> {
    let command = Command::AssignRole {
        role: form.role,
        user: form.user,
    };
    act(&state, &viewer, &text, &csrf, command).await
}

#[derive(Deserialize)]
pub struct ChangeForm {
    #[serde(default)]
    status: String,
    #[serde(default)]
    severity: String,
}

pub async fn change(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(text): Path<String>,
    UiForm { csrf, fields: form }: UiForm<ChangeForm>,
) -> UiResult<Response> {
    let raw = RawChanges {
        status: some(&form.status),
        severity: some(&form.severity),
        ..Default::default()
    };
    let build: BuildCommand =
        Box::new(move |incident, catalog| Ok(parse_changes(raw.clone(), incident, catalog)?));
    act_on(&state, &viewer, &text, &csrf, build).await
}

#[derive(Deserialize)]
pub struct MemberForm {
    #[serde(default)]
    user: String,
}

pub async fn add_member(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(text): Path<String>,
    UiForm { csrf, fields: form }: UiForm<MemberForm>,
) -> UiResult<Response> {
    let user = state
        .store
        .user_by_email(&form.user)
        .await?
        .ok_or_else(|| ApiError::field("user", "no such person"))?;
    let command = Command::AddMember { member: user.email };
    act(&state, &viewer, &text, &csrf, command).await
}
