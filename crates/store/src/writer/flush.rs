//! The flush: everything a batch wrote, in one script (`multirow::Script`) of a few
//! statements whose text does not change with the batch (`multirow::source`).

use serde_json::json;
use sqlx::{Any, Transaction};

use firebreak_core::{Catalog, Incident};

use super::Batch;
use super::statements::{
    HEAD_COLUMNS, head_update_sql, lists_sql, outbox_sql, search_rows, search_sql, upsert_sql,
};
use crate::Result;
use crate::clock::micros;
use crate::db::Backend;
use crate::multirow::{self, PerBackend, Script};
use crate::rows::{INCIDENT_COLUMNS, LIST_COLUMNS, incident_row, lists_row};

/// The columns the flush writes of an event, its outbox row and a command's claim.
const EVENT_COLUMNS: &str =
    "incident_id, seq, kind, actor, observed_at, occurred_at, body, prev_hash, hash";
const OUTBOX_COLUMNS: &str = "incident_id, seq, kind, private, created_at";
const CLAIM_COLUMNS: &str = "id, incident_id, first_seq, last_seq, created, created_at";

/// Each backend's flush statements, built the first time its flush runs.
static FLUSH_SQL: PerBackend<FlushSql> = PerBackend::new(FlushSql::new);

/// The flush's statements. Their text never changes, so each backend's are built once.
struct FlushSql {
    heads: String,
    upsert: String,
    lists: String,
    events: String,
    search: String,
    outbox: String,
    claims: String,
}

impl FlushSql {
    fn new(backend: Backend) -> FlushSql {
        FlushSql {
            heads: head_update_sql(backend),
            upsert: upsert_sql(backend),
            lists: lists_sql(backend),
            events: multirow::insert_sql(backend, "events", EVENT_COLUMNS),
            search: search_sql(),
            outbox: outbox_sql(backend, OUTBOX_COLUMNS),
            claims: multirow::insert_sql(backend, "command_claims", CLAIM_COLUMNS),
        }
    }
}

impl Batch {
    /// Each command's claim, in the flush's script.
    fn write_claims(&self, script: &mut Script) {
        let now = micros(self.now);
        let rows = self
            .claims
            .iter()
            .map(|(id, incident_id, first, last, created)| {
                multirow::row(
                    CLAIM_COLUMNS,
                    [
                        json!(id.to_string()),
                        json!(incident_id),
                        json!(first),
                        json!(last),
                        json!(i64::from(*created)),
                        json!(now),
                    ],
                )
            })
            .collect();
        script.rows(&FLUSH_SQL.of(self.backend).claims, CLAIM_COLUMNS, rows);
    }

    /// Writes incident rows first (events refer to them), then events, outbox rows and each
    /// command's claim, then the notifications and chat work the events owe.
    pub(super) async fn flush(
        &self,
        tx: &mut Transaction<'_, Any>,
        catalog: &Catalog,
        public_url: &str,
    ) -> Result<()> {
        let now = micros(self.now);
        let backend = self.backend;
        let sql = FLUSH_SQL.of(backend);
        let mut script = Script::new(backend);
        let (rows, heads): (Vec<&Incident>, Vec<&Incident>) = self
            .dirty
            .iter()
            .filter_map(|id| self.incidents.get(id).map(|it| &**it))
            .partition(|it| self.rows_dirty.contains(&it.id.0));
        let wake_at =
            |incident: &Incident| firebreak_core::due::wake_at(incident, catalog).map(micros);
        let heads = heads
            .iter()
            .map(|incident| {
                multirow::row(
                    HEAD_COLUMNS,
                    [
                        json!(incident.id.0.to_string()),
                        json!(incident.last_seq),
                        json!(incident.last_hash),
                        json!(now),
                        json!(wake_at(incident)),
                    ],
                )
            })
            .collect();
        script.rows(&sql.heads, HEAD_COLUMNS, heads);
        let rows = rows
            .iter()
            .map(|incident| {
                let declared_at = incident
                    .timestamp(firebreak_core::TimestampName::Declared)
                    .observed
                    .map(micros)
                    .unwrap_or(now);
                incident_row(incident, (declared_at, now), wake_at(incident))
            })
            .collect();
        script.rows(&sql.upsert, INCIDENT_COLUMNS, rows);
        let lists = self
            .lists_dirty
            .iter()
            .filter_map(|id| self.incidents.get(id))
            .map(|incident| lists_row(incident))
            .collect();
        script.rows(&sql.lists, LIST_COLUMNS, lists);
        let events = self
            .events
            .iter()
            .map(|event| {
                multirow::row(
                    EVENT_COLUMNS,
                    [
                        json!(event.incident_id.to_string()),
                        json!(event.seq),
                        json!(event.kind.as_str()),
                        json!(event.actor.to_string()),
                        json!(event.observed_at_us),
                        json!(event.occurred_at_us),
                        json!(event.body),
                        json!(event.prev_hash),
                        json!(event.hash),
                    ],
                )
            })
            .collect();
        script.rows(&sql.events, EVENT_COLUMNS, events);
        if backend == Backend::Sqlite {
            search_rows(&mut script, &sql.search, &self.events);
        }
        // The outgoing work of these events, queued in the same transaction: it exists
        // exactly when the events do.
        let outbox = self
            .events
            .iter()
            .map(|event| {
                multirow::row(
                    OUTBOX_COLUMNS,
                    [
                        json!(event.incident_id.to_string()),
                        json!(event.seq),
                        json!(event.kind.as_str()),
                        json!(i64::from(event.private)),
                        json!(now),
                    ],
                )
            })
            .collect();
        script.rows(&sql.outbox, OUTBOX_COLUMNS, outbox);
        self.write_claims(&mut script);
        script.run(tx).await?;
        // Notifications are outbox work too: queued with their events, never apart.
        for event in &self.events {
            if !event.kind.notifies() {
                continue;
            }
            let Some(incident) = self.incidents.get(&event.incident_id.0) else {
                continue;
            };
            crate::notifications::queue(tx, (incident, event), catalog, public_url, self.now)
                .await?;
        }
        // And so is chat work.
        if catalog.chat.is_some() {
            for event in &self.events {
                let Some(incident) = self.incidents.get(&event.incident_id.0) else {
                    continue;
                };
                crate::chat::queue(tx, (incident, event), catalog, self.now).await?;
            }
        }
        Ok(())
    }
}
