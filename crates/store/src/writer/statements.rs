//! The statements the writer's flush is made of: an incident's head or whole row, and
//! SQLite's search rows for the events of a batch.

use std::sync::Arc;

use firebreak_core::Incident;

use crate::db::Backend;
use crate::multirow::{self, Script};
use crate::reads::StoredEvent;
use crate::rows::INCIDENT_COLUMNS;

/// SQLite's full-text index rows for `events` (just inserted by the same script): each
/// event's `core::event::search_text` under the event's rowid. Events without words get none.
pub(super) fn search_rows(script: &mut Script, events: &[Arc<StoredEvent>]) {
    let words: Vec<(&StoredEvent, String)> = events
        .iter()
        .filter_map(|event| {
            let body = serde_json::from_str(&event.body).ok()?;
            let text = firebreak_core::event::search_text(&body);
            (!text.is_empty()).then_some((event.as_ref(), text))
        })
        .collect();
    for (start, len) in multirow::chunks(words.len()) {
        script.statement(format!(
            "INSERT INTO search_fts (rowid, text) SELECT e.rowid, v.column3 FROM (VALUES {}) AS v \
             JOIN events e ON e.incident_id = v.column1 AND e.seq = v.column2",
            multirow::values(Backend::Sqlite, len, 3)
        ));
        for (event, text) in &words[start..start + len] {
            script
                .bind(event.incident_id.to_string())
                .bind(event.seq)
                .bind(text.clone());
        }
    }
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

/// Writes the head of `n_rows` incidents (id, last_seq, last_hash, updated_at, wake_at).
pub(super) fn head_update_sql(backend: Backend, n_rows: usize) -> String {
    let values = multirow::values(backend, n_rows, 5);
    match backend {
        Backend::Sqlite => format!(
            "UPDATE incidents SET last_seq = v.column2, last_hash = v.column3, updated_at = v.column4, \
             wake_at = v.column5 FROM (VALUES {values}) AS v WHERE incidents.id = v.column1"
        ),
        Backend::Postgres => format!(
            "UPDATE incidents SET last_seq = v.last_seq, last_hash = v.last_hash, updated_at = v.updated_at, \
             wake_at = v.wake_at FROM (VALUES {values}) AS v (id, last_seq, last_hash, updated_at, wake_at) \
             WHERE incidents.id = v.id"
        ),
    }
}

/// An upsert of `n_rows` incidents; `created_by`, `number` and `declared_at` never change.
pub(super) fn upsert_sql(backend: Backend, n_rows: usize) -> String {
    let columns: Vec<&str> = INCIDENT_COLUMNS.split(", ").collect();
    let updates: Vec<String> = columns
        .iter()
        .filter(|it| !matches!(**it, "id" | "number" | "declared_at" | "created_by"))
        .map(|it| format!("{it} = excluded.{it}"))
        .collect();
    format!(
        "INSERT INTO incidents ({}) VALUES {} ON CONFLICT (id) DO UPDATE SET {}",
        columns.join(", "),
        multirow::values(backend, n_rows, columns.len()),
        updates.join(", ")
    )
}
