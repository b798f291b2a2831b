//! The checkpoint and status tables. A checkpoint moves only by compare-and-set inside the
//! projector's own transaction: if it is not where this worker last left it, another worker
//! has taken over (its lease was lost), and the batch is rolled back instead of applied twice.

use crate::Store;
use application::event_log::LogCursor;
use chrono::Utc;

use super::error::ProjectionError;
use crate::portable::{query, timestamp, Tx};

/// Wakes standby workers in other processes when a checkpoint commits (Postgres only).
pub const CHECKPOINTS_CHANNEL: &str = "ledgerline_projections";

#[derive(sqlx::FromRow)]
struct CheckpointRow {
    log_tx: i64,
    position: i64,
}

/// The committed checkpoint of `name`, whichever process committed it; the default cursor
/// when it never committed.
pub async fn load(store: &Store, name: &str) -> Result<LogCursor, ProjectionError> {
    let row: Option<CheckpointRow> =
        query("SELECT log_tx, position FROM projection_checkpoints WHERE name = $1")
            .bind(name)
            .fetch_optional_as(store.reader())
            .await?;
    Ok(row.map_or(LogCursor::default(), |row| LogCursor {
        tx: row.log_tx,
        position: row.position,
    }))
}

/// `name`'s checkpoint as `tx` sees it. With `lock`, on Postgres the row stays locked until `tx`
/// ends, so no worker moves it meanwhile (a rebuild's swap; SQLite's one writer is a lock already).
pub async fn load_in(tx: &mut Tx, name: &str, lock: bool) -> Result<LogCursor, ProjectionError> {
    let for_update = lock && matches!(tx, Tx::Postgres(_));
    let sql = format!(
        "SELECT log_tx, position FROM projection_checkpoints WHERE name = $1{}",
        if for_update { " FOR UPDATE" } else { "" }
    );
    let rows: Vec<CheckpointRow> = query(&sql).bind(name).fetch_all_as(tx).await?;
    Ok(rows.first().map_or(LogCursor::default(), |row| LogCursor {
        tx: row.log_tx,
        position: row.position,
    }))
}

/// Sets `name`'s checkpoint to `to` inside `tx`, wherever it was: a rebuild's swap. The live
/// worker's next compare-and-set then fails unless the checkpoint is where it left it.
pub async fn reset(tx: &mut Tx, name: &str, to: LogCursor) -> Result<(), ProjectionError> {
    query(
        "INSERT INTO projection_checkpoints (name, log_tx, position, updated_at)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (name) DO UPDATE
            SET log_tx = excluded.log_tx, position = excluded.position,
                updated_at = excluded.updated_at",
    )
    .bind(name)
    .bind(to.tx)
    .bind(to.position)
    .bind(timestamp(Utc::now()))
    .execute(&mut *tx)
    .await?;
    notify(tx, name).await
}

async fn notify(tx: &mut Tx, name: &str) -> Result<(), ProjectionError> {
    if matches!(tx, Tx::Postgres(_)) {
        // Delivered at commit, and only if the transaction commits.
        query("SELECT pg_notify($1, $2)")
            .bind(CHECKPOINTS_CHANNEL)
            .bind(name)
            .execute(tx)
            .await?;
    }
    Ok(())
}

const ADVANCE: &str = "
INSERT INTO projection_checkpoints (name, log_tx, position, updated_at) VALUES ($1, $2, $3, $4)
ON CONFLICT (name) DO UPDATE
   SET log_tx = excluded.log_tx, position = excluded.position, updated_at = excluded.updated_at
 WHERE projection_checkpoints.log_tx = $5 AND projection_checkpoints.position = $6";

/// Moves `name`'s checkpoint from `from` to `to` inside `tx`. Returns false, changing nothing,
/// when the stored checkpoint is not `from`: another worker moved it.
pub async fn advance(
    tx: &mut Tx,
    name: &str,
    from: LogCursor,
    to: LogCursor,
) -> Result<bool, ProjectionError> {
    let moved = query(ADVANCE)
        .bind(name)
        .bind(to.tx)
        .bind(to.position)
        .bind(timestamp(Utc::now()))
        .bind(from.tx)
        .bind(from.position)
        .execute(&mut *tx)
        .await?
        == 1;
    if moved {
        notify(tx, name).await?;
    }
    Ok(moved)
}

/// What the active worker reports in the status table.
pub enum StoredStatus<'a> {
    Running,
    Failed { error: &'a str, position: i64 },
    Stopped,
}

const RECORD_STATUS: &str = "
INSERT INTO projection_status (name, status, error, failed_position, updated_at)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (name) DO UPDATE
   SET status = excluded.status, error = excluded.error,
       failed_position = excluded.failed_position, updated_at = excluded.updated_at";

/// Records `status` for `name` in its own transaction.
pub async fn record_status(
    store: &Store,
    name: &str,
    status: StoredStatus<'_>,
) -> Result<(), ProjectionError> {
    let (label, error, position) = match status {
        StoredStatus::Running => ("running", None, None),
        StoredStatus::Failed { error, position } => {
            ("failed", Some(error.to_owned()), Some(position))
        }
        StoredStatus::Stopped => ("stopped", None, None),
    };
    let mut tx = Tx::begin(store).await?;
    query(RECORD_STATUS)
        .bind(name)
        .bind(label)
        .bind(error)
        .bind(position)
        .bind(timestamp(Utc::now()))
        .execute(&mut tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// A status row as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RecordedStatus {
    pub status: String,
    pub error: Option<String>,
    pub failed_position: Option<i64>,
    pub updated_at: String,
}

const STATUS: &str =
    "SELECT status, error, failed_position, updated_at FROM projection_status WHERE name = $1";

/// The status the active worker of `name` last recorded, in any process.
pub async fn recorded_status(
    store: &Store,
    name: &str,
) -> Result<Option<RecordedStatus>, ProjectionError> {
    Ok(query(STATUS)
        .bind(name)
        .fetch_optional_as(store.reader())
        .await?)
}

/// `name`'s recorded status as `tx` sees it (verification reads it in its snapshot).
pub async fn recorded_status_in(
    tx: &mut Tx,
    name: &str,
) -> Result<Option<RecordedStatus>, ProjectionError> {
    let rows: Vec<RecordedStatus> = query(STATUS).bind(name).fetch_all_as(tx).await?;
    Ok(rows.into_iter().next())
}
