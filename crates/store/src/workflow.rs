//! Playbooks and rules made through the API. The store keeps them as JSON and does not read
//! them: a `Rebuild` function given at open (the server's settings) turns the stored items
//! into the catalog, at open and whenever they change — here, or on another replica (a
//! PostgreSQL NOTIFY). Each write batch takes the catalog once, so a batch never sees two.

use std::sync::Arc;

use firebreak_core::Catalog;
use jiff::Timestamp;

use crate::clock::{from_micros, micros};
use crate::db::Backend;
use crate::{Result, Store, StoreError};

pub const CHANNEL: &str = "firebreak_workflow";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkflowItem {
    /// `playbook` or `rule`.
    pub kind: String,
    pub name: String,
    pub position: i64,
    /// The item as JSON, in the settings file's shape.
    pub body: String,
    pub updated_at: Timestamp,
    pub updated_by: String,
}

/// Builds the catalog from the stored items; an error keeps the catalog as it was.
pub type Rebuild = Arc<dyn Fn(&[WorkflowItem]) -> Result<Catalog, String> + Send + Sync>;

impl Store {
    /// Every stored item, rules in the order they were added.
    pub async fn workflow_items(&self) -> Result<Vec<WorkflowItem>> {
        let mut conn = self.pool().acquire().await?;
        read_items(&mut conn).await
    }

    /// Creates or replaces an item. `check` sees every item as it would be and refuses with
    /// a reason; nothing is written then. Answers true when the item is new.
    pub async fn put_workflow_item(
        &self,
        (kind, name, body): (&str, &str, &str),
        actor: &str,
        now: Timestamp,
        check: &(dyn Fn(&[WorkflowItem]) -> Result<Catalog, String> + Send + Sync),
    ) -> Result<bool> {
        // Read, check and write in one transaction, so two admins' edits do not pass each
        // other's check unseen (SQLite takes the write lock at BEGIN).
        let mut tx = self.begin_write().await?;
        let mut items = read_items(&mut tx).await?;
        let existing = items
            .iter()
            .position(|it| it.kind == kind && it.name == name);
        let position = match existing {
            Some(idx) => items[idx].position,
            None => items.iter().map(|it| it.position).max().unwrap_or(0) + 1,
        };
        let item = WorkflowItem {
            kind: kind.to_string(),
            name: name.to_string(),
            position,
            body: body.to_string(),
            updated_at: now,
            updated_by: actor.to_string(),
        };
        match existing {
            Some(idx) => items[idx] = item,
            None => items.push(item),
        }
        let catalog = check(&items).map_err(StoreError::Conflict)?;
        sqlx::query(
            "INSERT INTO workflow_items (kind, name, position, body, updated_at, updated_by) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (kind, name) DO UPDATE SET \
             body = excluded.body, updated_at = excluded.updated_at, updated_by = excluded.updated_by",
        )
        .bind(kind.to_string())
        .bind(name.to_string())
        .bind(position)
        .bind(body.to_string())
        .bind(micros(now))
        .bind(actor.to_string())
        .execute(&mut *tx)
        .await?;
        self.announce_workflow(&mut tx).await?;
        tx.commit().await?;
        self.set_catalog(catalog);
        Ok(existing.is_none())
    }

    /// Removes an item; `check` sees the rest (a rule may still name a playbook).
    pub async fn delete_workflow_item(
        &self,
        (kind, name): (&str, &str),
        check: &(dyn Fn(&[WorkflowItem]) -> Result<Catalog, String> + Send + Sync),
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let mut items = read_items(&mut tx).await?;
        let before = items.len();
        items.retain(|it| !(it.kind == kind && it.name == name));
        if items.len() == before {
            return Err(StoreError::NotFound("workflow item"));
        }
        let catalog = check(&items).map_err(StoreError::Conflict)?;
        sqlx::query("DELETE FROM workflow_items WHERE kind = $1 AND name = $2")
            .bind(kind.to_string())
            .bind(name.to_string())
            .execute(&mut *tx)
            .await?;
        self.announce_workflow(&mut tx).await?;
        tx.commit().await?;
        self.set_catalog(catalog);
        Ok(())
    }

    /// Tells the other replicas (on commit) to rebuild their catalog.
    async fn announce_workflow(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    ) -> Result<()> {
        if self.backend() == Backend::Postgres {
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(CHANNEL)
                .bind(self.replica_id().to_string())
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }

    /// Reads the stored items and rebuilds the catalog with the function given at open.
    pub async fn reload_workflow(&self) -> Result<()> {
        let Some(rebuild) = self.rebuild() else {
            return Ok(());
        };
        let items = self.workflow_items().await?;
        match rebuild(&items) {
            Ok(catalog) => self.set_catalog(catalog),
            Err(reason) => {
                tracing::error!(%reason, "stored playbooks and rules do not fit the settings; keeping the previous ones");
            }
        }
        Ok(())
    }
}

async fn read_items(conn: &mut sqlx::AnyConnection) -> Result<Vec<WorkflowItem>> {
    let rows: Vec<(String, String, i64, String, i64, String)> = sqlx::query_as(
        "SELECT kind, name, position, body, updated_at, updated_by FROM workflow_items \
         ORDER BY kind, position, name",
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(kind, name, position, body, updated_at, updated_by)| WorkflowItem {
                kind,
                name,
                position,
                body,
                updated_at: from_micros(updated_at),
                updated_by,
            },
        )
        .collect())
}
