//! The incident room: header, live timeline, the composer's actions, print view and exports.

use std::sync::Arc;

use askama::Template;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::sse::Event;
use axum::response::{IntoResponse, Response};
use firebreak_core::command::{ActionStep, Entry, RawChanges, parse_changes};
use firebreak_core::playbook::TaskStep;
use firebreak_core::{Command, Incident, Role, Status};
use firebreak_store::{BuildCommand, IncidentKey};
use serde::Deserialize;

use crate::AppState;
use crate::error::ApiError;
use crate::incidents::dto::{EventDto, IncidentDto};
use crate::incidents::pages::some;
use crate::incidents::service::{key, path_number, visible};
use crate::ui::views::{self, EventView, HeadView, Lens};
use crate::ui::{Chrome, NoFields, UiForm, UiResult, Viewer, render, see_other};

#[derive(Template)]
#[template(path = "room.html")]
struct RoomPage {
    chrome: Chrome,
    h: HeadView,
    /// The newest events, newest first; the rest of the page's events are in `earlier`.
    events: Vec<EventView>,
    /// Older events of this page, newest first, folded under the newest.
    earlier: Vec<EventView>,
    last_seq: i64,
    /// The first event shown, when there are older ones (a link loads the page before it).
    older: Option<i64>,
    /// An older page: no live updates are appended to it.
    paged: bool,
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
    actions: Vec<views::ActionRow>,
    action_kinds: Vec<String>,
    tasks: Vec<views::TaskRow>,
    open_tasks: usize,
    /// Actions proposed, approved or running.
    pending_actions: usize,
    /// The latest status update, ready to paste anywhere.
    latest_update: Option<String>,
    latest: Option<LatestView>,
    participants: Vec<views::ParticipantRow>,
    /// Participants in the incident now.
    active_people: usize,
    stakeholders: Vec<views::StakeholderRow>,
    /// The viewer is in the incident now.
    am_in: bool,
    live: bool,
    /// Its public face on the status page, if published.
    public: Option<PublicFace>,
    status_components: Vec<crate::status_page::admin::ComponentRow>,
    component_statuses: Vec<(&'static str, &'static str)>,
    public_statuses: Vec<(&'static str, &'static str)>,
    /// Proposed for publishing: the impact that matches the severity, the latest update.
    public_impact: &'static str,
    public_body: String,
    chat: crate::chat::service::ChatPanel,
}

pub struct PublicFace {
    pub id: String,
    pub name: String,
    pub status: &'static str,
    pub resolved: bool,
    pub latest: String,
}

/// The latest status update, for the catch-up box.
pub struct LatestView {
    pub when: String,
    pub by: String,
    pub message: String,
}

impl LatestView {
    fn of(update: Option<&firebreak_store::StoredEvent>, lens: &Lens) -> Option<Self> {
        let update = update?;
        Some(Self {
            when: lens.time(firebreak_store::clock::from_micros(update.observed_at_us)),
            by: lens.person(&update.actor.to_string()),
            message: crate::incidents::service::update_message(update)?.to_string(),
        })
    }
}

/// What follows the incident live: the sticky header and the catch-up box (the names match
/// `RoomPage`'s, which includes the same templates).
#[derive(Template)]
#[template(path = "room_live.html")]
struct LiveFragment {
    h: HeadView,
    can_act: bool,
    is_lead: bool,
    csrf: String,
    latest: Option<LatestView>,
    latest_update: Option<String>,
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
    /// The header's buttons are not printed: these stay false and empty.
    can_act: bool,
    is_lead: bool,
    csrf: String,
    latest: Option<LatestView>,
    latest_update: Option<String>,
    events: Vec<EventView>,
    zone: String,
}

/// The room's header. Its chain check verifies only what was added since the last look (at
/// most a few thousand events on a request); a longer walk goes on in the background.
async fn head_view(state: &AppState, incident: &Incident, lens: &Lens) -> UiResult<HeadView> {
    const VERIFY_PER_REQUEST: i64 = 5_000;
    let chain = state
        .store
        .verify_new_events(incident.id.0, VERIFY_PER_REQUEST)
        .await?;
    if chain.broken.is_none() && chain.verified_through < incident.last_seq {
        state.store.finish_verifying(incident.id.0);
    }
    Ok(views::head(incident, &state.store.catalog(), lens, &chain))
}

/// Events the room loads at once; older ones are a link away.
const ROOM_PAGE: i64 = 200;
/// Of those, the newest shown unfolded, so the room stays about a screen tall.
const ROOM_NEWEST: usize = 15;

#[derive(Deserialize, Default)]
pub struct RoomQuery {
    /// Show the page of events before this seq (older events), without live updates.
    before: Option<i64>,
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
    Query(query): Query<RoomQuery>,
) -> UiResult<Response> {
    let incident = visible(&state, &viewer.0, &text, "incident room").await?;
    let lens = viewer.lens(&state).await?;
    let events = state
        .store
        .timeline_tail(incident.id.0, query.before, ROOM_PAGE)
        .await?;
    let first_seq = events.first().map_or(0, |it| it.seq);
    let mut newest_first: Vec<EventView> = events
        .iter()
        .rev()
        .map(|it| views::event(it, &lens))
        .collect();
    let earlier = newest_first.split_off(newest_first.len().min(ROOM_NEWEST));
    let latest_update = state.store.latest_update(incident.id.0).await?;
    let catalog = &*state.store.catalog();
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
        older: (first_seq > 1).then_some(first_seq),
        paged: query.before.is_some(),
        events: newest_first,
        earlier,
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
        actions: views::actions(&incident, &me, &lens),
        tasks: views::tasks(&incident, &lens),
        open_tasks: incident
            .tasks
            .iter()
            .filter(|it| it.status == firebreak_core::playbook::TaskStatus::Open)
            .count(),
        pending_actions: incident
            .actions
            .iter()
            .filter(|it| it.status.in_progress())
            .count(),
        latest_update: crate::incidents::service::update_plain(
            &incident,
            latest_update.as_ref(),
            &|at| lens.time(at),
        ),
        latest: LatestView::of(latest_update.as_ref(), &lens),
        action_kinds: firebreak_core::action::ActionKind::ALL
            .iter()
            .map(|it| it.as_str().to_string())
            .collect(),
        participants: views::participants(&incident, &lens),
        active_people: incident
            .coordination
            .participants
            .iter()
            .filter(|it| it.active())
            .count(),
        stakeholders: views::stakeholders(&incident, &lens),
        am_in: incident.coordination.is_active_participant(&me),
        live: incident.status.is_live(),
        public: state
            .store
            .public_incidents_of(&incident.id.to_string())
            .await?
            .into_iter()
            .next()
            .map(|it| PublicFace {
                latest: it
                    .updates
                    .first()
                    .map(|update| format!("{} — {}", update.status.label(), update.body))
                    .unwrap_or_default(),
                id: it.id,
                name: it.name,
                status: it.status.label(),
                resolved: it.status.is_resolved(),
            }),
        status_components: crate::status_page::admin::rows(&state).await?,
        component_statuses: crate::status_page::admin::component_statuses(),
        public_statuses: crate::status_page::admin::public_statuses(),
        public_impact: match catalog.severity_rank(&incident.severity) {
            Some(0) => "critical",
            Some(1) => "major",
            _ => "minor",
        },
        public_body: latest_update
            .as_ref()
            .and_then(crate::incidents::service::update_message)
            .unwrap_or_default()
            .to_string(),
        chat: crate::chat::service::panel(&state, &incident, &|at| lens.time(at)).await?,
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
    let latest_update = state.store.latest_update(incident.id.0).await?;
    Ok(render(&LiveFragment {
        h: head_view(&state, &incident, &lens).await?,
        can_act: viewer.0.role.allows(Role::Responder),
        is_lead: incident.roles.get("lead") == Some(&viewer.0.actor()),
        csrf: viewer.csrf(),
        latest_update: crate::incidents::service::update_plain(
            &incident,
            latest_update.as_ref(),
            &|at| lens.time(at),
        ),
        latest: LatestView::of(latest_update.as_ref(), &lens),
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
    Ok(crate::incidents::live::stream(
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
    let latest_update = state.store.latest_update(incident.id.0).await?;
    Ok(render(&PrintPage {
        h: head_view(&state, &incident, &lens).await?,
        can_act: false,
        is_lead: false,
        csrf: String::new(),
        latest: LatestView::of(latest_update.as_ref(), &lens),
        latest_update: None,
        // On paper every text is whole.
        events: events
            .iter()
            .map(|it| EventView {
                preview: None,
                ..views::event(it, &lens)
            })
            .collect(),
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
    let body = views::markdown(&incident, &events, &state.store.catalog(), &lens);
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
    // Back to the top of the room: the composer, and the timeline newest first under it.
    Ok(see_other(&format!(
        "/incidents/{}",
        outcome.incident.reference
    )))
}

#[derive(Deserialize)]
pub struct UpdateForm {
    #[serde(default)]
    message: String,
    #[serde(default)]
    affected: String,
    #[serde(default)]
    who: String,
    #[serde(default)]
    doing: String,
    #[serde(default)]
    expected_resolution: String,
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
    let parts = firebreak_core::update::UpdateParts {
        affected: form.affected,
        who: form.who,
        doing: form.doing,
        expected_resolution: form.expected_resolution,
    };
    let command = Command::PostUpdate {
        message: firebreak_core::update::compose(&form.message, &parts),
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
        handover: None,
    };
    act(&state, &viewer, &text, &csrf, command).await
}

#[derive(Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    role: String,
    #[serde(default)]
    user: String,
    #[serde(default)]
    handover: String,
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
        handover: Some(form.handover),
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

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum PresenceStep {
    Join,
    Leave,
}

#[derive(Deserialize)]
pub struct PresenceForm {
    step: PresenceStep,
}

/// Join or leave the incident.
pub async fn presence(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(text): Path<String>,
    UiForm { csrf, fields: form }: UiForm<PresenceForm>,
) -> UiResult<Response> {
    let zone = viewer
        .0
        .user
        .as_ref()
        .map(|it| it.time_zone.clone())
        .unwrap_or_else(|| "UTC".into());
    let command = Command::Presence {
        person: viewer.0.actor(),
        zone,
        join: form.step == PresenceStep::Join,
    };
    act(&state, &viewer, &text, &csrf, command).await
}

#[derive(Deserialize)]
pub struct StakeholderForm {
    #[serde(default)]
    who: String,
    /// `active`, `passive`, or `remove`.
    #[serde(default)]
    mode: String,
}

/// Keep someone informed (every update, or a digest), or stop.
pub async fn stakeholder(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(text): Path<String>,
    UiForm { csrf, fields: form }: UiForm<StakeholderForm>,
) -> UiResult<Response> {
    let mode = match form.mode.as_str() {
        "remove" => None,
        other => Some(
            firebreak_core::coordination::Informed::parse(other)
                .ok_or_else(|| ApiError::field("mode", "choose every update or a digest"))?,
        ),
    };
    let command = Command::Stakeholder {
        who: form.who,
        mode,
    };
    act(&state, &viewer, &text, &csrf, command).await
}

#[derive(Deserialize)]
pub struct FreezeForm {
    #[serde(default)]
    on: String,
    #[serde(default)]
    reason: String,
}

pub async fn freeze(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(text): Path<String>,
    UiForm { csrf, fields: form }: UiForm<FreezeForm>,
) -> UiResult<Response> {
    let command = Command::SetFreeze {
        on: form.on == "true",
        reason: form.reason,
    };
    act(&state, &viewer, &text, &csrf, command).await
}

#[derive(Deserialize)]
pub struct CsrfOnly {}

#[derive(Deserialize)]
pub struct CallForm {
    #[serde(default)]
    url: String,
}

/// Sets (or, empty, ends) the incident's call link.
pub async fn set_call(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(text): Path<String>,
    UiForm { csrf, fields: form }: UiForm<CallForm>,
) -> UiResult<Response> {
    act(
        &state,
        &viewer,
        &text,
        &csrf,
        Command::SetCallLink { url: form.url },
    )
    .await
}

/// Opens the incident's chat channel.
pub async fn open_channel(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(text): Path<String>,
    UiForm { csrf, .. }: UiForm<CsrfOnly>,
) -> UiResult<Response> {
    act(&state, &viewer, &text, &csrf, Command::OpenChannel).await
}

/// Puts the incident's dead chat work back in the queue.
pub async fn retry_chat(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(text): Path<String>,
    UiForm { csrf, .. }: UiForm<CsrfOnly>,
) -> UiResult<Response> {
    viewer.may(&csrf, Role::Responder)?;
    let incident = state
        .store
        .visible_incident(key(&text)?, &viewer.0.access())
        .await?;
    state
        .store
        .retry_chat_work(&incident.id.0.to_string(), firebreak_store::clock::now())
        .await?;
    Ok(see_other(&format!(
        "/incidents/{}#chat",
        incident.reference
    )))
}

#[derive(Deserialize)]
pub struct ProposeForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    target: String,
    #[serde(default)]
    risk: String,
    #[serde(default)]
    rollback_plan: String,
    #[serde(default)]
    destructive: String,
}

pub async fn propose_action(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(text): Path<String>,
    UiForm { csrf, fields: form }: UiForm<ProposeForm>,
) -> UiResult<Response> {
    let raw = firebreak_core::action::RawAction {
        kind: crate::incidents::pages::some(&form.kind),
        title: Some(form.title),
        target: Some(form.target),
        risk: crate::incidents::pages::some(&form.risk),
        rollback_plan: Some(form.rollback_plan),
        destructive: Some(form.destructive == "true"),
    };
    let step = ActionStep::Propose(raw);
    act_step(&state, &viewer, &text, &csrf, step).await
}

/// The button pressed on an action's form.
#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum ActionButton {
    Approve,
    Reject,
    Start,
    Succeeded,
    Failed,
}

#[derive(Deserialize)]
pub struct ActionStepForm {
    step: ActionButton,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    backup_taken: String,
    #[serde(default)]
    tried_on_sample: String,
    #[serde(default)]
    result: String,
}

/// One form per action: the button pressed (`step`) says what happens.
pub async fn action_step(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((text, number)): Path<(String, String)>,
    UiForm { csrf, fields: form }: UiForm<ActionStepForm>,
) -> UiResult<Response> {
    let number = path_number(&number, "action")?;
    let step = match form.step {
        ActionButton::Approve => ActionStep::Approve { number },
        ActionButton::Reject => ActionStep::Reject {
            number,
            reason: form.reason,
        },
        ActionButton::Start => ActionStep::Start {
            number,
            backup_taken: form.backup_taken == "true",
            tried_on_sample: form.tried_on_sample == "true",
        },
        ActionButton::Succeeded | ActionButton::Failed => ActionStep::Finish {
            number,
            succeeded: matches!(form.step, ActionButton::Succeeded),
            result: form.result,
            output: String::new(),
        },
    };
    act_step(&state, &viewer, &text, &csrf, step).await
}

async fn act_step(
    state: &AppState,
    viewer: &Viewer,
    text: &str,
    csrf: &str,
    step: ActionStep,
) -> UiResult<Response> {
    let command = Command::Action {
        by: viewer.0.actor(),
        step,
    };
    act(state, viewer, text, csrf, command).await
}

/// The button pressed on a task's form.
#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum TaskButton {
    Done,
    Skip,
    Reopen,
}

#[derive(Deserialize)]
pub struct TaskForm {
    step: TaskButton,
    #[serde(default)]
    note: String,
}

/// One form per task: the button pressed (`step`) says what happens.
pub async fn task_step(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((text, number)): Path<(String, String)>,
    UiForm { csrf, fields: form }: UiForm<TaskForm>,
) -> UiResult<Response> {
    let number = path_number(&number, "task")?;
    let step = match form.step {
        TaskButton::Done | TaskButton::Skip => TaskStep::Close {
            number,
            done: matches!(form.step, TaskButton::Done),
            note: form.note,
        },
        TaskButton::Reopen => TaskStep::Reopen { number },
    };
    let command = Command::Task {
        by: viewer.0.actor(),
        step,
    };
    act(&state, &viewer, &text, &csrf, command).await
}

#[derive(Deserialize)]
pub struct AddTaskForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    assignee: String,
    #[serde(default)]
    due_in_minutes: String,
}

pub async fn add_task(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(text): Path<String>,
    UiForm { csrf, fields: form }: UiForm<AddTaskForm>,
) -> UiResult<Response> {
    let due_in_minutes = match form.due_in_minutes.trim() {
        "" => None,
        minutes => Some(
            minutes
                .parse::<i64>()
                .map_err(|_| ApiError::field("due_in_minutes", "a number of minutes"))?,
        ),
    };
    let command = Command::Task {
        by: viewer.0.actor(),
        step: TaskStep::Add {
            title: form.title,
            assignee: crate::incidents::pages::some(&form.assignee),
            due_in_minutes,
        },
    };
    act(&state, &viewer, &text, &csrf, command).await
}
