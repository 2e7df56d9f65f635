//! Services in the browser: each with its escalation policy, runbook and integration keys
//! (made and shown once, revoked); admins add services, policies (as JSON) and teams —
//! through the same functions as the API.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use firebreak_core::Role;

use crate::AppState;
use crate::error::ApiError;
use crate::paging::service::{PolicyBody, ServiceBody, add_service, new_key, save_policy};
use crate::paging::service::{StepBody, TargetBody};
use crate::ui::{Chrome, UiForm, UiResult, Viewer, render, see_other};

pub struct ServiceView {
    pub id: String,
    pub name: String,
    pub policy: String,
    pub team: String,
    pub runbook: String,
    /// (id, name, created, revoked).
    pub keys: Vec<(String, String, String, bool)>,
    /// "grouping 10 min", "auto-declare at critical" — empty when neither is on.
    pub behaviour: String,
    /// For the edit form: the policy's name (empty: none), storm window, auto-declare level.
    pub policy_name: String,
    pub group_window_minutes: i64,
    pub auto_declare_severity: String,
    pub shadow: bool,
}

/// A step as the policy form shows it (the last one of a form is blank, to add one).
pub struct StepForm {
    pub index: usize,
    /// One email per line.
    pub people: String,
    /// The schedule whose person on call it pages (id; empty: none).
    pub schedule: String,
    /// Further schedules the step pages (an imported Opsgenie schedule's rotations): their
    /// ids, carried through the form unchanged.
    pub more_schedules: String,
    pub more_count: usize,
    pub delay: i64,
}

/// A policy as its form shows it; `name` empty for a new one.
pub struct PolicyForm {
    pub key: String,
    pub name: String,
    pub repeat: i64,
    /// Minutes the policy waits before its first page (0: at once).
    pub wait_first: i64,
    pub steps: Vec<StepForm>,
}

fn policy_form(key: &str, policy: Option<&firebreak_store::EscalationPolicy>) -> PolicyForm {
    let all = policy
        .map(|it| it.policy.steps.as_slice())
        .unwrap_or_default();
    // A first step with nobody in it is the wait before the first page.
    let (wait_first, paging) = match all.split_first() {
        Some((first, rest)) if first.targets.is_empty() => (first.delay_minutes, rest),
        _ => (0, all),
    };
    let mut steps: Vec<StepForm> = paging
        .iter()
        .enumerate()
        .map(|(index, step)| StepForm {
            more_schedules: step
                .targets
                .iter()
                .filter(|it| it.kind == "schedule")
                .skip(1)
                .map(|it| it.id.clone())
                .collect::<Vec<_>>()
                .join(","),
            more_count: step
                .targets
                .iter()
                .filter(|it| it.kind == "schedule")
                .count()
                .saturating_sub(1),
            index,
            people: step
                .targets
                .iter()
                .filter(|it| it.kind == "person")
                .map(|it| it.id.clone())
                .collect::<Vec<_>>()
                .join("\n"),
            schedule: step
                .targets
                .iter()
                .find(|it| it.kind == "schedule")
                .map(|it| it.id.clone())
                .unwrap_or_default(),
            delay: step.delay_minutes,
        })
        .collect();
    steps.push(StepForm {
        index: steps.len(),
        people: String::new(),
        schedule: String::new(),
        more_schedules: String::new(),
        more_count: 0,
        delay: 15,
    });
    PolicyForm {
        key: key.to_string(),
        name: policy.map(|it| it.name.clone()).unwrap_or_default(),
        repeat: policy.map(|it| it.policy.repeat).unwrap_or_default(),
        wait_first,
        steps,
    }
}

/// The policy a form describes: steps in order, a step with nobody in it left out.
pub fn policy_from_form(fields: &BTreeMap<String, String>) -> Result<PolicyBody, ApiError> {
    let mut steps = Vec::new();
    for index in 0..32 {
        let key = |what: &str| format!("step{index}_{what}");
        if !fields.contains_key(&key("delay")) {
            break;
        }
        let mut targets: Vec<TargetBody> = field(fields, &key("people"))
            .split(['\n', ',', ' '])
            .map(str::trim)
            .filter(|it| !it.is_empty())
            .map(|it| TargetBody {
                kind: "person".into(),
                id: it.to_string(),
            })
            .collect();
        let schedule = field(fields, &key("schedule"));
        let schedules = std::iter::once(schedule.as_str())
            .chain(field(fields, &key("more_schedules")).split(','))
            .map(str::trim)
            .filter(|it| !it.is_empty())
            .map(|id| TargetBody {
                kind: "schedule".into(),
                id: id.to_string(),
            })
            .collect::<Vec<_>>();
        targets.splice(0..0, schedules);
        if targets.is_empty() {
            continue;
        }
        let delay = field(fields, &key("delay"));
        steps.push(StepBody {
            targets,
            delay_minutes: delay
                .parse()
                .map_err(|_| ApiError::field(&key("delay"), "a number of minutes (1 to 1440)"))?,
        });
    }
    let wait = field(fields, "wait_first");
    let wait: i64 = if wait.is_empty() {
        0
    } else {
        wait.parse()
            .map_err(|_| ApiError::field("wait_first", "a number of minutes (0 to 1440)"))?
    };
    if wait > 0 {
        steps.insert(
            0,
            StepBody {
                targets: Vec::new(),
                delay_minutes: wait,
            },
        );
    }
    let repeat = field(fields, "repeat");
    Ok(PolicyBody {
        name: field(fields, "name"),
        steps,
        repeat: if repeat.is_empty() {
            0
        } else {
            repeat
                .parse()
                .map_err(|_| ApiError::field("repeat", "0 to 9"))?
        },
    })
}

#[derive(Template)]
#[template(path = "services.html")]
struct ServicesPage {
    chrome: Chrome,
    csrf: String,
    is_admin: bool,
    services: Vec<ServiceView>,
    /// (name, steps in words).
    policies: Vec<(String, String)>,
    teams: Vec<(String, String)>,
    /// A key just made: (service, key, base URL) — shown once.
    new_key: Option<(String, String, String)>,
    /// (id, what, until, comment, by).
    silences: Vec<(String, String, String, String, String)>,
    can_act: bool,
    example: String,
    /// Each policy's form, then a blank one.
    policy_forms: Vec<PolicyForm>,
    /// (id, name) of every schedule, for a step's "whoever is on call in".
    schedules: Vec<(String, String)>,
}

const EXAMPLE: &str = r#"{
  "name": "payments",
  "steps": [
    {"targets": [{"type": "schedule", "id": "Platform primary"}], "delay_minutes": 5},
    {"targets": [{"type": "person", "id": "lead@example.com"}], "delay_minutes": 10}
  ],
  "repeat": 1
}"#;

async fn render_page(
    state: &AppState,
    viewer: &Viewer,
    new_key: Option<(String, String, String)>,
) -> UiResult<Response> {
    let lens = viewer.lens(state).await?;
    let is_admin = viewer.0.role.allows(Role::Admin);
    let policies = state.store.policies().await?;
    let teams = state.store.teams().await?;
    let schedules = state.store.schedules().await?;
    let mut services = Vec::new();
    for it in state.store.services().await? {
        let keys = if is_admin {
            state
                .store
                .integration_keys(&it.id)
                .await?
                .into_iter()
                .map(|key| {
                    (
                        key.id,
                        key.name,
                        lens.time(key.created_at),
                        key.revoked_at.is_some(),
                    )
                })
                .collect()
        } else {
            Vec::new()
        };
        let policy_name = policies
            .iter()
            .find(|p| Some(&p.id) == it.policy_id.as_ref())
            .map(|p| p.name.clone())
            .unwrap_or_default();
        services.push(ServiceView {
            policy: if policy_name.is_empty() {
                "none: alerts page nobody".into()
            } else {
                policy_name.clone()
            },
            policy_name,
            group_window_minutes: it.group_window_minutes,
            auto_declare_severity: it.auto_declare_severity.clone(),
            shadow: it.shadow,
            team: teams
                .iter()
                .find(|t| Some(&t.id) == it.team_id.as_ref())
                .map(|t| t.name.clone())
                .unwrap_or_default(),
            behaviour: [
                it.shadow
                    .then(|| "shadow mode: escalated on paper, nobody is paged".to_string()),
                (it.group_window_minutes > 0)
                    .then(|| format!("storm grouping {} min", it.group_window_minutes)),
                (!it.auto_declare_severity.is_empty()).then(|| {
                    format!(
                        "an incident for every {} alert or worse",
                        it.auto_declare_severity
                    )
                }),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" · "),
            id: it.id,
            name: it.name,
            runbook: it.runbook_url,
            keys,
        });
    }
    let words = |policy: &firebreak_store::PolicyDoc| {
        let steps: Vec<String> = policy
            .steps
            .iter()
            .enumerate()
            .map(|(i, step)| {
                let who: Vec<String> = step
                    .targets
                    .iter()
                    .map(|t| match t.kind.as_str() {
                        "schedule" => format!(
                            "on call in {}",
                            schedules
                                .iter()
                                .find(|s| s.id == t.id)
                                .map(|s| s.name.as_str())
                                .unwrap_or("?")
                        ),
                        _ => lens.person(&t.id),
                    })
                    .collect();
                if who.is_empty() {
                    format!("{}. wait {} min", i + 1, step.delay_minutes)
                } else {
                    format!(
                        "{}. {} (then {} min)",
                        i + 1,
                        who.join(", "),
                        step.delay_minutes
                    )
                }
            })
            .collect();
        let repeat = if policy.repeat > 0 {
            format!("; repeats {} time(s)", policy.repeat)
        } else {
            String::new()
        };
        format!("{}{repeat}", steps.join(" → "))
    };
    let names: std::collections::HashMap<String, String> = state
        .store
        .services()
        .await?
        .into_iter()
        .map(|it| (it.id, it.name))
        .collect();
    let silences = state
        .store
        .silences(lens.now)
        .await?
        .into_iter()
        .map(|(it, comment, by)| {
            let service = it
                .service_id
                .as_ref()
                .and_then(|id| names.get(id).cloned())
                .unwrap_or_else(|| "every service".into());
            let what = match (it.matching.is_empty(), it.service_id.is_some()) {
                (true, true) => format!("{service}: maintenance"),
                _ => format!("{service}: alerts matching “{}”", it.matching),
            };
            let when = if it.starts > lens.now {
                format!("from {} to {}", lens.time(it.starts), lens.time(it.ends))
            } else {
                format!("until {}", lens.time(it.ends))
            };
            (it.id, what, when, comment, lens.person(&by))
        })
        .collect();
    Ok(render(&ServicesPage {
        silences,
        can_act: viewer.0.role.allows(Role::Responder),
        chrome: viewer.chrome("services"),
        csrf: viewer.csrf(),
        is_admin,
        services,
        policies: policies
            .iter()
            .map(|p| (p.name.clone(), words(&p.policy)))
            .collect(),
        teams: teams
            .iter()
            .map(|t| (t.name.clone(), t.members.join(", ")))
            .collect(),
        new_key,
        example: EXAMPLE.to_string(),
        policy_forms: policies
            .iter()
            .enumerate()
            .map(|(index, it)| policy_form(&index.to_string(), Some(it)))
            .chain(std::iter::once(policy_form("new", None)))
            .collect(),
        schedules: schedules
            .iter()
            .map(|it| (it.id.clone(), it.name.clone()))
            .collect(),
    }))
}

pub async fn page(State(state): State<AppState>, viewer: Viewer) -> UiResult<Response> {
    render_page(&state, &viewer, None).await
}

fn field(fields: &BTreeMap<String, String>, name: &str) -> String {
    fields
        .get(name)
        .map(|it| it.trim().to_string())
        .unwrap_or_default()
}

/// The service form's fields as the API's body (`depends_on` as given).
fn service_body(
    fields: &BTreeMap<String, String>,
    depends_on: Vec<String>,
) -> Result<ServiceBody, ApiError> {
    let optional = |name: &str| Some(field(fields, name)).filter(|it| !it.is_empty());
    let group = field(fields, "group_window_minutes");
    Ok(ServiceBody {
        name: field(fields, "name"),
        team: optional("team"),
        escalation_policy: optional("policy"),
        depends_on,
        runbook_url: field(fields, "runbook_url"),
        group_window_minutes: if group.is_empty() {
            0
        } else {
            group.parse().map_err(|_| {
                ApiError::field("group_window_minutes", "a number of minutes (0: off)")
            })?
        },
        auto_declare_severity: field(fields, "auto_declare_severity"),
        shadow: field(fields, "shadow") == "true",
    })
}

pub async fn create_service(
    State(state): State<AppState>,
    viewer: Viewer,
    UiForm { csrf, fields }: UiForm<BTreeMap<String, String>>,
) -> UiResult<Response> {
    viewer.may(&csrf, Role::Admin)?;
    let body = service_body(&fields, Vec::new())?;
    add_service(&state, &viewer.0, &body).await?;
    Ok(see_other("/services"))
}

/// The edit form: everything but the dependencies (which stay as they are; the API and CLI
/// set them).
pub async fn edit_service(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    UiForm { csrf, fields }: UiForm<BTreeMap<String, String>>,
) -> UiResult<Response> {
    viewer.may(&csrf, Role::Admin)?;
    let existing = state
        .store
        .service(&id)
        .await
        .map_err(crate::paging::service::not_found("service"))?;
    let body = service_body(&fields, existing.depends_on)?;
    crate::paging::service::save_service(&state, &viewer.0, &existing.id, &body).await?;
    Ok(see_other(&format!("/services#service-{}", existing.id)))
}

pub async fn create_key(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    UiForm { csrf, fields }: UiForm<BTreeMap<String, String>>,
) -> UiResult<Response> {
    viewer.may(&csrf, Role::Admin)?;
    let keep = field(&fields, "key");
    let (created, key) =
        new_key(&state, &viewer.0, &id, &field(&fields, "name"), Some(&keep)).await?;
    let service = state.store.service(&created.service_id).await?;
    render_page(
        &state,
        &viewer,
        Some((service.name, key, state.settings.base_url())),
    )
    .await
}

pub async fn revoke_key(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((id, key_id)): Path<(String, String)>,
    UiForm { csrf, .. }: UiForm<BTreeMap<String, String>>,
) -> UiResult<Response> {
    viewer.may(&csrf, Role::Admin)?;
    state
        .store
        .revoke_integration_key(&id, &key_id, firebreak_store::clock::now())
        .await
        .map_err(|_| ApiError::not_found("integration key"))?;
    Ok(see_other("/services"))
}

/// A silence or a maintenance window from the page.
pub async fn create_silence(
    State(state): State<AppState>,
    viewer: Viewer,
    UiForm { csrf, fields }: UiForm<BTreeMap<String, String>>,
) -> UiResult<Response> {
    viewer.may(&csrf, Role::Responder)?;
    let body = crate::paging::service::SilenceBody {
        service: Some(field(&fields, "service")).filter(|it| !it.is_empty()),
        matching: field(&fields, "matching"),
        starts_at: None,
        duration_minutes: field(&fields, "minutes")
            .parse()
            .map_err(|_| ApiError::field("minutes", "a number of minutes"))?,
        comment: field(&fields, "comment"),
    };
    crate::paging::service::silence(&state, &viewer.0, &body).await?;
    Ok(see_other("/services"))
}

pub async fn end_silence(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    UiForm { csrf, .. }: UiForm<BTreeMap<String, String>>,
) -> UiResult<Response> {
    viewer.may(&csrf, Role::Responder)?;
    state
        .store
        .end_silence(&id, firebreak_store::clock::now())
        .await
        .map_err(|_| ApiError::not_found("silence"))?;
    Ok(see_other("/services"))
}

/// A policy written as JSON (the API's body); one with the same name is replaced.
pub async fn save_policy_form(
    State(state): State<AppState>,
    viewer: Viewer,
    UiForm { csrf, fields }: UiForm<BTreeMap<String, String>>,
) -> UiResult<Response> {
    viewer.may(&csrf, Role::Admin)?;
    let body: PolicyBody = serde_json::from_str(&field(&fields, "policy"))
        .map_err(|err| ApiError::field("policy", format!("not a policy in JSON: {err}")))?;
    save_policy(&state, &viewer.0, &body, true).await?;
    Ok(see_other("/services"))
}

/// A policy from its form (admins): the same checks as the API; one with the same name is
/// replaced.
pub async fn save_policy_steps(
    State(state): State<AppState>,
    viewer: Viewer,
    UiForm { csrf, fields }: UiForm<BTreeMap<String, String>>,
) -> UiResult<Response> {
    viewer.may(&csrf, Role::Admin)?;
    let body = policy_from_form(&fields)?;
    save_policy(&state, &viewer.0, &body, true).await?;
    Ok(see_other("/services"))
}

pub async fn create_team(
    State(state): State<AppState>,
    viewer: Viewer,
    UiForm { csrf, fields }: UiForm<BTreeMap<String, String>>,
) -> UiResult<Response> {
    viewer.may(&csrf, Role::Admin)?;
    let name = field(&fields, "name");
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::field("name", "1 to 100 characters").into());
    }
    let members = field(&fields, "members")
        .split([',', ' ', '\n'])
        .map(str::trim)
        .filter(|it| !it.is_empty())
        .map(|it| {
            firebreak_core::person::parse_email(it).ok_or_else(|| {
                ApiError::field("members", format!("{it:?} is not an email address"))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    state
        .store
        .create_team(&name, &members, firebreak_store::clock::now())
        .await?;
    Ok(see_other("/services"))
}
