//! The batching writer: one task owns every incident write and commits many commands in one
//! transaction (group commit).
//!
//! A command's domain checks run before it writes anything, so a refused command leaves the
//! batch untouched. If the database itself fails mid-batch, the batch is rolled back and each
//! job is retried alone, so one bad job cannot fail its neighbours.

use std::sync::Arc;

use firebreak_core::command::{Decided, NewIncident};
use firebreak_core::hash::event_hash;
use firebreak_core::{
    Catalog, Command, DomainError, EventData, FieldErrors, Incident, IncidentId, Reference, apply,
    decide, declare,
};
use jiff::Timestamp;
use sqlx::{Any, Row, Transaction};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use crate::clock::{self, micros};
use crate::db::{Backend, begin_write};
use crate::reads::{IncidentKey, StoredEvent};
use crate::rows::{INCIDENT_COLUMNS, bind_incident, incident_from_row};
use crate::{Result, Store, StoreError};

/// Builds the command once the incident's current state is known (inside the transaction),
/// so checks such as "merge into itself" see the state the command will apply to.
pub type BuildCommand =
    Box<dyn Fn(&Incident, &Catalog) -> Result<Command, DomainError> + Send + Sync>;

pub enum Work {
    Declare {
        new: NewIncident,
        actor: String,
        idempotency_key: Option<String>,
    },
    Command {
        key: IncidentKey,
        actor: String,
        include_private: bool,
        build: BuildCommand,
    },
}

pub struct Job {
    work: Work,
    reply: oneshot::Sender<Result<Outcome>>,
}

#[derive(Clone, Debug)]
pub struct Declared {
    pub incident: Incident,
    /// False when an idempotency key matched an earlier declare.
    pub created: bool,
}

#[derive(Clone, Debug)]
pub struct Outcome {
    pub incident: Incident,
    pub created: bool,
    pub events: Vec<Arc<StoredEvent>>,
}

impl Store {
    pub async fn declare(
        &self,
        new: NewIncident,
        actor: &str,
        idempotency_key: Option<String>,
    ) -> Result<Declared> {
        let work = Work::Declare {
            new,
            actor: actor.to_string(),
            idempotency_key,
        };
        let outcome = self.submit(work).await?;
        Ok(Declared {
            incident: outcome.incident,
            created: outcome.created,
        })
    }

    /// Runs a command against an incident; answers after the commit.
    /// A private incident is `NotFound` unless `include_private`; the check runs in the same
    /// transaction as the write.
    pub async fn execute(
        &self,
        key: IncidentKey,
        actor: &str,
        include_private: bool,
        build: BuildCommand,
    ) -> Result<Outcome> {
        self.submit(Work::Command {
            key,
            actor: actor.to_string(),
            include_private,
            build,
        })
        .await
    }

    async fn submit(&self, work: Work) -> Result<Outcome> {
        let (reply, answer) = oneshot::channel();
        self.writer()
            .send(Job { work, reply })
            .await
            .map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }
}

pub(crate) async fn run(store: Store, mut jobs: mpsc::Receiver<Job>, max_batch: usize) {
    let mut batch = Vec::with_capacity(max_batch);
    while jobs.recv_many(&mut batch, max_batch).await > 0 {
        let taken = std::mem::take(&mut batch);
        process_batch(&store, taken).await;
    }
}

async fn process_batch(store: &Store, jobs: Vec<Job>) {
    match commit_batch(store, &jobs).await {
        Ok(results) => {
            for (job, result) in jobs.into_iter().zip(results) {
                let _ = job.reply.send(result);
            }
        }
        Err(err) if jobs.len() == 1 => {
            tracing::error!(error = %err, "incident write failed");
            if let Some(job) = jobs.into_iter().next() {
                let _ = job.reply.send(Err(err));
            }
        }
        Err(err) => {
            tracing::warn!(error = %err, n_jobs = jobs.len(), "batch failed; retrying its jobs one by one");
            for job in jobs {
                let result = match commit_batch(store, std::slice::from_ref(&job)).await {
                    Ok(mut results) => results.pop().unwrap_or(Err(StoreError::Closed)),
                    Err(err) => Err(err),
                };
                let _ = job.reply.send(result);
            }
        }
    }
}

/// One transaction for all jobs. `Err` only for database failures, which abort everything;
/// a job refused by the domain gets its own `Err` in the returned list.
async fn commit_batch(store: &Store, jobs: &[Job]) -> Result<Vec<Result<Outcome>>> {
    let now = clock::now();
    let backend = store.backend();
    let mut tx = store.pool().begin_with(begin_write(backend)).await?;
    let mut results = Vec::with_capacity(jobs.len());
    for job in jobs {
        let result = match &job.work {
            Work::Declare {
                new,
                actor,
                idempotency_key,
            } => {
                run_declare(
                    &mut tx,
                    backend,
                    new,
                    actor,
                    idempotency_key.as_deref(),
                    now,
                )
                .await
            }
            Work::Command {
                key,
                actor,
                include_private,
                build,
            } => {
                let target = (*key, *include_private);
                run_command(&mut tx, backend, store.catalog(), target, actor, build, now).await
            }
        };
        match result {
            Err(StoreError::Database(err)) => return Err(StoreError::Database(err)),
            other => results.push(other),
        }
    }
    tx.commit().await?;
    let mut any_events = false;
    for outcome in results.iter().flatten() {
        for event in &outcome.events {
            any_events = true;
            let _ = store.event_sender().send(event.clone());
        }
    }
    if any_events {
        store.wake_outbox();
    }
    Ok(results)
}

async fn run_declare(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    new: &NewIncident,
    actor: &str,
    idempotency_key: Option<&str>,
    now: Timestamp,
) -> Result<Outcome> {
    let id = Uuid::now_v7();
    if let Some(key) = idempotency_key {
        // Claim the key first: on PostgreSQL a concurrent claim waits for ours to commit and
        // then finds the key taken, so two replicas never create two incidents.
        let claimed = sqlx::query(
            "INSERT INTO idempotency_keys (key, incident_id, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (key) DO NOTHING RETURNING key",
        )
        .bind(key.to_string())
        .bind(id.to_string())
        .bind(micros(now))
        .fetch_optional(&mut **tx)
        .await?;
        if claimed.is_none() {
            let row = sqlx::query("SELECT incident_id FROM idempotency_keys WHERE key = $1")
                .bind(key.to_string())
                .fetch_one(&mut **tx)
                .await?;
            let existing: String = row.try_get("incident_id")?;
            let existing = Uuid::parse_str(&existing)
                .map_err(|_| StoreError::Corrupt("idempotency key incident".into()))?;
            let incident = load(tx, backend, IncidentKey::Id(existing)).await?;
            return Ok(Outcome {
                incident,
                created: false,
                events: vec![],
            });
        }
    }
    let row = sqlx::query(
        "UPDATE counters SET value = value + 1 WHERE name = 'incident_reference' RETURNING value",
    )
    .fetch_one(&mut **tx)
    .await?;
    let number: i64 = row.try_get("value")?;
    let (mut incident, data) = declare(new.clone(), IncidentId(id), Reference(number), actor, now);
    let event = chain(&mut incident, &data, actor, now, now);
    upsert_incident(tx, &incident, now).await?;
    insert_event(tx, &event, now).await?;
    Ok(Outcome {
        incident,
        created: true,
        events: vec![Arc::new(event)],
    })
}

async fn run_command(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    catalog: &Catalog,
    (key, include_private): (IncidentKey, bool),
    actor: &str,
    build: &BuildCommand,
    now: Timestamp,
) -> Result<Outcome> {
    let mut incident = load(tx, backend, key).await?;
    if incident.private && !include_private {
        return Err(StoreError::NotFound);
    }
    let command = build(&incident, catalog)?;
    if let Command::Change {
        merged_into: Some(target),
        ..
    } = &command
    {
        let exists = sqlx::query("SELECT 1 AS found FROM incidents WHERE number = $1")
            .bind(target.0)
            .fetch_optional(&mut **tx)
            .await?
            .is_some();
        if !exists {
            let mut errors = FieldErrors::default();
            errors.add("merged_into", format!("there is no incident {target}"));
            return Err(DomainError::Validation(errors).into());
        }
    }
    let decided = decide(&incident, catalog, command, now)?;
    let mut events = Vec::with_capacity(decided.len());
    for Decided { data, occurred_at } in decided {
        apply(&mut incident, &data, now);
        events.push(chain(&mut incident, &data, actor, now, occurred_at));
    }
    if !events.is_empty() {
        for event in &events {
            insert_event(tx, event, now).await?;
        }
        upsert_incident(tx, &incident, now).await?;
    }
    Ok(Outcome {
        incident,
        created: false,
        events: events.into_iter().map(Arc::new).collect(),
    })
}

async fn load(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    key: IncidentKey,
) -> Result<Incident> {
    // SQLite already holds the database write lock; PostgreSQL locks just this incident so
    // replicas append to its chain one at a time.
    let lock = if backend == Backend::Postgres {
        " FOR UPDATE"
    } else {
        ""
    };
    let query = match key {
        IncidentKey::Id(id) => sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {INCIDENT_COLUMNS} FROM incidents WHERE id = $1{lock}"
        )))
        .bind(id.to_string()),
        IncidentKey::Reference(reference) => sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {INCIDENT_COLUMNS} FROM incidents WHERE number = $1{lock}"
        )))
        .bind(reference.0),
    };
    let row = query
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(StoreError::NotFound)?;
    incident_from_row(&row)
}

/// Links the next event onto the incident's chain (in memory; `insert_event` stores it).
fn chain(
    incident: &mut Incident,
    data: &EventData,
    actor: &str,
    now: Timestamp,
    occurred_at: Timestamp,
) -> StoredEvent {
    let mut event = StoredEvent {
        incident_id: incident.id.0.to_string(),
        reference: incident.reference,
        private: incident.private,
        seq: incident.last_seq + 1,
        kind: data.kind().to_string(),
        actor: actor.to_string(),
        observed_at_us: micros(now),
        occurred_at_us: micros(occurred_at),
        body: data.to_body().to_string(),
        prev_hash: incident.last_hash.clone(),
        hash: String::new(),
    };
    event.hash = event_hash(&event.prev_hash, &event.envelope());
    incident.last_seq = event.seq;
    incident.last_hash = event.hash.clone();
    event
}

async fn insert_event(
    tx: &mut Transaction<'static, Any>,
    event: &StoredEvent,
    now: Timestamp,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO events (incident_id, seq, kind, actor, observed_at, occurred_at, body, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(event.incident_id.clone())
    .bind(event.seq)
    .bind(event.kind.clone())
    .bind(event.actor.clone())
    .bind(event.observed_at_us)
    .bind(event.occurred_at_us)
    .bind(event.body.clone())
    .bind(event.prev_hash.clone())
    .bind(event.hash.clone())
    .execute(&mut **tx)
    .await?;
    // The outgoing work of this event, queued in the same transaction: it exists exactly
    // when the event does.
    sqlx::query("INSERT INTO outbox (incident_id, seq, kind, private, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(event.incident_id.clone())
        .bind(event.seq)
        .bind(event.kind.clone())
        .bind(i64::from(event.private))
        .bind(micros(now))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

async fn upsert_incident(
    tx: &mut Transaction<'static, Any>,
    incident: &Incident,
    now: Timestamp,
) -> Result<()> {
    let sql = upsert_sql();
    let declared_at = incident
        .timestamp(firebreak_core::TimestampName::Declared)
        .observed
        .map(micros)
        .unwrap_or(micros(now));
    bind_incident(
        sqlx::query(sqlx::AssertSqlSafe(sql)),
        incident,
        declared_at,
        micros(now),
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn upsert_sql() -> String {
    let columns: Vec<&str> = INCIDENT_COLUMNS.split(", ").collect();
    let placeholders: Vec<String> = (1..=columns.len()).map(|idx| format!("${idx}")).collect();
    let updates: Vec<String> = columns
        .iter()
        .filter(|it| !matches!(**it, "id" | "number" | "declared_at" | "created_by"))
        .map(|it| format!("{it} = excluded.{it}"))
        .collect();
    format!(
        "INSERT INTO incidents ({}) VALUES ({}) ON CONFLICT (id) DO UPDATE SET {}",
        columns.join(", "),
        placeholders.join(", "),
        updates.join(", ")
    )
}
