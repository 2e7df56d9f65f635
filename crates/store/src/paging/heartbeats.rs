//! Heartbeat monitors.

use super::*;

/// A heartbeat monitor: the service expects a ping every `interval_minutes`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Heartbeat {
    pub id: String,
    pub service_id: String,
    pub name: String,
    pub interval_minutes: i64,
    pub last_ping_at: Option<Timestamp>,
    pub due_at: Timestamp,
    /// An alert is open for a missed ping.
    pub missed: bool,
}

const HEARTBEAT_COLUMNS: &str =
    "id, service_id, name, interval_minutes, last_ping_at, due_at, missed";

/// A heartbeat as `HEARTBEAT_COLUMNS` reads it.
#[derive(sqlx::FromRow)]
struct HeartbeatRow {
    id: String,
    service_id: String,
    name: String,
    interval_minutes: i64,
    last_ping_at: Option<i64>,
    due_at: i64,
    missed: i64,
}

fn heartbeat_from(row: &AnyRow) -> Result<Heartbeat> {
    let row = HeartbeatRow::from_row(row)?;
    Ok(Heartbeat {
        id: row.id,
        service_id: row.service_id,
        name: row.name,
        interval_minutes: row.interval_minutes,
        last_ping_at: row.last_ping_at.map(from_micros),
        due_at: from_micros(row.due_at),
        missed: row.missed != 0,
    })
}

impl Store {
    /// A new heartbeat monitor, first due one interval from now.
    pub async fn create_heartbeat(
        &self,
        service_id: &str,
        name: &str,
        interval_minutes: i64,
        now: Timestamp,
    ) -> Result<Heartbeat> {
        let id = Uuid::now_v7().to_string();
        let due = now + SignedDuration::from_mins(interval_minutes);
        sqlx::query(
            "INSERT INTO heartbeats (id, service_id, name, interval_minutes, due_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id.clone())
        .bind(service_id.to_string())
        .bind(name.to_string())
        .bind(interval_minutes)
        .bind(micros(due))
        .bind(micros(now))
        .execute(self.pool())
        .await
        .map_err(taken(|| {
            format!("the service has a heartbeat named {name:?}")
        }))?;
        Ok(Heartbeat {
            id,
            service_id: service_id.into(),
            name: name.into(),
            interval_minutes,
            last_ping_at: None,
            due_at: due,
            missed: false,
        })
    }

    pub async fn heartbeats(&self, service_id: &str) -> Result<Vec<Heartbeat>> {
        let sql = format!(
            "SELECT {HEARTBEAT_COLUMNS} FROM heartbeats WHERE service_id = $1 ORDER BY name"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(service_id.to_string())
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(heartbeat_from).collect()
    }

    pub async fn heartbeat(&self, service_id: &str, name: &str) -> Result<Heartbeat> {
        let sql = format!(
            "SELECT {HEARTBEAT_COLUMNS} FROM heartbeats WHERE service_id = $1 AND name = $2"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(service_id.to_string())
            .bind(name.to_string())
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound("heartbeat"))?;
        heartbeat_from(&row)
    }

    /// Records a ping: the next one is due an interval from now and the heartbeat is healthy.
    pub async fn ping_heartbeat(&self, id: &str, now: Timestamp) -> Result<Heartbeat> {
        let sql = format!("SELECT {HEARTBEAT_COLUMNS} FROM heartbeats WHERE id = $1");
        let current = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id.to_string())
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound("heartbeat"))?;
        let current = heartbeat_from(&current)?;
        let due = now + SignedDuration::from_mins(current.interval_minutes);
        sqlx::query(
            "UPDATE heartbeats SET last_ping_at = $2, due_at = $3, missed = 0 WHERE id = $1",
        )
        .bind(id.to_string())
        .bind(micros(now))
        .bind(micros(due))
        .execute(self.pool())
        .await?;
        Ok(Heartbeat {
            last_ping_at: Some(now),
            due_at: due,
            missed: false,
            ..current
        })
    }

    /// Heartbeats whose ping is overdue and have no alert open yet.
    pub async fn overdue_heartbeats(&self, now: Timestamp) -> Result<Vec<Heartbeat>> {
        let sql = format!(
            "SELECT {HEARTBEAT_COLUMNS} FROM heartbeats WHERE due_at <= $1 AND missed = 0 ORDER BY due_at LIMIT 500"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(micros(now))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(heartbeat_from).collect()
    }

    /// Marks a heartbeat as missed (its alert raised), unless a ping came in meanwhile.
    pub async fn mark_heartbeat_missed(&self, id: &str, due_at: Timestamp) -> Result<()> {
        sqlx::query("UPDATE heartbeats SET missed = 1 WHERE id = $1 AND due_at = $2")
            .bind(id.to_string())
            .bind(micros(due_at))
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
