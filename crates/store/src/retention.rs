//! Retention: the working tables that would otherwise grow forever — the outbox, webhook
//! deliveries, notifications (and pages), chat work done or dead and the chat events already
//! applied, resolved alerts with their log and links, idempotency
//! keys, ended sessions and the private-read audit — are pruned in small batches. Timeline
//! events are never pruned. Each batch is its own short transaction, so pruning never holds
//! the writer up for long; on PostgreSQL an advisory lock lets one replica prune at a time.

use jiff::{SignedDuration, Timestamp};

use crate::clock::micros;
use crate::db::Backend;
use crate::{Result, Store};

/// How long each kind of row is kept after it stopped mattering; `None` keeps it forever.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Retention {
    /// Outbox rows, after they were fanned out.
    pub outbox: Option<SignedDuration>,
    /// Webhook deliveries, once delivered or dead.
    pub webhook_deliveries: Option<SignedDuration>,
    /// Notifications and pages, once sent, dead or cancelled.
    pub notifications: Option<SignedDuration>,
    /// Alerts (with their log and page links), after they were resolved.
    pub alerts: Option<SignedDuration>,
    pub idempotency_keys: Option<SignedDuration>,
    /// Sessions, after they expired or were revoked.
    pub sessions: Option<SignedDuration>,
    /// The audit of private-incident reads.
    pub private_reads: Option<SignedDuration>,
}

/// Rows pruned, per table, by one pass.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pruned(pub Vec<(&'static str, u64)>);

impl Pruned {
    pub fn total(&self) -> u64 {
        self.0.iter().map(|(_, n)| n).sum()
    }
}

/// Tables whose size `/metrics` reports.
pub const MEASURED_TABLES: [&str; 10] = [
    "events",
    "outbox",
    "webhook_deliveries",
    "notifications",
    "alerts",
    "alert_log",
    "alert_links",
    "idempotency_claims",
    "sessions",
    "private_reads",
];

/// The advisory lock key replicas take to prune (any fixed number; "fbretain").
const LOCK_KEY: i64 = 0x6662_7265_7461_696e;

impl Store {
    /// One pass: at most `batch` rows of each table whose time has come. Returns what went.
    pub async fn prune(&self, retention: &Retention, now: Timestamp, batch: i64) -> Result<Pruned> {
        let cutoff = |keep: Option<SignedDuration>| keep.map(|it| micros(now - it));
        // Each: the table, the statement (with $1 the cutoff and $2 the batch), the cutoff.
        let statements: [(&'static str, &'static str, Option<i64>); 12] = [
            (
                "outbox",
                "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox \
                 WHERE processed_at IS NOT NULL AND processed_at < $1 ORDER BY id LIMIT $2)",
                cutoff(retention.outbox),
            ),
            (
                "webhook_deliveries",
                "DELETE FROM webhook_deliveries WHERE id IN (SELECT id FROM webhook_deliveries \
                 WHERE status IN ('delivered', 'dead') AND created_at < $1 ORDER BY id LIMIT $2)",
                cutoff(retention.webhook_deliveries),
            ),
            (
                "notifications",
                "DELETE FROM notifications WHERE id IN (SELECT id FROM notifications \
                 WHERE status IN ('sent', 'dead', 'cancelled') AND created_at < $1 ORDER BY id LIMIT $2)",
                cutoff(retention.notifications),
            ),
            (
                "chat_work",
                "DELETE FROM chat_work WHERE id IN (SELECT id FROM chat_work \
                 WHERE status IN ('done', 'dead') AND created_at < $1 ORDER BY id LIMIT $2)",
                cutoff(retention.notifications),
            ),
            (
                "chat_seen",
                "DELETE FROM chat_seen WHERE (platform, event_id) IN (SELECT platform, event_id FROM chat_seen \
                 WHERE seen_at < $1 ORDER BY seen_at LIMIT $2)",
                cutoff(retention.idempotency_keys),
            ),
            (
                "idempotency_claims",
                "DELETE FROM idempotency_claims WHERE (owner, key) IN (SELECT owner, key FROM idempotency_claims \
                 WHERE created_at < $1 ORDER BY created_at LIMIT $2)",
                cutoff(retention.idempotency_keys),
            ),
            (
                "command_claims",
                "DELETE FROM command_claims WHERE id IN (SELECT id FROM command_claims \
                 WHERE created_at < $1 ORDER BY created_at LIMIT $2)",
                cutoff(retention.idempotency_keys),
            ),
            (
                "sessions",
                "DELETE FROM sessions WHERE id IN (SELECT id FROM sessions \
                 WHERE expires_at < $1 OR revoked_at < $1 LIMIT $2)",
                cutoff(retention.sessions),
            ),
            (
                "private_reads",
                "DELETE FROM private_reads WHERE id IN (SELECT id FROM private_reads \
                 WHERE at < $1 ORDER BY id LIMIT $2)",
                cutoff(retention.private_reads),
            ),
            // Push buttons and verification codes once expired, SMS reply codes once their
            // pages are as old as the notifications kept.
            (
                "action_tokens",
                "DELETE FROM action_tokens WHERE token_hash IN (SELECT token_hash FROM action_tokens \
                 WHERE expires_at < $1 LIMIT $2)",
                cutoff(retention.sessions),
            ),
            (
                "contact_verifications",
                "DELETE FROM contact_verifications WHERE contact_method_id IN (SELECT contact_method_id \
                 FROM contact_verifications WHERE expires_at < $1 LIMIT $2)",
                cutoff(retention.sessions),
            ),
            (
                "sms_codes",
                "DELETE FROM sms_codes WHERE (phone, code) IN (SELECT phone, code FROM sms_codes \
                 WHERE sent_at < $1 ORDER BY sent_at LIMIT $2)",
                cutoff(retention.notifications),
            ),
        ];
        let mut pruned = Pruned::default();
        for (table, sql, cutoff) in statements {
            let Some(cutoff) = cutoff else { continue };
            let Some(mut tx) = self.prune_transaction().await? else {
                return Ok(pruned);
            };
            let done = sqlx::query(sql)
                .bind(cutoff)
                .bind(batch)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            pruned.0.push((table, done.rows_affected()));
        }
        if let Some(cutoff) = cutoff(retention.alerts) {
            let n_alerts = self.prune_alerts(cutoff, batch).await?;
            pruned.0.push(("alerts", n_alerts));
        }
        Ok(pruned)
    }

    /// Resolved alerts older than the cutoff, with their log and page links, together.
    async fn prune_alerts(&self, cutoff: i64, batch: i64) -> Result<u64> {
        let Some(mut tx) = self.prune_transaction().await? else {
            return Ok(0);
        };
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM alerts WHERE status = 'resolved' AND resolved_at < $1 ORDER BY id LIMIT $2",
        )
        .bind(cutoff)
        .bind(batch)
        .fetch_all(&mut *tx)
        .await?;
        for chunk in ids.chunks(500) {
            let list = (1..=chunk.len())
                .map(|idx| format!("${idx}"))
                .collect::<Vec<_>>()
                .join(", ");
            for sql in [
                format!("DELETE FROM alert_log WHERE alert_id IN ({list})"),
                format!("DELETE FROM alert_links WHERE alert_id IN ({list})"),
                format!("DELETE FROM alerts WHERE id IN ({list})"),
            ] {
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
                for id in chunk {
                    query = query.bind(id.clone());
                }
                query.execute(&mut *tx).await?;
            }
        }
        tx.commit().await?;
        Ok(ids.len() as u64)
    }

    /// A write transaction for one pruning batch; `None` on PostgreSQL when another replica
    /// is pruning right now.
    async fn prune_transaction(&self) -> Result<Option<sqlx::Transaction<'static, sqlx::Any>>> {
        let mut tx = self.begin_write().await?;
        if self.backend() == Backend::Postgres {
            let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1) AS got")
                .bind(LOCK_KEY)
                .fetch_one(&mut *tx)
                .await?;
            if !got {
                return Ok(None);
            }
        }
        Ok(Some(tx))
    }

    /// Rows per table (`MEASURED_TABLES`) and the bytes the database's data takes (on SQLite
    /// the file less its free pages, which new rows reuse), for `/metrics`.
    pub async fn table_sizes(&self) -> Result<(Vec<(&'static str, i64)>, i64)> {
        let mut sizes = Vec::with_capacity(MEASURED_TABLES.len());
        for table in MEASURED_TABLES {
            let sql = format!("SELECT COUNT(*) AS n FROM {table}");
            let rows: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .fetch_one(self.pool())
                .await?;
            sizes.push((table, rows));
        }
        let sql = match self.backend() {
            Backend::Sqlite => {
                "SELECT (page_count - freelist_count) * page_size AS bytes \
                 FROM pragma_page_count(), pragma_freelist_count(), pragma_page_size()"
            }
            Backend::Postgres => "SELECT pg_database_size(current_database()) AS bytes",
        };
        let bytes: i64 = sqlx::query_scalar(sql).fetch_one(self.pool()).await?;
        Ok((sizes, bytes))
    }
}
