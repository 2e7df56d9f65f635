//! When a committed batch is answered: only once it is durable (`crate::durable`). The
//! writer's own connection commits without syncing on a SQLite file, and its batches are
//! answered after the store's log sync.

use std::sync::Arc;

use tokio::sync::oneshot;

use super::Outcome;
use crate::durable::{Synced, sync_failed};
use crate::reads::StoredEvent;
use crate::{Result, Store};

/// A committed batch's answers and events, held until the batch is durable.
pub(super) struct Committed {
    pub replies: Vec<(oneshot::Sender<Result<Outcome>>, Result<Outcome>)>,
    pub events: Vec<Arc<StoredEvent>>,
}

impl Committed {
    /// Answers each command and announces the events; after a failed sync, every command
    /// that had committed is answered with the failure instead (its durability is unknown).
    fn announce(self, store: &Store, synced: Synced<'_>) {
        if let Err(err) = synced {
            store.note_write(Err(&sync_failed(err)));
        }
        for (reply, result) in self.replies {
            let result = match (synced, result) {
                (Err(err), Ok(_)) => Err(sync_failed(err)),
                (_, result) => result,
            };
            let _ = reply.send(result);
        }
        for event in &self.events {
            let _ = store.event_sender().send(event.clone());
        }
        if !self.events.is_empty() {
            store.wake_outbox();
            store.wake_chat();
        }
    }

    /// Answers the batch once it is durable (`LogSync::after`).
    pub(super) fn finish(self, store: &Store) {
        let announcing = store.clone();
        store
            .log_sync()
            .after(move |synced| self.announce(&announcing, synced));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use firebreak_core::command::{RawDeclare, parse_declare};
    use firebreak_core::{Access, Catalog};

    use super::*;
    use crate::{StoreError, StoreOptions};

    async fn store_on_a_file(dir: &tempfile::TempDir) -> Store {
        let url = format!("sqlite://{}", dir.path().join("durable.db").display());
        Store::open(StoreOptions::new(url)).await.unwrap()
    }

    async fn declared(store: &Store) -> Outcome {
        let raw = RawDeclare {
            title: Some("disk".into()),
            ..RawDeclare::default()
        };
        let new = parse_declare(raw, &Catalog::default()).unwrap();
        let declared = store.declare(new, "ada", Access::All, None).await.unwrap();
        Outcome {
            incident: Arc::new(declared.incident),
            created: true,
            events: Vec::new(),
        }
    }

    /// The write loops' own connections commit without syncing (the writer's, the paging
    /// lane's); nothing else that shares the pool may, not even after the writer let go of a
    /// connection (a commit whose answer was lost).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn only_the_write_loops_leave_their_syncs_to_later() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_on_a_file(&dir).await;
        store.lose_commit_answers(1);
        declared(&store).await;
        declared(&store).await;
        let mut lane = crate::durable::OwnConnection::default();
        let level: i64 = sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(lane.get(&store).await.unwrap())
            .await
            .unwrap();
        assert_eq!(
            level, 1,
            "a write loop's connection leaves its syncs (NORMAL)"
        );
        let max = crate::db::default_pool_size(crate::db::Backend::Sqlite);
        let mut held = Vec::new();
        for _ in 0..max {
            let mut conn = store.pool().acquire().await.unwrap();
            let level: i64 = sqlx::query_scalar("PRAGMA synchronous")
                .fetch_one(&mut *conn)
                .await
                .unwrap();
            assert_eq!(level, 2, "a pooled connection syncs each commit (FULL)");
            held.push(conn);
        }
    }

    /// After a failed sync, a committed command is answered with the failure and `/readyz`
    /// says writes fail; a command the domain refused keeps its own answer.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_sync_fails_what_it_should_have_made_durable() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_on_a_file(&dir).await;
        let outcome = declared(&store).await;
        let (done_tx, done) = oneshot::channel();
        let (refused_tx, refused) = oneshot::channel();
        let committed = Committed {
            replies: vec![
                (done_tx, Ok(outcome)),
                (refused_tx, Err(StoreError::Conflict("refused".into()))),
            ],
            events: Vec::new(),
        };
        let err = std::io::Error::other("the disk went away");
        committed.announce(&store, Err(&err));
        let answer = done.await.unwrap();
        assert!(
            matches!(&answer, Err(err) if err.is_unavailable() && err.to_string().contains("the disk went away")),
            "{answer:?}"
        );
        assert!(matches!(
            refused.await.unwrap(),
            Err(StoreError::Conflict(reason)) if reason == "refused"
        ));
        assert!(store.inner.writes_failing.load(Ordering::Acquire));
    }
}
