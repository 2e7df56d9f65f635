//! Chat work and chat state. The writer queues one `chat_work` row per event, configured
//! platform and piece of work `core::chat::owed` names, in the transaction of the event, so
//! chat work exists exactly when its event does. The chat worker claims the oldest pending
//! row per platform and incident (order holds within a channel), does it, and records the
//! outcome: done, retry at a time (backoff, or the platform's `Retry-After`), or dead — shown
//! in the room with a retry button. `chat_channels` remembers each incident's channel, card
//! and announcement; `chat_seen` makes inbound events apply once; `chat_pins` maps a pinned
//! chat message to its timeline event so an unpin appends a correction.

use firebreak_core::chat::{self, Place, Work};
use firebreak_core::retry::RetryPolicy;
use firebreak_core::{Catalog, Incident};
use jiff::{SignedDuration, Timestamp};
use sqlx::{Any, FromRow, Transaction};
use uuid::Uuid;

use crate::clock::{from_micros, micros};
use crate::db::Backend;
use crate::reads::StoredEvent;
use crate::{Result, Store, StoreError};

/// One piece of chat work, as the worker claims it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChatJob {
    pub row_id: i64,
    /// Matrix's transaction id and the metadata Slack posts carry.
    pub work_id: Uuid,
    pub platform: String,
    pub incident_id: String,
    pub seq: i64,
    pub place: Place,
    pub work: Work,
    pub attempts: i64,
}

#[derive(FromRow)]
struct ChatJobRow {
    id: i64,
    work_id: String,
    platform: String,
    incident_id: String,
    seq: i64,
    place: String,
    op: String,
    body: String,
    attempts: i64,
}

impl TryFrom<ChatJobRow> for ChatJob {
    type Error = StoreError;

    fn try_from(row: ChatJobRow) -> Result<ChatJob> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("chat_work {}: {what}", row.id));
        Ok(ChatJob {
            row_id: row.id,
            work_id: Uuid::parse_str(&row.work_id).map_err(|_| corrupt("work_id"))?,
            place: match row.place.as_str() {
                "channel" => Place::Channel,
                "announcements" => Place::Announcements,
                _ => return Err(corrupt("place")),
            },
            work: match row.op.as_str() {
                "open" => Work::Open,
                "post" => Work::Post(row.body),
                "card" => Work::Card,
                "announce" => Work::Announce,
                "archive" => Work::Archive,
                "remind" => {
                    let value: serde_json::Value =
                        serde_json::from_str(&row.body).map_err(|_| corrupt("remind body"))?;
                    Work::Remind {
                        to: value["to"].as_str().unwrap_or_default().to_string(),
                        text: value["text"].as_str().unwrap_or_default().to_string(),
                    }
                }
                _ => return Err(corrupt("op")),
            },
            platform: row.platform,
            incident_id: row.incident_id,
            seq: row.seq,
            attempts: row.attempts,
        })
    }
}

fn place_name(place: Place) -> &'static str {
    match place {
        Place::Channel => "channel",
        Place::Announcements => "announcements",
    }
}

fn op(work: &Work) -> (&'static str, String) {
    match work {
        Work::Open => ("open", String::new()),
        Work::Post(text) => ("post", text.clone()),
        Work::Card => ("card", String::new()),
        Work::Announce => ("announce", String::new()),
        Work::Archive => ("archive", String::new()),
        Work::Remind { to, text } => (
            "remind",
            serde_json::json!({ "to": to, "text": text }).to_string(),
        ),
    }
}

/// What became of a piece of chat work.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChatOutcome {
    Done,
    /// Try again: at the platform's `Retry-After` when it gave one, else by the policy.
    Retry {
        error: String,
        after: Option<SignedDuration>,
    },
    /// Nothing will make it work (bad token, missing scope): dead at once.
    Dead {
        error: String,
    },
}

/// An incident's channel on one platform.
#[derive(Clone, Debug, PartialEq, Eq, FromRow)]
pub struct ChatChannel {
    pub platform: String,
    pub incident_id: String,
    pub name: String,
    pub remote_id: Option<String>,
    pub card_id: Option<String>,
    pub announcement_id: Option<String>,
}

/// What chat still owes an incident on one platform, for the room.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChatBacklog {
    pub platform: String,
    pub pending: i64,
    pub dead: i64,
    pub next_try: Option<Timestamp>,
    pub last_error: Option<String>,
}

/// Queues the chat work `event` owes, in the writer's transaction, from the incident as the
/// batch leaves it.
pub(crate) async fn queue(
    tx: &mut Transaction<'_, Any>,
    (incident, event): (&Incident, &StoredEvent),
    catalog: &Catalog,
    now: Timestamp,
) -> Result<()> {
    let Some(policy) = catalog.chat.as_ref() else {
        return Ok(());
    };
    for (place, work) in chat::owed(&event.data, incident, Some(policy)) {
        let (op, body) = op(&work);
        for platform in &policy.platforms {
            sqlx::query(
                "INSERT INTO chat_work (work_id, platform, incident_id, seq, place, op, body, status, \
                 next_attempt_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8, $8) \
                 ON CONFLICT (platform, incident_id, seq, place, op) DO NOTHING",
            )
            .bind(Uuid::now_v7().to_string())
            .bind(platform.clone())
            .bind(event.incident_id.to_string())
            .bind(event.seq)
            .bind(place_name(place))
            .bind(op)
            .bind(body.clone())
            .bind(micros(now))
            .execute(&mut **tx)
            .await?;
        }
        if let (Place::Channel, Work::Open) = (place, &work)
            && let Some(name) = &incident.coordination.chat_channel
        {
            for platform in &policy.platforms {
                sqlx::query(
                    "INSERT INTO chat_channels (platform, incident_id, name, created_at) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (platform, incident_id) DO NOTHING",
                )
                .bind(platform.clone())
                .bind(event.incident_id.to_string())
                .bind(name.clone())
                .bind(micros(now))
                .execute(&mut **tx)
                .await?;
            }
        }
    }
    Ok(())
}

const CHANNEL_COLUMNS: &str = "platform, incident_id, name, remote_id, card_id, announcement_id";

impl Store {
    /// Leases up to `limit` due pieces of chat work: per platform and incident only the
    /// oldest unfinished one, so a channel's posts keep their order.
    pub async fn claim_chat_work(
        &self,
        now: Timestamp,
        limit: i64,
        lease: SignedDuration,
    ) -> Result<Vec<ChatJob>> {
        let mut tx = self.begin_write().await?;
        let lock = if self.backend() == Backend::Postgres {
            " FOR UPDATE OF w SKIP LOCKED"
        } else {
            ""
        };
        let sql = format!(
            "SELECT w.id, w.work_id, w.platform, w.incident_id, w.seq, w.place, w.op, w.body, w.attempts \
             FROM chat_work w WHERE w.status = 'pending' AND w.next_attempt_at <= $1 \
             AND (w.lease_until IS NULL OR w.lease_until < $1) \
             AND NOT EXISTS (SELECT 1 FROM chat_work e WHERE e.platform = w.platform \
                 AND e.incident_id = w.incident_id AND e.status = 'pending' AND e.id < w.id) \
             ORDER BY w.id LIMIT {limit}{lock}"
        );
        let rows: Vec<ChatJobRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(micros(now))
            .fetch_all(&mut *tx)
            .await?;
        let claimed = rows
            .into_iter()
            .map(ChatJob::try_from)
            .collect::<Result<Vec<_>>>()?;
        for job in &claimed {
            sqlx::query("UPDATE chat_work SET lease_until = $1 WHERE id = $2")
                .bind(micros(now + lease))
                .bind(job.row_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(claimed)
    }

    pub async fn record_chat_work(
        &self,
        job: &ChatJob,
        outcome: &ChatOutcome,
        policy: &RetryPolicy,
        now: Timestamp,
    ) -> Result<()> {
        let attempts = job.attempts + 1;
        let (status, next, error) = match outcome {
            ChatOutcome::Done => ("done", now, None),
            ChatOutcome::Retry { error, after } => match policy.next_attempt(attempts, now) {
                Some(next) => (
                    "pending",
                    after.map_or(next, |after| (now + after).max(next)),
                    Some(error),
                ),
                None => ("dead", now, Some(error)),
            },
            ChatOutcome::Dead { error } => ("dead", now, Some(error)),
        };
        sqlx::query(
            "UPDATE chat_work SET status = $2, attempts = $3, next_attempt_at = $4, lease_until = NULL, \
             last_error = $5, done_at = CASE WHEN $2 = 'done' THEN $4 ELSE NULL END WHERE id = $1",
        )
        .bind(job.row_id)
        .bind(status)
        .bind(attempts)
        .bind(micros(next))
        .bind(error.map(|it| it.chars().take(500).collect::<String>()))
        .execute(self.pool())
        .await?;
        if status == "dead" {
            tracing::warn!(work = %job.work_id, platform = %job.platform, "chat work dead-lettered");
        }
        Ok(())
    }

    /// Pending card edits of an incident on a platform up to `row_id` are all done by one
    /// edit that shows the incident as it is now.
    pub async fn settle_card_work(&self, job: &ChatJob, now: Timestamp) -> Result<()> {
        sqlx::query(
            "UPDATE chat_work SET status = 'done', done_at = $4, lease_until = NULL \
             WHERE platform = $1 AND incident_id = $2 AND op = 'card' AND status = 'pending' AND id <= $3",
        )
        .bind(job.platform.clone())
        .bind(job.incident_id.clone())
        .bind(job.row_id)
        .bind(micros(now))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The newest card edit queued for an incident on a platform (the edit settles every
    /// one up to it).
    pub async fn latest_card_work(&self, platform: &str, incident_id: &str) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "SELECT COALESCE(MAX(id), 0) FROM chat_work WHERE platform = $1 AND incident_id = $2 \
             AND op = 'card' AND status = 'pending'",
        )
        .bind(platform.to_string())
        .bind(incident_id.to_string())
        .fetch_one(self.pool())
        .await?)
    }

    /// What chat owes an incident, per platform (nothing listed when nothing is owed).
    pub async fn chat_backlog(&self, incident_id: &str) -> Result<Vec<ChatBacklog>> {
        let rows: Vec<(String, i64, i64, Option<i64>)> = sqlx::query_as(
            "SELECT platform, \
             SUM(CASE WHEN status = 'pending' THEN 1 ELSE 0 END) AS pending, \
             SUM(CASE WHEN status = 'dead' THEN 1 ELSE 0 END) AS dead, \
             MIN(CASE WHEN status = 'pending' THEN next_attempt_at END) AS next_try \
             FROM chat_work WHERE incident_id = $1 AND status IN ('pending', 'dead') \
             GROUP BY platform ORDER BY platform",
        )
        .bind(incident_id.to_string())
        .fetch_all(self.pool())
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for (platform, pending, dead, next_try) in rows {
            let last_error: Option<String> = sqlx::query_scalar(
                "SELECT last_error FROM chat_work WHERE incident_id = $1 AND platform = $2 \
                 AND last_error IS NOT NULL AND status IN ('pending', 'dead') ORDER BY id DESC LIMIT 1",
            )
            .bind(incident_id.to_string())
            .bind(platform.clone())
            .fetch_optional(self.pool())
            .await?
            .flatten();
            out.push(ChatBacklog {
                platform,
                pending,
                dead,
                next_try: next_try.map(from_micros),
                last_error,
            });
        }
        Ok(out)
    }

    /// Puts an incident's dead chat work back in the queue for another round of attempts.
    pub async fn retry_chat_work(&self, incident_id: &str, now: Timestamp) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE chat_work SET status = 'pending', attempts = 0, next_attempt_at = $2, lease_until = NULL \
             WHERE incident_id = $1 AND status = 'dead'",
        )
        .bind(incident_id.to_string())
        .bind(micros(now))
        .execute(self.pool())
        .await?;
        self.wake_chat();
        Ok(done.rows_affected())
    }

    /// Chat work not yet done, for `/metrics`.
    pub async fn chat_work_pending(&self) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM chat_work WHERE status = 'pending'")
                .fetch_one(self.pool())
                .await?,
        )
    }

    pub async fn chat_channel(
        &self,
        platform: &str,
        incident_id: &str,
    ) -> Result<Option<ChatChannel>> {
        let sql = format!(
            "SELECT {CHANNEL_COLUMNS} FROM chat_channels WHERE platform = $1 AND incident_id = $2"
        );
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(platform.to_string())
            .bind(incident_id.to_string())
            .fetch_optional(self.pool())
            .await?)
    }

    /// The incident whose channel on `platform` is `remote_id`.
    pub async fn chat_channel_by_remote(
        &self,
        platform: &str,
        remote_id: &str,
    ) -> Result<Option<ChatChannel>> {
        let sql = format!(
            "SELECT {CHANNEL_COLUMNS} FROM chat_channels WHERE platform = $1 AND remote_id = $2"
        );
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(platform.to_string())
            .bind(remote_id.to_string())
            .fetch_optional(self.pool())
            .await?)
    }

    /// An incident's channels on every platform.
    pub async fn chat_channels(&self, incident_id: &str) -> Result<Vec<ChatChannel>> {
        let sql = format!(
            "SELECT {CHANNEL_COLUMNS} FROM chat_channels WHERE incident_id = $1 ORDER BY platform"
        );
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(incident_id.to_string())
            .fetch_all(self.pool())
            .await?)
    }

    /// The channels on `platform` of incidents that are still live (not resolved or later),
    /// for catching up with what happened in them while Firebreak could not hear.
    pub async fn live_chat_channels(&self, platform: &str) -> Result<Vec<ChatChannel>> {
        let sql = format!(
            "SELECT {} FROM chat_channels c JOIN incidents i ON i.id = c.incident_id \
             WHERE c.platform = $1 AND c.remote_id IS NOT NULL \
             AND i.status IN ('triage', 'investigating', 'identified', 'monitoring') ORDER BY c.created_at",
            CHANNEL_COLUMNS
                .split(", ")
                .map(|it| format!("c.{it}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(platform.to_string())
            .fetch_all(self.pool())
            .await?)
    }

    /// Remembers where the channel, card or announcement is on the platform. `None` leaves a
    /// value as it is. An announcement without a channel gets a row with an empty name.
    pub async fn save_chat_channel(
        &self,
        (platform, incident_id): (&str, &str),
        remote_id: Option<&str>,
        card_id: Option<&str>,
        announcement_id: Option<&str>,
        now: Timestamp,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO chat_channels (platform, incident_id, name, remote_id, card_id, announcement_id, created_at) \
             VALUES ($1, $2, '', $3, $4, $5, $6) ON CONFLICT (platform, incident_id) DO UPDATE SET \
             remote_id = COALESCE(excluded.remote_id, chat_channels.remote_id), \
             card_id = COALESCE(excluded.card_id, chat_channels.card_id), \
             announcement_id = COALESCE(excluded.announcement_id, chat_channels.announcement_id)",
        )
        .bind(platform.to_string())
        .bind(incident_id.to_string())
        .bind(remote_id.map(String::from))
        .bind(card_id.map(String::from))
        .bind(announcement_id.map(String::from))
        .bind(micros(now))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// True the first time an inbound event id is seen on a platform: apply it then, and
    /// never again (chat platforms redeliver).
    pub async fn chat_first_sight(
        &self,
        platform: &str,
        event_id: &str,
        now: Timestamp,
    ) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO chat_seen (platform, event_id, seen_at) VALUES ($1, $2, $3) \
             ON CONFLICT (platform, event_id) DO NOTHING",
        )
        .bind(platform.to_string())
        .bind(event_id.to_string())
        .bind(micros(now))
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn chat_cursor(&self, platform: &str) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT cursor_value FROM chat_cursors WHERE platform = $1")
                .bind(platform.to_string())
                .fetch_optional(self.pool())
                .await?,
        )
    }

    pub async fn set_chat_cursor(&self, platform: &str, cursor: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO chat_cursors (platform, cursor_value) VALUES ($1, $2) \
             ON CONFLICT (platform) DO UPDATE SET cursor_value = excluded.cursor_value",
        )
        .bind(platform.to_string())
        .bind(cursor.to_string())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Remembers that chat message `message_id` was pinned into the incident's timeline as
    /// event `seq` by the reaction or pin `pin_id`.
    pub async fn record_chat_pin(
        &self,
        (platform, message_id): (&str, &str),
        incident_id: &str,
        pin_id: &str,
        seq: i64,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO chat_pins (platform, message_id, incident_id, pin_id, seq) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (platform, message_id) DO UPDATE SET pin_id = excluded.pin_id, seq = excluded.seq, unpinned = 0",
        )
        .bind(platform.to_string())
        .bind(message_id.to_string())
        .bind(incident_id.to_string())
        .bind(pin_id.to_string())
        .bind(seq)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The pin a message has (incident, timeline seq), if it is pinned.
    pub async fn chat_pin_of_message(
        &self,
        platform: &str,
        message_id: &str,
    ) -> Result<Option<(String, i64)>> {
        Ok(sqlx::query_as(
            "SELECT incident_id, seq FROM chat_pins WHERE platform = $1 AND message_id = $2 AND unpinned = 0",
        )
        .bind(platform.to_string())
        .bind(message_id.to_string())
        .fetch_optional(self.pool())
        .await?)
    }

    /// Takes the pin made by `pin_id` (a reaction's id) off; answers the message, incident
    /// and timeline seq it had pinned, once.
    pub async fn take_chat_unpin(
        &self,
        platform: &str,
        pin_id: &str,
    ) -> Result<Option<(String, String, i64)>> {
        let found: Option<(String, String, i64)> = sqlx::query_as(
            "SELECT message_id, incident_id, seq FROM chat_pins WHERE platform = $1 AND pin_id = $2 AND unpinned = 0",
        )
        .bind(platform.to_string())
        .bind(pin_id.to_string())
        .fetch_optional(self.pool())
        .await?;
        if let Some((message_id, _, _)) = &found {
            sqlx::query(
                "UPDATE chat_pins SET unpinned = 1 WHERE platform = $1 AND message_id = $2",
            )
            .bind(platform.to_string())
            .bind(message_id.clone())
            .execute(self.pool())
            .await?;
        }
        Ok(found)
    }

    /// The direct-message room the bot has with a chat user, if it made one.
    pub async fn chat_dm(&self, platform: &str, user: &str) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT room FROM chat_dms WHERE platform = $1 AND user_id = $2")
                .bind(platform.to_string())
                .bind(user.to_string())
                .fetch_optional(self.pool())
                .await?,
        )
    }

    pub async fn save_chat_dm(&self, platform: &str, user: &str, room: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO chat_dms (platform, user_id, room) VALUES ($1, $2, $3) \
             ON CONFLICT (platform, user_id) DO UPDATE SET room = excluded.room",
        )
        .bind(platform.to_string())
        .bind(user.to_string())
        .bind(room.to_string())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Remembers that chat message `message_id` paged `user` about `alert_id`.
    pub async fn record_chat_page(
        &self,
        (platform, message_id): (&str, &str),
        user: &str,
        alert_id: &str,
        now: Timestamp,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO chat_pages (platform, message_id, user_id, alert_id, created_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (platform, message_id) DO NOTHING",
        )
        .bind(platform.to_string())
        .bind(message_id.to_string())
        .bind(user.to_string())
        .bind(alert_id.to_string())
        .bind(micros(now))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The alert a chat message paged about.
    pub async fn chat_page_alert(
        &self,
        platform: &str,
        message_id: &str,
    ) -> Result<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT alert_id FROM chat_pages WHERE platform = $1 AND message_id = $2",
        )
        .bind(platform.to_string())
        .bind(message_id.to_string())
        .fetch_optional(self.pool())
        .await?)
    }

    /// The alert a chat user was paged about last.
    pub async fn latest_chat_page(&self, platform: &str, user: &str) -> Result<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT alert_id FROM chat_pages WHERE platform = $1 AND user_id = $2 \
             ORDER BY created_at DESC LIMIT 1",
        )
        .bind(platform.to_string())
        .bind(user.to_string())
        .fetch_optional(self.pool())
        .await?)
    }
}
