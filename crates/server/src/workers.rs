//! Background work: the outbox fan-out and webhook delivery. Each worker exposes one step,
//! `run_once(now)`, that tests drive directly; `run` loops it until shutdown.

use std::time::Duration;

use firebreak_core::retry::RetryPolicy;
use firebreak_integrations::webhook::{self, Outgoing};
use firebreak_store::{DeliveryOutcome, Store};
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
    pub client: reqwest::Client,
    pub policy: RetryPolicy,
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
            let outgoing = Outgoing {
                url: &claim.url,
                secret: &claim.secret,
                delivery_id: &claim.delivery.delivery_id.to_string(),
                event_kind: &claim.delivery.kind,
                body: &claim.delivery.payload,
                timestamp: now.as_second(),
            };
            match webhook::send(&self.client, &outgoing).await {
                Ok(status) => DeliveryOutcome::Delivered {
                    status_code: i64::from(status),
                },
                Err(err) => DeliveryOutcome::Failed {
                    status_code: err.status_code().map(i64::from),
                    error: err.to_string(),
                },
            }
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
        Ok(report)
    }

    /// Loops until shutdown: straight on while there is work, otherwise waits for a commit
    /// to wake it or for the poll interval (retries come due without a commit).
    pub async fn run(self, poll_interval: Duration, mut shutdown: watch::Receiver<bool>) {
        loop {
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
            if busy {
                continue;
            }
            tokio::select! {
                _ = self.store.outbox_notified() => {}
                _ = tokio::time::sleep(poll_interval) => {}
                _ = shutdown.changed() => return,
            }
        }
    }
}

/// Sends update reminders and overdue notices: one step looks at the live incidents whose
/// next update is due soon and asks the writer to record the notice each one is owed. The
/// decision (and "never twice for one due time") happens inside the write transaction, so
/// several replicas running this at once still send each notice once.
pub struct CadenceWorker {
    pub store: Store,
    pub remind_before: SignedDuration,
}

impl CadenceWorker {
    /// Returns how many notices were recorded.
    pub async fn run_once(&self, now: Timestamp) -> Result<usize, firebreak_store::StoreError> {
        let until = now.checked_add(self.remind_before).unwrap_or(now);
        let mut n_notices = 0;
        for key in self.store.updates_due_by(until).await? {
            let command = firebreak_core::Command::CheckCadence {
                at: now,
                remind_before: self.remind_before,
            };
            let outcome = self
                .store
                .execute_command(key, "firebreak", firebreak_core::Access::All, command)
                .await;
            match outcome {
                Ok(outcome) => n_notices += outcome.events.len(),
                // Resolved or merged in the meantime: nothing is owed.
                Err(firebreak_store::StoreError::NotFound)
                | Err(firebreak_store::StoreError::Domain(_)) => {}
                Err(other) => return Err(other),
            }
        }
        Ok(n_notices)
    }

    pub async fn run(self, interval: Duration, mut shutdown: watch::Receiver<bool>) {
        loop {
            if let Err(err) = self.run_once(firebreak_store::clock::now()).await {
                tracing::warn!(error = %err, "update cadence step failed");
            }
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = shutdown.changed() => return,
            }
        }
    }
}
