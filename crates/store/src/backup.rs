//! Backups of the SQLite database: a consistent copy of a live database (`VACUUM INTO`, one
//! read transaction, so the server keeps writing meanwhile), and a restore that checks the
//! hash chain of every incident in the copy before it replaces anything. PostgreSQL is backed
//! up with its own tools (`pg_dump`), as the README says.

use std::path::{Path, PathBuf};

use firebreak_core::hash::ChainBreak;

use crate::db::Backend;
use crate::{Result, Store, StoreError, StoreOptions};

/// What a chain check of a whole database found.
#[derive(Clone, Debug, Default)]
pub struct ChainReport {
    pub n_incidents: usize,
    pub n_events: i64,
    /// Incidents whose chain does not verify: their reference and where it breaks.
    pub broken: Vec<(String, ChainBreak)>,
}

impl Store {
    /// Writes a consistent copy of this SQLite database to `path` (which must not exist).
    pub async fn backup_to(&self, path: &Path) -> Result<()> {
        if self.backend() != Backend::Sqlite {
            return Err(StoreError::Conflict(
                "a PostgreSQL database is backed up with pg_dump (see the README)".into(),
            ));
        }
        if path.exists() {
            return Err(StoreError::Conflict(format!(
                "{} exists already; a backup never overwrites a file",
                path.display()
            )));
        }
        let target = path.to_str().ok_or_else(|| {
            StoreError::Conflict(format!("{} is not a UTF-8 path", path.display()))
        })?;
        sqlx::query("VACUUM INTO $1")
            .bind(target.to_string())
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Verifies the whole chain of every incident.
    pub async fn verify_all(&self) -> Result<ChainReport> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT id, number FROM incidents ORDER BY number")
                .fetch_all(self.pool())
                .await?;
        let mut report = ChainReport::default();
        for (id, number) in rows {
            let id = uuid::Uuid::parse_str(&id)
                .map_err(|_| StoreError::Corrupt(format!("incident id {id}")))?;
            report.n_incidents += 1;
            match self.verify_timeline(id).await? {
                Ok(n_events) => report.n_events += n_events,
                Err(broken) => report
                    .broken
                    .push((firebreak_core::Reference(number).to_string(), broken)),
            }
        }
        Ok(report)
    }
}

/// The file a `sqlite:` database URL names.
fn sqlite_path(database_url: &str) -> Result<PathBuf> {
    let (url, backend) = crate::db::normalize_url(database_url);
    if backend != Backend::Sqlite {
        return Err(StoreError::Conflict(
            "restore replaces a SQLite database; restore PostgreSQL with pg_restore or psql".into(),
        ));
    }
    let path = url.trim_start_matches("sqlite://");
    let path = path.split('?').next().unwrap_or(path);
    Ok(PathBuf::from(path))
}

/// Replaces the SQLite database at `database_url` with the backup at `backup`, after checking
/// every incident's chain in a copy of it (migrated to this version). Refuses, replacing
/// nothing, when a chain is broken or the database is in use.
pub async fn restore(backup: &Path, database_url: &str) -> Result<ChainReport> {
    let target = sqlite_path(database_url)?;
    if !backup.is_file() {
        return Err(StoreError::Conflict(format!(
            "{} is not a file",
            backup.display()
        )));
    }
    let staging = target.with_extension("restoring");
    let _ = std::fs::remove_file(&staging);
    std::fs::copy(backup, &staging).map_err(io_error)?;
    let checked = check_copy(&staging).await;
    let report = match checked {
        Ok(report) if report.broken.is_empty() => report,
        Ok(report) => {
            let _ = std::fs::remove_file(&staging);
            let (reference, broken) = &report.broken[0];
            return Err(StoreError::Conflict(format!(
                "the backup's timeline of {reference} is broken at event {} ({}); \
                 {} of {} incidents do not verify; nothing was replaced",
                broken.seq,
                broken.reason,
                report.broken.len(),
                report.n_incidents
            )));
        }
        Err(err) => {
            let _ = std::fs::remove_file(&staging);
            return Err(err);
        }
    };
    if target.exists() {
        refuse_if_in_use(&target).await?;
    }
    // A write-ahead log left beside the old file would be replayed into the new one.
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", target.display()));
    }
    std::fs::rename(&staging, &target).map_err(io_error)?;
    Ok(report)
}

/// Opens the staged copy (migrating it), verifies every chain and closes it cleanly.
async fn check_copy(staging: &Path) -> Result<ChainReport> {
    let url = format!("sqlite:{}", staging.display());
    let store = Store::open(StoreOptions::new(url)).await?;
    let report = store.verify_all().await;
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(store.pool())
        .await?;
    store.close().await;
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", staging.display()));
    }
    report
}

/// A server using the database holds it open; an exclusive lock (in exclusive locking mode,
/// which in WAL mode cannot be had while another process has the log open) says so at once.
async fn refuse_if_in_use(target: &Path) -> Result<()> {
    use sqlx::Connection;
    let url = format!("sqlite://{}?mode=rw", target.display());
    let mut conn = sqlx::SqliteConnection::connect(&url).await?;
    let locked = sqlx::query(
        "PRAGMA busy_timeout = 0; PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE; \
         SELECT count(*) FROM sqlite_master",
    )
    .execute(&mut conn)
    .await;
    let in_use = locked.is_err();
    if !in_use {
        sqlx::query("ROLLBACK").execute(&mut conn).await?;
    }
    conn.close().await?;
    if in_use {
        return Err(StoreError::Conflict(format!(
            "{} is in use; stop the server before restoring",
            target.display()
        )));
    }
    Ok(())
}

fn io_error(err: std::io::Error) -> StoreError {
    StoreError::Database(sqlx::Error::Io(err))
}
