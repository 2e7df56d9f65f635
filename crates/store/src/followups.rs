//! Follow-ups and their reminders. `followup_reminders(now)` is the clock's step: for each
//! open follow-up it asks `core::followup::reminder` which reminder is owed, claims it (the
//! flag is set only if still unset, so replicas never send one twice) and queues the email
//! in the same transaction.

use firebreak_core::followup::{FollowupKind, FollowupStatus, Priority, Sent, Stage, reminder};
use jiff::Timestamp;
use sqlx::FromRow;
use sqlx::any::AnyRow;
use uuid::Uuid;

use crate::clock::{from_micros, micros};
use crate::{Result, Store, StoreError};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Followup {
    pub id: String,
    pub incident_id: String,
    pub reference: String,
    pub title: String,
    pub description: String,
    pub owner: String,
    pub due_at: Option<Timestamp>,
    pub priority: Priority,
    pub kind: FollowupKind,
    pub status: FollowupStatus,
    pub created_at: Timestamp,
    pub done_at: Option<Timestamp>,
    pub sent: Sent,
    /// Exported to a tracker: (github or jira, its id there, a link).
    pub external: Option<(String, String, String)>,
}

#[derive(Clone, Debug)]
pub struct NewFollowup {
    pub title: String,
    pub description: String,
    pub owner: String,
    pub due_at: Option<Timestamp>,
    pub priority: Priority,
    pub kind: FollowupKind,
}

/// What may change; `None` keeps the current value.
#[derive(Clone, Debug, Default)]
pub struct FollowupPatch {
    pub title: Option<String>,
    pub owner: Option<String>,
    pub due_at: Option<Option<Timestamp>>,
    pub status: Option<FollowupStatus>,
}

const COLUMNS: &str = "f.id, f.incident_id, i.number, f.title, f.description, f.owner, f.due_at, f.priority, \
    f.kind, f.status, f.created_at, f.done_at, f.reminded_before_due, f.reminded_overdue, f.reminded_escalated, i.roles, \
    f.external_kind, f.external_id, f.external_url";

/// A follow-up as `COLUMNS` reads it.
#[derive(sqlx::FromRow)]
struct FollowupRow {
    id: String,
    incident_id: String,
    number: i64,
    title: String,
    description: String,
    owner: String,
    due_at: Option<i64>,
    priority: String,
    kind: String,
    status: String,
    created_at: i64,
    done_at: Option<i64>,
    reminded_before_due: i64,
    reminded_overdue: i64,
    reminded_escalated: i64,
    external_kind: Option<String>,
    external_id: Option<String>,
    external_url: Option<String>,
    /// The incident's roles (JSON), for who a follow-up's reminders escalate to.
    roles: String,
}

impl TryFrom<FollowupRow> for Followup {
    type Error = StoreError;

    fn try_from(row: FollowupRow) -> Result<Followup> {
        let bad =
            |what: &str, value: &str| StoreError::Corrupt(format!("follow-up {what} {value:?}"));
        Ok(Followup {
            reference: format!("INC-{}", row.number),
            priority: Priority::parse(&row.priority)
                .ok_or_else(|| bad("priority", &row.priority))?,
            kind: FollowupKind::parse(&row.kind).ok_or_else(|| bad("kind", &row.kind))?,
            status: FollowupStatus::parse(&row.status).ok_or_else(|| bad("status", &row.status))?,
            id: row.id,
            incident_id: row.incident_id,
            title: row.title,
            description: row.description,
            owner: row.owner,
            due_at: row.due_at.map(from_micros),
            created_at: from_micros(row.created_at),
            done_at: row.done_at.map(from_micros),
            sent: Sent {
                before_due: row.reminded_before_due != 0,
                overdue: row.reminded_overdue != 0,
                escalated: row.reminded_escalated != 0,
            },
            external: match (row.external_kind, row.external_id, row.external_url) {
                (Some(kind), Some(id), Some(url)) => Some((kind, id, url)),
                _ => None,
            },
        })
    }
}

fn from_row(row: &AnyRow) -> Result<Followup> {
    Followup::try_from(FollowupRow::from_row(row)?)
}

async fn followup_in(conn: &mut sqlx::AnyConnection, id: &str) -> Result<Followup> {
    let sql = format!(
        "SELECT {COLUMNS} FROM followups f JOIN incidents i ON i.id = f.incident_id WHERE f.id = $1"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound("follow-up"))?;
    from_row(&row)
}

impl Store {
    pub async fn create_followup(
        &self,
        incident_id: Uuid,
        new: NewFollowup,
        now: Timestamp,
    ) -> Result<Followup> {
        let id = Uuid::now_v7().to_string();
        // A new open follow-up changes whether the incident may close: it takes the lock a
        // close holds while it reads (`writer::lock_incident`).
        let mut tx = self.begin_write().await?;
        crate::writer::lock_incident(&mut tx, self.backend(), incident_id).await?;
        sqlx::query(
            "INSERT INTO followups (id, incident_id, title, description, owner, due_at, priority, kind, status, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'open', $9, $9)",
        )
        .bind(id.clone())
        .bind(incident_id.to_string())
        .bind(new.title)
        .bind(new.description)
        .bind(new.owner)
        .bind(new.due_at.map(micros))
        .bind(new.priority.as_str())
        .bind(new.kind.as_str())
        .bind(micros(now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.followup(&id).await
    }

    pub async fn followup(&self, id: &str) -> Result<Followup> {
        let mut conn = self.pool().acquire().await?;
        followup_in(&mut conn, id).await
    }

    /// Follow-ups of one incident (or everyone's with `None`), open and overdue first.
    pub async fn followups(
        &self,
        incident_id: Option<Uuid>,
        open_only: bool,
    ) -> Result<Vec<Followup>> {
        let mut conditions = Vec::new();
        if incident_id.is_some() {
            conditions.push("f.incident_id = $1");
        }
        if open_only {
            conditions.push("f.status = 'open'");
        }
        let filter = if conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conditions.join(" AND "))
        };
        let sql = format!(
            "SELECT {COLUMNS} FROM followups f JOIN incidents i ON i.id = f.incident_id {filter} \
             ORDER BY CASE WHEN f.status = 'open' THEN 0 ELSE 1 END, \
             CASE WHEN f.due_at IS NULL THEN 1 ELSE 0 END, f.due_at, f.created_at LIMIT 1000"
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        if let Some(id) = incident_id {
            query = query.bind(id.to_string());
        }
        let rows = query.fetch_all(self.pool()).await?;
        rows.iter().map(from_row).collect()
    }

    pub async fn update_followup(
        &self,
        id: &str,
        patch: FollowupPatch,
        now: Timestamp,
    ) -> Result<Followup> {
        let mut tx = self.begin_write().await?;
        let incident: Option<String> =
            sqlx::query_scalar("SELECT incident_id FROM followups WHERE id = $1")
                .bind(id.to_string())
                .fetch_optional(&mut *tx)
                .await?;
        let incident = incident
            .and_then(|it| Uuid::parse_str(&it).ok())
            .ok_or(StoreError::NotFound("follow-up"))?;
        // Reopening one changes whether the incident may close (`writer::lock_incident`).
        crate::writer::lock_incident(&mut tx, self.backend(), incident).await?;
        let current = followup_in(&mut tx, id).await?;
        let status = patch.status.unwrap_or(current.status);
        let done_at = match (status, current.done_at) {
            (FollowupStatus::Open, _) => None,
            (_, Some(at)) => Some(at),
            (_, None) => Some(now),
        };
        let due_at = patch.due_at.unwrap_or(current.due_at);
        // A new due time starts the reminders over.
        let restart = due_at != current.due_at;
        sqlx::query(
            "UPDATE followups SET title = $2, owner = $3, due_at = $4, status = $5, done_at = $6, updated_at = $7, \
             reminded_before_due = CASE WHEN $8 = 1 THEN 0 ELSE reminded_before_due END, \
             reminded_overdue = CASE WHEN $8 = 1 THEN 0 ELSE reminded_overdue END, \
             reminded_escalated = CASE WHEN $8 = 1 THEN 0 ELSE reminded_escalated END WHERE id = $1",
        )
        .bind(id.to_string())
        .bind(patch.title.unwrap_or(current.title))
        .bind(patch.owner.unwrap_or(current.owner))
        .bind(due_at.map(micros))
        .bind(status.as_str())
        .bind(done_at.map(micros))
        .bind(micros(now))
        .bind(i64::from(restart))
        .execute(&mut *tx)
        .await?;
        let updated = followup_in(&mut tx, id).await?;
        tx.commit().await?;
        Ok(updated)
    }

    /// Records where a follow-up was exported; `Conflict` if it already was.
    pub async fn set_followup_external(
        &self,
        id: &str,
        (kind, external_id, url): (&str, &str, &str),
        now: Timestamp,
    ) -> Result<Followup> {
        let done = sqlx::query(
            "UPDATE followups SET external_kind = $2, external_id = $3, external_url = $4, updated_at = $5 \
             WHERE id = $1 AND external_kind IS NULL",
        )
        .bind(id.to_string())
        .bind(kind.to_string())
        .bind(external_id.to_string())
        .bind(url.to_string())
        .bind(micros(now))
        .execute(self.pool())
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict(
                "the follow-up was exported already".into(),
            ));
        }
        self.followup(id).await
    }

    /// Open follow-ups that live in a tracker too (to poll their status back).
    pub async fn exported_open_followups(&self) -> Result<Vec<Followup>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM followups f JOIN incidents i ON i.id = f.incident_id \
             WHERE f.status = 'open' AND f.external_kind IS NOT NULL LIMIT 500"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(from_row).collect()
    }

    /// The clock's step for follow-ups; answers how many reminders were queued.
    pub async fn followup_reminders(&self, now: Timestamp) -> Result<usize> {
        let sql = format!(
            "SELECT {COLUMNS} FROM followups f JOIN incidents i ON i.id = f.incident_id \
             WHERE f.status = 'open' AND f.due_at IS NOT NULL AND f.due_at <= $1"
        );
        let horizon = now + firebreak_core::followup::REMIND_BEFORE;
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(micros(horizon))
            .fetch_all(self.pool())
            .await?;
        let mut queued = 0;
        for row in &rows {
            let row = FollowupRow::from_row(row)?;
            let roles = row.roles.clone();
            let it = Followup::try_from(row)?;
            let Some(stage) = reminder(it.status, it.due_at, it.sent, now) else {
                continue;
            };
            let lead = serde_json::from_str::<serde_json::Value>(&roles)
                .ok()
                .and_then(|it| {
                    it.get("lead")
                        .and_then(|lead| lead.as_str())
                        .map(String::from)
                });
            let to = match stage {
                Stage::Escalated => lead.unwrap_or_else(|| it.owner.clone()),
                _ => it.owner.clone(),
            };
            let column = match stage {
                Stage::BeforeDue => "reminded_before_due",
                Stage::Overdue => "reminded_overdue",
                Stage::Escalated => "reminded_escalated",
            };
            let mut tx = self.begin_write().await?;
            let sql = format!("UPDATE followups SET {column} = 1 WHERE id = $1 AND {column} = 0");
            let claimed = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(it.id.clone())
                .execute(&mut *tx)
                .await?;
            if claimed.rows_affected() == 0 {
                continue;
            }
            let due = it
                .due_at
                .map(|at| at.strftime("%Y-%m-%d %H:%M UTC").to_string())
                .unwrap_or_default();
            let (subject, body) = match stage {
                Stage::BeforeDue => (
                    format!("[{}] Follow-up due {due}: {}", it.reference, it.title),
                    format!(
                        "The follow-up \"{}\" from {} is due {due}.\n",
                        it.title, it.reference
                    ),
                ),
                Stage::Overdue => (
                    format!("[{}] Follow-up overdue: {}", it.reference, it.title),
                    format!(
                        "The follow-up \"{}\" from {} was due {due} and is not done.\n",
                        it.title, it.reference
                    ),
                ),
                Stage::Escalated => (
                    format!("[{}] Follow-up still overdue: {}", it.reference, it.title),
                    format!(
                        "As the incident's lead: the follow-up \"{}\" (owner: {}) from {} was due {due} and is still not done.\n",
                        it.title, it.owner, it.reference
                    ),
                ),
            };
            if firebreak_core::person::parse_email(&to).is_some() {
                sqlx::query(
                    "INSERT INTO notifications (notification_id, incident_id, seq, kind, target, channel, address, \
                     subject, body, status, next_attempt_at, created_at) \
                     VALUES ($1, $2, $3, 'followup_reminder', 'person', 'email', $4, $5, $6, 'pending', $7, $7) \
                     ON CONFLICT (incident_id, seq, channel, address) DO NOTHING",
                )
                .bind(Uuid::now_v7().to_string())
                .bind(format!("followup:{}", it.id))
                .bind(stage.number())
                .bind(to)
                .bind(subject)
                .bind(body)
                .bind(micros(now))
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            queued += 1;
        }
        if queued > 0 {
            self.wake_outbox();
        }
        Ok(queued)
    }
}
