//! The public status page's data: components (and groups) with every status change kept for
//! uptime, and public incidents — an explicit projection of an internal incident — with their
//! updates. The page itself is rendered by the server from `status_data`, in one read.

use std::collections::HashMap;

use firebreak_core::FieldErrors;
use firebreak_core::status_page::{ComponentStatus, Impact, PublicStatus};
use jiff::Timestamp;
use serde_json::{Value, json};
use sqlx::any::AnyRow;
use uuid::Uuid;

use crate::clock::{from_micros, micros};
use crate::{Result, Store, StoreError};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Component {
    pub id: String,
    pub name: String,
    pub description: String,
    pub group_id: Option<String>,
    pub is_group: bool,
    pub position: i64,
    pub status: ComponentStatus,
    pub showcase: bool,
    pub only_show_if_degraded: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Clone, Debug, Default)]
pub struct NewComponent {
    pub name: String,
    pub description: String,
    pub group_id: Option<String>,
    pub is_group: bool,
    pub status: Option<ComponentStatus>,
    pub showcase: bool,
    pub only_show_if_degraded: bool,
}

/// What may change about a component; `None` keeps the current value.
#[derive(Clone, Debug, Default)]
pub struct ComponentPatch {
    pub name: Option<String>,
    pub description: Option<String>,
    pub status: Option<ComponentStatus>,
    pub position: Option<i64>,
    pub showcase: Option<bool>,
    pub only_show_if_degraded: Option<bool>,
}

/// A component an update changed (or named), Statuspage's `affected_components` element.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AffectedComponent {
    pub code: String,
    /// `Group - Child` for a grouped component.
    pub name: String,
    pub old_status: ComponentStatus,
    pub new_status: ComponentStatus,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicUpdate {
    pub id: String,
    pub status: PublicStatus,
    pub body: String,
    pub created_at: Timestamp,
    pub affected: Option<Vec<AffectedComponent>>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicIncident {
    pub id: String,
    /// The internal incident it is the public face of.
    pub incident_id: Option<String>,
    pub name: String,
    pub status: PublicStatus,
    pub impact: Impact,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub started_at: Timestamp,
    pub monitoring_at: Option<Timestamp>,
    pub resolved_at: Option<Timestamp>,
    /// Newest first.
    pub updates: Vec<PublicUpdate>,
    /// Every component any of its updates named.
    pub component_ids: Vec<String>,
    /// Set for a maintenance window.
    pub window: Option<Window>,
}

/// A maintenance window: when, and which components it takes under maintenance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Window {
    pub scheduled_for: Timestamp,
    pub scheduled_until: Timestamp,
    pub components: Vec<String>,
}

/// Publishing an incident, or a public update on one: the words, the state, and the
/// components whose status it sets.
#[derive(Clone, Debug)]
pub struct PublicPost {
    pub status: PublicStatus,
    pub body: String,
    pub components: Vec<(String, ComponentStatus)>,
}

/// Everything the page shows, read at one moment.
#[derive(Clone, Debug)]
pub struct StatusData {
    pub components: Vec<Component>,
    /// Component id → its status changes, oldest first.
    pub changes: HashMap<String, Vec<(Timestamp, ComponentStatus)>>,
    /// The most recent public incidents and maintenance windows (up to 500), newest first.
    pub incidents: Vec<PublicIncident>,
}

/// A 12-character lowercase base-36 id, as Statuspage's.
fn new_id() -> String {
    // The low 62 bits of a v7 UUID are random.
    let mut n = Uuid::now_v7().as_u128() & ((1u128 << 62) - 1);
    let digits = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = [b'0'; 12];
    for slot in out.iter_mut().rev() {
        *slot = digits[(n % 36) as usize];
        n /= 36;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn invalid(field: &str, message: String) -> StoreError {
    let mut errors = FieldErrors::default();
    errors.add(field, message);
    StoreError::Domain(errors.into())
}

fn status_of(text: &str) -> Result<ComponentStatus> {
    ComponentStatus::parse(text)
        .ok_or_else(|| StoreError::Corrupt(format!("component status {text:?}")))
}

const COMPONENT_COLUMNS: &str = "id, name, description, group_id, is_group, position, status, showcase, \
    only_show_if_degraded, created_at, updated_at";

/// A component as `COMPONENT_COLUMNS` reads it.
#[derive(sqlx::FromRow)]
struct ComponentRow {
    id: String,
    name: String,
    description: String,
    group_id: Option<String>,
    is_group: i64,
    position: i64,
    status: String,
    showcase: i64,
    only_show_if_degraded: i64,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<ComponentRow> for Component {
    type Error = StoreError;

    fn try_from(row: ComponentRow) -> Result<Component> {
        Ok(Component {
            status: status_of(&row.status)?,
            id: row.id,
            name: row.name,
            description: row.description,
            group_id: row.group_id,
            is_group: row.is_group != 0,
            position: row.position,
            showcase: row.showcase != 0,
            only_show_if_degraded: row.only_show_if_degraded != 0,
            created_at: from_micros(row.created_at),
            updated_at: from_micros(row.updated_at),
        })
    }
}

fn component_from_row(row: &AnyRow) -> Result<Component> {
    use sqlx::FromRow;
    Component::try_from(ComponentRow::from_row(row)?)
}

fn affected_json(affected: &[AffectedComponent]) -> String {
    Value::Array(
        affected
            .iter()
            .map(|it| {
                json!({
                    "code": it.code,
                    "name": it.name,
                    "old_status": it.old_status.as_str(),
                    "new_status": it.new_status.as_str(),
                })
            })
            .collect(),
    )
    .to_string()
}

fn affected_from_json(text: &str) -> Result<Vec<AffectedComponent>> {
    let bad = || StoreError::Corrupt(format!("affected components {text:?}"));
    let value: Value = serde_json::from_str(text).map_err(|_| bad())?;
    value
        .as_array()
        .ok_or_else(bad)?
        .iter()
        .map(|it| {
            let text = |key: &str| it.get(key).and_then(Value::as_str).ok_or_else(bad);
            Ok(AffectedComponent {
                code: text("code")?.to_string(),
                name: text("name")?.to_string(),
                old_status: status_of(text("old_status")?)?,
                new_status: status_of(text("new_status")?)?,
            })
        })
        .collect()
}

type Tx = sqlx::Transaction<'static, sqlx::Any>;

async fn components_in(tx: &mut Tx) -> Result<Vec<Component>> {
    let sql = format!("SELECT {COMPONENT_COLUMNS} FROM status_components ORDER BY position, id");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_all(&mut **tx)
        .await?;
    rows.iter().map(component_from_row).collect()
}

/// Sets components' statuses (recording each change) and answers what changed, as a public
/// update reports it. Unknown ids and groups are refused.
async fn set_statuses(
    tx: &mut Tx,
    wanted: &[(String, ComponentStatus)],
    now: Timestamp,
) -> Result<Vec<AffectedComponent>> {
    let all = components_in(tx).await?;
    let mut affected = Vec::with_capacity(wanted.len());
    for (id, status) in wanted {
        let component = all
            .iter()
            .find(|it| &it.id == id)
            .ok_or_else(|| invalid("components", format!("there is no component {id:?}")))?;
        if component.is_group {
            return Err(invalid(
                "components",
                format!(
                    "{:?} is a group; its status follows its components",
                    component.name
                ),
            ));
        }
        let name = match component
            .group_id
            .as_ref()
            .and_then(|group| all.iter().find(|it| &it.id == group))
        {
            Some(group) => format!("{} - {}", group.name, component.name),
            None => component.name.clone(),
        };
        if component.status != *status {
            change_status(tx, id, *status, now).await?;
        }
        affected.push(AffectedComponent {
            code: id.clone(),
            name,
            old_status: component.status,
            new_status: *status,
        });
    }
    Ok(affected)
}

async fn change_status(
    tx: &mut Tx,
    id: &str,
    status: ComponentStatus,
    now: Timestamp,
) -> Result<()> {
    sqlx::query("UPDATE status_components SET status = $2, updated_at = $3 WHERE id = $1")
        .bind(id.to_string())
        .bind(status.as_str())
        .bind(micros(now))
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "INSERT INTO status_component_changes (component_id, at, status) VALUES ($1, $2, $3)",
    )
    .bind(id.to_string())
    .bind(micros(now))
    .bind(status.as_str())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A public incident or maintenance window as its table holds it.
#[derive(sqlx::FromRow)]
struct PublicIncidentRow {
    id: String,
    incident_id: Option<String>,
    name: String,
    status: String,
    impact: String,
    created_at: i64,
    updated_at: i64,
    started_at: i64,
    monitoring_at: Option<i64>,
    resolved_at: Option<i64>,
    kind: String,
    scheduled_for: Option<i64>,
    scheduled_until: Option<i64>,
    maintenance_components: Option<String>,
}

impl Store {
    pub async fn status_components(&self) -> Result<Vec<Component>> {
        let mut tx = self.pool().begin().await?;
        let list = components_in(&mut tx).await?;
        tx.commit().await?;
        Ok(list)
    }

    pub async fn create_status_component(
        &self,
        new: NewComponent,
        now: Timestamp,
    ) -> Result<Component> {
        let mut tx = self.begin_write().await?;
        let all = components_in(&mut tx).await?;
        if let Some(group) = &new.group_id {
            match all.iter().find(|it| &it.id == group) {
                Some(it) if it.is_group => {}
                Some(_) => return Err(invalid("group_id", format!("{group:?} is not a group"))),
                None => return Err(invalid("group_id", format!("there is no group {group:?}"))),
            }
            if new.is_group {
                return Err(invalid("group", "a group cannot be inside a group".into()));
            }
        }
        if all
            .iter()
            .any(|it| it.name == new.name && it.group_id == new.group_id)
        {
            return Err(invalid(
                "name",
                format!("there is already a component {:?} here", new.name),
            ));
        }
        let position = all
            .iter()
            .filter(|it| it.group_id == new.group_id)
            .map(|it| it.position)
            .max()
            .unwrap_or(0)
            + 1;
        let id = new_id();
        let status = new.status.unwrap_or(ComponentStatus::Operational);
        sqlx::query(
            "INSERT INTO status_components (id, name, description, group_id, is_group, position, status, \
             showcase, only_show_if_degraded, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)",
        )
        .bind(id.clone())
        .bind(new.name)
        .bind(new.description)
        .bind(new.group_id)
        .bind(i64::from(new.is_group))
        .bind(position)
        .bind(status.as_str())
        .bind(i64::from(new.showcase))
        .bind(i64::from(new.only_show_if_degraded))
        .bind(micros(now))
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO status_component_changes (component_id, at, status) VALUES ($1, $2, $3)",
        )
        .bind(id.clone())
        .bind(micros(now))
        .bind(status.as_str())
        .execute(&mut *tx)
        .await?;
        let created = components_in(&mut tx)
            .await?
            .into_iter()
            .find(|it| it.id == id)
            .ok_or(StoreError::NotFound("component group"))?;
        tx.commit().await?;
        Ok(created)
    }

    pub async fn update_status_component(
        &self,
        id: &str,
        patch: ComponentPatch,
        now: Timestamp,
    ) -> Result<Component> {
        let mut tx = self.begin_write().await?;
        let current = components_in(&mut tx)
            .await?
            .into_iter()
            .find(|it| it.id == id)
            .ok_or(StoreError::NotFound("component"))?;
        if let Some(status) = patch.status
            && status != current.status
        {
            if current.is_group {
                return Err(invalid(
                    "status",
                    "a group's status follows its components".into(),
                ));
            }
            change_status(&mut tx, id, status, now).await?;
        }
        sqlx::query(
            "UPDATE status_components SET name = $2, description = $3, position = $4, showcase = $5, \
             only_show_if_degraded = $6, updated_at = $7 WHERE id = $1",
        )
        .bind(id.to_string())
        .bind(patch.name.unwrap_or(current.name))
        .bind(patch.description.unwrap_or(current.description))
        .bind(patch.position.unwrap_or(current.position))
        .bind(i64::from(patch.showcase.unwrap_or(current.showcase)))
        .bind(i64::from(
            patch
                .only_show_if_degraded
                .unwrap_or(current.only_show_if_degraded),
        ))
        .bind(micros(now))
        .execute(&mut *tx)
        .await?;
        let updated = components_in(&mut tx)
            .await?
            .into_iter()
            .find(|it| it.id == id)
            .ok_or(StoreError::NotFound("component"))?;
        tx.commit().await?;
        Ok(updated)
    }

    /// Publishes an incident on the status page with its first update.
    pub async fn publish_incident(
        &self,
        (incident_id, name, impact): (Option<String>, String, Impact),
        post: PublicPost,
        now: Timestamp,
    ) -> Result<PublicIncident> {
        let mut tx = self.begin_write().await?;
        let id = new_id();
        sqlx::query(
            "INSERT INTO public_incidents (id, incident_id, name, status, impact, created_at, updated_at, started_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6, $6)",
        )
        .bind(id.clone())
        .bind(incident_id)
        .bind(name)
        .bind(post.status.as_str())
        .bind(impact.as_str())
        .bind(micros(now))
        .execute(&mut *tx)
        .await?;
        add_update(&mut tx, &self.status_page(), &id, &post, now).await?;
        tx.commit().await?;
        self.public_incident(&id).await
    }

    /// A public update: the new state, its words, and the components it sets.
    pub async fn post_public_update(
        &self,
        id: &str,
        post: PublicPost,
        now: Timestamp,
    ) -> Result<PublicIncident> {
        let mut tx = self.begin_write().await?;
        let found = sqlx::query("SELECT 1 AS found FROM public_incidents WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&mut *tx)
            .await?;
        if found.is_none() {
            return Err(StoreError::NotFound("public incident"));
        }
        add_update(&mut tx, &self.status_page(), id, &post, now).await?;
        tx.commit().await?;
        self.public_incident(id).await
    }

    pub async fn public_incident(&self, id: &str) -> Result<PublicIncident> {
        self.public_incidents(Some(id), 1)
            .await?
            .into_iter()
            .next()
            .ok_or(StoreError::NotFound("public incident"))
    }

    /// The public incidents of an internal incident, newest first.
    pub async fn public_incidents_of(&self, incident_id: &str) -> Result<Vec<PublicIncident>> {
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM public_incidents WHERE incident_id = $1 ORDER BY created_at DESC",
        )
        .bind(incident_id.to_string())
        .fetch_all(self.pool())
        .await?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            out.push(self.public_incident(&id).await?);
        }
        Ok(out)
    }

    /// Up to `limit` public incidents, newest first (or just `only`).
    pub async fn public_incidents(
        &self,
        only: Option<&str>,
        limit: i64,
    ) -> Result<Vec<PublicIncident>> {
        let (filter, bind) = match only {
            Some(id) => ("WHERE id = $1", Some(id.to_string())),
            None => ("", None),
        };
        let sql = format!(
            "SELECT id, incident_id, name, status, impact, created_at, updated_at, started_at, monitoring_at, \
             resolved_at, kind, scheduled_for, scheduled_until, maintenance_components \
             FROM public_incidents {filter} ORDER BY created_at DESC, id LIMIT {}",
            limit.clamp(1, 500)
        );
        let mut query = sqlx::query_as::<_, PublicIncidentRow>(sqlx::AssertSqlSafe(sql));
        if let Some(id) = bind {
            query = query.bind(id);
        }
        let rows = query.fetch_all(self.pool()).await?;
        let mut incidents = Vec::with_capacity(rows.len());
        for row in rows {
            let at = |micros: Option<i64>| micros.map(from_micros);
            incidents.push(PublicIncident {
                status: PublicStatus::parse(&row.status).ok_or_else(|| {
                    StoreError::Corrupt(format!("public status {:?}", row.status))
                })?,
                impact: Impact::parse(&row.impact)
                    .ok_or_else(|| StoreError::Corrupt(format!("impact {:?}", row.impact)))?,
                id: row.id,
                incident_id: row.incident_id,
                name: row.name,
                created_at: from_micros(row.created_at),
                updated_at: from_micros(row.updated_at),
                started_at: from_micros(row.started_at),
                monitoring_at: at(row.monitoring_at),
                resolved_at: at(row.resolved_at),
                updates: Vec::new(),
                component_ids: Vec::new(),
                window: match row.kind.as_str() {
                    "maintenance" => Some(Window {
                        scheduled_for: at(row.scheduled_for).unwrap_or(Timestamp::UNIX_EPOCH),
                        scheduled_until: at(row.scheduled_until).unwrap_or(Timestamp::UNIX_EPOCH),
                        components: row
                            .maintenance_components
                            .as_deref()
                            .and_then(|it| serde_json::from_str(it).ok())
                            .unwrap_or_default(),
                    }),
                    _ => None,
                },
            });
        }
        if incidents.is_empty() {
            return Ok(incidents);
        }
        let ids: Vec<String> = incidents
            .iter()
            .map(|it| format!("'{}'", it.id.replace('\'', "")))
            .collect();
        let sql = format!(
            "SELECT id, public_incident_id, status, body, created_at, affected FROM public_updates \
             WHERE public_incident_id IN ({}) ORDER BY created_at DESC, id DESC",
            ids.join(", ")
        );
        let rows: Vec<(String, String, String, String, i64, Option<String>)> =
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .fetch_all(self.pool())
                .await?;
        for (id, parent, status, body, created_at, affected) in rows {
            let update = PublicUpdate {
                id,
                status: PublicStatus::parse(&status)
                    .ok_or_else(|| StoreError::Corrupt(format!("public status {status:?}")))?,
                body,
                created_at: from_micros(created_at),
                affected: affected.as_deref().map(affected_from_json).transpose()?,
            };
            if let Some(incident) = incidents.iter_mut().find(|it| it.id == parent) {
                for it in update.affected.iter().flatten() {
                    if !incident.component_ids.contains(&it.code) {
                        incident.component_ids.push(it.code.clone());
                    }
                }
                incident.updates.push(update);
            }
        }
        Ok(incidents)
    }

    /// Schedules a maintenance window with its first update (`scheduled`).
    pub async fn schedule_maintenance(
        &self,
        name: String,
        window: Window,
        body: String,
        now: Timestamp,
    ) -> Result<PublicIncident> {
        let mut tx = self.begin_write().await?;
        let all = components_in(&mut tx).await?;
        let mut current = Vec::with_capacity(window.components.len());
        for id in &window.components {
            match all.iter().find(|it| &it.id == id) {
                Some(it) if !it.is_group => current.push((id.clone(), it.status)),
                Some(_) => {
                    return Err(invalid(
                        "components",
                        format!("{id:?} is a group; name its components"),
                    ));
                }
                None => {
                    return Err(invalid(
                        "components",
                        format!("there is no component {id:?}"),
                    ));
                }
            }
        }
        let id = new_id();
        sqlx::query(
            "INSERT INTO public_incidents (id, name, status, impact, created_at, updated_at, started_at, kind, \
             scheduled_for, scheduled_until, maintenance_components) \
             VALUES ($1, $2, 'scheduled', 'maintenance', $3, $3, $4, 'maintenance', $4, $5, $6)",
        )
        .bind(id.clone())
        .bind(name)
        .bind(micros(now))
        .bind(micros(window.scheduled_for))
        .bind(micros(window.scheduled_until))
        .bind(json!(window.components).to_string())
        .execute(&mut *tx)
        .await?;
        // The first update names the components with their status unchanged.
        let post = PublicPost {
            status: PublicStatus::Scheduled,
            body,
            components: current,
        };
        add_update(&mut tx, &self.status_page(), &id, &post, now).await?;
        tx.commit().await?;
        self.public_incident(&id).await
    }

    /// The clock's step for maintenance windows: starts those whose time has come (their
    /// components go under maintenance) and completes those whose end has come (back to
    /// operational), each with its own public update. Decided row by row with the status
    /// checked in the same statement, so replicas doing this at once do it once. Answers how
    /// many windows moved.
    pub async fn advance_maintenances(&self, now: Timestamp) -> Result<usize> {
        let rows: Vec<(String, String, i64, i64, Option<String>)> = sqlx::query_as(
            "SELECT id, status, scheduled_for, scheduled_until, maintenance_components FROM public_incidents \
             WHERE kind = 'maintenance' AND status IN ('scheduled', 'in_progress', 'verifying') AND scheduled_for <= $1",
        )
        .bind(micros(now))
        .fetch_all(self.pool())
        .await?;
        let mut moved = 0;
        for (id, status, from, until, ids) in rows {
            let Some(status) = PublicStatus::parse(&status) else {
                continue;
            };
            let (from, until) = (from_micros(from), from_micros(until));
            let Some(next) =
                firebreak_core::status_page::maintenance_step(status, from, until, now)
            else {
                continue;
            };
            let ids: Vec<String> = ids
                .as_deref()
                .and_then(|it| serde_json::from_str(it).ok())
                .unwrap_or_default();
            let mut tx = self.begin_write().await?;
            let claimed = sqlx::query(
                "UPDATE public_incidents SET updated_at = $3 WHERE id = $1 AND status = $2",
            )
            .bind(id.clone())
            .bind(status.as_str())
            .bind(micros(now))
            .execute(&mut *tx)
            .await?;
            if claimed.rows_affected() == 0 {
                continue;
            }
            let (component_status, body) = if next == PublicStatus::InProgress {
                (
                    ComponentStatus::UnderMaintenance,
                    "The scheduled maintenance is in progress.",
                )
            } else {
                (
                    ComponentStatus::Operational,
                    "The scheduled maintenance has been completed.",
                )
            };
            let post = PublicPost {
                status: next,
                body: body.into(),
                components: ids.into_iter().map(|it| (it, component_status)).collect(),
            };
            add_update(&mut tx, &self.status_page(), &id, &post, now).await?;
            tx.commit().await?;
            moved += 1;
        }
        Ok(moved)
    }

    /// Everything the public page shows: components, their changes since `since` (and the
    /// state each was in at `since`), and the 500 most recent public incidents (the API
    /// documents show the newest 50; the monthly archive goes further back).
    pub async fn status_data(&self, since: Timestamp) -> Result<StatusData> {
        let components = self.status_components().await?;
        let rows: Vec<(String, i64, String)> = sqlx::query_as(
            "SELECT component_id, at, status FROM status_component_changes ORDER BY component_id, at, id",
        )
        .fetch_all(self.pool())
        .await?;
        let mut changes: HashMap<String, Vec<(Timestamp, ComponentStatus)>> = HashMap::new();
        for (component_id, at, status) in rows {
            let list = changes.entry(component_id).or_default();
            let at = from_micros(at);
            let status = status_of(&status)?;
            // Before `since` only the latest state matters (as of `since`).
            if at < since
                && let Some(last) = list.last_mut()
                && last.0 < since
            {
                *last = (at, status);
                continue;
            }
            list.push((at, status));
        }
        let incidents = self.public_incidents(None, 500).await?;
        Ok(StatusData {
            components,
            changes,
            incidents,
        })
    }
}

async fn add_update(
    tx: &mut Tx,
    page: &crate::subscribers::StatusPageOptions,
    id: &str,
    post: &PublicPost,
    now: Timestamp,
) -> Result<()> {
    let affected = set_statuses(tx, &post.components, now).await?;
    sqlx::query(
        "INSERT INTO public_updates (id, public_incident_id, status, body, created_at, affected) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(new_id())
    .bind(id.to_string())
    .bind(post.status.as_str())
    .bind(post.body.clone())
    .bind(micros(now))
    .bind((!affected.is_empty()).then(|| affected_json(&affected)))
    .execute(&mut **tx)
    .await?;
    let (monitoring, resolved) = (
        post.status == PublicStatus::Monitoring,
        post.status.is_resolved(),
    );
    sqlx::query(
        "UPDATE public_incidents SET status = $2, updated_at = $3, \
         monitoring_at = CASE WHEN $4 = 1 AND monitoring_at IS NULL THEN $3 ELSE monitoring_at END, \
         resolved_at = CASE WHEN $5 = 1 THEN COALESCE(resolved_at, $3) ELSE NULL END WHERE id = $1",
    )
    .bind(id.to_string())
    .bind(post.status.as_str())
    .bind(micros(now))
    .bind(i64::from(monitoring))
    .bind(i64::from(resolved))
    .execute(&mut **tx)
    .await?;
    let row = sqlx::query_as(
        "SELECT i.name, i.maintenance_components, \
         (SELECT COUNT(*) FROM public_updates u WHERE u.public_incident_id = i.id) AS n_updates \
         FROM public_incidents i WHERE i.id = $1",
    )
    .bind(id.to_string())
    .fetch_one(&mut **tx)
    .await?;
    let (name, window, updates): (String, Option<String>, i64) = row;
    let window: Vec<String> = window
        .as_deref()
        .and_then(|it| serde_json::from_str(it).ok())
        .unwrap_or_default();
    let notice = crate::subscribers::PublicUpdateNotice {
        incident_id: id,
        name: &name,
        seq: updates,
        post,
        affected: &affected,
        window_components: &window,
    };
    crate::subscribers::notify_subscribers(tx, page, notice, now).await
}
