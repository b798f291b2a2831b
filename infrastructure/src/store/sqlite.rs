//! The event log on embedded SQLite, the default backend, in the `events` table layout of
//! sqlite-es: what differs from Postgres (the reads are in `reads`, `command_load`, `history` and
//! `global_order`). Appends are one `BEGIN IMMEDIATE` transaction on the single writer connection,
//! so writes are serial and the rowid order (`position`) is the commit order. WAL journaling with
//! `synchronous=FULL`: an acknowledged command survives power loss.

use std::sync::Arc;

use application::event_log::{Append, CommandRecord, EventLogError};
use sqlx::sqlite::{Sqlite, SqlitePool};
use sqlx::{Row, Transaction};
use tokio::sync::{broadcast, watch};

use super::{appended_record, storage_error};
use crate::changes::Change;

/// How many change notices a slow cache may fall behind before it must start over.
const CHANGE_BACKLOG: usize = 4_096;

pub struct SqliteEventLog {
    writer: SqlitePool,
    readers: SqlitePool,
    /// Carries the newest appended position to in-process projectors.
    appended: Arc<watch::Sender<i64>>,
    /// Change notices for this process's caches: one process owns the file.
    changes: broadcast::Sender<Change>,
    /// Always "listening": no notice can be lost in-process. Kept so the feed's state lives as
    /// long as the store.
    listening: watch::Sender<Option<u64>>,
}

impl SqliteEventLog {
    pub fn new(writer: SqlitePool, readers: SqlitePool) -> Self {
        Self {
            writer,
            readers,
            appended: Arc::new(watch::channel(0).0),
            changes: broadcast::channel(CHANGE_BACKLOG).0,
            listening: watch::channel(Some(0)).0,
        }
    }

    pub fn writer(&self) -> &SqlitePool {
        &self.writer
    }

    pub fn readers(&self) -> &SqlitePool {
        &self.readers
    }

    /// Wakes whenever an append commits.
    pub fn subscribe(&self) -> watch::Receiver<i64> {
        self.appended.subscribe()
    }

    /// Tells this process's caches what a write changed; call right after its commit.
    pub fn announce(&self, change: Change) {
        // No subscriber (no cache) is not an error.
        let _ = self.changes.send(change);
    }

    pub(crate) fn change_sender(&self) -> broadcast::Sender<Change> {
        self.changes.clone()
    }

    pub(crate) fn change_listening(&self) -> watch::Receiver<Option<u64>> {
        self.listening.subscribe()
    }
}

/// What differs from Postgres: the append.
impl SqliteEventLog {
    /// The write runs in its own task: sqlx's `begin_with` is not cancel-safe, and a caller
    /// dropped mid-append (a client that disconnects) would otherwise leave the single writer
    /// connection inside a transaction nobody owns. A started append always commits or rolls back.
    pub(super) async fn append(&self, append: Append) -> Result<CommandRecord, EventLogError> {
        let write = write(self.writer.clone(), self.appended.clone(), append);
        tokio::spawn(write)
            .await
            .map_err(|e| EventLogError::Storage(format!("the append task failed: {e}")))?
    }
}

/// Refuses a repeated command id and a stream that is not at the expected version. The unique
/// constraints alone only catch a stale version that would rewrite an existing sequence: not one
/// ahead of the stream (a gap), nor a command that appends nothing.
async fn write(
    writer: SqlitePool,
    appended: Arc<watch::Sender<i64>>,
    append: Append,
) -> Result<CommandRecord, EventLogError> {
    let mut tx = writer
        .begin_with("BEGIN IMMEDIATE")
        .await
        .map_err(storage_error)?;
    check_appendable(&mut tx, &append).await?;
    let mut position = None;
    for (offset, event) in append.events.iter().enumerate() {
        let metadata = serde_json::to_value(&event.metadata)
            .map_err(|e| EventLogError::Storage(e.to_string()))?;
        let row = sqlx::query(
            "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
             VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING position",
        )
        .bind(&append.aggregate_type)
        .bind(&append.aggregate_id)
        .bind(append.expected_version + 1 + offset as i64)
        .bind(&event.event_type)
        .bind(&event.event_version)
        .bind(&event.payload)
        .bind(&metadata)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| classify(e, &append))?;
        position = Some(row.get::<i64, _>("position"));
    }
    let version = append.expected_version + append.events.len() as i64;
    if let Some(snapshot) = &append.snapshot {
        sqlx::query(
            "INSERT INTO snapshots (aggregate_type, aggregate_id, version, payload) VALUES (?, ?, ?, ?)
             ON CONFLICT (aggregate_type, aggregate_id) DO UPDATE
                SET version = excluded.version, payload = excluded.payload
              WHERE snapshots.version < excluded.version",
        )
        .bind(&append.aggregate_type)
        .bind(&append.aggregate_id)
        .bind(snapshot.version)
        .bind(&snapshot.payload)
        .execute(&mut *tx)
        .await
        .map_err(storage_error)?;
        sqlx::query(
            "INSERT INTO snapshot_history (aggregate_type, aggregate_id, version, payload)
             VALUES (?, ?, ?, ?)",
        )
        .bind(&append.aggregate_type)
        .bind(&append.aggregate_id)
        .bind(snapshot.version)
        .bind(&snapshot.payload)
        .execute(&mut *tx)
        .await
        .map_err(storage_error)?;
    }
    if let Some(command) = &append.command {
        sqlx::query(
            "INSERT INTO commands (command_id, fingerprint, aggregate_type, aggregate_id, version, position)
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&command.command_id)
        .bind(&command.fingerprint)
        .bind(&append.aggregate_type)
        .bind(&append.aggregate_id)
        .bind(version)
        .bind(position)
        .execute(&mut *tx)
        .await
        .map_err(|e| classify(e, &append))?;
    }
    if let Some(claim) = &append.claims.take {
        sqlx::query(
            "INSERT INTO unique_claims (claim, aggregate_type, aggregate_id) VALUES (?, ?, ?)",
        )
        .bind(claim)
        .bind(&append.aggregate_type)
        .bind(&append.aggregate_id)
        .execute(&mut *tx)
        .await
        .map_err(|e| classify(e, &append))?;
    }
    if let Some(claim) = &append.claims.release {
        sqlx::query(
            "DELETE FROM unique_claims WHERE claim = ? AND aggregate_type = ? AND aggregate_id = ?",
        )
        .bind(claim)
        .bind(&append.aggregate_type)
        .bind(&append.aggregate_id)
        .execute(&mut *tx)
        .await
        .map_err(storage_error)?;
    }
    tx.commit().await.map_err(storage_error)?;
    if let Some(position) = position {
        appended.send_replace(position);
    }
    Ok(appended_record(append, version, position))
}

async fn check_appendable(
    tx: &mut Transaction<'_, Sqlite>,
    append: &Append,
) -> Result<(), EventLogError> {
    if let Some(command) = &append.command {
        let recorded = sqlx::query("SELECT 1 FROM commands WHERE command_id = ?")
            .bind(&command.command_id)
            .fetch_optional(&mut **tx)
            .await
            .map_err(storage_error)?;
        if recorded.is_some() {
            return Err(EventLogError::DuplicateCommand);
        }
    }
    let version: i64 = sqlx::query_scalar(
        "SELECT coalesce(max(sequence), 0) FROM events WHERE aggregate_type = ? AND aggregate_id = ?",
    )
    .bind(&append.aggregate_type)
    .bind(&append.aggregate_id)
    .fetch_one(&mut **tx)
    .await
    .map_err(storage_error)?;
    if version == append.expected_version {
        Ok(())
    } else {
        Err(EventLogError::Conflict)
    }
}

/// SQLite names the violated columns in the message rather than the constraint.
fn classify(error: sqlx::Error, append: &Append) -> EventLogError {
    if let Some(db) = error.as_database_error() {
        let message = db.message();
        if message.contains("UNIQUE constraint failed: events.") {
            return EventLogError::Conflict;
        }
        if message.contains("UNIQUE constraint failed: commands.") {
            return EventLogError::DuplicateCommand;
        }
        if message.contains("UNIQUE constraint failed: unique_claims.") {
            return EventLogError::ClaimTaken(append.claims.take.clone().unwrap_or_default());
        }
    }
    storage_error(error)
}
