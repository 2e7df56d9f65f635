//! Mapping between the `incidents` read-model row and `core::Incident`.

use std::collections::BTreeMap;

use firebreak_core::action::{Action, ActionKind, ActionStatus, Risk};
use firebreak_core::cadence::Notices;
use firebreak_core::coordination::Coordination;
use firebreak_core::event::{task_from_json, task_json};
use firebreak_core::freeze::Freeze;
use firebreak_core::playbook::Task;
use firebreak_core::{
    Affected, ImpactKind, Incident, IncidentId, IncidentType, Mode, NamedTimestamp, Reference,
    Status, TimestampName,
};
use serde_json::{Value, json};
use sqlx::any::AnyRow;
use uuid::Uuid;

use crate::clock::{from_micros, micros};
use crate::multirow;
use crate::{Result, StoreError};

/// The incident row's columns that reads and writes share, after `id`, in the order
/// `bind_incident` binds them. One list, so reads and writes cannot drift apart.
macro_rules! shared_columns {
    () => {
        "number, title, summary, severity, incident_type, impact, affected_text, affected_count, \
         services, private, mode, status, roles, next_update_due, timestamps, merged_into, \
         created_by, declared_at, updated_at, last_seq, last_hash, members, deploy_freeze, \
         update_notices, updates_posted"
    };
}

/// What a write sets: the shared columns and `wake_at`, which only the clock's query reads.
pub const INCIDENT_COLUMNS: &str = concat!("id, ", shared_columns!(), ", wake_at");

/// What reads select (`IncidentRow`): the incident row and its lists (absent until the first
/// list event).
pub const INCIDENT_SELECT: &str = concat!(
    "incidents.id, ",
    shared_columns!(),
    ", l.actions, l.tasks, l.playbooks, l.coordination"
);

/// The tables `INCIDENT_SELECT` reads from.
pub const INCIDENT_FROM: &str =
    "incidents LEFT JOIN incident_lists l ON l.incident_id = incidents.id";

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("{what}: {value:?}"))
}

/// An incident as `INCIDENT_SELECT` reads it, column by column.
#[derive(sqlx::FromRow)]
pub struct IncidentRow {
    id: String,
    number: i64,
    title: String,
    summary: String,
    severity: String,
    incident_type: String,
    impact: String,
    affected_text: String,
    affected_count: Option<i64>,
    services: String,
    private: i64,
    mode: String,
    status: String,
    roles: String,
    next_update_due: Option<i64>,
    timestamps: String,
    merged_into: Option<i64>,
    created_by: String,
    last_seq: i64,
    last_hash: String,
    members: String,
    deploy_freeze: Option<String>,
    update_notices: String,
    updates_posted: i64,
    actions: Option<String>,
    tasks: Option<String>,
    playbooks: Option<String>,
    coordination: Option<String>,
}

impl TryFrom<IncidentRow> for Incident {
    type Error = StoreError;

    fn try_from(row: IncidentRow) -> Result<Incident> {
        let list = |value: Option<String>| value.unwrap_or_else(|| "[]".to_string());
        let (actions, tasks, playbooks) = (list(row.actions), list(row.tasks), list(row.playbooks));
        Ok(Incident {
            id: IncidentId(Uuid::parse_str(&row.id).map_err(|_| corrupt("incident id", &row.id))?),
            reference: Reference(row.number),
            title: row.title,
            summary: row.summary,
            severity: row.severity,
            incident_type: IncidentType::parse(&row.incident_type)
                .ok_or_else(|| corrupt("type", &row.incident_type))?,
            impact: ImpactKind::parse(&row.impact).ok_or_else(|| corrupt("impact", &row.impact))?,
            affected: Affected {
                text: row.affected_text,
                count: row.affected_count,
            },
            services: serde_json::from_str(&row.services)
                .map_err(|_| corrupt("services", &row.services))?,
            private: row.private != 0,
            mode: Mode::parse(&row.mode).ok_or_else(|| corrupt("mode", &row.mode))?,
            status: Status::parse(&row.status).ok_or_else(|| corrupt("status", &row.status))?,
            roles: serde_json::from_str(&row.roles).map_err(|_| corrupt("roles", &row.roles))?,
            members: serde_json::from_str(&row.members)
                .map_err(|_| corrupt("members", &row.members))?,
            freeze: row
                .deploy_freeze
                .as_deref()
                .map(freeze_from_json)
                .transpose()?,
            actions: actions_from_json(&actions)?,
            notices: notices_from_json(&row.update_notices)?,
            tasks: tasks_from_json(&tasks)?,
            playbooks: serde_json::from_str(&playbooks)
                .map_err(|_| corrupt("playbooks", &playbooks))?,
            next_update_due: row.next_update_due.map(from_micros),
            updates_posted: row.updates_posted,
            coordination: coordination_from_json(row.coordination.as_deref())?,
            timestamps: timestamps_from_json(&row.timestamps)?,
            merged_into: row.merged_into.map(Reference),
            created_by: row.created_by,
            last_seq: row.last_seq,
            last_hash: row.last_hash,
        })
    }
}

pub fn incident_from_row(row: &AnyRow) -> Result<Incident> {
    use sqlx::FromRow;
    Incident::try_from(IncidentRow::from_row(row)?)
}

pub fn timestamps_to_json(timestamps: &BTreeMap<TimestampName, NamedTimestamp>) -> String {
    let map: serde_json::Map<String, Value> = timestamps
        .iter()
        .map(|(name, it)| {
            (
                name.as_str().to_string(),
                json!({ "observed": it.observed.map(micros), "asserted": it.asserted.map(micros) }),
            )
        })
        .collect();
    Value::Object(map).to_string()
}

fn timestamps_from_json(text: &str) -> Result<BTreeMap<TimestampName, NamedTimestamp>> {
    let value: Value = serde_json::from_str(text).map_err(|_| corrupt("timestamps", text))?;
    let mut res = BTreeMap::new();
    for (name, slot) in value.as_object().into_iter().flatten() {
        let name = TimestampName::parse(name).ok_or_else(|| corrupt("timestamp name", name))?;
        let read = |key: &str| slot.get(key).and_then(Value::as_i64).map(from_micros);
        res.insert(
            name,
            NamedTimestamp {
                observed: read("observed"),
                asserted: read("asserted"),
            },
        );
    }
    Ok(res)
}

fn coordination_from_json(text: Option<&str>) -> Result<Coordination> {
    match text {
        None | Some("{}") => Ok(Coordination::default()),
        Some(text) => serde_json::from_str(text)
            .ok()
            .and_then(|it| Coordination::from_json(&it))
            .ok_or_else(|| corrupt("coordination", text)),
    }
}

/// Every incident column, in `INCIDENT_COLUMNS` order: one row of the writer's flush.
pub(crate) fn incident_row(
    incident: &Incident,
    (declared_at, updated_at): (i64, i64),
    wake_at: Option<i64>,
) -> Vec<Value> {
    multirow::row(
        INCIDENT_COLUMNS,
        [
            json!(incident.id.0.to_string()),
            json!(incident.reference.0),
            json!(incident.title),
            json!(incident.summary),
            json!(incident.severity),
            json!(incident.incident_type.as_str()),
            json!(incident.impact.as_str()),
            json!(incident.affected.text),
            json!(incident.affected.count),
            json!(serde_json::to_string(&incident.services).unwrap_or_else(|_| "[]".into())),
            json!(i64::from(incident.private)),
            json!(incident.mode.as_str()),
            json!(incident.status.as_str()),
            json!(serde_json::to_string(&incident.roles).unwrap_or_else(|_| "{}".into())),
            json!(incident.next_update_due.map(micros)),
            json!(timestamps_to_json(&incident.timestamps)),
            json!(incident.merged_into.map(|it| it.0)),
            json!(incident.created_by),
            json!(declared_at),
            json!(updated_at),
            json!(incident.last_seq),
            json!(incident.last_hash),
            json!(serde_json::to_string(&incident.members).unwrap_or_else(|_| "[]".into())),
            json!(incident.freeze.as_ref().map(freeze_to_json)),
            json!(notices_to_json(&incident.notices)),
            json!(incident.updates_posted),
            json!(wake_at),
        ],
    )
}

/// The `incident_lists` columns, in this order: incident_id, actions, tasks, playbooks,
/// coordination.
pub const LIST_COLUMNS: &str = "incident_id, actions, tasks, playbooks, coordination";

/// An incident's lists, in `LIST_COLUMNS` order.
pub(crate) fn lists_row(incident: &Incident) -> Vec<Value> {
    multirow::row(
        LIST_COLUMNS,
        [
            json!(incident.id.0.to_string()),
            json!(actions_to_json(&incident.actions)),
            json!(Value::Array(incident.tasks.iter().map(task_json).collect()).to_string()),
            json!(serde_json::to_string(&incident.playbooks).unwrap_or_else(|_| "[]".into())),
            json!(incident.coordination.to_json().to_string()),
        ],
    )
}

fn tasks_from_json(text: &str) -> Result<Vec<Task>> {
    let value: Value = serde_json::from_str(text).map_err(|_| corrupt("tasks", text))?;
    value
        .as_array()
        .ok_or_else(|| corrupt("tasks", text))?
        .iter()
        .map(|it| task_from_json(it).ok_or_else(|| corrupt("task", &it.to_string())))
        .collect()
}

fn notices_to_json(notices: &Notices) -> String {
    json!({
        "reminded_for": notices.reminded_for.map(micros),
        "overdue_for": notices.overdue_for.map(micros),
    })
    .to_string()
}

fn notices_from_json(text: &str) -> Result<Notices> {
    let value: Value = serde_json::from_str(text).map_err(|_| corrupt("update_notices", text))?;
    let read = |key: &str| value.get(key).and_then(Value::as_i64).map(from_micros);
    Ok(Notices {
        reminded_for: read("reminded_for"),
        overdue_for: read("overdue_for"),
    })
}

fn actions_to_json(actions: &[Action]) -> String {
    let list: Vec<Value> = actions
        .iter()
        .map(|it| {
            json!({
                "number": it.number,
                "kind": it.kind.as_str(),
                "title": it.title,
                "target": it.target,
                "risk": it.risk.as_str(),
                "rollback_plan": it.rollback_plan,
                "destructive": it.destructive,
                "status": it.status.as_str(),
                "proposed_by": it.proposed_by,
                "approved_by": it.approved_by,
                "started_by": it.started_by,
                "result": it.result,
            })
        })
        .collect();
    Value::Array(list).to_string()
}

fn actions_from_json(text: &str) -> Result<Vec<Action>> {
    let value: Value = serde_json::from_str(text).map_err(|_| corrupt("actions", text))?;
    let bad = || corrupt("actions", text);
    let string = |item: &Value, key: &str| item.get(key).and_then(Value::as_str).map(String::from);
    value
        .as_array()
        .ok_or_else(bad)?
        .iter()
        .map(|item| {
            Ok(Action {
                number: item.get("number").and_then(Value::as_i64).ok_or_else(bad)?,
                kind: string(item, "kind")
                    .and_then(|it| ActionKind::parse(&it))
                    .ok_or_else(bad)?,
                title: string(item, "title").unwrap_or_default(),
                target: string(item, "target").unwrap_or_default(),
                risk: string(item, "risk")
                    .and_then(|it| Risk::parse(&it))
                    .ok_or_else(bad)?,
                rollback_plan: string(item, "rollback_plan").unwrap_or_default(),
                destructive: item
                    .get("destructive")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                status: string(item, "status")
                    .and_then(|it| ActionStatus::parse(&it))
                    .ok_or_else(bad)?,
                proposed_by: string(item, "proposed_by").unwrap_or_default(),
                approved_by: string(item, "approved_by"),
                started_by: string(item, "started_by"),
                result: string(item, "result").unwrap_or_default(),
            })
        })
        .collect()
}

fn freeze_to_json(freeze: &Freeze) -> String {
    json!({ "since": micros(freeze.since), "reason": freeze.reason }).to_string()
}

fn freeze_from_json(text: &str) -> Result<Freeze> {
    let value: Value = serde_json::from_str(text).map_err(|_| corrupt("freeze", text))?;
    Ok(Freeze {
        since: value
            .get("since")
            .and_then(Value::as_i64)
            .map(from_micros)
            .ok_or_else(|| corrupt("freeze", text))?,
        reason: value
            .get("reason")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
    })
}
