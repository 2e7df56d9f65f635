//! The on-call page: who is on call in each schedule and the week ahead, overrides, secret
//! calendar addresses, and (for admins) schedules written as JSON — the same functions as
//! the API.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use firebreak_core::Role;
use jiff::SignedDuration;

use crate::AppState;
use crate::error::ApiError;
use crate::oncall::service::{FeedBody, ScheduleBody, cover, find, new_feed, save, to_core};
use crate::ui::{Chrome, UiForm, UiResult, Viewer, render, see_other};

pub struct ShiftRow {
    pub from: String,
    pub to: String,
    pub person: String,
    pub nobody: bool,
}

pub struct ScheduleView {
    pub id: String,
    pub name: String,
    pub zone: String,
    pub now: String,
    pub until: String,
    pub layers: Vec<String>,
    pub shifts: Vec<ShiftRow>,
    /// (id, who, from, to).
    pub overrides: Vec<(String, String, String, String)>,
    /// The next 14 days as a picture.
    pub picture: crate::oncall::picture::Picture,
    /// Its form (admins change schedules).
    pub form: ScheduleForm,
}

/// A layer as the schedule form shows it (the last one of a form is blank, to add one).
pub struct LayerForm {
    pub index: usize,
    pub name: String,
    /// `YYYY-MM-DDTHH:MM`, for a datetime-local input.
    pub start: String,
    pub shift: String,
    /// One email per line, in turn order.
    pub participants: String,
    /// (day, checked) for mon…sun.
    pub days: Vec<(&'static str, bool)>,
    pub from: String,
    pub to: String,
    /// A layer with more windows than the form's one (an imported weekly restriction): their
    /// JSON, carried through the form unchanged.
    pub windows_json: String,
    pub windows_count: usize,
    /// `YYYY-MM-DDTHH:MM` or empty.
    pub active_from: String,
    pub active_until: String,
}

/// A schedule as its form shows it; `id` empty for a new one.
pub struct ScheduleForm {
    pub id: String,
    pub name: String,
    pub zone: String,
    pub layers: Vec<LayerForm>,
}

const WEEK: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

fn layer_form(index: usize, layer: Option<&crate::oncall::service::LayerBody>) -> LayerForm {
    let window = layer.and_then(|it| it.windows.first());
    LayerForm {
        index,
        name: layer.map(|it| it.name.clone()).unwrap_or_default(),
        start: layer.map(|it| it.start.clone()).unwrap_or_default(),
        shift: layer
            .map(|it| it.shift.clone())
            .unwrap_or_else(|| "1w".into()),
        participants: layer
            .map(|it| it.participants.join("\n"))
            .unwrap_or_default(),
        days: WEEK
            .iter()
            .map(|day| {
                (
                    *day,
                    window.is_some_and(|w| w.days.iter().any(|d| d == day)),
                )
            })
            .collect(),
        from: window.map(|it| it.from.clone()).unwrap_or_default(),
        to: window.map(|it| it.to.clone()).unwrap_or_default(),
        windows_json: layer
            .filter(|it| it.windows.len() > 1)
            .and_then(|it| serde_json::to_string(&it.windows).ok())
            .unwrap_or_default(),
        windows_count: layer.map_or(0, |it| it.windows.len()),
        active_from: layer
            .and_then(|it| it.active_from.clone())
            .unwrap_or_default(),
        active_until: layer
            .and_then(|it| it.active_until.clone())
            .unwrap_or_default(),
    }
}

/// The form for a stored schedule (its layers and a blank one), or a new one.
fn schedule_form(stored: Option<&firebreak_store::StoredSchedule>, zone: &str) -> ScheduleForm {
    let layers: Vec<crate::oncall::service::LayerBody> = stored
        .and_then(|it| serde_json::from_str(&it.layers).ok())
        .unwrap_or_default();
    let mut forms: Vec<LayerForm> = layers
        .iter()
        .enumerate()
        .map(|(index, layer)| layer_form(index, Some(layer)))
        .collect();
    forms.push(layer_form(layers.len(), None));
    ScheduleForm {
        id: stored.map(|it| it.id.clone()).unwrap_or_default(),
        name: stored.map(|it| it.name.clone()).unwrap_or_default(),
        zone: stored
            .map(|it| it.time_zone.clone())
            .unwrap_or_else(|| zone.to_string()),
        layers: forms,
    }
}

/// The schedule a form describes: layers in order, a blank or removed one left out, the
/// weekdays and hours as one window (none ticked: always active).
pub fn body_from_form(fields: &BTreeMap<String, String>) -> ScheduleBody {
    let field = |name: String| {
        fields
            .get(&name)
            .map(|it| it.trim().to_string())
            .unwrap_or_default()
    };
    let mut layers = Vec::new();
    for index in 0..32 {
        let key = |what: &str| format!("layer{index}_{what}");
        if !fields.contains_key(&key("name")) {
            break;
        }
        let participants: Vec<String> = field(key("participants"))
            .split(['\n', ',', ' '])
            .map(str::trim)
            .filter(|it| !it.is_empty())
            .map(String::from)
            .collect();
        if field(key("remove")) == "on"
            || (field(key("name")).is_empty() && participants.is_empty())
        {
            continue;
        }
        let days: Vec<String> = WEEK
            .iter()
            .filter(|day| field(key(&format!("day_{day}"))) == "on")
            .map(|day| day.to_string())
            .collect();
        let kept: Option<Vec<crate::oncall::service::WindowBody>> =
            serde_json::from_str(&field(key("windows_json"))).ok();
        let windows = if let Some(kept) = kept {
            kept
        } else if days.is_empty() {
            Vec::new()
        } else {
            vec![crate::oncall::service::WindowBody {
                days,
                from: field(key("from")),
                to: field(key("to")),
            }]
        };
        layers.push(crate::oncall::service::LayerBody {
            name: field(key("name")),
            start: field(key("start")),
            shift: field(key("shift")),
            participants,
            windows,
            active_from: Some(field(key("active_from"))).filter(|it| !it.is_empty()),
            active_until: Some(field(key("active_until"))).filter(|it| !it.is_empty()),
        });
    }
    ScheduleBody {
        name: field("name".into()),
        time_zone: field("time_zone".into()),
        layers,
    }
}

#[derive(Template)]
#[template(path = "oncall.html")]
struct OncallPage {
    chrome: Chrome,
    csrf: String,
    can_act: bool,
    is_admin: bool,
    zone: String,
    schedules: Vec<ScheduleView>,
    /// The picture's width (viewBox units).
    width: i64,
    /// The form for a new schedule.
    new_schedule: ScheduleForm,
    example: String,
    /// A calendar address just made (shown once).
    feed_url: String,
}

/// The example schedule offered to admins; `MONDAY` becomes this week's Monday.
const EXAMPLE: &str = r#"{
  "name": "Platform primary",
  "time_zone": "Europe/Berlin",
  "layers": [
    {"name": "weekly", "start": "MONDAYT09:00", "shift": "1w",
     "participants": ["ana@example.com", "bo@example.com"]},
    {"name": "office hours", "start": "MONDAYT09:00", "shift": "1d",
     "participants": ["cy@example.com"],
     "windows": [{"days": ["mon", "tue", "wed", "thu", "fri"], "from": "09:00", "to": "17:00"}]}
  ]
}"#;

async fn render_page(state: &AppState, viewer: &Viewer, feed_url: String) -> UiResult<Response> {
    let lens = viewer.lens(state).await?;
    let now = lens.now;
    let mut schedules = Vec::new();
    for stored in state.store.schedules().await? {
        let schedule = to_core(&stored)?;
        let shifts = schedule.shifts(now, now + SignedDuration::from_hours(24 * 7));
        let current = shifts.first();
        schedules.push(ScheduleView {
            picture: crate::oncall::picture::picture(&schedule, &lens),
            form: schedule_form(Some(&stored), &lens.zone_name),
            id: stored.id.clone(),
            name: stored.name.clone(),
            zone: stored.time_zone.clone(),
            now: current
                .and_then(|it| it.person.as_deref())
                .map(|it| lens.person(it))
                .unwrap_or_else(|| "nobody".into()),
            until: current.map(|it| lens.time(it.end)).unwrap_or_default(),
            layers: serde_json::from_str::<Vec<crate::oncall::service::LayerBody>>(&stored.layers)
                .unwrap_or_default()
                .iter()
                .map(|it| {
                    let windows = if it.windows.is_empty() {
                        String::new()
                    } else {
                        format!(
                            ", only {}",
                            it.windows
                                .iter()
                                .map(|w| format!("{} {}–{}", w.days.join("/"), w.from, w.to))
                                .collect::<Vec<_>>()
                                .join("; ")
                        )
                    };
                    format!(
                        "{}: {} turns of {} from {}{windows}",
                        it.name,
                        it.participants.len(),
                        it.shift,
                        it.start.replace('T', " ")
                    )
                })
                .collect(),
            shifts: shifts
                .iter()
                .map(|it| ShiftRow {
                    from: lens.time(it.start),
                    to: lens.time(it.end),
                    nobody: it.person.is_none(),
                    person: it
                        .person
                        .as_deref()
                        .map(|p| lens.person(p))
                        .unwrap_or_else(|| "nobody".into()),
                })
                .collect(),
            overrides: stored
                .overrides
                .iter()
                .filter(|it| it.end > now)
                .map(|it| {
                    (
                        it.id.clone(),
                        lens.person(&it.person),
                        lens.time(it.start),
                        lens.time(it.end),
                    )
                })
                .collect(),
        });
    }
    Ok(render(&OncallPage {
        chrome: viewer.chrome("oncall"),
        csrf: viewer.csrf(),
        can_act: viewer.0.role.allows(Role::Responder),
        is_admin: viewer.0.role.allows(Role::Admin),
        zone: lens.zone_name.clone(),
        schedules,
        width: crate::oncall::picture::WIDTH,
        new_schedule: schedule_form(None, &lens.zone_name),
        example: {
            let today = now.to_zoned(lens.zone.clone()).date();
            let back = i64::from(today.weekday().to_monday_zero_offset());
            let monday = today
                .checked_sub(jiff::Span::new().days(back))
                .unwrap_or(today);
            EXAMPLE.replace("MONDAY", &monday.to_string())
        },
        feed_url,
    }))
}

pub async fn page(State(state): State<AppState>, viewer: Viewer) -> UiResult<Response> {
    render_page(&state, &viewer, String::new()).await
}

/// Creates a schedule from JSON, or replaces the one with that name (admins).
pub async fn apply(
    State(state): State<AppState>,
    viewer: Viewer,
    UiForm { csrf, fields }: UiForm<BTreeMap<String, String>>,
) -> UiResult<Response> {
    viewer.may(&csrf, Role::Admin)?;
    let text = fields.get("schedule").map(String::as_str).unwrap_or("");
    let body: ScheduleBody = serde_json::from_str(text)
        .map_err(|err| ApiError::field("schedule", format!("not a schedule in JSON: {err}")))?;
    let existing = state
        .store
        .schedules()
        .await?
        .into_iter()
        .find(|it| it.name == body.name.trim())
        .map(|it| it.id);
    save(&state, &viewer.0, existing.as_deref(), &body).await?;
    Ok(see_other("/oncall"))
}

/// Creates or changes a schedule from its form (admins): the same checks and the same JSON
/// as the API.
pub async fn save_form(
    State(state): State<AppState>,
    viewer: Viewer,
    UiForm { csrf, fields }: UiForm<BTreeMap<String, String>>,
) -> UiResult<Response> {
    viewer.may(&csrf, Role::Admin)?;
    let body = body_from_form(&fields);
    let id = fields.get("id").map(|it| it.trim()).unwrap_or_default();
    let existing = if id.is_empty() {
        None
    } else {
        Some(find(&state, id).await?.id)
    };
    save(&state, &viewer.0, existing.as_deref(), &body).await?;
    Ok(see_other("/oncall"))
}

/// An override from the form: the times are read in the viewer's zone.
pub async fn add_override(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    UiForm { csrf, fields }: UiForm<BTreeMap<String, String>>,
) -> UiResult<Response> {
    viewer.may(&csrf, Role::Responder)?;
    let lens = viewer.lens(&state).await?;
    let at = |name: &str| {
        let text = fields.get(name).map(|it| it.trim()).unwrap_or_default();
        ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]
            .iter()
            .find_map(|format| jiff::civil::DateTime::strptime(format, text).ok())
            .and_then(|it| it.to_zoned(lens.zone.clone()).ok())
            .map(|it| it.timestamp())
            .ok_or_else(|| ApiError::field(name, "a date and time"))
    };
    let person = fields.get("person").cloned().unwrap_or_default();
    cover(&state, &viewer.0, &id, (at("start")?, at("end")?, &person)).await?;
    Ok(see_other("/oncall"))
}

pub async fn delete_override(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((id, override_id)): Path<(String, String)>,
    UiForm { csrf, .. }: UiForm<BTreeMap<String, String>>,
) -> UiResult<Response> {
    viewer.may(&csrf, Role::Responder)?;
    let current = find(&state, &id).await?;
    state
        .store
        .delete_override(&current.id, &override_id)
        .await?;
    state.pager.invalidate().await;
    Ok(see_other("/oncall"))
}

/// A secret calendar address for a schedule or for the viewer's own shifts, shown once.
pub async fn feed(
    State(state): State<AppState>,
    viewer: Viewer,
    UiForm { csrf, fields }: UiForm<BTreeMap<String, String>>,
) -> UiResult<Response> {
    viewer.may(&csrf, Role::Viewer)?;
    let body = match fields.get("schedule").filter(|it| !it.is_empty()) {
        Some(schedule) => FeedBody {
            schedule: Some(schedule.clone()),
            person: None,
        },
        None => FeedBody {
            schedule: None,
            person: Some(viewer.0.actor()),
        },
    };
    let url = new_feed(&state, &viewer.0, &body).await?;
    render_page(&state, &viewer, url).await
}
