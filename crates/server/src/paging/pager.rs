//! Paging's moving parts in the server: who a schedule has on call (for the store's pager),
//! the escalation worker, and the per-integration-key event limit.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use firebreak_core::schedule::Schedule;
use firebreak_store::{IncomingAlert, Ingested, Pager, Service, Store, StoreError};
use jiff::{SignedDuration, Timestamp};
use tokio::sync::watch;

use crate::settings::Settings;

/// Every schedule in its core form, by id, for the pager's "who is on call".
pub async fn schedules(store: &Store) -> Result<HashMap<String, Schedule>, StoreError> {
    let mut out = HashMap::new();
    for stored in store.schedules().await? {
        match crate::oncall::service::to_core(&stored) {
            Ok(schedule) => {
                out.insert(stored.id.clone(), schedule);
            }
            Err(err) => {
                tracing::warn!(schedule = %stored.id, error = ?err, "a stored schedule does not parse; it pages nobody");
            }
        }
    }
    Ok(out)
}

/// What the store's pager borrows: the schedules, the server's address and the limits.
pub struct PagerParts {
    schedules: HashMap<String, Schedule>,
    base_url: String,
    per_person_per_hour: i64,
    link_lifetime: SignedDuration,
    flap_threshold: usize,
    flap_window: SignedDuration,
}

impl PagerParts {
    pub async fn load(store: &Store, settings: &Settings) -> Result<PagerParts, StoreError> {
        Ok(PagerParts {
            schedules: schedules(store).await?,
            base_url: settings.base_url(),
            per_person_per_hour: settings.paging.pages_per_person_per_hour,
            link_lifetime: SignedDuration::from_hours(settings.paging.link_hours),
            flap_threshold: settings.paging.flap_threshold,
            flap_window: SignedDuration::from_mins(settings.paging.flap_window_minutes),
        })
    }

    /// Who the schedule `id` has on call at `at`.
    pub fn on_call(&self, id: &str, at: Timestamp) -> Option<String> {
        self.schedules
            .get(id)
            .and_then(|it| it.on_call(at).cloned())
    }

    /// The store's pager; `on_call` is `|id, at| parts.on_call(id, at)` made by the caller.
    pub fn pager<'a>(
        &'a self,
        on_call: &'a (dyn Fn(&str, Timestamp) -> Option<String> + Send + Sync),
    ) -> Pager<'a> {
        Pager {
            on_call,
            base_url: &self.base_url,
            per_person_per_hour: self.per_person_per_hour,
            link_lifetime: self.link_lifetime,
            flap_threshold: self.flap_threshold,
            flap_window: self.flap_window,
        }
    }
}

/// The pager's parts for request handlers, reloaded at most every 5 seconds and whenever a
/// schedule changes in this process (another replica's change reaches it within 5 s).
#[derive(Default)]
pub struct PagerCache {
    parts: tokio::sync::Mutex<Option<(Instant, std::sync::Arc<PagerParts>)>>,
}

impl PagerCache {
    pub async fn get(
        &self,
        store: &Store,
        settings: &Settings,
    ) -> Result<std::sync::Arc<PagerParts>, StoreError> {
        let mut slot = self.parts.lock().await;
        if let Some((at, parts)) = slot.as_ref()
            && at.elapsed() < Duration::from_secs(5)
        {
            return Ok(parts.clone());
        }
        let parts = std::sync::Arc::new(PagerParts::load(store, settings).await?);
        *slot = Some((Instant::now(), parts.clone()));
        Ok(parts)
    }

    pub async fn invalidate(&self) {
        *self.parts.lock().await = None;
    }
}

/// Alert events from request handlers, applied many to a transaction: a lane's task takes
/// what has queued up while its last batch committed and commits it together (group commit,
/// as the incident writer). A quiet moment is a batch of one, so nothing waits for company.
/// Each lane writes through a `store::AlertLane`: on a SQLite file its batch is answered once
/// the store's log sync has made it durable, and the lane takes its next batch meanwhile.
///
/// SQLite has one writer, so one lane. PostgreSQL runs batches side by side, so it gets a few
/// lanes; an event goes to the lane of its service and dedup key, so two events for one
/// alert are never in two of this process's transactions at once (no waiting on each other,
/// no deadlock). Another replica's batch can still meet one; the store then retries each
/// event alone.
#[derive(Clone)]
pub struct AlertBatcher {
    lanes: Arc<Vec<tokio::sync::mpsc::Sender<AlertJob>>>,
}

struct AlertJob {
    service: Service,
    incoming: IncomingAlert,
    reply: tokio::sync::oneshot::Sender<Result<Ingested, StoreError>>,
}

/// The most events in one transaction.
const ALERT_BATCH: usize = 128;

/// Lanes on PostgreSQL (each holds one connection while it commits; the pool has 8).
const POSTGRES_LANES: usize = 3;

impl AlertBatcher {
    /// Starts the lanes, each on a thread of its own (`Store::on_own_thread`: on the shared
    /// runtime a lane waited behind the HTTP tasks at every statement, and the lane's cycle
    /// is what bounds the alert rate). They end when the last `AlertBatcher` is dropped.
    pub fn start(
        store: Store,
        settings: Arc<Settings>,
        pager: Arc<PagerCache>,
    ) -> Result<AlertBatcher, StoreError> {
        let lanes = match store.backend() {
            firebreak_store::Backend::Sqlite => 1,
            firebreak_store::Backend::Postgres => POSTGRES_LANES,
        };
        let lanes = (0..lanes)
            .map(|lane| {
                let (jobs, queue) = tokio::sync::mpsc::channel::<AlertJob>(4096);
                let (store, settings, pager) = (store.clone(), settings.clone(), pager.clone());
                store
                    .clone()
                    .on_own_thread(&format!("firebreak-paging-{lane}"), move || {
                        run_lane(store, settings, pager, queue)
                    })?;
                Ok(jobs)
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(AlertBatcher {
            lanes: Arc::new(lanes),
        })
    }

    /// Applies one event; answers once it is committed.
    pub async fn apply(
        &self,
        service: &Service,
        incoming: &IncomingAlert,
    ) -> Result<Ingested, StoreError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job = AlertJob {
            service: service.clone(),
            incoming: incoming.clone(),
            reply,
        };
        let lane = {
            use std::hash::{Hash, Hasher};
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            (&service.id, &incoming.dedup_key).hash(&mut hasher);
            (hasher.finish() % self.lanes.len() as u64) as usize
        };
        self.lanes[lane]
            .send(job)
            .await
            .map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }
}

async fn run_lane(
    store: Store,
    settings: Arc<Settings>,
    pager: Arc<PagerCache>,
    mut queue: tokio::sync::mpsc::Receiver<AlertJob>,
) {
    let mut batch = Vec::with_capacity(ALERT_BATCH);
    let mut lane = store.alert_lane();
    while queue.recv_many(&mut batch, ALERT_BATCH).await > 0 {
        let taken = std::mem::take(&mut batch);
        let parts = match pager.get(&store, &settings).await {
            Ok(parts) => parts,
            Err(err) => {
                tracing::error!(error = %err, "cannot load the schedules to page");
                for job in taken {
                    let _ = job.reply.send(Err(StoreError::Closed));
                }
                continue;
            }
        };
        let on_call = |id: &str, at: Timestamp| parts.on_call(id, at);
        let (jobs, replies): (Vec<_>, Vec<_>) = taken
            .into_iter()
            .map(|job| ((job.service, job.incoming), job.reply))
            .unzip();
        let events: Vec<_> = jobs
            .iter()
            .map(|(service, incoming)| (service, incoming))
            .collect();
        let started = Instant::now();
        // Answered once durable; on SQLite the lane takes its next batch meanwhile.
        let answer = move |results: Vec<Result<Ingested, StoreError>>| {
            for (reply, result) in replies.into_iter().zip(results) {
                let _ = reply.send(result);
            }
        };
        lane.ingest(
            &events,
            &parts.pager(&on_call),
            firebreak_store::clock::now(),
            answer,
        )
        .await;
        tracing::debug!(
            events = events.len(),
            took_us = started.elapsed().as_micros() as u64,
            "alert batch applied"
        );
    }
}

/// Takes the next escalation step of every alert whose timer is due.
pub struct EscalationWorker {
    pub store: Store,
    pub settings: std::sync::Arc<Settings>,
}

impl EscalationWorker {
    /// Raises an alert for every heartbeat whose ping is overdue at `now` (once: a second
    /// worker's trigger is counted on the same open alert). Answers how many.
    pub async fn check_heartbeats(&self, now: Timestamp) -> Result<usize, StoreError> {
        let overdue = self.store.overdue_heartbeats(now).await?;
        for heartbeat in &overdue {
            let service = self.store.service(&heartbeat.service_id).await?;
            let event = crate::paging::ingest::heartbeat_event(
                heartbeat,
                firebreak_core::paging::AlertAction::Trigger,
            );
            crate::paging::ingest::apply_with(&self.store, &self.settings, &service, &event)
                .await?;
            self.store
                .mark_heartbeat_missed(&heartbeat.id, heartbeat.due_at)
                .await?;
        }
        Ok(overdue.len())
    }

    /// One pass at `now`: overdue heartbeats, then due escalation timers; answers how many
    /// alerts moved.
    /// Declares the incidents services' auto-declare rules still owe: for alerts whose request
    /// did not get to it (the process stopped, the declare failed) and for alerts raised here
    /// (missed heartbeats). Alerts younger than 10 s are left to their request. Answers how
    /// many were tried.
    pub async fn declare_owed(&self, now: Timestamp) -> Result<usize, StoreError> {
        let owed = self
            .store
            .alerts_to_declare(now - SignedDuration::from_secs(10), 50)
            .await?;
        for alert in &owed {
            let service = self.store.service(&alert.service_id).await?;
            crate::paging::ingest::declare_for_alert(
                &self.store,
                &service,
                &alert.id,
                &alert.summary,
            )
            .await;
        }
        Ok(owed.len())
    }

    pub async fn run_once(&self, now: Timestamp) -> Result<usize, StoreError> {
        self.check_heartbeats(now).await?;
        self.declare_owed(now).await?;
        let parts = PagerParts::load(&self.store, &self.settings).await?;
        let mut moved = 0;
        loop {
            let on_call = |id: &str, at: Timestamp| parts.on_call(id, at);
            let pager = parts.pager(&on_call);
            let n = self.store.escalate_due(&pager, now, 200).await?;
            moved += n;
            if n < 200 {
                return Ok(moved);
            }
        }
    }

    /// Runs passes until shutdown: each sleeps until the next timer is due (a timer made in
    /// the meantime is at least a minute away) or `interval`, whichever is sooner.
    pub async fn run(self, interval: Duration, mut shutdown: watch::Receiver<bool>) {
        loop {
            // Timers are due by the database's clock, the same for every replica.
            let now = match self.store.database_now().await {
                Ok(now) => now,
                Err(_) => firebreak_store::clock::now(),
            };
            if let Err(err) = self.run_once(now).await {
                tracing::warn!(error = %err, "escalation pass failed");
            }
            let next = self.store.next_escalation_at().await.ok().flatten();
            let wait = next
                .map(|at| {
                    let until = at.duration_since(firebreak_store::clock::now());
                    Duration::try_from(until).unwrap_or(Duration::ZERO)
                })
                .unwrap_or(interval)
                .clamp(Duration::from_millis(5), interval);
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.changed() => return,
            }
        }
    }
}

/// Events per integration key in the last minute, in memory (per process).
#[derive(Default)]
pub struct EventLimiter {
    seen: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl EventLimiter {
    /// Counts an event for `key`; false when the key is over `per_minute`.
    pub fn allow(&self, key: &str, per_minute: u32) -> bool {
        let now = Instant::now();
        let Ok(mut seen) = self.seen.lock() else {
            return true;
        };
        if seen.len() > 10_000 {
            seen.retain(|_, it| {
                it.back()
                    .is_some_and(|at| now.duration_since(*at) < Duration::from_secs(60))
            });
        }
        let window = seen.entry(key.to_string()).or_default();
        while window
            .front()
            .is_some_and(|at| now.duration_since(*at) >= Duration::from_secs(60))
        {
            window.pop_front();
        }
        if window.len() >= per_minute as usize {
            return false;
        }
        window.push_back(now);
        true
    }
}
