//! Post-mortems and their revisions. The text is Markdown; every save is a new revision (who,
//! when, the whole text). A save names the revision it was based on, so two people editing
//! at once cannot silently overwrite each other (the second gets `Conflict`).

use firebreak_core::postmortem::PostmortemStatus;
use jiff::Timestamp;
use uuid::Uuid;

use crate::clock::{from_micros, micros};
use crate::{Result, Store, StoreError};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Postmortem {
    pub incident_id: String,
    pub status: PostmortemStatus,
    pub body: String,
    pub revision: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub published_at: Option<Timestamp>,
}

/// A post-mortem as stored.
#[derive(sqlx::FromRow)]
struct PostmortemRow {
    incident_id: String,
    status: String,
    body: String,
    revision: i64,
    created_at: i64,
    updated_at: i64,
    published_at: Option<i64>,
}

impl TryFrom<PostmortemRow> for Postmortem {
    type Error = StoreError;

    fn try_from(row: PostmortemRow) -> Result<Postmortem> {
        let status = &row.status;
        Ok(Postmortem {
            status: PostmortemStatus::parse(status)
                .ok_or_else(|| StoreError::Corrupt(format!("post-mortem status {status:?}")))?,
            incident_id: row.incident_id,
            body: row.body,
            revision: row.revision,
            created_at: from_micros(row.created_at),
            updated_at: from_micros(row.updated_at),
            published_at: row.published_at.map(from_micros),
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Revision {
    pub revision: i64,
    pub author: String,
    pub created_at: Timestamp,
    pub body: String,
}

/// Where a post-mortem stands, for the list of them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PostmortemState {
    pub status: PostmortemStatus,
    pub updated_at: Timestamp,
    pub published_at: Option<Timestamp>,
}

impl Store {
    /// The state of the post-mortems of these incidents (those without one are left out).
    pub async fn postmortem_states(
        &self,
        incident_ids: &[Uuid],
    ) -> Result<std::collections::HashMap<Uuid, PostmortemState>> {
        let mut states = std::collections::HashMap::new();
        if incident_ids.is_empty() {
            return Ok(states);
        }
        let marks: Vec<String> = (1..=incident_ids.len())
            .map(|it| format!("${it}"))
            .collect();
        let sql = format!(
            "SELECT incident_id, status, updated_at, published_at FROM postmortems \
             WHERE incident_id IN ({})",
            marks.join(", ")
        );
        // Only numbered placeholders are formatted in; every value is bound.
        let mut query =
            sqlx::query_as::<_, (String, String, i64, Option<i64>)>(sqlx::AssertSqlSafe(sql));
        for id in incident_ids {
            query = query.bind(id.to_string());
        }
        for (id, status, updated_at, published_at) in query.fetch_all(self.pool()).await? {
            let id = Uuid::parse_str(&id)
                .map_err(|_| StoreError::Corrupt(format!("post-mortem of {id:?}")))?;
            let status = PostmortemStatus::parse(&status)
                .ok_or_else(|| StoreError::Corrupt(format!("post-mortem status {status:?}")))?;
            states.insert(
                id,
                PostmortemState {
                    status,
                    updated_at: from_micros(updated_at),
                    published_at: published_at.map(from_micros),
                },
            );
        }
        Ok(states)
    }

    pub async fn postmortem(&self, incident_id: Uuid) -> Result<Option<Postmortem>> {
        let row = sqlx::query_as::<_, PostmortemRow>(
            "SELECT incident_id, status, body, revision, created_at, updated_at, published_at \
             FROM postmortems WHERE incident_id = $1",
        )
        .bind(incident_id.to_string())
        .fetch_optional(self.pool())
        .await?;
        row.map(Postmortem::try_from).transpose()
    }

    /// Creates the draft unless the incident has a post-mortem; answers true when it did.
    pub async fn create_postmortem(
        &self,
        incident_id: Uuid,
        body: &str,
        author: &str,
        now: Timestamp,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "INSERT INTO postmortems (incident_id, status, body, revision, created_at, updated_at) \
             VALUES ($1, 'draft', $2, 1, $3, $3) ON CONFLICT (incident_id) DO NOTHING",
        )
        .bind(incident_id.to_string())
        .bind(body.to_string())
        .bind(micros(now))
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 1 {
            sqlx::query(
                "INSERT INTO postmortem_revisions (incident_id, revision, body, author, created_at) \
                 VALUES ($1, 1, $2, $3, $4)",
            )
            .bind(incident_id.to_string())
            .bind(body.to_string())
            .bind(author.to_string())
            .bind(micros(now))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    /// Saves a new revision based on `base` (the revision the editor started from).
    pub async fn save_postmortem(
        &self,
        incident_id: Uuid,
        body: &str,
        (author, base): (&str, i64),
        now: Timestamp,
    ) -> Result<Postmortem> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE postmortems SET body = $2, revision = revision + 1, updated_at = $3 \
             WHERE incident_id = $1 AND revision = $4",
        )
        .bind(incident_id.to_string())
        .bind(body.to_string())
        .bind(micros(now))
        .bind(base)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(match self.postmortem(incident_id).await? {
                None => StoreError::NotFound("post-mortem"),
                Some(current) => StoreError::Conflict(format!(
                    "revision {} was saved after revision {base}, which this edit started from; reload and merge",
                    current.revision
                )),
            });
        }
        sqlx::query(
            "INSERT INTO postmortem_revisions (incident_id, revision, body, author, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(incident_id.to_string())
        .bind(base + 1)
        .bind(body.to_string())
        .bind(author.to_string())
        .bind(micros(now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.postmortem(incident_id)
            .await?
            .ok_or(StoreError::NotFound("post-mortem"))
    }

    pub async fn set_postmortem_status(
        &self,
        incident_id: Uuid,
        status: PostmortemStatus,
        now: Timestamp,
    ) -> Result<Postmortem> {
        let published = status == PostmortemStatus::Published;
        // Whether the post-mortem is published decides whether the incident may close
        // (`writer::lock_incident`).
        let mut tx = self.begin_write().await?;
        crate::writer::lock_incident(&mut tx, self.backend(), incident_id).await?;
        sqlx::query(
            "UPDATE postmortems SET status = $2, updated_at = $3, \
             published_at = CASE WHEN $4 = 1 THEN $3 ELSE published_at END WHERE incident_id = $1",
        )
        .bind(incident_id.to_string())
        .bind(status.as_str())
        .bind(micros(now))
        .bind(i64::from(published))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.postmortem(incident_id)
            .await?
            .ok_or(StoreError::NotFound("post-mortem"))
    }

    /// Every revision, newest first.
    pub async fn postmortem_revisions(&self, incident_id: Uuid) -> Result<Vec<Revision>> {
        let rows: Vec<(i64, String, i64, String)> = sqlx::query_as(
            "SELECT revision, author, created_at, body FROM postmortem_revisions \
             WHERE incident_id = $1 ORDER BY revision DESC",
        )
        .bind(incident_id.to_string())
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(revision, author, created_at, body)| Revision {
                revision,
                author,
                created_at: from_micros(created_at),
                body,
            })
            .collect())
    }

    /// Incidents that stopped being worked on (resolved, learning, closed) and have no
    /// post-mortem yet, oldest first.
    pub async fn incidents_needing_postmortem(&self, limit: i64) -> Result<Vec<Uuid>> {
        let sql = format!(
            "SELECT id FROM incidents i WHERE status IN ('resolved', 'learning', 'closed') \
             AND NOT EXISTS (SELECT 1 FROM postmortems p WHERE p.incident_id = i.id) \
             ORDER BY updated_at LIMIT {}",
            limit.clamp(1, 500)
        );
        let ids: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_all(self.pool())
            .await?;
        ids.into_iter()
            .map(|id| {
                Uuid::parse_str(&id).map_err(|_| StoreError::Corrupt(format!("incident id {id:?}")))
            })
            .collect()
    }
}
