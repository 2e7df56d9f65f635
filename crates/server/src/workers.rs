//! Background work: the outbox fan-out, webhook and notification delivery, and the clock. Each worker exposes one step,
//! `run_once(now)`, that tests drive directly; `run` loops it until shutdown.

use std::time::Duration;

use firebreak_core::notify::Channel;
use firebreak_core::retry::RetryPolicy;
use firebreak_integrations::email::{Email, Mailer};
use firebreak_integrations::webhook::{self, Outgoing};
use firebreak_store::{DeliveryOutcome, Notification, Store};
use jiff::{SignedDuration, Timestamp};
use tokio::sync::watch;

/// What one step did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub fanned_out: usize,
    pub delivered: usize,
    pub failed: usize,
}

impl Report {
    pub fn did_work(&self) -> bool {
        self.fanned_out + self.delivered + self.failed > 0
    }
}

pub struct DeliveryWorker {
    pub store: Store,
    pub client: firebreak_integrations::outbound::Outbound,
    pub policy: RetryPolicy,
    /// `None` without `[smtp]`: email notifications fail (and are retried, then dead).
    pub mailer: Option<Mailer>,
    /// Chat platforms, for pages by direct message.
    pub chat: crate::chat::Platforms,
    /// SMS, voice and push providers, for pages that wake people.
    pub phones: crate::paging::wake::Phones,
}

/// How long a claimed delivery is held; longer than the request timeout, so a worker that
/// dies mid-request lets another take it over after this.
const LEASE: SignedDuration = SignedDuration::from_secs(60);

impl DeliveryWorker {
    /// Fans out pending outbox rows, then sends every delivery that is due.
    pub async fn run_once(&self, now: Timestamp) -> Result<Report, firebreak_store::StoreError> {
        let mut report = Report {
            fanned_out: self.store.fan_out_once(now).await?,
            ..Report::default()
        };
        let claimed = self.store.claim_deliveries(now, 64, LEASE).await?;
        let sends = claimed.iter().map(|claim| async move {
            self.post(&Outgoing {
                url: &claim.url,
                secret: &claim.secret,
                delivery_id: &claim.delivery.delivery_id.to_string(),
                event_kind: &claim.delivery.kind,
                body: &claim.delivery.payload,
                timestamp: now.as_second(),
            })
            .await
        });
        let outcomes = futures_util::future::join_all(sends).await;
        for (claim, outcome) in claimed.iter().zip(outcomes) {
            match outcome {
                DeliveryOutcome::Delivered { .. } => report.delivered += 1,
                DeliveryOutcome::Failed { .. } => report.failed += 1,
            }
            self.store
                .record_delivery(&claim.delivery, &outcome, &self.policy, now)
                .await?;
        }
        let (wake, notifications): (Vec<_>, Vec<_>) = self
            .store
            .claim_notifications(now, 64, LEASE)
            .await?
            .into_iter()
            .partition(|it| crate::paging::wake::is_wake(it.channel));
        let (sent, failed) =
            crate::paging::wake::deliver(&self.store, &self.phones, wake, &self.policy, now)
                .await?;
        report.delivered += sent;
        report.failed += failed;
        let sends = notifications
            .iter()
            .map(|it| self.send_notification(it, now));
        let outcomes = futures_util::future::join_all(sends).await;
        let results: Vec<_> = notifications.iter().zip(outcomes).collect();
        for (_, outcome) in &results {
            match outcome {
                DeliveryOutcome::Delivered { .. } => report.delivered += 1,
                DeliveryOutcome::Failed { .. } => report.failed += 1,
            }
        }
        self.store
            .record_notifications(&results, &self.policy, now)
            .await?;
        Ok(report)
    }

    async fn send_notification(&self, it: &Notification, now: Timestamp) -> DeliveryOutcome {
        match it.channel {
            Channel::Email => {
                let Some(mailer) = &self.mailer else {
                    return DeliveryOutcome::Failed {
                        status_code: None,
                        error: "no SMTP server is configured ([smtp] host)".into(),
                    };
                };
                let email = Email {
                    to: &it.address,
                    subject: &it.subject,
                    text: &it.body,
                    id: &it.notification_id.to_string(),
                    calendar: it.calendar.as_deref(),
                };
                match mailer.send(&email).await {
                    Ok(()) => DeliveryOutcome::Delivered { status_code: 250 },
                    Err(err) => DeliveryOutcome::Failed {
                        status_code: None,
                        error: err.to_string(),
                    },
                }
            }
            Channel::Slack | Channel::Matrix => {
                match crate::chat::pages::send(&self.store, &self.chat, it, now).await {
                    Ok(()) => DeliveryOutcome::Delivered { status_code: 200 },
                    Err(err) => DeliveryOutcome::Failed {
                        status_code: None,
                        error: err.to_string(),
                    },
                }
            }
            Channel::Sms | Channel::Voice | Channel::Push => DeliveryOutcome::Failed {
                status_code: None,
                error: "pages that wake people are sent by paging::wake".into(),
            },
            Channel::Webhook => {
                let secret = match &it.secret {
                    Some(secret) => secret.clone(),
                    None => self
                        .store
                        .catalog()
                        .targets
                        .iter()
                        .find(|target| target.name == it.target)
                        .map(|target| target.webhook_secret.clone())
                        .unwrap_or_default(),
                };
                // A status page subscriber's payload is composed already (Statuspage's shape);
                // a rule target gets the notification as JSON.
                let body = if it.target == "subscribers" {
                    it.body.clone()
                } else {
                    serde_json::json!({
                    "notification_id": it.notification_id.to_string(),
                    "target": it.target,
                    "kind": it.kind,
                    "incident_id": it.incident_id,
                    "seq": it.seq,
                    "subject": it.subject,
                    "text": it.body,
                    })
                    .to_string()
                };
                self.post(&Outgoing {
                    url: &it.address,
                    secret: &secret,
                    delivery_id: &it.notification_id.to_string(),
                    event_kind: &it.kind,
                    body: &body,
                    timestamp: now.as_second(),
                })
                .await
            }
        }
    }

    /// One signed POST, and what became of it.
    async fn post(&self, outgoing: &Outgoing<'_>) -> DeliveryOutcome {
        match webhook::send(&self.client, outgoing).await {
            Ok(status) => DeliveryOutcome::Delivered {
                status_code: i64::from(status),
            },
            Err(err) => DeliveryOutcome::Failed {
                status_code: err.status_code().map(i64::from),
                error: err.to_string(),
            },
        }
    }

    /// Loops until shutdown: straight on while there is work, otherwise waits for a commit
    /// to wake it or for the poll interval (retries come due without a commit).
    pub async fn run(self, poll_interval: Duration, mut shutdown: watch::Receiver<bool>) {
        loop {
            let started = tokio::time::Instant::now();
            let busy = match self.run_once(firebreak_store::clock::now()).await {
                Ok(report) => report.did_work(),
                Err(err) => {
                    tracing::warn!(error = %err, "delivery worker step failed");
                    false
                }
            };
            if *shutdown.borrow() {
                return;
            }
            // After a step that found work, a short pause before the next: each step is a few
            // write transactions, and on SQLite back-to-back ones under a stream of commands
            // kept taking the database's one write lock from the batching writer (which then
            // slept in SQLite's busy handler). The pause lets the backlog gather into a few
            // large steps; deliveries wait at most this long.
            let pause = if busy { STEP_GAP } else { poll_interval };
            tokio::select! {
                _ = self.store.outbox_notified(), if !busy => {}
                _ = tokio::time::sleep(pause) => {}
                _ = shutdown.changed() => return,
            }
            // And at most one step per STEP_GAP: under a stream of commands every commit
            // wakes the worker, and each step reads what is due.
            tokio::select! {
                _ = tokio::time::sleep_until(started + STEP_GAP) => {}
                _ = shutdown.changed() => return,
            }
        }
    }
}

/// The pause after a delivery step that found work, and the least time between the starts
/// of two steps (see `DeliveryWorker::run`).
const STEP_GAP: Duration = Duration::from_millis(25);

/// Time-driven work: one step finds the live incidents whose `wake_at` has come and asks the
/// writer to record whatever the clock owes each (update reminder or overdue notice, overdue
/// tasks, break and food nudges, the passive stakeholders' digest). The decision — and "never
/// twice" — happens inside the write transaction, so replicas running this at once still
/// record each thing once. It also drafts the post-mortem of every incident that stopped
/// being worked on (created at most once: the insert does nothing when one exists).
pub struct ClockWorker {
    pub store: Store,
}

impl ClockWorker {
    /// Returns how many events were recorded.
    pub async fn run_once(&self, now: Timestamp) -> Result<usize, firebreak_store::StoreError> {
        let mut n_events = 0;
        for key in self.store.incidents_due(now).await? {
            let command = firebreak_core::Command::Tick { at: now };
            let outcome = self
                .store
                .execute_command(key, "firebreak", firebreak_core::Access::All, command)
                .await;
            match outcome {
                Ok(outcome) => n_events += outcome.events.len(),
                // Gone in the meantime: nothing is owed.
                Err(firebreak_store::StoreError::NotFound(_))
                | Err(firebreak_store::StoreError::Domain(_)) => {}
                Err(other) => return Err(other),
            }
        }
        // Follow-ups: due soon, overdue, still overdue (to the lead).
        n_events += self.store.followup_reminders(now).await?;
        // Incidents that stopped being worked on get their post-mortem draft.
        for id in self.store.incidents_needing_postmortem(50).await? {
            let key = firebreak_store::IncidentKey::Id(id);
            let incident = self.store.incident(key).await?;
            crate::postmortems::service::ensure(&self.store, &incident, "firebreak").await?;
        }
        Ok(n_events)
    }

    pub async fn run(self, interval: Duration, mut shutdown: watch::Receiver<bool>) {
        loop {
            if let Err(err) = self.run_once(firebreak_store::clock::now()).await {
                tracing::warn!(error = %err, "clock step failed");
            }
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = shutdown.changed() => return,
            }
        }
    }
}

/// Prunes what retention allows (`[retention]`), a batch per table at a time.
pub struct RetentionWorker {
    pub store: Store,
    pub retention: firebreak_store::Retention,
}

impl RetentionWorker {
    /// Rows pruned per pass and table; a pass that hits it runs again soon.
    pub const BATCH: i64 = 1_000;

    pub async fn run_once(
        &self,
        now: Timestamp,
    ) -> Result<firebreak_store::Pruned, firebreak_store::StoreError> {
        self.store.prune(&self.retention, now, Self::BATCH).await
    }

    pub async fn run(self, interval: Duration, mut shutdown: watch::Receiver<bool>) {
        loop {
            let wait = match self.run_once(firebreak_store::clock::now()).await {
                Ok(pruned) if pruned.0.iter().any(|(_, n)| *n as i64 >= Self::BATCH) => {
                    Duration::from_secs(1)
                }
                Ok(_) => interval,
                Err(err) => {
                    tracing::warn!(error = %err, "pruning failed");
                    interval
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.changed() => return,
            }
        }
    }
}
