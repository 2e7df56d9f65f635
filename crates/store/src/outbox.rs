//! The outbox and its first consumer, outgoing webhooks. (Notifications are queued by the
//! writer itself, in the transaction of their event: `notifications.rs`.)
//!
//! Events queue an outbox row in their own transaction. `fan_out_once` turns outbox rows into
//! one delivery per matching webhook; `claim_deliveries` hands out, per webhook and incident,
//! only the oldest pending delivery, so a receiver gets an incident's events in order even
//! after being down for a while. Failed deliveries back off; after the last try they are
//! dead-lettered and visible through the API.

use firebreak_core::EventKind;
use firebreak_core::retry::RetryPolicy;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use sqlx::FromRow;
use sqlx::any::AnyRow;
use uuid::Uuid;

use crate::clock::{from_micros, micros};
use crate::db::Backend;
use crate::{Result, Store, StoreError};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Webhook {
    pub id: Uuid,
    pub url: String,
    pub description: String,
    /// Empty means every kind.
    pub event_kinds: Vec<EventKind>,
    pub include_private: bool,
    pub active: bool,
    pub created_at: Timestamp,
}

#[derive(Clone, Debug)]
pub struct NewWebhook {
    pub url: String,
    pub secret: String,
    pub description: String,
    pub event_kinds: Vec<EventKind>,
    pub include_private: bool,
    pub active: bool,
}

#[derive(Clone, Debug, Default)]
pub struct WebhookPatch {
    pub url: Option<String>,
    pub description: Option<String>,
    pub event_kinds: Option<Vec<EventKind>>,
    pub include_private: Option<bool>,
    pub active: Option<bool>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    pub row_id: i64,
    pub delivery_id: Uuid,
    pub webhook_id: Uuid,
    pub incident_id: String,
    pub seq: i64,
    pub kind: String,
    pub payload: String,
    /// `pending`, `delivered` or `dead`.
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: Timestamp,
    pub last_error: Option<String>,
    pub last_status_code: Option<i64>,
    pub created_at: Timestamp,
    pub delivered_at: Option<Timestamp>,
}

/// A delivery handed to a worker, with what it needs to send it.
#[derive(Clone, Debug)]
pub struct ClaimedDelivery {
    pub delivery: Delivery,
    pub url: String,
    pub secret: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeliveryOutcome {
    Delivered {
        status_code: i64,
    },
    Failed {
        status_code: Option<i64>,
        error: String,
    },
}

const WEBHOOK_COLUMNS: &str =
    "id, url, description, event_kinds, include_private, active, created_at";
const DELIVERY_COLUMNS: &str = "d.id, d.delivery_id, d.webhook_id, d.incident_id, d.seq, d.kind, d.payload, d.status, \
    d.attempts, d.next_attempt_at, d.last_error, d.last_status_code, d.created_at, d.delivered_at";

fn uuid(col: &str, text: &str) -> Result<Uuid> {
    Uuid::parse_str(text).map_err(|_| StoreError::Corrupt(format!("{col} {text:?}")))
}

fn kinds_json(kinds: &[EventKind]) -> String {
    json!(kinds.iter().map(|it| it.as_str()).collect::<Vec<_>>()).to_string()
}

/// A webhook as `WEBHOOK_COLUMNS` reads it.
#[derive(sqlx::FromRow)]
struct WebhookRow {
    id: String,
    url: String,
    description: String,
    event_kinds: String,
    include_private: i64,
    active: i64,
    created_at: i64,
}

impl TryFrom<WebhookRow> for Webhook {
    type Error = StoreError;

    fn try_from(row: WebhookRow) -> Result<Webhook> {
        let kinds = &row.event_kinds;
        Ok(Webhook {
            id: uuid("id", &row.id)?,
            url: row.url,
            description: row.description,
            event_kinds: serde_json::from_str::<Vec<String>>(kinds)
                .ok()
                .and_then(|it| it.iter().map(|kind| EventKind::parse(kind)).collect())
                .ok_or_else(|| StoreError::Corrupt(format!("event_kinds {kinds:?}")))?,
            include_private: row.include_private != 0,
            active: row.active != 0,
            created_at: from_micros(row.created_at),
        })
    }
}

fn webhook_from_row(row: &AnyRow) -> Result<Webhook> {
    Webhook::try_from(WebhookRow::from_row(row)?)
}

/// A delivery as `DELIVERY_COLUMNS` reads it.
#[derive(sqlx::FromRow)]
struct DeliveryRow {
    id: i64,
    delivery_id: String,
    webhook_id: String,
    incident_id: String,
    seq: i64,
    kind: String,
    payload: String,
    status: String,
    attempts: i64,
    next_attempt_at: i64,
    last_error: Option<String>,
    last_status_code: Option<i64>,
    created_at: i64,
    delivered_at: Option<i64>,
}

impl TryFrom<DeliveryRow> for Delivery {
    type Error = StoreError;

    fn try_from(row: DeliveryRow) -> Result<Delivery> {
        Ok(Delivery {
            row_id: row.id,
            delivery_id: uuid("delivery_id", &row.delivery_id)?,
            webhook_id: uuid("webhook_id", &row.webhook_id)?,
            incident_id: row.incident_id,
            seq: row.seq,
            kind: row.kind,
            payload: row.payload,
            status: row.status,
            attempts: row.attempts,
            next_attempt_at: from_micros(row.next_attempt_at),
            last_error: row.last_error,
            last_status_code: row.last_status_code,
            created_at: from_micros(row.created_at),
            delivered_at: row.delivered_at.map(from_micros),
        })
    }
}

/// An event as a webhook delivery carries it.
#[derive(sqlx::FromRow)]
struct OutgoingEventRow {
    actor: String,
    observed_at: i64,
    occurred_at: i64,
    body: String,
    hash: String,
    number: i64,
}

/// A delivery claimed for sending, with where it goes.
#[derive(sqlx::FromRow)]
struct ClaimedRow {
    #[sqlx(flatten)]
    delivery: DeliveryRow,
    url: String,
    secret: String,
}

fn delivery_from_row(row: &AnyRow) -> Result<Delivery> {
    Delivery::try_from(DeliveryRow::from_row(row)?)
}

fn id_list(ids: &[i64]) -> String {
    ids.iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

impl Store {
    pub async fn create_webhook(&self, new: NewWebhook, now: Timestamp) -> Result<Webhook> {
        let id = Uuid::now_v7();
        sqlx::query(
            "INSERT INTO webhooks (id, url, secret, description, event_kinds, include_private, active, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(id.to_string())
        .bind(new.url)
        .bind(new.secret)
        .bind(new.description)
        .bind(kinds_json(&new.event_kinds))
        .bind(i64::from(new.include_private))
        .bind(i64::from(new.active))
        .bind(micros(now))
        .execute(self.pool())
        .await?;
        self.webhook(id).await
    }

    pub async fn webhook(&self, id: Uuid) -> Result<Webhook> {
        let sql =
            format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE id = $1 AND deleted_at IS NULL");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id.to_string())
            .fetch_optional(self.pool())
            .await?;
        webhook_from_row(&row.ok_or(StoreError::NotFound("webhook"))?)
    }

    pub async fn webhooks(&self) -> Result<Vec<Webhook>> {
        let sql = format!(
            "SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE deleted_at IS NULL ORDER BY created_at, id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(webhook_from_row).collect()
    }

    pub async fn update_webhook(&self, id: Uuid, patch: WebhookPatch) -> Result<Webhook> {
        let current = self.webhook(id).await?;
        sqlx::query("UPDATE webhooks SET url = $2, description = $3, event_kinds = $4, include_private = $5, active = $6 WHERE id = $1")
            .bind(id.to_string())
            .bind(patch.url.unwrap_or(current.url))
            .bind(patch.description.unwrap_or(current.description))
            .bind(kinds_json(&patch.event_kinds.unwrap_or(current.event_kinds)))
            .bind(i64::from(patch.include_private.unwrap_or(current.include_private)))
            .bind(i64::from(patch.active.unwrap_or(current.active)))
            .execute(self.pool())
            .await?;
        self.webhook(id).await
    }

    /// Soft delete: pending deliveries stop, the delivery history stays readable.
    pub async fn delete_webhook(&self, id: Uuid, now: Timestamp) -> Result<()> {
        let done = sqlx::query(
            "UPDATE webhooks SET deleted_at = $2, active = 0 WHERE id = $1 AND deleted_at IS NULL",
        )
        .bind(id.to_string())
        .bind(micros(now))
        .execute(self.pool())
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("webhook"));
        }
        Ok(())
    }

    /// With no active webhook, outbox rows only need marking processed. The writer writes
    /// them processed already while none is active (`writer::statements::outbox_sql`), so
    /// what is pending here was left by one since deleted or paused. A read first: most
    /// installations have no webhook, and a step that took the write lock for nothing was a
    /// transaction and a commit the writer's batches waited behind.
    async fn settle_outbox(&self, now: Timestamp) -> Result<usize> {
        let pending: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM outbox WHERE processed_at IS NULL ORDER BY id LIMIT 1",
        )
        .fetch_optional(self.pool())
        .await?;
        if pending.is_none() {
            return Ok(0);
        }
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE outbox SET processed_at = $1 WHERE id IN \
             (SELECT id FROM outbox WHERE processed_at IS NULL ORDER BY id LIMIT 5000)",
        )
        .bind(micros(now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(done.rows_affected() as usize)
    }

    /// Turns up to 500 outbox rows into deliveries. Returns how many rows it processed.
    pub async fn fan_out_once(&self, now: Timestamp) -> Result<usize> {
        // Read first, without the write lock: most installations have no webhook.
        let subscribed: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM webhooks WHERE deleted_at IS NULL AND active = 1 LIMIT 1",
        )
        .fetch_optional(self.pool())
        .await?;
        if subscribed.is_none() {
            return self.settle_outbox(now).await;
        }
        let mut tx = self.begin_write().await?;
        if self.backend() == Backend::Postgres {
            // One fan-out at a time across replicas keeps delivery order equal to event order.
            sqlx::query("SELECT pg_advisory_xact_lock(7242001)")
                .execute(&mut *tx)
                .await?;
        }
        let hooks: Vec<Webhook> = {
            let sql = format!(
                "SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE deleted_at IS NULL AND active = 1"
            );
            let hook_rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                .fetch_all(&mut *tx)
                .await?;
            hook_rows
                .iter()
                .map(webhook_from_row)
                .collect::<Result<_>>()?
        };
        if hooks.is_empty() {
            // The last one went since the check above: a later step settles the backlog.
            tx.commit().await?;
            return Ok(0);
        }
        let rows: Vec<(i64, String, i64, String, i64)> = sqlx::query_as(
            "SELECT id, incident_id, seq, kind, private FROM outbox WHERE processed_at IS NULL ORDER BY id LIMIT 500",
        )
        .fetch_all(&mut *tx)
        .await?;
        if rows.is_empty() {
            tx.commit().await?;
            return Ok(0);
        }
        let mut ids = Vec::with_capacity(rows.len());
        for (id, incident_id, seq, kind_text, private) in rows {
            ids.push(id);
            let kind = EventKind::parse(&kind_text)
                .ok_or_else(|| StoreError::Corrupt(format!("outbox kind {kind_text:?}")))?;
            let matching: Vec<&Webhook> = hooks
                .iter()
                .filter(|hook| hook.event_kinds.is_empty() || hook.event_kinds.contains(&kind))
                .filter(|hook| private == 0 || hook.include_private)
                .collect();
            if matching.is_empty() {
                continue;
            }
            let event: OutgoingEventRow = sqlx::query_as(
                "SELECT e.actor, e.observed_at, e.occurred_at, e.body, e.hash, i.number \
                 FROM events e JOIN incidents i ON i.id = e.incident_id WHERE e.incident_id = $1 AND e.seq = $2",
            )
            .bind(incident_id.clone())
            .bind(seq)
            .fetch_one(&mut *tx)
            .await?;
            let event_json = json!({
                "incident_id": incident_id,
                "incident_reference": format!("INC-{}", event.number),
                "seq": seq,
                "kind": kind.as_str(),
                "actor": event.actor,
                "observed_at": from_micros(event.observed_at).to_string(),
                "occurred_at": from_micros(event.occurred_at).to_string(),
                "body": serde_json::from_str::<Value>(&event.body).unwrap_or(Value::Null),
                "hash": event.hash,
            });
            for hook in matching {
                let delivery_id = Uuid::now_v7();
                let payload = json!({ "delivery_id": delivery_id.to_string(), "webhook_id": hook.id.to_string(), "event": event_json });
                sqlx::query(
                    "INSERT INTO webhook_deliveries (delivery_id, webhook_id, incident_id, seq, kind, payload, status, next_attempt_at, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $7)",
                )
                .bind(delivery_id.to_string())
                .bind(hook.id.to_string())
                .bind(incident_id.clone())
                .bind(seq)
                .bind(kind.as_str())
                .bind(payload.to_string())
                .bind(micros(now))
                .execute(&mut *tx)
                .await?;
            }
        }
        let sql = format!(
            "UPDATE outbox SET processed_at = $1 WHERE id IN ({})",
            id_list(&ids)
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(micros(now))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(ids.len())
    }

    /// Leases up to `limit` due deliveries: for each webhook and incident only the oldest
    /// pending one, so order is kept. A lease that runs out (a crashed worker) frees it again.
    pub async fn claim_deliveries(
        &self,
        now: Timestamp,
        limit: i64,
        lease: SignedDuration,
    ) -> Result<Vec<ClaimedDelivery>> {
        let due = "FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id \
             WHERE d.status = 'pending' AND d.next_attempt_at <= $1 AND (d.lease_until IS NULL OR d.lease_until < $1) \
             AND w.deleted_at IS NULL AND w.active = 1 \
             AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e WHERE e.webhook_id = d.webhook_id \
                 AND e.incident_id = d.incident_id AND e.status = 'pending' AND e.seq < d.seq)";
        if !self.any_due(due, now).await? {
            return Ok(Vec::new());
        }
        let mut tx = self.begin_write().await?;
        let lock = if self.backend() == Backend::Postgres {
            " FOR UPDATE OF d SKIP LOCKED"
        } else {
            ""
        };
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS}, w.url, w.secret {due} ORDER BY d.id LIMIT {limit}{lock}"
        );
        let rows: Vec<ClaimedRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(micros(now))
            .fetch_all(&mut *tx)
            .await?;
        let mut claimed = Vec::with_capacity(rows.len());
        for row in rows {
            claimed.push(ClaimedDelivery {
                delivery: row.delivery.try_into()?,
                url: row.url,
                secret: row.secret,
            });
        }
        if !claimed.is_empty() {
            let ids: Vec<i64> = claimed.iter().map(|it| it.delivery.row_id).collect();
            let sql = format!(
                "UPDATE webhook_deliveries SET lease_until = $1 WHERE id IN ({})",
                id_list(&ids)
            );
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(micros(now + lease))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(claimed)
    }

    /// Whether `due` (`FROM … WHERE …`, with the time as `$1`) finds any row, read without
    /// a write transaction: a worker that polls for due work takes the database's write lock
    /// (on SQLite, the one the batching writer needs for every batch) only when there is some.
    pub(crate) async fn any_due(&self, due: &str, now: Timestamp) -> Result<bool> {
        let sql = format!("SELECT 1 AS found {due} LIMIT 1");
        let found = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(micros(now))
            .fetch_optional(self.pool())
            .await?;
        Ok(found.is_some())
    }

    pub async fn record_delivery(
        &self,
        delivery: &Delivery,
        outcome: &DeliveryOutcome,
        policy: &RetryPolicy,
        now: Timestamp,
    ) -> Result<()> {
        let attempts = delivery.attempts + 1;
        match outcome {
            DeliveryOutcome::Delivered { status_code } => {
                sqlx::query(
                    "UPDATE webhook_deliveries SET status = 'delivered', attempts = $2, delivered_at = $3, lease_until = NULL, \
                     last_status_code = $4, last_error = NULL WHERE id = $1",
                )
                .bind(delivery.row_id)
                .bind(attempts)
                .bind(micros(now))
                .bind(*status_code)
                .execute(self.pool())
                .await?;
            }
            DeliveryOutcome::Failed { status_code, error } => {
                let (status, next) = match policy.next_attempt(attempts, now) {
                    Some(next) => ("pending", next),
                    None => ("dead", now),
                };
                sqlx::query(
                    "UPDATE webhook_deliveries SET status = $2, attempts = $3, next_attempt_at = $4, lease_until = NULL, \
                     last_status_code = $5, last_error = $6 WHERE id = $1",
                )
                .bind(delivery.row_id)
                .bind(status)
                .bind(attempts)
                .bind(micros(next))
                .bind(*status_code)
                .bind(error.chars().take(1000).collect::<String>())
                .execute(self.pool())
                .await?;
                if status == "dead" {
                    tracing::warn!(delivery = %delivery.delivery_id, webhook = %delivery.webhook_id, "webhook delivery dead-lettered");
                }
            }
        }
        Ok(())
    }

    /// Newest first; `status` filters to `pending`, `delivered` or `dead`.
    pub async fn deliveries(
        &self,
        webhook_id: Uuid,
        status: Option<&str>,
        limit: i64,
    ) -> Result<Vec<Delivery>> {
        let filter = if status.is_some() {
            " AND d.status = $2"
        } else {
            ""
        };
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries d WHERE d.webhook_id = $1{filter} ORDER BY d.id DESC LIMIT {}",
            limit.clamp(1, 500)
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(webhook_id.to_string());
        if let Some(status) = status {
            query = query.bind(status.to_string());
        }
        let rows = query.fetch_all(self.pool()).await?;
        rows.iter().map(delivery_from_row).collect()
    }

    /// Puts a dead delivery back in the queue for another full round of attempts.
    pub async fn retry_delivery(
        &self,
        webhook_id: Uuid,
        delivery_id: Uuid,
        now: Timestamp,
    ) -> Result<()> {
        let done = sqlx::query(
            "UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = $3, lease_until = NULL \
             WHERE webhook_id = $1 AND delivery_id = $2 AND status = 'dead'",
        )
        .bind(webhook_id.to_string())
        .bind(delivery_id.to_string())
        .bind(micros(now))
        .execute(self.pool())
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict(
                "only a dead delivery of this webhook can be retried".into(),
            ));
        }
        self.wake_outbox();
        Ok(())
    }

    /// Outbox rows not yet fanned out, and webhook deliveries plus notifications still
    /// pending, for `/metrics`.
    pub async fn backlog(&self) -> Result<(i64, i64, i64)> {
        let outbox: i64 =
            sqlx::query_scalar("SELECT COUNT(*) AS n FROM outbox WHERE processed_at IS NULL")
                .fetch_one(self.pool())
                .await?;
        let (deliveries, notifications): (i64, i64) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'pending') AS deliveries, \
             (SELECT COUNT(*) FROM notifications WHERE status = 'pending') AS notifications",
        )
        .fetch_one(self.pool())
        .await?;
        Ok((outbox, deliveries, notifications))
    }
}
