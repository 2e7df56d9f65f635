//! The dashboard, the incident list and the declare form.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use firebreak_core::board::{likely_severity, order_live};
use firebreak_core::command::parse_declare;

use crate::incidents::dto::AffectedDto;
use crate::incidents::service::DeclareBody;
use firebreak_core::lifecycle::ALL_STATUSES;
use firebreak_core::{ImpactKind, Incident, IncidentType, Role, Status};
use firebreak_store::IncidentFilter;
use serde::Deserialize;

use crate::AppState;
use crate::incidents::service::{audit_reads, parse_bound};
use crate::ui::views::{self, Row};
use crate::ui::{Chrome, UiForm, UiResult, Viewer, render, see_other};

pub struct Table {
    pub rows: Vec<Row>,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct Dashboard {
    chrome: Chrome,
    freeze: crate::incidents::service::FreezeStatus,
    live: Table,
    recent: Table,
    /// (schedule, who or "nobody", until), one per schedule.
    on_call: Vec<(String, String, String)>,
}

pub async fn dashboard(State(state): State<AppState>, viewer: Viewer) -> UiResult<Response> {
    let lens = viewer.lens(&state).await?;
    let catalog = &*state.store.catalog();
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
    let freeze = crate::incidents::service::freeze_status(&state, &viewer.0).await?;
    let on_call = crate::oncall::service::now_on_call(&state)
        .await?
        .into_iter()
        .map(|(schedule, person, until)| {
            (
                schedule,
                person
                    .map(|it| lens.person(&it))
                    .unwrap_or_else(|| "nobody".into()),
                lens.time(until),
            )
        })
        .collect();
    Ok(render(&Dashboard {
        on_call,
        chrome: viewer.chrome("dashboard"),
        freeze,
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
        .map(|(name, value)| format!("{name}={}", crate::ui::encode_component(value)))
        .collect();
    format!("/incidents?{}", encoded.join("&"))
}

pub async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(form): Query<ListForm>,
) -> UiResult<Response> {
    let lens = viewer.lens(&state).await?;
    let catalog = &*state.store.catalog();
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
        chrome: viewer.chrome("incidents"),
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
        &state.store.catalog(),
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

impl DeclareForm {
    /// The form as the API's declare body: blank fields absent, services comma-separated,
    /// the count a whole number (else an error in `errors`).
    fn body(&self, errors: &mut firebreak_core::FieldErrors) -> DeclareBody {
        let count = match self.affected_count.trim() {
            "" => None,
            text => text.parse::<i64>().ok().or_else(|| {
                errors.add("affected_count", "must be a whole number");
                None
            }),
        };
        DeclareBody {
            title: Some(self.title.clone()),
            summary: some(&self.summary),
            severity: some(&self.severity),
            incident_type: some(&self.incident_type),
            impact: some(&self.impact),
            affected: Some(AffectedDto {
                text: some(&self.affected_text),
                count,
            }),
            services: some(&self.services).map(|it| {
                it.split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            }),
            private: match self.private.as_str() {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            },
            mode: some(&self.mode),
            status: some(&self.status),
        }
    }
}

/// A trimmed form value, `None` when blank.
pub(super) fn some(text: &str) -> Option<String> {
    Some(text.trim().to_string()).filter(|it| !it.is_empty())
}

pub async fn declare(
    State(state): State<AppState>,
    viewer: Viewer,
    UiForm { csrf, fields: form }: UiForm<DeclareForm>,
) -> UiResult<Response> {
    viewer.may(&csrf, Role::Responder)?;
    let mut errors = firebreak_core::FieldErrors::default();
    let body = form.body(&mut errors);
    let parsed = parse_declare(body.into(), &state.store.catalog());
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
    let declared = state
        .store
        .declare(new, &viewer.0.actor(), viewer.0.access(), None)
        .await?;
    Ok(see_other(&format!(
        "/incidents/{}",
        declared.incident.reference
    )))
}
