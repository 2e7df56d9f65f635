//! Silences and maintenance windows.

use super::*;

impl Store {
    /// A silence (or, for a whole service, a maintenance window).
    pub async fn create_silence(
        &self,
        silence: &Silence,
        comment: &str,
        by: &str,
        now: Timestamp,
    ) -> Result<Silence> {
        let id = Uuid::now_v7().to_string();
        sqlx::query(
            "INSERT INTO silences (id, service_id, matching, starts_at, ends_at, comment, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(id.clone())
        .bind(silence.service_id.clone())
        .bind(silence.matching.clone())
        .bind(micros(silence.starts))
        .bind(micros(silence.ends))
        .bind(comment.to_string())
        .bind(by.to_string())
        .bind(micros(now))
        .execute(self.pool())
        .await?;
        Ok(Silence {
            id,
            ..silence.clone()
        })
    }

    /// Silences not yet over at `now` (active or to come), with their comment and author.
    pub async fn silences(&self, now: Timestamp) -> Result<Vec<(Silence, String, String)>> {
        let rows: Vec<NotedSilenceRow> = sqlx::query_as(
            "SELECT id, service_id, matching, starts_at, ends_at, comment, created_by FROM silences \
             WHERE ends_at > $1 ORDER BY starts_at",
        )
        .bind(micros(now))
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|row| (row.silence.into(), row.comment, row.created_by))
            .collect())
    }

    /// Ends a silence now.
    pub async fn end_silence(&self, id: &str, now: Timestamp) -> Result<()> {
        let done = sqlx::query("UPDATE silences SET ends_at = $2 WHERE id = $1 AND ends_at > $2")
            .bind(id.to_string())
            .bind(micros(now))
            .execute(self.pool())
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("silence"));
        }
        Ok(())
    }
}
