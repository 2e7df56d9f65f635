//! The statements the writer's flush is made of, each reading its rows from a
//! `multirow::source`: an incident's head or whole row, its lists, plain inserts, and
//! SQLite's search rows for the events of a batch.

use std::sync::Arc;

use firebreak_core::Incident;
use serde_json::{Value, json};

use crate::db::Backend;
use crate::multirow::{self, Script};
use crate::reads::StoredEvent;
use crate::rows::{INCIDENT_COLUMNS, LIST_COLUMNS};

/// SQLite's full-text index rows for `events` (inserted just before, in the same script):
/// each event's `core::event::search_text` under the event's rowid. Events without words get
/// none.
pub(super) fn search_rows(script: &mut Script, sql: &str, events: &[Arc<StoredEvent>]) {
    let rows: Vec<Vec<Value>> = events
        .iter()
        .filter_map(|event| {
            let body = serde_json::from_str(&event.body).ok()?;
            let text = firebreak_core::event::search_text(&body);
            (!text.is_empty()).then(|| {
                multirow::row(
                    SEARCH_COLUMNS,
                    [
                        json!(event.incident_id.to_string()),
                        json!(event.seq),
                        json!(text),
                    ],
                )
            })
        })
        .collect();
    script.rows(sql, SEARCH_COLUMNS, rows);
}

/// The columns of a search row (`search_rows`).
const SEARCH_COLUMNS: &str = "incident_id, seq, text";

/// The statement `search_rows` runs (SQLite only).
pub(super) fn search_sql() -> String {
    format!(
        "INSERT INTO search_fts (rowid, text) SELECT e.rowid, j.text FROM {} AS j \
         JOIN events e ON e.incident_id = j.incident_id AND e.seq = j.seq",
        multirow::source(Backend::Sqlite, "search_fts", SEARCH_COLUMNS)
    )
}

/// Whether an incident's row needs more than its head (`last_seq`, `last_hash`, and the
/// `updated_at` and `wake_at` every write sets): a column it holds differs. The lists live in
/// `incident_lists` and are written apart (`Batch::lists_dirty`). Destructured without `..`,
/// so a field added to `Incident` has to be placed here.
pub(super) fn row_changed(before: &Incident, after: &Incident) -> bool {
    let Incident {
        id,
        reference,
        title,
        summary,
        severity,
        incident_type,
        impact,
        affected,
        services,
        private,
        mode,
        status,
        roles,
        members,
        freeze,
        actions: _,
        tasks: _,
        playbooks: _,
        next_update_due,
        notices,
        updates_posted,
        coordination: _,
        timestamps,
        merged_into,
        created_by,
        last_seq: _,
        last_hash: _,
    } = after;
    *id != before.id
        || *reference != before.reference
        || *title != before.title
        || *summary != before.summary
        || *severity != before.severity
        || *incident_type != before.incident_type
        || *impact != before.impact
        || *affected != before.affected
        || *services != before.services
        || *private != before.private
        || *mode != before.mode
        || *status != before.status
        || *roles != before.roles
        || *members != before.members
        || *freeze != before.freeze
        || *next_update_due != before.next_update_due
        || *notices != before.notices
        || *updates_posted != before.updates_posted
        || *timestamps != before.timestamps
        || *merged_into != before.merged_into
        || *created_by != before.created_by
}

/// The columns of an incident's head, which every write that adds events sets.
pub(super) const HEAD_COLUMNS: &str = "id, last_seq, last_hash, updated_at, wake_at";

/// Writes the head (`HEAD_COLUMNS`) of the incidents in its rows.
pub(super) fn head_update_sql(backend: Backend) -> String {
    format!(
        "UPDATE incidents SET last_seq = j.last_seq, last_hash = j.last_hash, \
         updated_at = j.updated_at, wake_at = j.wake_at FROM {} AS j WHERE incidents.id = j.id",
        multirow::source(backend, "incidents", HEAD_COLUMNS)
    )
}

/// An upsert of the incidents in its rows; `created_by`, `number` and `declared_at` never
/// change. (`WHERE true` tells SQLite's parser that `ON CONFLICT` belongs to the insert, not
/// to the select's join.)
pub(super) fn upsert_sql(backend: Backend) -> String {
    let updates: Vec<String> = INCIDENT_COLUMNS
        .split(", ")
        .filter(|it| !matches!(*it, "id" | "number" | "declared_at" | "created_by"))
        .map(|it| format!("{it} = excluded.{it}"))
        .collect();
    format!(
        "INSERT INTO incidents ({INCIDENT_COLUMNS}) SELECT {INCIDENT_COLUMNS} FROM {} AS j \
         WHERE true ON CONFLICT (id) DO UPDATE SET {}",
        multirow::source(backend, "incidents", INCIDENT_COLUMNS),
        updates.join(", ")
    )
}

/// An upsert of the incident lists in its rows.
pub(super) fn lists_sql(backend: Backend) -> String {
    format!(
        "INSERT INTO incident_lists ({LIST_COLUMNS}) SELECT {LIST_COLUMNS} FROM {} AS j WHERE true \
         ON CONFLICT (incident_id) DO UPDATE SET actions = excluded.actions, tasks = excluded.tasks, \
         playbooks = excluded.playbooks, coordination = excluded.coordination",
        multirow::source(backend, "incident_lists", LIST_COLUMNS)
    )
}

/// An insert of its rows into `table`.
/// The outbox rows of a batch's events, `columns` from the source. Where no webhook is active
/// they are written already processed: nothing would fan them out, and marking them later
/// was a write transaction of its own, taking the write lock from the batches. The flush's
/// own statement asks, so on SQLite a webhook made before the batch began gets its events;
/// on PostgreSQL one committed before the statement does.
pub(super) fn outbox_sql(backend: Backend, columns: &str) -> String {
    format!(
        "INSERT INTO outbox ({columns}, processed_at) SELECT {columns}, \
         CASE WHEN EXISTS (SELECT 1 FROM webhooks WHERE deleted_at IS NULL AND active = 1) \
         THEN NULL ELSE j.created_at END FROM {} AS j",
        multirow::source(backend, "outbox", columns)
    )
}
