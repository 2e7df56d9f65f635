//! The Store: Firebreak's persistence on SQLite (default) or PostgreSQL.
//!
//! Every incident command goes through one batching writer task that appends events, the
//! read-model row and the outbox rows in one transaction per batch, so concurrent requests
//! share one durable commit (SQLite has a single writer; fsync per request would cap
//! throughput far below what a busy incident needs). Reads go straight to the pool.

mod backup;
mod chat;
pub mod clock;
mod db;
mod durable;
mod followups;
mod imports;
mod insights;
mod live;
mod multirow;
mod notifications;
mod outbox;
mod own_thread;
mod paging;
mod people;
mod postmortems;
mod reads;
mod retention;
mod retrospectives;
mod rows;
mod schedules;
mod status;
mod subscribers;
mod tokens;
mod workflow;
mod writer;

use std::sync::Arc;

use firebreak_core::{Catalog, DomainError};
use tokio::sync::{Notify, broadcast, mpsc};

pub use backup::{ChainReport, restore};
pub use chat::{ChatBacklog, ChatChannel, ChatJob, ChatOutcome};
pub use db::{Backend, redact_url};
pub use followups::{Followup, FollowupPatch, NewFollowup};
pub use imports::ImportRef;
pub use insights::{Deploy, NewDeploy};
pub use notifications::Notification;
pub use outbox::{ClaimedDelivery, Delivery, DeliveryOutcome, NewWebhook, Webhook, WebhookPatch};
pub use paging::{
    ActionToken, Alert, AlertLane, AlertLogEntry, ContactMethod, EscalationPolicy, Heartbeat,
    IncomingAlert, Ingested, IntegrationKey, NotificationRule, Pager, PolicyDoc, Service, StepDoc,
    TargetDoc, Team, WakeOutcome, WakePage,
};
pub use people::{NewSession, PrivateRead, Session, User, UserPatch};
pub use postmortems::{Postmortem, PostmortemState, Revision};
pub use reads::{
    ChainState, EventRecord, IncidentFilter, IncidentKey, Page, StoredEvent, TimelinePage,
};
pub use retention::{MEASURED_TABLES, Pruned, Retention};
pub use retrospectives::{Invitation, Retrospective};
pub use schedules::{FeedSubject, StoredOverride, StoredSchedule};
pub use status::{
    AffectedComponent, Component, ComponentPatch, NewComponent, PublicIncident, PublicPost,
    PublicUpdate, StatusData, Window,
};
pub use subscribers::{NewSubscription, StatusPageOptions, Subscriber};
pub use tokens::{NewToken, TokenInfo};
pub use workflow::{Rebuild, WorkflowItem};
use writer::Job;
pub use writer::{BuildCommand, Declared, Idempotency, Outcome};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// What was not found, in the words an error message uses ("incident", "webhook").
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("the store is shutting down")]
    Closed,
    #[error("the idempotency key was used with a different request")]
    IdempotencyKeyReused,
    #[error("the write panicked: {0}")]
    Panicked(String),
    /// The first connection failed; the message says why in one line.
    #[error("{0}")]
    Connect(String),
}

impl StoreError {
    /// True when the database cannot take the request right now — full disk, I/O error,
    /// connection lost or refused, pool exhausted — so the client should retry later (503),
    /// as opposed to a fault in the request or in Firebreak.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Database(err) => db::is_unavailable(err),
            StoreError::Closed => true,
            _ => false,
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Options for opening a store.
#[derive(Clone)]
pub struct StoreOptions {
    pub database_url: String,
    pub catalog: Catalog,
    /// Pool size; `None` picks per backend (see `db::default_pool_size`).
    pub max_connections: Option<u32>,
    /// Upper bound on commands committed together.
    pub max_batch: usize,
    /// The server's address as people reach it, for links in notifications.
    pub public_url: String,
    /// Builds the catalog from the playbooks and rules stored through the API (on open and
    /// on every change); `None` keeps `catalog` as given.
    pub rebuild: Option<workflow::Rebuild>,
    /// The status page, for messages to its subscribers.
    pub status_page: StatusPageOptions,
}

impl StoreOptions {
    pub fn new(database_url: impl Into<String>) -> Self {
        StoreOptions {
            database_url: database_url.into(),
            catalog: Catalog::default(),
            max_connections: None,
            max_batch: 256,
            public_url: "http://localhost:8080".into(),
            rebuild: None,
            status_page: StatusPageOptions::default(),
        }
    }
}

/// A handle to the store; cheap to clone.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    pool: sqlx::AnyPool,
    /// PostgreSQL: commits that do not wait for the disk (`db::connect_unsynced`).
    unsynced: Option<sqlx::AnyPool>,
    backend: Backend,
    catalog: std::sync::RwLock<Arc<Catalog>>,
    rebuild: Option<workflow::Rebuild>,
    status_page: StatusPageOptions,
    public_url: String,
    writer: mpsc::Sender<Job>,
    events: broadcast::Sender<Arc<StoredEvent>>,
    outbox_wakeup: Notify,
    chat_wakeup: Notify,
    /// Identifies this process in cross-replica notifications.
    replica_id: uuid::Uuid,
    /// Flips to true when the store closes; background tasks end on it.
    closing: tokio::sync::watch::Sender<bool>,
    /// Set when a write failed because the database could not take it (a full disk, a lost
    /// connection); cleared by the next write that commits. `/readyz` reads it.
    writes_failing: std::sync::atomic::AtomicBool,
    /// Where each incident's chain is verified to, and the incidents being verified in the
    /// background (see `verify_new_events`).
    chains: std::sync::Mutex<std::collections::HashMap<uuid::Uuid, ChainState>>,
    verifying: std::sync::Mutex<std::collections::HashSet<uuid::Uuid>>,
    /// Answers to lose after a commit (tests only; see `lose_commit_answers`).
    lose_answers: std::sync::atomic::AtomicUsize,
    /// What the write loops' commits wait for before they are answered (SQLite files).
    log_sync: durable::LogSync,
}

impl Store {
    /// Connects, applies migrations and starts the writer task. Must run inside tokio.
    pub async fn open(options: StoreOptions) -> Result<Store> {
        // On PostgreSQL the connection that listens to the other replicas is opened beside
        // the pool's first one rather than after it: each costs a TLS handshake, and a cold
        // start waited for both in turn.
        let listening = async {
            match db::normalize_url(&options.database_url).1 {
                Backend::Postgres => live::listen(&options.database_url).await.map(Some),
                Backend::Sqlite => Ok(None),
            }
        };
        let (connected, listener) = tokio::join!(
            db::connect(&options.database_url, options.max_connections),
            listening
        );
        // The pool's error first: it says what is wrong without the password.
        let (pool, backend) = connected?;
        let listener = listener?;
        let (writer_tx, writer_rx) = mpsc::channel(4096);
        let (events, _) = broadcast::channel(4096);
        let unsynced = match backend {
            Backend::Postgres => Some(db::connect_unsynced(&options.database_url)?),
            Backend::Sqlite => None,
        };
        let store = Store {
            inner: Arc::new(Inner {
                pool,
                unsynced,
                backend,
                catalog: std::sync::RwLock::new(Arc::new(options.catalog)),
                rebuild: options.rebuild,
                status_page: options.status_page,
                public_url: options.public_url.trim_end_matches('/').to_string(),
                writer: writer_tx,
                events,
                outbox_wakeup: Notify::new(),
                chat_wakeup: Notify::new(),
                replica_id: uuid::Uuid::now_v7(),
                closing: tokio::sync::watch::Sender::new(false),
                writes_failing: std::sync::atomic::AtomicBool::new(false),
                chains: Default::default(),
                verifying: Default::default(),
                lose_answers: Default::default(),
                log_sync: durable::LogSync::start(backend),
            }),
        };
        if let Some(listener) = listener {
            tokio::spawn(live::relay(
                store.clone(),
                options.database_url.clone(),
                listener,
            ));
        }
        if backend == Backend::Sqlite {
            tokio::spawn(db::checkpoints(store.pool().clone(), store.closing()));
        }
        store.reload_workflow().await?;
        writer::start(store.clone(), writer_rx, options.max_batch)?;
        Ok(store)
    }

    pub fn backend(&self) -> Backend {
        self.inner.backend
    }

    pub(crate) fn status_page(&self) -> StatusPageOptions {
        self.inner.status_page.clone()
    }

    /// The server's address as people reach it, without a trailing slash.
    pub fn public_url(&self) -> &str {
        &self.inner.public_url
    }

    /// The configuration the domain runs with: settings plus what was stored through the API.
    pub fn catalog(&self) -> Arc<Catalog> {
        self.inner
            .catalog
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    pub(crate) fn set_catalog(&self, catalog: Catalog) {
        *self
            .inner
            .catalog
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(catalog);
    }

    pub(crate) fn rebuild(&self) -> Option<&workflow::Rebuild> {
        self.inner.rebuild.as_ref()
    }

    pub(crate) fn pool(&self) -> &sqlx::AnyPool {
        &self.inner.pool
    }

    /// A write transaction (on SQLite `BEGIN IMMEDIATE`, so a read-then-write transaction
    /// never fails to upgrade).
    pub(crate) async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        self.begin_pooled(db::begin_write(self.backend())).await
    }

    /// A paging write transaction (`db::begin_paging`).
    pub(crate) async fn begin_paging(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        self.begin_pooled(db::begin_paging(self.backend())).await
    }

    async fn begin_pooled(
        &self,
        statement: &'static str,
    ) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        Ok(self.pool().begin_with(statement).await?)
    }

    pub(crate) fn log_sync(&self) -> &durable::LogSync {
        &self.inner.log_sync
    }

    /// The pool for counters that need not wait for the disk: `db::connect_unsynced` on
    /// PostgreSQL, the main pool elsewhere.
    pub(crate) fn unsynced_pool(&self) -> &sqlx::AnyPool {
        self.inner.unsynced.as_ref().unwrap_or(&self.inner.pool)
    }

    /// Live feed of committed timeline events, in commit order.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<StoredEvent>> {
        self.inner.events.subscribe()
    }

    /// Resolves when new outbox work was committed (or spuriously); workers also poll.
    pub async fn outbox_notified(&self) {
        self.inner.outbox_wakeup.notified().await
    }

    /// Resolves when incident events were committed (chat work may be waiting), or when a
    /// person asked for dead chat work to be tried again.
    pub async fn chat_notified(&self) {
        self.inner.chat_wakeup.notified().await
    }

    pub(crate) fn wake_chat(&self) {
        self.inner.chat_wakeup.notify_one();
    }

    pub(crate) fn writer(&self) -> &mpsc::Sender<Job> {
        &self.inner.writer
    }

    pub(crate) fn event_sender(&self) -> &broadcast::Sender<Arc<StoredEvent>> {
        &self.inner.events
    }

    pub(crate) fn replica_id(&self) -> uuid::Uuid {
        self.inner.replica_id
    }

    pub(crate) fn closing(&self) -> tokio::sync::watch::Receiver<bool> {
        self.inner.closing.subscribe()
    }

    pub(crate) fn wake_outbox(&self) {
        self.inner.outbox_wakeup.notify_one();
    }

    /// True when the database answers.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(self.pool()).await.is_ok()
    }

    /// Makes the writer report the next `n` commits as failed after they committed, as a
    /// connection lost between COMMIT and its answer would. For tests of the retry path.
    #[doc(hidden)]
    pub fn lose_commit_answers(&self, n: usize) {
        use std::sync::atomic::Ordering;
        self.inner.lose_answers.store(n, Ordering::Release);
    }

    pub(crate) fn after_commit_for_tests(&self) -> Result<()> {
        use std::sync::atomic::Ordering;
        let lose = self
            .inner
            .lose_answers
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1));
        match lose {
            Ok(_) => Err(StoreError::Database(sqlx::Error::Io(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "the answer to COMMIT was lost (simulated)",
            )))),
            Err(_) => Ok(()),
        }
    }

    pub(crate) fn chain_state(&self, incident_id: uuid::Uuid) -> ChainState {
        let chains = self
            .inner
            .chains
            .lock()
            .unwrap_or_else(|it| it.into_inner());
        chains.get(&incident_id).cloned().unwrap_or_default()
    }

    pub(crate) fn remember_chain(&self, incident_id: uuid::Uuid, state: &ChainState) {
        let mut chains = self
            .inner
            .chains
            .lock()
            .unwrap_or_else(|it| it.into_inner());
        chains.insert(incident_id, state.clone());
    }

    /// Verifies the rest of an incident's chain in the background, once at a time per
    /// incident, so a page never waits for a long walk.
    pub fn finish_verifying(&self, incident_id: uuid::Uuid) {
        {
            let mut verifying = self
                .inner
                .verifying
                .lock()
                .unwrap_or_else(|it| it.into_inner());
            if !verifying.insert(incident_id) {
                return;
            }
        }
        let store = self.clone();
        tokio::spawn(async move {
            if let Err(err) = store.verify_new_events(incident_id, i64::MAX).await {
                tracing::warn!(error = %err, %incident_id, "background chain verification failed");
            }
            let mut verifying = store
                .inner
                .verifying
                .lock()
                .unwrap_or_else(|it| it.into_inner());
            verifying.remove(&incident_id);
        });
    }

    /// Records whether the last write could be committed (see `ready`).
    pub(crate) fn note_write(&self, result: std::result::Result<(), &StoreError>) {
        use std::sync::atomic::Ordering;
        match result {
            Ok(()) => self.inner.writes_failing.store(false, Ordering::Release),
            Err(err) if err.is_unavailable() => {
                self.inner.writes_failing.store(true, Ordering::Release)
            }
            Err(_) => {}
        }
    }

    /// True when the database answers and takes writes. After a write failed for want of
    /// the database (a full disk, say), a small write transaction is tried instead of
    /// trusting a read: readiness comes back as soon as writes would succeed.
    pub async fn ready(&self) -> bool {
        use std::sync::atomic::Ordering;
        if !self.inner.writes_failing.load(Ordering::Acquire) {
            return self.ping().await;
        }
        let probe = async {
            let mut tx = self.begin_write().await?;
            sqlx::query("INSERT INTO write_probe (id, payload) VALUES (1, $1)")
                .bind("0".repeat(256 * 1024))
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM write_probe")
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok::<(), StoreError>(())
        };
        let result = probe.await;
        self.note_write(result.as_ref().map(|_| ()));
        result.is_ok()
    }

    pub async fn close(&self) {
        self.inner.closing.send_replace(true);
        self.inner.pool.close().await
    }
}
