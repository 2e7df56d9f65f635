//! On-call schedules as stored: name, zone and layers (the API's JSON, kept as written),
//! overrides, and the secret calendar feeds. What they mean is `core::schedule`.

use jiff::Timestamp;
use uuid::Uuid;

use crate::clock::{from_micros, micros};
use crate::{Result, Store, StoreError};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredSchedule {
    pub id: String,
    pub name: String,
    pub time_zone: String,
    /// JSON, in the API's shape.
    pub layers: String,
    /// Newest first.
    pub overrides: Vec<StoredOverride>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredOverride {
    pub id: String,
    pub start: Timestamp,
    pub end: Timestamp,
    pub person: String,
    pub created_by: String,
}

/// What a calendar feed shows: one schedule, or one person's shifts in every schedule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FeedSubject {
    Schedule(String),
    Person(String),
}

/// An override as its table holds it.
#[derive(sqlx::FromRow)]
struct OverrideRow {
    id: String,
    starts_at: i64,
    ends_at: i64,
    person: String,
    created_by: String,
}

impl From<OverrideRow> for StoredOverride {
    fn from(row: OverrideRow) -> StoredOverride {
        StoredOverride {
            id: row.id,
            start: from_micros(row.starts_at),
            end: from_micros(row.ends_at),
            person: row.person,
            created_by: row.created_by,
        }
    }
}

/// A schedule as its table holds it (`layers` JSON).
#[derive(sqlx::FromRow)]
struct ScheduleRow {
    id: String,
    name: String,
    time_zone: String,
    layers: String,
    created_at: i64,
    updated_at: i64,
}

impl Store {
    /// A new schedule; `Conflict` when the name is taken.
    pub async fn create_schedule(
        &self,
        (name, time_zone, layers): (&str, &str, &str),
        now: Timestamp,
    ) -> Result<StoredSchedule> {
        let mut tx = self.begin_write().await?;
        let taken = sqlx::query("SELECT id FROM schedules WHERE name = $1")
            .bind(name.to_string())
            .fetch_optional(&mut *tx)
            .await?;
        if taken.is_some() {
            return Err(StoreError::Conflict(format!(
                "a schedule named {name:?} exists"
            )));
        }
        let id = Uuid::now_v7().to_string();
        sqlx::query(
            "INSERT INTO schedules (id, name, time_zone, layers, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)",
        )
        .bind(id.clone())
        .bind(name.to_string())
        .bind(time_zone.to_string())
        .bind(layers.to_string())
        .bind(micros(now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.schedule(&id).await
    }

    /// Replaces a schedule's name, zone and layers (overrides stay).
    pub async fn update_schedule(
        &self,
        id: &str,
        (name, time_zone, layers): (&str, &str, &str),
        now: Timestamp,
    ) -> Result<StoredSchedule> {
        let mut tx = self.begin_write().await?;
        let taken = sqlx::query("SELECT id FROM schedules WHERE name = $1 AND id <> $2")
            .bind(name.to_string())
            .bind(id.to_string())
            .fetch_optional(&mut *tx)
            .await?;
        if taken.is_some() {
            return Err(StoreError::Conflict(format!(
                "a schedule named {name:?} exists"
            )));
        }
        let done = sqlx::query(
            "UPDATE schedules SET name = $2, time_zone = $3, layers = $4, updated_at = $5 WHERE id = $1",
        )
        .bind(id.to_string())
        .bind(name.to_string())
        .bind(time_zone.to_string())
        .bind(layers.to_string())
        .bind(micros(now))
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("schedule"));
        }
        tx.commit().await?;
        self.schedule(id).await
    }

    /// Deletes a schedule with its overrides and feeds.
    pub async fn delete_schedule(&self, id: &str) -> Result<()> {
        let mut tx = self.begin_write().await?;
        for sql in [
            "DELETE FROM schedule_overrides WHERE schedule_id = $1",
            "DELETE FROM calendar_feeds WHERE schedule_id = $1",
        ] {
            sqlx::query(sql)
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?;
        }
        let done = sqlx::query("DELETE FROM schedules WHERE id = $1")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("schedule"));
        }
        tx.commit().await?;
        Ok(())
    }

    /// One schedule by id or by name.
    pub async fn schedule(&self, id_or_name: &str) -> Result<StoredSchedule> {
        let row: ScheduleRow = sqlx::query_as(
            "SELECT id, name, time_zone, layers, created_at, updated_at FROM schedules WHERE id = $1 OR name = $1",
        )
        .bind(id_or_name.to_string())
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound("schedule"))?;
        let mut found = self.schedule_rows(vec![row]).await?;
        found.pop().ok_or(StoreError::NotFound("schedule"))
    }

    /// Every schedule, by name.
    pub async fn schedules(&self) -> Result<Vec<StoredSchedule>> {
        let rows: Vec<ScheduleRow> = sqlx::query_as(
            "SELECT id, name, time_zone, layers, created_at, updated_at FROM schedules ORDER BY name",
        )
        .fetch_all(self.pool())
        .await?;
        self.schedule_rows(rows).await
    }

    async fn schedule_rows(&self, rows: Vec<ScheduleRow>) -> Result<Vec<StoredSchedule>> {
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let overrides = sqlx::query_as::<_, OverrideRow>(
                "SELECT id, starts_at, ends_at, person, created_by FROM schedule_overrides \
                 WHERE schedule_id = $1 ORDER BY created_at DESC, id DESC",
            )
            .bind(row.id.clone())
            .fetch_all(self.pool())
            .await?
            .into_iter()
            .map(StoredOverride::from)
            .collect();
            out.push(StoredSchedule {
                id: row.id,
                name: row.name,
                time_zone: row.time_zone,
                layers: row.layers,
                overrides,
                created_at: from_micros(row.created_at),
                updated_at: from_micros(row.updated_at),
            });
        }
        Ok(out)
    }

    /// Someone covers `[start, end)` of a schedule.
    pub async fn add_override(
        &self,
        schedule_id: &str,
        (start, end, person): (Timestamp, Timestamp, &str),
        by: &str,
        now: Timestamp,
    ) -> Result<StoredOverride> {
        let id = Uuid::now_v7().to_string();
        let mut tx = self.begin_write().await?;
        let found = sqlx::query("SELECT id FROM schedules WHERE id = $1")
            .bind(schedule_id.to_string())
            .fetch_optional(&mut *tx)
            .await?;
        if found.is_none() {
            return Err(StoreError::NotFound("schedule"));
        }
        sqlx::query(
            "INSERT INTO schedule_overrides (id, schedule_id, starts_at, ends_at, person, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id.clone())
        .bind(schedule_id.to_string())
        .bind(micros(start))
        .bind(micros(end))
        .bind(person.to_string())
        .bind(by.to_string())
        .bind(micros(now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(StoredOverride {
            id,
            start,
            end,
            person: person.into(),
            created_by: by.into(),
        })
    }

    pub async fn delete_override(&self, schedule_id: &str, override_id: &str) -> Result<()> {
        let done = sqlx::query("DELETE FROM schedule_overrides WHERE id = $1 AND schedule_id = $2")
            .bind(override_id.to_string())
            .bind(schedule_id.to_string())
            .execute(self.pool())
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("override"));
        }
        Ok(())
    }

    /// Records a calendar feed by the hash of its secret.
    pub async fn create_calendar_feed(
        &self,
        secret_hash: &str,
        subject: &FeedSubject,
        by: &str,
        now: Timestamp,
    ) -> Result<()> {
        let (schedule, person) = match subject {
            FeedSubject::Schedule(id) => (Some(id.clone()), None),
            FeedSubject::Person(email) => (None, Some(email.clone())),
        };
        sqlx::query(
            "INSERT INTO calendar_feeds (secret_hash, schedule_id, person, created_by, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(secret_hash.to_string())
        .bind(schedule)
        .bind(person)
        .bind(by.to_string())
        .bind(micros(now))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// What the feed with this secret's hash shows.
    pub async fn calendar_feed(&self, secret_hash: &str) -> Result<FeedSubject> {
        let row: (Option<String>, Option<String>) =
            sqlx::query_as("SELECT schedule_id, person FROM calendar_feeds WHERE secret_hash = $1")
                .bind(secret_hash.to_string())
                .fetch_optional(self.pool())
                .await?
                .ok_or(StoreError::NotFound("calendar"))?;
        match row {
            (Some(id), _) => Ok(FeedSubject::Schedule(id)),
            (None, Some(person)) => Ok(FeedSubject::Person(person)),
            (None, None) => Err(StoreError::NotFound("calendar")),
        }
    }
}
