//! Notifications: the writer queues one row per event and recipient (who and in which words,
//! decided by `core::notify`) in the transaction of the event itself, so a notification
//! exists exactly when its event does; the delivery worker claims, sends and records them
//! with the same retry policy as webhooks. `UNIQUE (incident_id, seq, channel, address)`
//! backs that up.

use firebreak_core::notify::{self, Brief, Channel};
use firebreak_core::retry::RetryPolicy;
use firebreak_core::{Catalog, EventData, EventKind, Incident};
use jiff::{SignedDuration, Timestamp};
use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::{Any, Transaction};
use uuid::Uuid;

use crate::clock::{from_micros, micros};
use crate::db::Backend;
use crate::outbox::DeliveryOutcome;
use crate::reads::StoredEvent;
use crate::{Result, Store, StoreError};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notification {
    pub row_id: i64,
    pub notification_id: Uuid,
    pub incident_id: String,
    pub seq: i64,
    pub kind: String,
    pub target: String,
    pub channel: Channel,
    pub address: String,
    pub subject: String,
    pub body: String,
    /// `pending`, `sent` or `dead`.
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: Timestamp,
    pub last_error: Option<String>,
    pub created_at: Timestamp,
    pub sent_at: Option<Timestamp>,
    /// A subscriber webhook's own signing secret (rule targets use theirs from the settings).
    pub secret: Option<String>,
    /// An iCalendar invitation to send with the email.
    pub calendar: Option<String>,
    /// What the provider says became of a page by SMS, call or push.
    pub delivery: Option<String>,
}

pub(crate) const COLUMNS: &str = "id, notification_id, incident_id, seq, kind, target, channel, address, subject, body, \
    status, attempts, next_attempt_at, last_error, created_at, sent_at, secret, calendar, delivery";

/// A notification as `COLUMNS` reads it.
#[derive(sqlx::FromRow)]
struct NotificationRow {
    id: i64,
    notification_id: String,
    incident_id: String,
    seq: i64,
    kind: String,
    target: String,
    channel: String,
    address: String,
    subject: String,
    body: String,
    status: String,
    attempts: i64,
    next_attempt_at: i64,
    last_error: Option<String>,
    created_at: i64,
    sent_at: Option<i64>,
    secret: Option<String>,
    calendar: Option<String>,
    delivery: Option<String>,
}

impl TryFrom<NotificationRow> for Notification {
    type Error = StoreError;

    fn try_from(row: NotificationRow) -> Result<Notification> {
        let id = &row.notification_id;
        Ok(Notification {
            row_id: row.id,
            notification_id: Uuid::parse_str(id)
                .map_err(|_| StoreError::Corrupt(format!("notification id {id:?}")))?,
            channel: Channel::parse(&row.channel)
                .ok_or_else(|| StoreError::Corrupt(format!("channel {:?}", row.channel)))?,
            incident_id: row.incident_id,
            seq: row.seq,
            kind: row.kind,
            target: row.target,
            address: row.address,
            subject: row.subject,
            body: row.body,
            status: row.status,
            attempts: row.attempts,
            next_attempt_at: from_micros(row.next_attempt_at),
            last_error: row.last_error,
            created_at: from_micros(row.created_at),
            sent_at: row.sent_at.map(from_micros),
            secret: row.secret,
            calendar: row.calendar,
            delivery: row.delivery,
        })
    }
}

pub(crate) fn from_row(row: &AnyRow) -> Result<Notification> {
    use sqlx::FromRow;
    Notification::try_from(NotificationRow::from_row(row)?)
}

/// A time in notifications: minutes, in UTC (readers are anywhere).
fn when(at: Timestamp) -> String {
    at.strftime("%Y-%m-%d %H:%M UTC").to_string()
}

/// Queues the notifications `event` owes, in the writer's transaction (after the event is
/// inserted), from the incident as the batch leaves it.
pub(crate) async fn queue(
    tx: &mut Transaction<'_, Any>,
    (incident, event): (&Incident, &StoredEvent),
    catalog: &Catalog,
    public_url: &str,
    now: Timestamp,
) -> Result<()> {
    let recipients = notify::recipients(
        &event.data,
        &incident.coordination.stakeholders,
        &catalog.targets,
    );
    if recipients.is_empty() {
        return Ok(());
    }
    let reference = incident.reference.to_string();
    let url = format!("{public_url}/incidents/{reference}");
    let brief = Brief {
        reference: &reference,
        title: &incident.title,
        severity: &incident.severity,
        status: incident.status.as_str(),
        summary: &incident.summary,
        url: &url,
    };
    let updates = match &event.data {
        EventData::DigestSent { since, .. } => digest_updates(tx, event, *since).await?,
        _ => Vec::new(),
    };
    let message = notify::message(&event.data, &brief, &updates, &when);
    for recipient in recipients {
        sqlx::query(
            "INSERT INTO notifications (notification_id, incident_id, seq, kind, target, channel, address, \
             subject, body, status, next_attempt_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', $10, $10) \
             ON CONFLICT (incident_id, seq, channel, address) DO NOTHING",
        )
        .bind(Uuid::now_v7().to_string())
        .bind(event.incident_id.to_string())
        .bind(event.seq)
        .bind(event.kind.as_str())
        .bind(recipient.target)
        .bind(recipient.channel.as_str())
        .bind(recipient.address)
        .bind(message.subject.clone())
        .bind(message.text.clone())
        .bind(micros(now))
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// The texts of the updates a digest covers: posted after its `since`, before the digest.
async fn digest_updates(
    tx: &mut Transaction<'_, Any>,
    event: &StoredEvent,
    since: Option<Timestamp>,
) -> Result<Vec<String>> {
    let since = since.map(micros).unwrap_or(0);
    let sql = format!(
        "SELECT observed_at, body FROM events WHERE incident_id = $1 AND kind = '{}' \
         AND seq < $2 AND observed_at >= $3 AND observed_at <= $4 ORDER BY seq",
        EventKind::UpdatePosted.as_str()
    );
    let rows: Vec<(i64, String)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(event.incident_id.to_string())
        .bind(event.seq)
        .bind(since)
        .bind(event.observed_at_us)
        .fetch_all(&mut **tx)
        .await?;
    let mut texts = Vec::with_capacity(rows.len());
    for (observed_at, body) in rows {
        let at = from_micros(observed_at);
        let message = serde_json::from_str::<Value>(&body)
            .ok()
            .and_then(|it| EventData::from_stored(EventKind::UpdatePosted, &it).ok())
            .map(|it| match it {
                EventData::UpdatePosted { message, .. } => message,
                _ => String::new(),
            })
            .unwrap_or_default();
        texts.push(format!("{}:\n{message}", when(at)));
    }
    Ok(texts)
}

impl Store {
    /// Leases up to `limit` due notifications. A lease that runs out frees it again.
    pub async fn claim_notifications(
        &self,
        now: Timestamp,
        limit: i64,
        lease: SignedDuration,
    ) -> Result<Vec<Notification>> {
        let due = "FROM notifications WHERE status = 'pending' AND next_attempt_at <= $1 \
             AND (lease_until IS NULL OR lease_until < $1)";
        if !self.any_due(due, now).await? {
            return Ok(Vec::new());
        }
        let mut tx = self.begin_write().await?;
        let lock = if self.backend() == Backend::Postgres {
            " FOR UPDATE SKIP LOCKED"
        } else {
            ""
        };
        let sql = format!("SELECT {COLUMNS} {due} ORDER BY id LIMIT {limit}{lock}");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(micros(now))
            .fetch_all(&mut *tx)
            .await?;
        let claimed = rows.iter().map(from_row).collect::<Result<Vec<_>>>()?;
        if !claimed.is_empty() {
            let ids = (2..claimed.len() + 2)
                .map(|n| format!("${n}"))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!("UPDATE notifications SET lease_until = $1 WHERE id IN ({ids})");
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(micros(now + lease));
            for it in &claimed {
                query = query.bind(it.row_id);
            }
            query.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(claimed)
    }

    /// Records what became of notifications the delivery worker tried, all in one
    /// transaction (a storm's thousand pages are not a thousand commits).
    pub async fn record_notifications(
        &self,
        outcomes: &[(&Notification, DeliveryOutcome)],
        policy: &RetryPolicy,
        now: Timestamp,
    ) -> Result<()> {
        if outcomes.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin_write().await?;
        // Every one sent in one statement; each failure has its own error and next attempt.
        let sent: Vec<i64> = outcomes
            .iter()
            .filter(|(_, outcome)| matches!(outcome, DeliveryOutcome::Delivered { .. }))
            .map(|(notification, _)| notification.row_id)
            .collect();
        if !sent.is_empty() {
            let ids = (2..sent.len() + 2)
                .map(|n| format!("${n}"))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!(
                "UPDATE notifications SET status = 'sent', attempts = attempts + 1, sent_at = $1, \
                 lease_until = NULL, last_error = NULL WHERE id IN ({ids})"
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(micros(now));
            for id in sent {
                query = query.bind(id);
            }
            query.execute(&mut *tx).await?;
        }
        for (notification, outcome) in outcomes {
            let attempts = notification.attempts + 1;
            match outcome {
                DeliveryOutcome::Delivered { .. } => {}
                DeliveryOutcome::Failed { error, .. } => {
                    let (status, next) = match policy.next_attempt(attempts, now) {
                        Some(next) => ("pending", next),
                        None => ("dead", now),
                    };
                    sqlx::query(
                        "UPDATE notifications SET status = $2, attempts = $3, next_attempt_at = $4, lease_until = NULL, \
                         last_error = $5 WHERE id = $1",
                    )
                    .bind(notification.row_id)
                    .bind(status)
                    .bind(attempts)
                    .bind(micros(next))
                    .bind(error.chars().take(1000).collect::<String>())
                    .execute(&mut *tx)
                    .await?;
                    if status == "dead" {
                        tracing::warn!(notification = %notification.notification_id, target = %notification.target, "notification dead-lettered");
                    }
                }
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// An incident's notifications, oldest first.
    pub async fn incident_notifications(&self, incident_id: &str) -> Result<Vec<Notification>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM notifications WHERE incident_id = $1 ORDER BY id LIMIT 1000"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(incident_id.to_string())
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(from_row).collect()
    }
}
