//! The reads of the log whose SQL is the same on both backends: a command's record and a
//! stream's events, and how their rows become records.

use application::event_log::{CommandRecord, EventLogError, StoredEvent};

use super::{decode_metadata, storage_error};
use crate::portable::{self, Pool, Row};

/// The columns [`stored_event`] reads.
pub(super) const EVENT_COLUMNS: &str =
    "position, aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata";

pub(super) async fn find_command(
    pool: &Pool,
    command_id: &str,
) -> Result<Option<CommandRecord>, EventLogError> {
    let row = portable::query(
        "SELECT command_id, fingerprint, aggregate_type, aggregate_id, version, position
           FROM commands WHERE command_id = $1",
    )
    .bind(command_id)
    .fetch_optional(pool)
    .await
    .map_err(storage_error)?;
    Ok(row.as_ref().map(command_record))
}

pub(super) async fn read_stream(
    pool: &Pool,
    aggregate_type: &str,
    aggregate_id: &str,
    after: i64,
    limit: u32,
) -> Result<Vec<StoredEvent>, EventLogError> {
    let sql = format!(
        "SELECT {EVENT_COLUMNS} FROM events
          WHERE aggregate_type = $1 AND aggregate_id = $2 AND sequence > $3
          ORDER BY sequence LIMIT $4"
    );
    let rows = portable::query(&sql)
        .bind(aggregate_type)
        .bind(aggregate_id)
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await
        .map_err(storage_error)?;
    rows.iter().map(stored_event).collect()
}

/// An event from a row with the [`EVENT_COLUMNS`].
pub(super) fn stored_event(row: &Row) -> Result<StoredEvent, EventLogError> {
    Ok(StoredEvent {
        position: row.get("position"),
        aggregate_type: row.get("aggregate_type"),
        aggregate_id: row.get("aggregate_id"),
        sequence: row.get("sequence"),
        event_type: row.get("event_type"),
        event_version: row.get("event_version"),
        payload: row.get("payload"),
        metadata: decode_metadata(row.get("metadata"))?,
    })
}

pub(super) fn command_record(row: &Row) -> CommandRecord {
    CommandRecord {
        command_id: row.get("command_id"),
        fingerprint: row.get("fingerprint"),
        aggregate_type: row.get("aggregate_type"),
        aggregate_id: row.get("aggregate_id"),
        version: row.get("version"),
        position: row.get("position"),
    }
}
