//! The batching writer: one task owns every incident write and commits many commands in one
//! transaction (group commit).
//!
//! A command's domain checks run before it writes anything, so a refused command leaves the
//! batch untouched. If the database itself fails mid-batch, the batch is rolled back and each
//! job is retried alone, so one bad job cannot fail its neighbours.

use std::collections::HashMap;
use std::sync::Arc;

use firebreak_core::closing::Learning;
use firebreak_core::command::{Decided, NewIncident};
use firebreak_core::hash::{Envelope, event_hash};
use firebreak_core::postmortem::PostmortemStatus;
use firebreak_core::{
    Access, Actor, Catalog, Command, Context, DomainError, EventData, FieldErrors, Incident,
    IncidentId, Reference, apply, decide, declare,
};
use jiff::Timestamp;
use sqlx::{Any, Transaction};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use crate::clock::{self, micros};
use crate::db::{Backend, begin_write};
use crate::multirow;

mod cache;
mod durable;
mod flush;
mod statements;
use crate::durable::OwnConnection;
use crate::reads::{IncidentKey, StoredEvent};
use crate::rows::{INCIDENT_FROM, INCIDENT_SELECT, incident_from_row};
use crate::{Result, Store, StoreError};
use cache::Cache;
use durable::Committed;
use statements::row_changed;

/// Builds the command once the incident's current state is known (inside the transaction),
/// so checks such as "merge into itself" see the state the command will apply to.
pub type BuildCommand =
    Box<dyn Fn(&Incident, &Catalog) -> Result<Command, DomainError> + Send + Sync>;

pub enum Work {
    Declare {
        new: NewIncident,
        actor: String,
        access: Access,
        idempotency: Option<Idempotency>,
    },
    Command {
        key: IncidentKey,
        actor: String,
        access: Access,
        build: BuildCommand,
    },
}

/// An `Idempotency-Key` as the caller sent it, with a fingerprint of the request it came with.
/// Keys belong to their caller: the same key from someone else is another key.
#[derive(Clone, Debug)]
pub struct Idempotency {
    pub key: String,
    /// Any stable digest of the request body; a replay with another body is refused.
    pub fingerprint: String,
}

pub struct Job {
    /// Claimed with the command's commit, so a retry after a lost answer finds it.
    id: Uuid,
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
    /// The incident after the command (shared with the writer's memory of it, not copied).
    pub incident: Arc<Incident>,
    pub created: bool,
    pub events: Vec<Arc<StoredEvent>>,
}

impl Store {
    /// Declares an incident. A replayed idempotency key answers the incident it made, if
    /// `access` may still see it (else `NotFound`), or `IdempotencyKeyReused` when the body
    /// differs from the first request's.
    pub async fn declare(
        &self,
        new: NewIncident,
        actor: &str,
        access: Access,
        idempotency: Option<Idempotency>,
    ) -> Result<Declared> {
        let work = Work::Declare {
            new,
            actor: actor.to_string(),
            access,
            idempotency,
        };
        let outcome = self.submit(work).await?;
        Ok(Declared {
            incident: Arc::unwrap_or_clone(outcome.incident),
            created: outcome.created,
        })
    }

    /// Runs a command against an incident; answers after the commit.
    /// An incident `access` cannot see is `NotFound`; the check runs in the same transaction
    /// as the write.
    pub async fn execute(
        &self,
        key: IncidentKey,
        actor: &str,
        access: Access,
        build: BuildCommand,
    ) -> Result<Outcome> {
        self.submit(Work::Command {
            key,
            actor: actor.to_string(),
            access,
            build,
        })
        .await
    }

    /// `execute` for a command that does not depend on the incident's current state.
    pub async fn execute_command(
        &self,
        key: IncidentKey,
        actor: &str,
        access: Access,
        command: Command,
    ) -> Result<Outcome> {
        let build: BuildCommand = Box::new(move |_, _| Ok(command.clone()));
        self.execute(key, actor, access, build).await
    }

    async fn submit(&self, work: Work) -> Result<Outcome> {
        let (reply, answer) = oneshot::channel();
        self.writer()
            .send(Job {
                id: Uuid::now_v7(),
                work,
                reply,
            })
            .await
            .map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }
}

/// Starts the writer on a thread of its own (`Store::on_own_thread`): on the shared runtime,
/// every time the writer awaited the database (a dozen times a batch) it was put back in a
/// worker's queue behind the HTTP tasks that had arrived meanwhile, so under load each step
/// of a batch waited for dozens of requests to be parsed and answered, and the batch's cycle
/// (which bounds the command rate) stretched with the load.
pub(crate) fn start(store: Store, jobs: mpsc::Receiver<Job>, max_batch: usize) -> Result<()> {
    store
        .clone()
        .on_own_thread("firebreak-writer", move || run(store, jobs, max_batch))
}

async fn run(store: Store, mut jobs: mpsc::Receiver<Job>, max_batch: usize) {
    let mut batch = Vec::with_capacity(max_batch);
    let mut cache = Cache::default();
    let mut conn = OwnConnection::default();
    while jobs.recv_many(&mut batch, max_batch).await > 0 {
        let taken = std::mem::take(&mut batch);
        process_batch(&store, &mut conn, &mut cache, taken).await;
    }
}

/// A batch's answers, in the order of its jobs, and the events it committed.
type Answers = (Vec<Result<Outcome>>, Vec<Arc<StoredEvent>>);

async fn process_batch(store: &Store, conn: &mut OwnConnection, cache: &mut Cache, jobs: Vec<Job>) {
    let committed = commit_guarded(store, conn, cache, &jobs, false).await;
    store.note_write(committed.as_ref().map(|_| ()));
    match committed {
        Ok((results, events)) => {
            let replies = jobs.into_iter().map(|job| job.reply).zip(results);
            let committed = Committed {
                replies: replies.collect(),
                events,
            };
            committed.finish(store);
        }
        // A lost connection may have taken the answer of a commit that happened: with the
        // command's claim to go by, trying once more is safe.
        Err(err) if jobs.len() == 1 && !err.is_unavailable() => {
            tracing::error!(error = %err, "incident write failed");
            if let Some(job) = jobs.into_iter().next() {
                let _ = job.reply.send(Err(err));
            }
        }
        Err(err) => {
            tracing::warn!(error = %err, n_jobs = jobs.len(), "batch failed; retrying its jobs one by one");
            for job in jobs {
                let committed =
                    commit_guarded(store, conn, cache, std::slice::from_ref(&job), true).await;
                store.note_write(committed.as_ref().map(|_| ()));
                match committed {
                    Ok((mut results, events)) => {
                        let result = results.pop().unwrap_or(Err(StoreError::Closed));
                        let committed = Committed {
                            replies: vec![(job.reply, result)],
                            events,
                        };
                        committed.finish(store);
                    }
                    Err(err) => {
                        let _ = job.reply.send(Err(err));
                    }
                }
            }
        }
    }
}

/// `commit_batch`, with a panic inside it (a bug in `decide` or `apply`) turned into an error
/// for this batch: the transaction is dropped, so rolled back, and the writer keeps serving.
/// A batch of several jobs that panics is retried job by job like any failed batch, so only
/// the job that panics fails.
async fn commit_guarded(
    store: &Store,
    conn: &mut OwnConnection,
    cache: &mut Cache,
    jobs: &[Job],
    retry: bool,
) -> Result<Answers> {
    use futures_util::FutureExt;
    let result = std::panic::AssertUnwindSafe(commit_batch(store, conn, cache, jobs, retry))
        .catch_unwind()
        .await;
    if !matches!(result, Ok(Ok(_))) {
        conn.close();
    }
    match result {
        Ok(result) => result,
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|it| it.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".into());
            let work: Vec<String> = jobs.iter().map(|job| job.work.describe()).collect();
            tracing::error!(panic = %message, jobs = ?work, "incident write panicked; rolled back");
            Err(StoreError::Panicked(message))
        }
    }
}

impl Work {
    /// What the job was, for the log of a write that failed.
    fn describe(&self) -> String {
        match self {
            Work::Declare { actor, .. } => format!("declare by {actor}"),
            Work::Command { key, actor, .. } => format!("command on {key:?} by {actor}"),
        }
    }
}

/// One transaction for all jobs. `Err` only for database failures, which abort everything;
/// a job refused by the domain gets its own `Err` in the returned list.
/// `retry`: the jobs were in a batch that failed, which may have committed before its answer
/// was lost; each is first looked up by its claim.
async fn commit_batch(
    store: &Store,
    conn: &mut OwnConnection,
    cache: &mut Cache,
    jobs: &[Job],
    retry: bool,
) -> Result<Answers> {
    let backend = store.backend();
    if retry && let Some(done) = lost_answer(store, jobs).await? {
        return Ok((vec![Ok(done)], Vec::new()));
    }
    let conn = conn.get(store).await?;
    let started = std::time::Instant::now();
    let mut tx = sqlx::Connection::begin_with(conn, begin_write(backend)).await?;
    let mut batch = Batch::new(backend, clock::now());
    // One catalog for the whole batch, even if an admin changes the rules meanwhile.
    let catalog = store.catalog();
    let keys: Vec<IncidentKey> = jobs
        .iter()
        .filter_map(|job| match &job.work {
            Work::Command { key, .. } => Some(*key),
            Work::Declare { .. } => None,
        })
        .collect();
    batch.preload(&mut tx, &keys, cache).await?;
    let preloaded = std::time::Instant::now();
    let mut results = Vec::with_capacity(jobs.len());
    for job in jobs {
        let result = match &job.work {
            Work::Declare {
                new,
                actor,
                access,
                idempotency,
            } => {
                let key = idempotency.as_ref().map(|it| (it, access));
                run_declare(&mut tx, &mut batch, &catalog, new, actor, key).await
            }
            Work::Command {
                key,
                actor,
                access,
                build,
            } => {
                let target = (*key, access);
                run_command(&mut tx, &mut batch, &catalog, target, actor, build).await
            }
        };
        match result {
            Err(StoreError::Database(err)) => return Err(StoreError::Database(err)),
            Ok(outcome) => {
                batch.claim(job.id, &outcome);
                results.push(Ok(outcome));
            }
            other => results.push(other),
        }
    }
    let applied = std::time::Instant::now();
    batch.flush(&mut tx, &catalog, store.public_url()).await?;
    if backend == Backend::Postgres {
        // Delivered to the other replicas only if this transaction commits.
        for payload in crate::live::payloads(store.replica_id(), &batch.events) {
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(crate::live::CHANNEL)
                .bind(payload)
                .execute(&mut *tx)
                .await?;
        }
    }
    let committing = std::time::Instant::now();
    tx.commit().await?;
    tracing::debug!(
        jobs = jobs.len(),
        incidents = batch.dirty.len(),
        events = batch.events.len(),
        before_commit_us = (committing - started).as_micros() as u64,
        preload_us = (preloaded - started).as_micros() as u64,
        apply_us = (applied - preloaded).as_micros() as u64,
        flush_us = (committing - applied).as_micros() as u64,
        commit_us = committing.elapsed().as_micros() as u64,
        "incident batch committed"
    );
    store.after_commit_for_tests()?;
    cache.keep(batch.incidents.into_values());
    Ok((results, batch.events))
}

/// What one transaction has done so far. Each incident is read once per batch and kept
/// here; events, outbox rows and incident rows are written by `flush` in a few multi-row
/// statements, because every statement costs a round trip (a thread hop on SQLite, a network
/// hop on PostgreSQL) and a busy incident gets many commands per batch.
struct Batch {
    backend: Backend,
    now: Timestamp,
    incidents: HashMap<Uuid, Arc<Incident>>,
    by_number: HashMap<i64, Uuid>,
    /// Incidents to write back, in the order they first changed.
    dirty: Vec<Uuid>,
    /// Of those, the ones whose row changed beyond its head (`row_changed`); the others get
    /// only their head written.
    rows_dirty: Vec<Uuid>,
    /// Of those, the ones whose lists (actions, tasks, playbooks) changed.
    lists_dirty: Vec<Uuid>,
    events: Vec<Arc<StoredEvent>>,
    /// (command id, incident id, first seq, last seq, created) of each command that changed
    /// something.
    claims: Vec<(Uuid, String, i64, i64, bool)>,
}

impl Batch {
    fn claim(&mut self, id: Uuid, outcome: &Outcome) {
        let (first, last) = match (outcome.events.first(), outcome.events.last()) {
            (Some(first), Some(last)) => (first.seq, last.seq),
            _ => (0, 0),
        };
        let incident_id = outcome.incident.id.0.to_string();
        self.claims
            .push((id, incident_id, first, last, outcome.created));
    }

    fn new(backend: Backend, now: Timestamp) -> Self {
        Batch {
            backend,
            now,
            incidents: HashMap::new(),
            by_number: HashMap::new(),
            dirty: Vec::new(),
            rows_dirty: Vec::new(),
            lists_dirty: Vec::new(),
            events: Vec::new(),
            claims: Vec::new(),
        }
    }

    /// The incident as this batch sees it, loading (and on PostgreSQL locking) it once.
    async fn incident(
        &mut self,
        tx: &mut Transaction<'_, Any>,
        key: IncidentKey,
    ) -> Result<Incident> {
        let known = match key {
            IncidentKey::Id(id) => Some(id),
            IncidentKey::Reference(reference) => self.by_number.get(&reference.0).copied(),
        };
        if let Some(incident) = known.and_then(|id| self.incidents.get(&id)) {
            return Ok(Incident::clone(incident));
        }
        let incident = load(tx, self.backend, key).await?;
        self.remember(Arc::new(incident.clone()));
        Ok(incident)
    }

    /// Loads (and on PostgreSQL locks, in id order) every incident the batch's commands name:
    /// one statement reads each one's id and `last_hash`, and only those not in `cache` as
    /// stored are read whole, in a second. Keys that match nothing are left for `incident`
    /// to report.
    async fn preload(
        &mut self,
        tx: &mut Transaction<'_, Any>,
        keys: &[IncidentKey],
        cache: &Cache,
    ) -> Result<()> {
        let mut ids: Vec<String> = Vec::new();
        let mut numbers: Vec<i64> = Vec::new();
        for key in keys {
            match key {
                IncidentKey::Id(id) => ids.push(id.to_string()),
                IncidentKey::Reference(reference) => numbers.push(reference.0),
            }
        }
        ids.sort();
        ids.dedup();
        numbers.sort_unstable();
        numbers.dedup();
        if ids.is_empty() && numbers.is_empty() {
            return Ok(());
        }
        let mut conditions = Vec::new();
        if !ids.is_empty() {
            conditions.push(format!(
                "id IN ({})",
                multirow::list(self.backend, ids.len(), 0)
            ));
        }
        if !numbers.is_empty() {
            conditions.push(format!(
                "number IN ({})",
                multirow::list(self.backend, numbers.len(), ids.len())
            ));
        }
        let lock = if self.backend == Backend::Postgres {
            " FOR UPDATE"
        } else {
            ""
        };
        let sql = format!(
            "SELECT id, last_hash FROM incidents WHERE {} ORDER BY id{lock}",
            conditions.join(" OR ")
        );
        let mut query = sqlx::query_as::<_, (String, String)>(sqlx::AssertSqlSafe(sql));
        for id in ids {
            query = query.bind(id);
        }
        for number in numbers {
            query = query.bind(number);
        }
        let mut stale = Vec::new();
        for (id, last_hash) in query.fetch_all(&mut **tx).await? {
            let cached = Uuid::parse_str(&id)
                .ok()
                .and_then(|id| cache.incidents.get(&id))
                .filter(|it| it.last_hash == last_hash);
            match cached {
                Some(incident) => self.remember(Arc::clone(incident)),
                None => stale.push(id),
            }
        }
        if stale.is_empty() {
            return Ok(());
        }
        let sql = format!(
            "SELECT {INCIDENT_SELECT} FROM {INCIDENT_FROM} WHERE incidents.id IN ({})",
            multirow::list(self.backend, stale.len(), 0)
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for id in stale {
            query = query.bind(id);
        }
        for row in query.fetch_all(&mut **tx).await? {
            self.remember(Arc::new(incident_from_row(&row)?));
        }
        Ok(())
    }

    fn remember(&mut self, incident: Arc<Incident>) {
        self.by_number.insert(incident.reference.0, incident.id.0);
        self.incidents.insert(incident.id.0, incident);
    }

    /// Records a changed incident and the events that changed it.
    fn record(&mut self, incident: Arc<Incident>, events: &[Arc<StoredEvent>]) {
        if !self.dirty.contains(&incident.id.0) {
            self.dirty.push(incident.id.0);
        }
        let row_changed = self
            .incidents
            .get(&incident.id.0)
            .is_none_or(|before| row_changed(before, &incident));
        if row_changed && !self.rows_dirty.contains(&incident.id.0) {
            self.rows_dirty.push(incident.id.0);
        }
        let lists_changed = events.iter().any(|it| it.kind.changes_lists());
        if lists_changed && !self.lists_dirty.contains(&incident.id.0) {
            self.lists_dirty.push(incident.id.0);
        }
        self.remember(incident);
        self.events.extend(events.iter().cloned());
    }

    /// Whether `reference` names an incident `access` may see (read without locking it: only
    /// the incident being changed is locked). A hidden one is reported as missing.
    async fn visible(
        &self,
        tx: &mut Transaction<'_, Any>,
        reference: Reference,
        access: &Access,
    ) -> Result<bool> {
        if let Some(incident) = self
            .by_number
            .get(&reference.0)
            .and_then(|id| self.incidents.get(id))
        {
            return Ok(access.can_see(incident));
        }
        let sql = format!("SELECT {INCIDENT_SELECT} FROM {INCIDENT_FROM} WHERE number = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(reference.0)
            .fetch_optional(&mut **tx)
            .await?;
        match row {
            Some(row) => Ok(access.can_see(&incident_from_row(&row)?)),
            None => Ok(false),
        }
    }
}

async fn run_declare(
    tx: &mut Transaction<'_, Any>,
    batch: &mut Batch,
    catalog: &Catalog,
    new: &NewIncident,
    actor: &str,
    idempotency: Option<(&Idempotency, &Access)>,
) -> Result<Outcome> {
    let now = batch.now;
    let id = Uuid::now_v7();
    if let Some((idempotency, access)) = idempotency {
        // Claim the key first: on PostgreSQL a concurrent claim waits for ours to commit and
        // then finds the key taken, so two replicas never create two incidents.
        let claimed = sqlx::query(
            "INSERT INTO idempotency_claims (owner, key, fingerprint, incident_id, created_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (owner, key) DO NOTHING RETURNING key",
        )
        .bind(actor.to_string())
        .bind(idempotency.key.clone())
        .bind(idempotency.fingerprint.clone())
        .bind(id.to_string())
        .bind(micros(now))
        .fetch_optional(&mut **tx)
        .await?;
        if claimed.is_none() {
            let (existing, fingerprint): (String, String) = sqlx::query_as(
                "SELECT incident_id, fingerprint FROM idempotency_claims WHERE owner = $1 AND key = $2",
            )
            .bind(actor.to_string())
            .bind(idempotency.key.clone())
            .fetch_one(&mut **tx)
            .await?;
            let existing = Uuid::parse_str(&existing)
                .map_err(|_| StoreError::Corrupt("idempotency key incident".into()))?;
            let incident = batch.incident(tx, IncidentKey::Id(existing)).await?;
            // A replay is a read like any other: someone removed from a private incident
            // since does not get it back through their old key.
            if !access.can_see(&incident) {
                return Err(StoreError::NotFound("incident"));
            }
            if !fingerprint.is_empty() && fingerprint != idempotency.fingerprint {
                return Err(StoreError::IdempotencyKeyReused);
            }
            return Ok(Outcome {
                incident: Arc::new(incident),
                created: false,
                events: vec![],
            });
        }
    }
    let number: i64 = sqlx::query_scalar(
        "UPDATE counters SET value = value + 1 WHERE name = 'incident_reference' RETURNING value",
    )
    .fetch_one(&mut **tx)
    .await?;
    let (mut incident, data) = declare(new.clone(), IncidentId(id), Reference(number), actor, now);
    let mut events = vec![Arc::new(chain(&mut incident, &data, actor, now, now))];
    follow_ups(tx, &mut incident, &[data], actor, catalog, now, &mut events).await?;
    let incident = Arc::new(incident);
    batch.record(Arc::clone(&incident), &events);
    Ok(Outcome {
        incident,
        created: true,
        events,
    })
}

async fn run_command(
    tx: &mut Transaction<'_, Any>,
    batch: &mut Batch,
    catalog: &Catalog,
    (key, access): (IncidentKey, &Access),
    actor: &str,
    build: &BuildCommand,
) -> Result<Outcome> {
    let now = batch.now;
    let mut incident = batch.incident(tx, key).await?;
    if !access.can_see(&incident) {
        return Err(StoreError::NotFound("incident"));
    }
    let command = build(&incident, catalog)?;
    if let Command::Change {
        merged_into: Some(target),
        ..
    } = &command
        && !batch.visible(tx, *target, access).await?
    {
        let mut errors = FieldErrors::default();
        errors.add("merged_into", format!("there is no incident {target}"));
        return Err(DomainError::Validation(errors).into());
    }
    let is_tick = matches!(command, Command::Tick { .. });
    let mut context = Context::new(catalog, now);
    if command.closes() {
        context.learning = learning(tx, incident.id).await?;
    }
    let mut decided = decide(&incident, &context, command)?;
    let events_data = decided.iter().map(|it| &it.data);
    if let Some(member) = firebreak_core::access::keep_author_in(&incident, events_data, actor) {
        decided.push(Decided {
            data: member,
            occurred_at: now,
        });
    }
    let mut events = Vec::with_capacity(decided.len());
    let mut happened = Vec::with_capacity(decided.len());
    for Decided { data, occurred_at } in decided {
        apply(&mut incident, &data, now);
        events.push(Arc::new(chain(
            &mut incident,
            &data,
            actor,
            now,
            occurred_at,
        )));
        happened.push(data);
    }
    if !events.is_empty() {
        follow_ups(
            tx,
            &mut incident,
            &happened,
            actor,
            catalog,
            now,
            &mut events,
        )
        .await?;
    }
    // A look at the clock that found nothing owed still moves `wake_at` on.
    let incident = Arc::new(incident);
    if !events.is_empty() || is_tick {
        batch.record(Arc::clone(&incident), &events);
    }
    Ok(Outcome {
        incident,
        created: false,
        events,
    })
}

async fn load(
    tx: &mut Transaction<'_, Any>,
    backend: Backend,
    key: IncidentKey,
) -> Result<Incident> {
    // SQLite already holds the database write lock; PostgreSQL locks just this incident so
    // replicas append to its chain one at a time.
    let lock = if backend == Backend::Postgres {
        " FOR UPDATE OF incidents"
    } else {
        ""
    };
    let sql = format!(
        "SELECT {INCIDENT_SELECT} FROM {INCIDENT_FROM} WHERE {}{lock}",
        key.condition("", 1)
    );
    let query = key.bind(sqlx::query(sqlx::AssertSqlSafe(sql)));
    let row = query
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(StoreError::NotFound("incident"))?;
    incident_from_row(&row)
}

/// A job retried alone whose command already committed (its answer was lost): what it did,
/// read back, instead of doing it again.
async fn lost_answer(store: &Store, jobs: &[Job]) -> Result<Option<Outcome>> {
    let [job] = jobs else { return Ok(None) };
    let claim: Option<(String, i64, i64, i64)> = sqlx::query_as(
        "SELECT incident_id, first_seq, last_seq, created FROM command_claims WHERE id = $1",
    )
    .bind(job.id.to_string())
    .fetch_optional(store.pool())
    .await?;
    let Some((incident_id, first, last, created)) = claim else {
        return Ok(None);
    };
    let id = Uuid::parse_str(&incident_id)
        .map_err(|_| StoreError::Corrupt("command claim incident".into()))?;
    let incident = store.incident(IncidentKey::Id(id)).await?;
    let events = if first > 0 {
        store.timeline(id, first - 1, last - first + 1).await?
    } else {
        Vec::new()
    };
    tracing::warn!(command = %job.id, "a committed command's answer was lost; answering it from its claim");
    Ok(Some(Outcome {
        incident: Arc::new(incident),
        created: created != 0,
        events: events.into_iter().map(Arc::new).collect(),
    }))
}

/// What learning owes the incident, read inside the transaction that may close it. The
/// incident's row is locked (PostgreSQL) or the database is (SQLite) for the whole batch,
/// and a follow-up or post-mortem that changes takes the same lock first
/// (`lock_incident`), so the answer cannot go stale before the commit.
async fn learning(tx: &mut Transaction<'_, Any>, id: IncidentId) -> Result<Learning> {
    let id = id.0.to_string();
    let (postmortem, open_followups): (Option<String>, i64) = sqlx::query_as(
        "SELECT (SELECT status FROM postmortems WHERE incident_id = $1) AS postmortem, \
         (SELECT COUNT(*) FROM followups WHERE incident_id = $1 AND status = 'open') AS open_followups",
    )
    .bind(id)
    .fetch_one(&mut **tx)
    .await?;
    let postmortem = match postmortem {
        None => None,
        Some(text) => Some(
            PostmortemStatus::parse(&text)
                .ok_or_else(|| StoreError::Corrupt(format!("post-mortem status {text:?}")))?,
        ),
    };
    Ok(Learning {
        postmortem,
        open_followups,
    })
}

/// Takes the lock a closing command holds while it reads what learning owes (the incident's
/// row on PostgreSQL; SQLite's write transactions already exclude each other), so a change
/// to a follow-up or post-mortem is either seen by the close or waits for it.
pub(crate) async fn lock_incident(
    tx: &mut Transaction<'_, Any>,
    backend: Backend,
    id: Uuid,
) -> Result<()> {
    if backend == Backend::Postgres {
        sqlx::query("SELECT id FROM incidents WHERE id = $1 FOR UPDATE")
            .bind(id.to_string())
            .fetch_optional(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Links the next event onto the incident's chain (in memory; `Batch::flush` stores it).
fn chain(
    incident: &mut Incident,
    data: &EventData,
    actor: &str,
    now: Timestamp,
    occurred_at: Timestamp,
) -> StoredEvent {
    let kind = data.kind();
    let actor_text = actor.to_string();
    let mut event = StoredEvent {
        incident_id: incident.id,
        reference: incident.reference,
        private: incident.private,
        seq: incident.last_seq + 1,
        kind,
        actor: Actor::parse(&actor_text),
        data: data.clone(),
        observed_at_us: micros(now),
        occurred_at_us: micros(occurred_at),
        body: data.to_body().to_string(),
        prev_hash: incident.last_hash.clone(),
        hash: String::new(),
    };
    let incident_text = incident.id.0.to_string();
    event.hash = event_hash(
        &event.prev_hash,
        &Envelope {
            incident_id: &incident_text,
            seq: event.seq,
            kind: kind.as_str(),
            actor: &actor_text,
            observed_at_us: event.observed_at_us,
            occurred_at_us: event.occurred_at_us,
            body: &event.body,
        },
    );
    incident.last_seq = event.seq;
    incident.last_hash = event.hash.clone();
    event
}

/// Who Firebreak's own follow-up events are by.
const SYSTEM: &str = "firebreak";

/// What follows a change in the same transaction, so it exists exactly when the change does:
/// the person who acted joins the incident, the workflow rules fire on what `happened`, a
/// freeze ends with the incident, and when it stops being live everyone leaves and is thanked.
async fn follow_ups(
    tx: &mut Transaction<'_, Any>,
    incident: &mut Incident,
    happened: &[EventData],
    actor: &str,
    catalog: &Catalog,
    now: Timestamp,
    events: &mut Vec<Arc<StoredEvent>>,
) -> Result<()> {
    use firebreak_core::{freeze, presence, rule};
    let left_now = happened
        .iter()
        .any(|it| matches!(it, EventData::ParticipantLeft { person, .. } if person == actor));
    if !left_now && presence::joins(incident, actor, catalog) {
        let zone = person_zone(tx, actor).await?;
        let joined = EventData::ParticipantJoined {
            person: actor.to_string(),
            zone,
        };
        apply(incident, &joined, now);
        events.push(Arc::new(chain(incident, &joined, actor, now, now)));
    }
    let happened: Vec<&EventData> = happened.iter().collect();
    let mut apply_now = |it: &mut Incident, event: &EventData| apply(it, event, now);
    let mut added = rule::fire(incident, &happened, catalog, now, &mut apply_now);
    // `fire` applied its events as it went; these are applied here.
    let ended = freeze::follow_up(incident);
    for event in ended.into_iter() {
        apply(incident, &event, now);
        added.push(event);
    }
    for event in presence::wrap_up(incident, now, &catalog.working_hours) {
        apply(incident, &event, now);
        added.push(event);
    }
    for event in &added {
        events.push(Arc::new(chain(incident, event, SYSTEM, now, now)));
    }
    Ok(())
}

/// A person's IANA time zone (UTC for someone Firebreak does not know).
async fn person_zone(tx: &mut Transaction<'_, Any>, email: &str) -> Result<String> {
    let zone: Option<String> = sqlx::query_scalar("SELECT time_zone FROM users WHERE email = $1")
        .bind(email.to_string())
        .fetch_optional(&mut **tx)
        .await?;
    Ok(zone.unwrap_or_else(|| "UTC".to_string()))
}
