//! Alert events applied to a service's alerts: dedup, quiet alerts, the first page, and
//! batches of events in one transaction.

use super::escalation::set_status;
use super::*;
use crate::durable::{OwnConnection, Synced, sync_failed};

impl Store {
    /// Applies an event from a monitoring tool to the service's alerts. Answers only once it
    /// is committed. Two triggers racing to open the same key: one opens, the other counts.
    pub async fn ingest_alert(
        &self,
        service: &Service,
        incoming: &IncomingAlert,
        pager: &Pager<'_>,
        now: Timestamp,
    ) -> Result<Ingested> {
        match self.ingest_once(service, incoming, pager, now).await {
            Err(StoreError::Database(err)) if is_unique_violation(&err) => {
                self.ingest_once(service, incoming, pager, now).await
            }
            other => other,
        }
    }

    /// Applies many events in one transaction, in order (group commit: one fsync for all, so
    /// a burst from monitoring is not one commit per alert). Each answer is as
    /// `ingest_alert`'s. If the database refuses any of them (another replica opened the
    /// same key meanwhile, say), the whole batch is rolled back and each event is applied
    /// alone, so one cannot fail its neighbours.
    pub async fn ingest_alerts(
        &self,
        events: &[(&Service, &IncomingAlert)],
        pager: &Pager<'_>,
        now: Timestamp,
    ) -> Vec<Result<Ingested>> {
        let together = async {
            let mut tx = self.begin_paging().await?;
            let done = self.apply_batch(&mut tx, events, pager, now).await?;
            tx.commit().await?;
            Ok::<_, StoreError>(done)
        };
        match together.await {
            Ok(done) => done.into_iter().map(Ok).collect(),
            Err(err) => self.one_by_one(err, events, pager, now).await,
        }
    }

    /// A lane of its own for `AlertLane::ingest` (one per paging lane of the server).
    pub fn alert_lane(&self) -> AlertLane {
        AlertLane {
            store: self.clone(),
            conn: OwnConnection::default(),
        }
    }

    /// The events of a batch, applied in the caller's write transaction.
    async fn apply_batch(
        &self,
        tx: &mut Transaction<'_, Any>,
        events: &[(&Service, &IncomingAlert)],
        pager: &Pager<'_>,
        now: Timestamp,
    ) -> Result<Vec<Ingested>> {
        let started = std::time::Instant::now();
        let pending = &mut Pending::new(self.backend());
        pending.prefetch(tx, events, pager, now).await?;
        let prefetched = std::time::Instant::now();
        let mut done = Vec::with_capacity(events.len());
        for (service, incoming) in events {
            done.push(
                self.apply_alert(tx, pending, service, incoming, pager, now)
                    .await?,
            );
        }
        let applied = std::time::Instant::now();
        pending.flush(tx).await?;
        tracing::debug!(
            events = events.len(),
            prefetch_us = (prefetched - started).as_micros() as u64,
            apply_us = (applied - prefetched).as_micros() as u64,
            flush_us = applied.elapsed().as_micros() as u64,
            "alert batch written"
        );
        Ok(done)
    }

    /// After a batch failed with `err`: each event alone, so one cannot fail its neighbours.
    async fn one_by_one(
        &self,
        err: StoreError,
        events: &[(&Service, &IncomingAlert)],
        pager: &Pager<'_>,
        now: Timestamp,
    ) -> Vec<Result<Ingested>> {
        if events.len() > 1 {
            tracing::debug!(error = %err, n = events.len(), "alert batch failed; applying its events one by one");
        }
        let mut done = Vec::with_capacity(events.len());
        for (service, incoming) in events {
            done.push(self.ingest_alert(service, incoming, pager, now).await);
        }
        done
    }

    pub(super) async fn ingest_once(
        &self,
        service: &Service,
        incoming: &IncomingAlert,
        pager: &Pager<'_>,
        now: Timestamp,
    ) -> Result<Ingested> {
        let mut tx = self.begin_paging().await?;
        let pending = &mut Pending::new(self.backend());
        let done = self
            .apply_alert(&mut tx, pending, service, incoming, pager, now)
            .await?;
        pending.flush(&mut tx).await?;
        tx.commit().await?;
        Ok(done)
    }

    /// One event inside the caller's write transaction.
    pub(super) async fn apply_alert(
        &self,
        tx: &mut Transaction<'_, Any>,
        pending: &mut Pending,
        service: &Service,
        incoming: &IncomingAlert,
        pager: &Pager<'_>,
        now: Timestamp,
    ) -> Result<Ingested> {
        let open_key = open_key(service, incoming);
        let open = pending.open_alert(tx, &open_key).await?;
        let (open_id, open_status) = match open {
            Some((id, status)) => (Some(id), AlertStatus::parse(&status)),
            None => (None, None),
        };
        let decision = decide(open_status, incoming.action);
        let detail = json!({ "via": incoming.via, "dedup_key": incoming.dedup_key });
        let alert_id = match (decision, open_id) {
            (Decision::Open, _) => {
                let id = Uuid::now_v7().to_string();
                let policy = match &service.policy_id {
                    Some(policy_id) => pending.policy(tx, policy_id).await?,
                    None => None,
                };
                // Written with the transaction's other rows (`Pending::flush_alerts`).
                pending.alerts.push(NewAlertRow {
                    id: id.clone(),
                    service_id: service.id.clone(),
                    dedup_key: incoming.dedup_key.clone(),
                    open_key: open_key.clone(),
                    summary: incoming.summary.clone(),
                    severity: incoming.severity.as_str(),
                    source: incoming.source.clone(),
                    details: incoming.details.clone(),
                    links: incoming.links.clone(),
                    at: micros(now),
                    policy: policy.clone(),
                    // The service's auto-declare rule is owed an incident for this alert
                    // until one is linked (`alerts_to_declare` finds it if the first try is
                    // lost).
                    declare_pending: !service.shadow
                        && firebreak_core::paging::auto_declares(
                            &service.auto_declare_severity,
                            incoming.severity,
                        ),
                });
                pending.opened(open_key, &id, &service.id, &incoming.dedup_key);
                log(pending, &id, now, "triggered", detail);
                if let Some(quiet) = self
                    .quiet(tx, pending, service, incoming, &id, pager, now)
                    .await?
                {
                    let (reason, extra) = match &quiet {
                        Quiet::Silenced { silence } => {
                            ("silenced".to_string(), json!({ "silence": silence }))
                        }
                        Quiet::Flapping { opened } => (
                            format!("flapping: the key opened {opened} alerts recently"),
                            json!({ "opened": opened }),
                        ),
                        Quiet::Grouped { into } => {
                            sqlx::query("UPDATE alerts SET group_id = $2 WHERE id = $1")
                                .bind(id.clone())
                                .bind(into.clone())
                                .execute(&mut **tx)
                                .await?;
                            (
                                "grouped into an open alert of the service (paged once)"
                                    .to_string(),
                                json!({ "group": into }),
                            )
                        }
                    };
                    log(
                        pending,
                        &id,
                        now,
                        "not_paged",
                        json!({"reason": reason, "detail": extra}),
                    );
                    return Ok(Ingested {
                        decision,
                        alert_id: Some(id),
                    });
                }
                let parsed = policy
                    .as_deref()
                    .and_then(|it| serde_json::from_str::<PolicyDoc>(it).ok())
                    .map(|it| it.to_core());
                match parsed
                    .as_ref()
                    .and_then(|it| it.start(now).map(|s| (it, s)))
                {
                    Some((policy, (position, due))) => {
                        self.take_step(
                            tx,
                            pending,
                            &id,
                            &incoming.summary,
                            policy,
                            (position, due),
                            service.shadow,
                            pager,
                            now,
                        )
                        .await?;
                    }
                    None => {
                        log(
                            pending,
                            &id,
                            now,
                            "not_paged",
                            json!({"reason": "the service has no escalation policy"}),
                        );
                    }
                }
                Some(id)
            }
            (Decision::Count, Some(id)) => {
                pending.flush_alerts(tx).await?;
                sqlx::query("UPDATE alerts SET count = count + 1, updated_at = $2 WHERE id = $1")
                    .bind(id.clone())
                    .bind(micros(now))
                    .execute(&mut **tx)
                    .await?;
                log(pending, &id, now, "counted", detail);
                Some(id)
            }
            (Decision::Acknowledge | Decision::Resolve, Some(id)) => {
                let action = if decision == Decision::Acknowledge {
                    AlertAction::Acknowledge
                } else {
                    AlertAction::Resolve
                };
                set_status(tx, pending, &id, action, incoming.via, now).await?;
                Some(id)
            }
            _ => None,
        };
        Ok(Ingested { decision, alert_id })
    }

    /// Counts a page to `person` and answers how many they have had in the current window:
    /// an hour long, starting with the first page after the last window ended. On
    /// PostgreSQL the count is its own short transaction, shared at once by every lane and
    /// replica (holding the row until a batch commits would make batches wait on each other,
    /// or deadlock); a batch that then fails has spent a little budget without paging,
    /// never the other way round. That transaction does not wait for the disk
    /// (`unsynced_pool`): it is one per page, a crash can only forget a few pages counted,
    /// and waiting for a flush per page was what held 1,000 alerts/s back to half that.
    /// SQLite has one writer, so it counts in the transaction.
    pub(super) async fn spend_page(
        &self,
        tx: &mut Transaction<'_, Any>,
        pending: &mut Pending,
        person: &str,
        now: Timestamp,
    ) -> Result<i64> {
        if self.backend() == Backend::Sqlite {
            return pending.spend_budget(tx, person, now).await;
        }
        let query = sqlx::query_scalar(
            "INSERT INTO page_budget (person, window_start, pages) VALUES ($1, $2, 1) \
             ON CONFLICT (person) DO UPDATE SET \
             pages = CASE WHEN page_budget.window_start <= $3 THEN 1 ELSE page_budget.pages + 1 END, \
             window_start = CASE WHEN page_budget.window_start <= $3 THEN $2 ELSE page_budget.window_start END \
             RETURNING pages",
        )
        .bind(person.to_string())
        .bind(micros(now))
        .bind(micros(now - firebreak_core::paging::PAGE_WINDOW));
        Ok(query.fetch_one(self.unsynced_pool()).await?)
    }

    /// Whether a new alert stays quiet: silenced, flapping, or part of a storm.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn quiet(
        &self,
        tx: &mut Transaction<'_, Any>,
        pending: &mut Pending,
        service: &Service,
        incoming: &IncomingAlert,
        id: &str,
        pager: &Pager<'_>,
        now: Timestamp,
    ) -> Result<Option<Quiet>> {
        let silences = pending.silences(tx, now).await?.to_vec();
        let opened_recently: i64 = if pager.flap_threshold > 0 {
            pending
                .opened_recently(
                    tx,
                    &service.id,
                    &incoming.dedup_key,
                    now - pager.flap_window,
                )
                .await?
        } else {
            0
        };
        let storm: Option<String> = if service.group_window_minutes > 0 {
            pending.flush_alerts(tx).await?;
            sqlx::query_scalar(
                "SELECT id FROM alerts WHERE service_id = $1 AND status <> 'resolved' AND group_id IS NULL \
                 AND id <> $2 AND created_at >= $3 ORDER BY created_at LIMIT 1",
            )
            .bind(service.id.clone())
            .bind(id.to_string())
            .bind(micros(now - SignedDuration::from_mins(service.group_window_minutes)))
            .fetch_optional(&mut **tx)
            .await?
        } else {
            None
        };
        Ok(quiet(&NewAlert {
            service_id: &service.id,
            summary: &incoming.summary,
            dedup_key: &incoming.dedup_key,
            at: now,
            silences: &silences,
            opened_recently: usize::try_from(opened_recently).unwrap_or(0),
            flap_threshold: pager.flap_threshold,
            storm: storm.as_deref(),
        }))
    }
}

/// A paging lane's batches, on a connection of the lane's own. On a SQLite file it commits
/// without syncing, and a batch is answered once the store's log sync has made it durable
/// (`crate::durable`): the lane goes on to its next batch meanwhile, and SQLite's one write
/// lock is not held through the fsync. Committing with the fsync inside, the lane's cycle
/// was about 15.6 ms under a storm, 7 of them in `COMMIT`, and every other writer waited.
pub struct AlertLane {
    store: Store,
    conn: OwnConnection,
}

impl AlertLane {
    /// `Store::ingest_alerts`, answered through `answer` once durable: on SQLite after the
    /// next sync of the log (on its thread), elsewhere before this returns.
    pub async fn ingest(
        &mut self,
        events: &[(&Service, &IncomingAlert)],
        pager: &Pager<'_>,
        now: Timestamp,
        answer: impl FnOnce(Vec<Result<Ingested>>) + Send + 'static,
    ) {
        let store = &self.store;
        if store.backend() != Backend::Sqlite {
            answer(store.ingest_alerts(events, pager, now).await);
            return;
        }
        let conn = &mut self.conn;
        let together = async {
            let mut tx = sqlx::Connection::begin_with(
                conn.get(store).await?,
                crate::db::begin_paging(Backend::Sqlite),
            )
            .await?;
            let done = store.apply_batch(&mut tx, events, pager, now).await?;
            tx.commit().await?;
            Ok::<_, StoreError>(done)
        };
        match together.await {
            Ok(done) => {
                let noting = store.clone();
                store
                    .log_sync()
                    .after(move |synced| answer(synced_answers(&noting, done, synced)));
            }
            Err(err) => {
                self.conn.close();
                answer(store.one_by_one(err, events, pager, now).await);
            }
        }
    }
}

/// A lane's committed batch as it is answered after the sync of the log: after a failed
/// sync, every event is answered with the failure (its durability is unknown) and `/readyz`
/// says writes fail.
fn synced_answers(store: &Store, done: Vec<Ingested>, synced: Synced<'_>) -> Vec<Result<Ingested>> {
    if let Err(err) = synced {
        store.note_write(Err(&sync_failed(err)));
    }
    let answer = |ingested| match synced {
        Ok(()) => Ok(ingested),
        Err(err) => Err(sync_failed(err)),
    };
    done.into_iter().map(answer).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StoreOptions;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_sync_fails_the_lanes_batch() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("lane.db").display());
        let store = Store::open(StoreOptions::new(url)).await.unwrap();
        let ingested = |id: &str| Ingested {
            decision: Decision::Open,
            alert_id: Some(id.into()),
        };
        let done = vec![ingested("a"), ingested("b")];
        let kept = synced_answers(&store, done.clone(), Ok(()));
        assert_eq!(
            kept.into_iter()
                .map(|it| it.unwrap().alert_id)
                .collect::<Vec<_>>(),
            [Some("a".to_string()), Some("b".to_string())]
        );
        assert!(store.ready().await);
        let err = std::io::Error::other("the disk went away");
        let failed = synced_answers(&store, done, Err(&err));
        assert_eq!(failed.len(), 2);
        for answer in failed {
            assert!(
                matches!(&answer, Err(err) if err.is_unavailable() && err.to_string().contains("the disk went away")),
                "{answer:?}"
            );
        }
        assert!(
            store
                .inner
                .writes_failing
                .load(std::sync::atomic::Ordering::Acquire)
        );
    }
}
