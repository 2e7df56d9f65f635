//! The Workflow page (admins): the rules, notification targets and playbooks in effect, and
//! forms to add, change and delete the ones made here. Those from the settings file are
//! shown read-only. Saving goes through the same checks as the API and the file.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use firebreak_core::Role;
use firebreak_core::rule::Trigger;
use serde::Deserialize;

use crate::AppState;
use crate::error::ApiError;
use crate::settings::workflow::{ConditionSettings, EffectSettings};
use crate::settings::{PlaybookSettings, RuleSettings, TaskSettings};
use crate::ui::{Chrome, NoFields, UiForm, UiResult, Viewer, render, see_other};
use crate::workflow::service::{check_name, current, delete_item, put_item};

pub struct RuleRow {
    pub name: String,
    /// The name as a URL path segment.
    pub slug: String,
    pub when: String,
    pub conditions: String,
    pub then: String,
    pub editable: bool,
}

pub struct PlaybookRow {
    pub name: String,
    /// The name as a URL path segment.
    pub slug: String,
    pub applies_to: String,
    pub tasks: Vec<String>,
    pub editable: bool,
}

/// A checkbox in a form: (field name, label, checked).
pub type Check = (String, String, bool);

#[derive(Template)]
#[template(path = "workflow.html")]
struct WorkflowPage {
    chrome: Chrome,
    csrf: String,
    rules: Vec<RuleRow>,
    targets: Vec<(String, String)>,
    playbooks: Vec<PlaybookRow>,
    // The rule form, filled when editing.
    rule_name: String,
    when: Vec<Check>,
    severities: Vec<(String, bool)>,
    types: Vec<Check>,
    services: String,
    private: String,
    mode: String,
    add_matching: bool,
    add_playbooks: Vec<Check>,
    cadence: String,
    cadence_minutes: String,
    freeze: bool,
    open_channel: bool,
    require_roles: Vec<Check>,
    notify: Vec<Check>,
    // The playbook form.
    playbook_name: String,
    playbook_severities: Vec<Check>,
    playbook_types: Vec<Check>,
    playbook_tasks: String,
}

#[derive(Deserialize, Default)]
pub struct EditQuery {
    rule: Option<String>,
    playbook: Option<String>,
}

fn words(value: &serde_json::Value) -> String {
    match value.as_object() {
        Some(map) if !map.is_empty() => map
            .iter()
            .map(|(key, value)| match value {
                serde_json::Value::Bool(true) => key.replace('_', " "),
                serde_json::Value::Array(items) => format!(
                    "{} {}",
                    key.replace('_', " "),
                    items
                        .iter()
                        .filter_map(|it| it.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                other => format!(
                    "{} {}",
                    key.replace('_', " "),
                    other.to_string().trim_matches('"')
                ),
            })
            .collect::<Vec<_>>()
            .join("; "),
        _ => "always".into(),
    }
}

fn checks(all: &[String], chosen: &[String], prefix: &str) -> Vec<Check> {
    all.iter()
        .map(|it| {
            (
                format!("{prefix}{it}"),
                it.replace('_', " "),
                chosen.contains(it),
            )
        })
        .collect()
}

/// One task per line: `title | role | due minutes` (role and due optional).
fn tasks_text(tasks: &[TaskSettings]) -> String {
    tasks
        .iter()
        .map(|task| {
            let mut line = task.title.clone();
            if task.role.is_some() || task.due_minutes.is_some() {
                line.push_str(&format!(" | {}", task.role.clone().unwrap_or_default()));
            }
            if let Some(due) = task.due_minutes {
                line.push_str(&format!(" | {due}"));
            }
            line
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn parse_tasks(text: &str) -> UiResult<Vec<TaskSettings>> {
    let mut tasks = Vec::new();
    for (idx, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let mut parts = line.split('|').map(str::trim);
        let title = parts.next().unwrap_or_default().to_string();
        let role = parts.next().filter(|it| !it.is_empty()).map(String::from);
        let due_minutes = match parts.next().filter(|it| !it.is_empty()) {
            Some(due) => Some(due.parse::<i64>().map_err(|_| {
                ApiError::field(
                    "tasks",
                    format!("line {}: the due time is minutes, e.g. 30", idx + 1),
                )
            })?),
            None => None,
        };
        tasks.push(TaskSettings {
            title,
            role,
            due_minutes,
        });
    }
    Ok(tasks)
}

pub async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(edit): Query<EditQuery>,
) -> UiResult<Response> {
    viewer.0.require(Role::Admin)?;
    let workflow = current(&state).await?;
    let catalog = state.store.catalog();
    let rule_to_edit: Option<RuleSettings> = edit.rule.as_ref().and_then(|name| {
        workflow
            .rules
            .iter()
            .find(|it| &it.rule.name == name && it.source == "api")
            .map(|it| it.rule.clone())
    });
    let playbook_to_edit: Option<PlaybookSettings> = edit.playbook.as_ref().and_then(|name| {
        workflow
            .playbooks
            .iter()
            .find(|it| &it.playbook.name == name && it.source == "api")
            .map(|it| it.playbook.clone())
    });
    let rule = rule_to_edit.unwrap_or(RuleSettings {
        name: String::new(),
        when: vec!["declared".into()],
        conditions: ConditionSettings::default(),
        then: EffectSettings::default(),
    });
    let playbook = playbook_to_edit.unwrap_or(PlaybookSettings {
        name: String::new(),
        severities: Vec::new(),
        types: Vec::new(),
        tasks: Vec::new(),
    });
    let triggers: Vec<String> = Trigger::ALL.iter().map(|it| it.to_string()).collect();
    let types: Vec<String> = firebreak_core::IncidentType::ALL
        .iter()
        .map(|it| it.to_string())
        .collect();
    let playbook_names: Vec<String> = workflow
        .playbooks
        .iter()
        .map(|it| it.playbook.name.clone())
        .collect();
    let target_names: Vec<String> = workflow.targets.iter().map(|it| it.name.clone()).collect();
    let c = &rule.conditions;
    let t = &rule.then;
    let rules = workflow
        .rules
        .iter()
        .map(|it| RuleRow {
            name: it.rule.name.clone(),
            slug: crate::ui::encode_component(&it.rule.name),
            when: it.rule.when.join(", ").replace('_', " "),
            conditions: words(&serde_json::to_value(&it.rule.conditions).unwrap_or_default()),
            then: words(&serde_json::to_value(&it.rule.then).unwrap_or_default()),
            editable: it.source == "api",
        })
        .collect();
    let playbooks = workflow
        .playbooks
        .iter()
        .map(|it| {
            let book = &it.playbook;
            let mut applies = Vec::new();
            if !book.severities.is_empty() {
                applies.push(book.severities.join(", "));
            }
            if !book.types.is_empty() {
                applies.push(format!("{} incidents", book.types.join(", ")));
            }
            PlaybookRow {
                name: book.name.clone(),
                slug: crate::ui::encode_component(&book.name),
                applies_to: if applies.is_empty() {
                    "every incident".into()
                } else {
                    applies.join(" · ")
                },
                tasks: book.tasks.iter().map(|task| task.title.clone()).collect(),
                editable: it.source == "api",
            }
        })
        .collect();
    Ok(render(&WorkflowPage {
        chrome: viewer.chrome("workflow"),
        csrf: viewer.csrf(),
        rules,
        targets: workflow
            .targets
            .iter()
            .map(|it| {
                let mut to: Vec<String> = it.webhook_url.iter().cloned().collect();
                to.extend(it.email.iter().cloned());
                let to = if to.is_empty() {
                    "sends nothing until configured in the settings file".into()
                } else {
                    to.join(", ")
                };
                (it.name.clone(), to)
            })
            .collect(),
        playbooks,
        rule_name: rule.name.clone(),
        when: checks(&triggers, &rule.when, "when:"),
        severities: catalog
            .severities
            .iter()
            .map(|it| (it.clone(), c.severity_at_least.as_ref() == Some(it)))
            .collect(),
        types: checks(&types, &c.types, "type:"),
        services: c.services.join(", "),
        private: c.private.map(|it| it.to_string()).unwrap_or_default(),
        mode: c.mode.clone().unwrap_or_default(),
        add_matching: t.add_matching_playbooks,
        add_playbooks: checks(&playbook_names, &t.add_playbooks, "playbook:"),
        cadence: if t.set_cadence {
            "severity".into()
        } else if t.set_cadence_minutes.is_some() {
            "minutes".into()
        } else {
            String::new()
        },
        cadence_minutes: t
            .set_cadence_minutes
            .map(|it| it.to_string())
            .unwrap_or_default(),
        freeze: t.freeze_deploys,
        open_channel: t.open_channel,
        require_roles: checks(&catalog.roles, &t.require_roles, "role:"),
        notify: checks(&target_names, &t.notify, "notify:"),
        playbook_name: playbook.name.clone(),
        playbook_severities: checks(&catalog.severities, &playbook.severities, "severity:"),
        playbook_types: checks(&types, &playbook.types, "type:"),
        playbook_tasks: tasks_text(&playbook.tasks),
    }))
}

/// The values of checked boxes whose field names start with `prefix`.
fn chosen(fields: &BTreeMap<String, String>, prefix: &str) -> Vec<String> {
    fields
        .keys()
        .filter_map(|key| key.strip_prefix(prefix).map(String::from))
        .collect()
}

fn field(fields: &BTreeMap<String, String>, name: &str) -> String {
    fields
        .get(name)
        .map(|it| it.trim().to_string())
        .unwrap_or_default()
}

pub async fn save_rule(
    State(state): State<AppState>,
    viewer: Viewer,
    UiForm { csrf, fields }: UiForm<BTreeMap<String, String>>,
) -> UiResult<Response> {
    viewer.may(&csrf, Role::Admin)?;
    let name = check_name(&field(&fields, "name"))?;
    let mut when = chosen(&fields, "when:");
    // Keep the order triggers are listed in, whatever order the form sent.
    when.sort_by_key(|it| Trigger::parse(it).map(|trigger| trigger as usize));
    let optional = |key: &str| Some(field(&fields, key)).filter(|it| !it.is_empty());
    let cadence_minutes = match (
        field(&fields, "cadence").as_str(),
        optional("cadence_minutes"),
    ) {
        ("minutes", Some(text)) => Some(text.parse::<i64>().map_err(|_| {
            ApiError::field(
                "cadence_minutes",
                "give the minutes between updates, e.g. 20",
            )
        })?),
        ("minutes", None) => {
            return Err(
                ApiError::field("cadence_minutes", "give the minutes between updates").into(),
            );
        }
        _ => None,
    };
    let rule = RuleSettings {
        name: name.clone(),
        when,
        conditions: ConditionSettings {
            severity_at_least: optional("severity_at_least"),
            severities: Vec::new(),
            types: chosen(&fields, "type:"),
            services: field(&fields, "services")
                .split(',')
                .map(str::trim)
                .filter(|it| !it.is_empty())
                .map(String::from)
                .collect(),
            private: optional("private").map(|it| it == "true"),
            mode: optional("mode"),
        },
        then: EffectSettings {
            add_playbooks: chosen(&fields, "playbook:"),
            add_matching_playbooks: fields.contains_key("add_matching_playbooks"),
            set_cadence: field(&fields, "cadence") == "severity",
            set_cadence_minutes: cadence_minutes,
            freeze_deploys: fields.contains_key("freeze_deploys"),
            open_channel: fields.contains_key("open_channel"),
            require_roles: chosen(&fields, "role:"),
            notify: chosen(&fields, "notify:"),
        },
    };
    put_item(&state, &viewer.0, ("rule", &name), &rule).await?;
    Ok(see_other("/workflow#rules"))
}

pub async fn save_playbook(
    State(state): State<AppState>,
    viewer: Viewer,
    UiForm { csrf, fields }: UiForm<BTreeMap<String, String>>,
) -> UiResult<Response> {
    viewer.may(&csrf, Role::Admin)?;
    let name = check_name(&field(&fields, "name"))?;
    let playbook = PlaybookSettings {
        name: name.clone(),
        severities: chosen(&fields, "severity:"),
        types: chosen(&fields, "type:"),
        tasks: parse_tasks(&field(&fields, "tasks"))?,
    };
    put_item(&state, &viewer.0, ("playbook", &name), &playbook).await?;
    Ok(see_other("/workflow#playbooks"))
}

pub async fn delete(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((kind, name)): Path<(String, String)>,
    UiForm { csrf, .. }: UiForm<NoFields>,
) -> UiResult<Response> {
    viewer.may(&csrf, Role::Admin)?;
    let kind = match kind.as_str() {
        "rules" => "rule",
        "playbooks" => "playbook",
        _ => return Err(ApiError::not_found("page").into()),
    };
    delete_item(&state, &viewer.0, (kind, &name)).await?;
    Ok(see_other("/workflow"))
}
