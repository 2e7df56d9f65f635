//! When a committed batch is answered: only once it is durable.
//!
//! On PostgreSQL, and on a SQLite database without a write-ahead log file (in memory), the
//! commit itself is durable and the writer answers at once. On a SQLite file the writer's
//! own connection commits with `synchronous = NORMAL`: the commit writes the batch's frames
//! to the log and lets go of the write lock without waiting for the disk, and a thread of
//! its own (`firebreak-wal-sync`) syncs the log and only then answers the batch's commands
//! and announces its events. While that sync runs, the writer is already deciding and
//! writing the next batch; with `synchronous = FULL` the fsync ran inside the commit, under
//! the write lock, and nothing else could be written meanwhile (on the 2-core machine the
//! commit was 1.9 ms of a 4.3 ms cycle). One sync answers every batch committed before it
//! began. The log is one file written in order, so a power cut before the sync loses a
//! suffix of batches nobody was told were done; the frames of later batches are not valid
//! without theirs (SQLite checks each frame's running checksum). Every pooled connection
//! keeps `synchronous = FULL`, so a worker's claim of the events' work (a webhook, a chat
//! message, a page) syncs the log up to them before anything leaves the machine.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, OnceLock};

use sqlx::AnyConnection;
use tokio::sync::oneshot;

use super::Outcome;
use crate::reads::StoredEvent;
use crate::{Result, Store, StoreError};

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
}

/// How the sync of the log went, for the batches it covered.
type Synced<'a> = std::result::Result<(), &'a std::io::Error>;

fn sync_failed(err: &std::io::Error) -> StoreError {
    StoreError::Database(sqlx::Error::Io(std::io::Error::new(
        err.kind(),
        format!("syncing the write-ahead log failed: {err}"),
    )))
}

/// Where committed batches go to be answered.
pub(super) struct Acks {
    /// The sync thread's queue (SQLite only).
    sync: Option<mpsc::Sender<Committed>>,
    /// The log the writer's commits leave to the sync thread, found with the writer's first
    /// connection (a SQLite file in WAL mode only); unset, every commit is durable itself.
    wal: Arc<OnceLock<PathBuf>>,
}

impl Acks {
    pub(super) fn start(store: &Store) -> Acks {
        let wal = Arc::new(OnceLock::new());
        if store.backend() != crate::db::Backend::Sqlite {
            return Acks { sync: None, wal };
        }
        let (queue, batches) = mpsc::channel();
        let thread_store = store.clone();
        let thread_wal = wal.clone();
        let started = std::thread::Builder::new()
            .name("firebreak-wal-sync".into())
            .spawn(move || sync_batches(&thread_store, &thread_wal, &batches));
        match started {
            Ok(_) => Acks {
                sync: Some(queue),
                wal,
            },
            Err(err) => {
                tracing::warn!(error = %err, "could not start the log sync thread; batches sync in their commits");
                Acks { sync: None, wal }
            }
        }
    }

    /// Prepares a new writer connection: on a SQLite file in WAL mode, with the sync thread
    /// running, it commits without syncing and leaves the sync to `finish`.
    pub(super) async fn prepare(&self, conn: &mut AnyConnection) -> Result<()> {
        if self.sync.is_some()
            && let Some(wal) = sync_later(conn).await?
        {
            // The same file for every connection of the store.
            let _ = self.wal.set(wal);
        }
        Ok(())
    }

    /// Answers `committed` now (its commit was durable) or once the log is synced.
    pub(super) fn finish(&self, store: &Store, committed: Committed) {
        let (Some(queue), Some(wal)) = (&self.sync, self.wal.get()) else {
            committed.announce(store, Ok(()));
            return;
        };
        // The thread is gone (it never is while the writer runs): sync here.
        if let Err(mpsc::SendError(committed)) = queue.send(committed) {
            committed.announce(store, sync_wal(wal).as_ref().map(|_| ()));
        }
    }
}

fn sync_batches(store: &Store, wal: &OnceLock<PathBuf>, batches: &mpsc::Receiver<Committed>) {
    while let Ok(first) = batches.recv() {
        let mut group = vec![first];
        group.extend(batches.try_iter());
        // Every batch here was committed before this sync began, so it covers them all;
        // `finish` queues a batch only once the log is known.
        let synced = wal.get().map_or(Ok(()), |wal| sync_wal(wal));
        if let Err(err) = &synced {
            tracing::error!(error = %err, batches = group.len(), "syncing the write-ahead log failed");
        }
        for committed in group {
            committed.announce(store, synced.as_ref().map(|_| ()));
        }
    }
}

/// `fdatasync` of the log through a descriptor of our own (a sync is of the file, whichever
/// descriptor asks). A log that is gone was checkpointed into the database and removed by
/// the last connection to close, which syncs first.
fn sync_wal(wal: &Path) -> std::io::Result<()> {
    match std::fs::File::open(wal) {
        Ok(file) => file.sync_data(),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(err) => Err(err),
    }
}

/// Prepares a connection to a SQLite file in WAL mode to commit without syncing and answers
/// the log's path; `None` (and the connection as it was) otherwise.
async fn sync_later(conn: &mut AnyConnection) -> Result<Option<PathBuf>> {
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut *conn)
        .await?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Ok(None);
    }
    let file: String =
        sqlx::query_scalar("SELECT file FROM pragma_database_list WHERE name = 'main'")
            .fetch_one(&mut *conn)
            .await?;
    if file.is_empty() {
        return Ok(None);
    }
    sqlx::query("PRAGMA synchronous = NORMAL")
        .execute(&mut *conn)
        .await?;
    Ok(Some(PathBuf::from(format!("{file}-wal"))))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use firebreak_core::command::{RawDeclare, parse_declare};
    use firebreak_core::{Access, Catalog};

    use super::*;
    use crate::StoreOptions;

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

    /// The writer commits without syncing; nothing else that shares the pool may, not even
    /// after the writer let go of a connection (a commit whose answer was lost).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn only_the_writer_leaves_its_syncs_to_later() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_on_a_file(&dir).await;
        store.lose_commit_answers(1);
        declared(&store).await;
        declared(&store).await;
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

    #[test]
    fn a_log_that_is_gone_needs_no_sync() {
        let dir = tempfile::tempdir().unwrap();
        assert!(sync_wal(&dir.path().join("gone.db-wal")).is_ok());
        let wal = dir.path().join("here.db-wal");
        std::fs::write(&wal, b"frames").unwrap();
        assert!(sync_wal(&wal).is_ok());
    }
}
