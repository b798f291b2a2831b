//! Where the global log ends right now: what a caller waits for when it needs every projection
//! and policy to have seen everything committed so far (the test clock's advance does).

use application::event_log::{EventLogError, LogCursor};
use sqlx::Row;

use super::{storage_error, Store};

/// The end of the committed log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LogHead {
    /// The cursor of the last committed event in global order; the default for an empty log.
    /// A projection whose checkpoint has reached it has applied every event committed so far.
    pub cursor: LogCursor,
    /// The highest committed position. On Postgres it can belong to an event ordered before
    /// `cursor` (positions are allocated at insert, the order is the commit order), so it is
    /// reported to clients while waits use `cursor`.
    pub position: i64,
}

impl Store {
    pub async fn log_head(&self) -> Result<LogHead, EventLogError> {
        match self {
            Store::Postgres(log) => {
                let row = sqlx::query(
                    "SELECT tx_id::text::bigint AS tx, position,
                            (SELECT max(position) FROM events) AS highest
                       FROM events ORDER BY tx_id DESC, position DESC LIMIT 1",
                )
                .fetch_optional(log.pool())
                .await
                .map_err(storage_error)?;
                Ok(row.map_or_else(LogHead::default, |row| LogHead {
                    cursor: LogCursor {
                        tx: row.get("tx"),
                        position: row.get("position"),
                    },
                    position: row.get("highest"),
                }))
            }
            Store::Sqlite(log) => {
                // One writer: the position order is the commit order.
                let highest: Option<i64> = sqlx::query_scalar("SELECT max(position) FROM events")
                    .fetch_one(log.readers())
                    .await
                    .map_err(storage_error)?;
                let position = highest.unwrap_or(0);
                Ok(LogHead {
                    cursor: LogCursor { tx: 0, position },
                    position,
                })
            }
        }
    }
}
