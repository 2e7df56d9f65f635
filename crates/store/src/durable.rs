//! Commits that let go of SQLite's write lock before they reach the disk, answered only once
//! they have.
//!
//! On PostgreSQL, and on a SQLite database without a write-ahead log file (in memory), a
//! commit is durable itself. On a SQLite file, a connection of the store's two write loops
//! (the incident writer and the paging lane) commits with `synchronous = NORMAL`
//! (`LogSync::prepare`): the commit writes its frames to the log and lets go of the write
//! lock without waiting for the disk, and a thread of the store's own (`firebreak-wal-sync`)
//! syncs the log and only then runs what waited for it (`LogSync::after`: answering the
//! commands or alerts, announcing events). While that sync runs, the loop is already
//! deciding and writing its next batch, and every other writer can take the lock; with
//! `synchronous = FULL` the fsync ran inside the commit, under the write lock, and nothing
//! else could be written meanwhile (on the 2-core machine the commit was 1.9 ms of a 4.3 ms
//! cycle of the incident writer, and 7 of a 15.6 ms cycle of the paging lane). One sync
//! answers every commit made before it began, whichever connection made it. The log is one
//! file written in order, so a power cut before the sync loses a suffix of commits nobody
//! was told were done; the frames of later commits are not valid without theirs (SQLite
//! checks each frame's running checksum). Every pooled connection keeps `synchronous =
//! FULL`, so a worker's claim of a batch's work (a webhook, a chat message, a page) syncs
//! the log up to it before anything leaves the machine.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, OnceLock};

use sqlx::AnyConnection;

use crate::db::Backend;
use crate::{Result, Store, StoreError};

/// How the sync of the log went, for the commits it covered.
pub(crate) type Synced<'a> = std::result::Result<(), &'a std::io::Error>;

/// What waits for the log to be synced.
type Waiter = Box<dyn FnOnce(Synced<'_>) + Send>;

/// The error a commit whose sync failed is answered with (its durability is unknown).
pub(crate) fn sync_failed(err: &std::io::Error) -> StoreError {
    StoreError::Database(sqlx::Error::Io(std::io::Error::new(
        err.kind(),
        format!("syncing the write-ahead log failed: {err}"),
    )))
}

/// The store's log sync: the thread's queue and the log it syncs.
pub(crate) struct LogSync {
    /// The sync thread's queue (SQLite only).
    queue: Option<mpsc::Sender<Waiter>>,
    /// The log that prepared connections leave to the sync thread, found with the first of
    /// them (a SQLite file in WAL mode only); unset, every commit is durable itself.
    wal: Arc<OnceLock<PathBuf>>,
}

impl LogSync {
    pub(crate) fn start(backend: Backend) -> LogSync {
        let wal = Arc::new(OnceLock::new());
        if backend != Backend::Sqlite {
            return LogSync { queue: None, wal };
        }
        let (queue, waiting) = mpsc::channel();
        let thread_wal = wal.clone();
        let started = std::thread::Builder::new()
            .name("firebreak-wal-sync".into())
            .spawn(move || sync_loop(&thread_wal, &waiting));
        match started {
            Ok(_) => LogSync {
                queue: Some(queue),
                wal,
            },
            Err(err) => {
                tracing::warn!(error = %err, "could not start the log sync thread; commits sync themselves");
                LogSync { queue: None, wal }
            }
        }
    }

    /// Prepares a connection of a write loop, detached from the pool (no other user of the
    /// pool may inherit it): on a SQLite file in WAL mode, with the sync thread running, it
    /// commits without syncing, and what it commits must be answered through `after`.
    pub(crate) async fn prepare(&self, conn: &mut AnyConnection) -> Result<()> {
        if self.queue.is_some()
            && let Some(wal) = sync_later(conn).await?
        {
            // The same file for every connection of the store.
            let _ = self.wal.set(wal);
        }
        Ok(())
    }

    /// Runs `waiter` once everything committed so far is durable: now, if commits are durable
    /// themselves, or on the sync thread after its next sync of the log.
    pub(crate) fn after(&self, waiter: impl FnOnce(Synced<'_>) + Send + 'static) {
        let (Some(queue), Some(wal)) = (&self.queue, self.wal.get()) else {
            waiter(Ok(()));
            return;
        };
        // The thread is gone (it never is while the store is open): sync here.
        if let Err(mpsc::SendError(waiter)) = queue.send(Box::new(waiter)) {
            waiter(sync_wal(wal).as_ref().map(|_| ()));
        }
    }
}

/// A write loop's own connection, kept between batches: taking one from the pool for each
/// batch cost a check of the connection (a round trip) and, on SQLite, a connection whose
/// page cache another connection's writes had emptied. Taken out of the pool for good
/// (`detach`): on a SQLite file it commits without syncing (`LogSync::prepare`), which no
/// other user of the pool may inherit. Closed after a batch that failed, whose connection
/// may be left in a state not worth judging, and opened again for the next.
#[derive(Default)]
pub(crate) struct OwnConnection {
    conn: Option<AnyConnection>,
}

impl OwnConnection {
    pub(crate) async fn get(&mut self, store: &Store) -> Result<&mut AnyConnection> {
        if self.conn.is_none() {
            let mut conn = store.pool().acquire().await?.detach();
            store.log_sync().prepare(&mut conn).await?;
            self.conn = Some(conn);
        }
        self.conn.as_mut().ok_or(StoreError::Closed)
    }

    /// Closes the connection. A commit it made may still be unsynced: whatever waits for it
    /// is answered through the store's log sync, which a later commit's sync also covers.
    pub(crate) fn close(&mut self) {
        self.conn = None;
    }
}

fn sync_loop(wal: &OnceLock<PathBuf>, waiting: &mpsc::Receiver<Waiter>) {
    while let Ok(first) = waiting.recv() {
        let mut group = vec![first];
        group.extend(waiting.try_iter());
        // Every commit the group waits for was made before this sync began, so it covers
        // them all; `after` queues only once the log is known.
        let synced = wal.get().map_or(Ok(()), |wal| sync_wal(wal));
        if let Err(err) = &synced {
            tracing::error!(error = %err, waiting = group.len(), "syncing the write-ahead log failed");
        }
        for waiter in group {
            waiter(synced.as_ref().map(|_| ()));
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
    use super::*;

    #[test]
    fn a_log_that_is_gone_needs_no_sync() {
        let dir = tempfile::tempdir().unwrap();
        assert!(sync_wal(&dir.path().join("gone.db-wal")).is_ok());
        let wal = dir.path().join("here.db-wal");
        std::fs::write(&wal, b"frames").unwrap();
        assert!(sync_wal(&wal).is_ok());
    }
}
