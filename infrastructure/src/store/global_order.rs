//! Reading the log in commit order, the one read whose SQL differs between the backends.
//!
//! On SQLite writes are serial, so the position order is the commit order. On Postgres `position`
//! is allocated at insert, so two concurrent transactions can commit in the opposite order of
//! their positions. Readers there order by (`tx_id`, `position`) and read only rows whose
//! transaction id is below `pg_snapshot_xmin(pg_current_snapshot())`: every transaction below that
//! horizon has finished, and every later one gets a larger id, so no event can ever appear before
//! a cursor a reader has passed.

use application::event_log::{EventLogError, LogCursor, StoredEvent};

use super::reads::{stored_event, EVENT_COLUMNS};
use super::storage_error;
use crate::portable::{self, Pool, Row};

/// `EventLog::read_after`.
pub(super) async fn read_after(
    pool: &Pool,
    cursor: LogCursor,
    limit: u32,
) -> Result<Vec<(LogCursor, StoredEvent)>, EventLogError> {
    let (sql, after) = match pool {
        Pool::Postgres(_) => (
            format!(
                "SELECT tx_id::text::bigint AS tx, {EVENT_COLUMNS} FROM events
                  WHERE (tx_id, position) > ($1::text::xid8, $2)
                    AND tx_id < pg_snapshot_xmin(pg_current_snapshot())
                  ORDER BY tx_id, position LIMIT $3"
            ),
            Some(cursor.tx.to_string()),
        ),
        Pool::Sqlite(_) => (
            format!(
                "SELECT 0 AS tx, {EVENT_COLUMNS} FROM events
                  WHERE position > $1 ORDER BY position LIMIT $2"
            ),
            None,
        ),
    };
    let query = match after {
        Some(tx) => portable::query(&sql).bind(tx),
        None => portable::query(&sql),
    };
    let rows = query
        .bind(cursor.position)
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await
        .map_err(storage_error)?;
    rows.iter()
        .map(|row| {
            let event = stored_event(row)?;
            Ok((cursor_from(row, event.position), event))
        })
        .collect()
}

/// `EventLog::cursor_of`: the cursor of the event at `position`, if there is one.
pub(super) async fn cursor_of(
    pool: &Pool,
    position: i64,
) -> Result<Option<LogCursor>, EventLogError> {
    let tx = match pool {
        Pool::Postgres(_) => "tx_id::text::bigint",
        Pool::Sqlite(_) => "0",
    };
    let sql = format!("SELECT {tx} AS tx FROM events WHERE position = $1");
    let row = portable::query(&sql)
        .bind(position)
        .fetch_optional(pool)
        .await
        .map_err(storage_error)?;
    Ok(row.map(|row| cursor_from(&row, position)))
}

/// The cursor of the event at `position` whose row holds its transaction id as `tx` (0 on SQLite).
fn cursor_from(row: &Row, position: i64) -> LogCursor {
    LogCursor {
        tx: row.get("tx"),
        position,
    }
}
