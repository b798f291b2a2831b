//! The event log on Postgres, in the `events` table layout of postgres-es. A command's read is one
//! statement (`command_load`: its record, or the snapshot and the events after it) and so is its
//! append (events, snapshot, command record and the wake-up NOTIFY together): postgres-es reads
//! the snapshot and the events in two round trips and cannot share its transaction.
//!
//! Global order: `position` is allocated at insert, so two concurrent transactions can commit in
//! the opposite order of their positions. Readers therefore order by (`tx_id`, `position`) and read
//! only rows whose transaction id is below `pg_snapshot_xmin(pg_current_snapshot())`: every
//! transaction below that horizon has finished, and every later one gets a larger id, so no
//! event can ever appear before a cursor a reader has passed.

use application::event_log::{
    Append, AsOf, CommandLoad, CommandRecord, EventLog, EventLogError, LogCursor, Snapshot,
    StoredEvent, StreamPrefix,
};
use chrono::{DateTime, Utc};
use cqrs_es::Aggregate;
use sqlx::postgres::{PgPool, PgRow};
use sqlx::Row;

use super::command_load;
use super::history::{self, recorded_at_key, recorded_at_key_sql, KeptHistory};
use super::{decode_metadata, storage_error};

/// The channel NOTIFY'd on every append; projectors LISTEN on it.
pub const EVENTS_CHANNEL: &str = "ledgerline_events";

pub struct PostgresEventLog {
    pool: PgPool,
}

impl PostgresEventLog {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

/// `$14` is the expected version. The stream's version and the command id are checked in the
/// statement's own snapshot; nothing is written unless the stream is at `$14` and the command id
/// is new. A writer that commits between that snapshot and the insert still collides on
/// `events_pkey` or `commands_pkey`, which [`classify`] maps to the same two errors.
const APPEND: &str = r#"
WITH stream AS (
    SELECT coalesce(max(sequence), 0) AS version
      FROM events WHERE aggregate_type = $1 AND aggregate_id = $2
), recorded AS (
    SELECT EXISTS (SELECT 1 FROM commands WHERE command_id = $10) AS duplicate
), accepted AS (
    SELECT s.version = $14 AND NOT r.duplicate AS ok FROM stream s, recorded r
), new_events AS (
    INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
    SELECT $1, $2, e.sequence, e.event_type, e.event_version, e.payload, e.metadata
      FROM UNNEST($3::bigint[], $4::text[], $5::text[], $6::jsonb[], $7::jsonb[])
           AS e(sequence, event_type, event_version, payload, metadata)
     WHERE (SELECT ok FROM accepted)
    RETURNING position
), last AS (
    SELECT max(position) AS position FROM new_events
), snapshot AS (
    INSERT INTO snapshots (aggregate_type, aggregate_id, version, payload)
    SELECT $1, $2, $8, $9 WHERE $9::jsonb IS NOT NULL AND (SELECT ok FROM accepted)
    ON CONFLICT (aggregate_type, aggregate_id) DO UPDATE
       SET version = EXCLUDED.version, payload = EXCLUDED.payload
     WHERE snapshots.version < EXCLUDED.version
), kept_snapshot AS (
    INSERT INTO snapshot_history (aggregate_type, aggregate_id, version, payload)
    SELECT $1, $2, $8, $9 WHERE $9::jsonb IS NOT NULL AND (SELECT ok FROM accepted)
), command AS (
    INSERT INTO commands (command_id, fingerprint, aggregate_type, aggregate_id, version, position)
    SELECT $10, $11, $1, $2, $12, (SELECT position FROM last)
     WHERE $10::text IS NOT NULL AND (SELECT ok FROM accepted)
), taken AS (
    INSERT INTO unique_claims (claim, aggregate_type, aggregate_id)
    SELECT $15, $1, $2 WHERE $15::text IS NOT NULL AND (SELECT ok FROM accepted)
), released AS (
    DELETE FROM unique_claims
     WHERE claim = $16 AND aggregate_type = $1 AND aggregate_id = $2 AND (SELECT ok FROM accepted)
)
SELECT (SELECT position FROM last) AS position,
       (SELECT version FROM stream) AS stream_version,
       (SELECT duplicate FROM recorded) AS duplicate,
       CASE WHEN $13 AND (SELECT ok FROM accepted) THEN pg_notify('ledgerline_events', '') END AS notified
"#;

impl EventLog for PostgresEventLog {
    async fn load_for_command<A: Aggregate>(
        &self,
        aggregate_id: &str,
        command_id: Option<&str>,
    ) -> Result<CommandLoad, EventLogError> {
        command_load::load_for_command(&self.pool, A::TYPE, aggregate_id, command_id).await
    }

    async fn load_prefix(
        &self,
        aggregate_type: &str,
        aggregate_id: &str,
        as_of: AsOf,
    ) -> Result<Option<StreamPrefix>, EventLogError> {
        history::load_prefix(self, aggregate_type, aggregate_id, as_of).await
    }

    async fn append(&self, append: Append) -> Result<CommandRecord, EventLogError> {
        let first = append.expected_version + 1;
        let new_version = append.expected_version + append.events.len() as i64;
        let sequences: Vec<i64> = (first..=new_version).collect();
        let types: Vec<&str> = append
            .events
            .iter()
            .map(|e| e.event_type.as_str())
            .collect();
        let versions: Vec<&str> = append
            .events
            .iter()
            .map(|e| e.event_version.as_str())
            .collect();
        let payloads: Vec<&serde_json::Value> = append.events.iter().map(|e| &e.payload).collect();
        let metadata = append
            .events
            .iter()
            .map(|e| serde_json::to_value(&e.metadata))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| EventLogError::Storage(e.to_string()))?;
        let (snapshot_version, snapshot_payload) = match &append.snapshot {
            Some(s) => (Some(s.version), Some(&s.payload)),
            None => (None, None),
        };
        let row = sqlx::query(APPEND)
            .bind(&append.aggregate_type)
            .bind(&append.aggregate_id)
            .bind(&sequences)
            .bind(&types)
            .bind(&versions)
            .bind(&payloads)
            .bind(&metadata)
            .bind(snapshot_version)
            .bind(snapshot_payload)
            .bind(append.command.as_ref().map(|c| &c.command_id))
            .bind(append.command.as_ref().map(|c| &c.fingerprint))
            .bind(new_version)
            .bind(!append.events.is_empty())
            .bind(append.expected_version)
            .bind(&append.claims.take)
            .bind(&append.claims.release)
            .fetch_one(&self.pool)
            .await
            .map_err(|e| classify(e, &append))?;
        if row.get::<bool, _>("duplicate") {
            return Err(EventLogError::DuplicateCommand);
        }
        if row.get::<i64, _>("stream_version") != append.expected_version {
            return Err(EventLogError::Conflict);
        }
        Ok(CommandRecord {
            command_id: append
                .command
                .as_ref()
                .map(|c| c.command_id.clone())
                .unwrap_or_default(),
            fingerprint: append.command.map(|c| c.fingerprint).unwrap_or_default(),
            aggregate_type: append.aggregate_type,
            aggregate_id: append.aggregate_id,
            version: new_version,
            position: row.get("position"),
        })
    }

    async fn find_command(&self, command_id: &str) -> Result<Option<CommandRecord>, EventLogError> {
        sqlx::query(
            "SELECT command_id, fingerprint, aggregate_type, aggregate_id, version, position
               FROM commands WHERE command_id = $1",
        )
        .bind(command_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(storage_error)
        .map(|row| row.map(|row| super::command_record(&row)))
    }

    async fn read_stream(
        &self,
        aggregate_type: &str,
        aggregate_id: &str,
        after: i64,
        limit: u32,
    ) -> Result<Vec<StoredEvent>, EventLogError> {
        let rows = sqlx::query(
            "SELECT tx_id::text::bigint AS tx, position, aggregate_type, aggregate_id, sequence, event_type, event_version,
                    payload, metadata
               FROM events
              WHERE aggregate_type = $1 AND aggregate_id = $2 AND sequence > $3
              ORDER BY sequence LIMIT $4",
        )
        .bind(aggregate_type)
        .bind(aggregate_id)
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(storage_error)?;
        rows.iter()
            .map(|row| stored_event(row).map(|(_, event)| event))
            .collect()
    }

    async fn read_after(
        &self,
        cursor: LogCursor,
        limit: u32,
    ) -> Result<Vec<(LogCursor, StoredEvent)>, EventLogError> {
        let rows = sqlx::query(
            "SELECT tx_id::text::bigint AS tx, position, aggregate_type, aggregate_id, sequence,
                    event_type, event_version, payload, metadata
               FROM events
              WHERE (tx_id, position) > ($1::text::xid8, $2)
                AND tx_id < pg_snapshot_xmin(pg_current_snapshot())
              ORDER BY tx_id, position
              LIMIT $3",
        )
        .bind(cursor.tx.to_string())
        .bind(cursor.position)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(storage_error)?;
        rows.iter().map(stored_event).collect()
    }

    async fn cursor_of(&self, position: i64) -> Result<Option<LogCursor>, EventLogError> {
        let row = sqlx::query("SELECT tx_id::text::bigint AS tx FROM events WHERE position = $1")
            .bind(position)
            .fetch_optional(&self.pool)
            .await
            .map_err(storage_error)?;
        Ok(row.map(|row| LogCursor {
            tx: row.get("tx"),
            position,
        }))
    }
}

impl KeptHistory for PostgresEventLog {
    async fn recorded_bounds(
        &self,
        aggregate_type: &str,
        aggregate_id: &str,
        at: DateTime<Utc>,
    ) -> Result<(Option<i64>, i64), EventLogError> {
        let query = format!(
            "SELECT (SELECT sequence FROM events
                      WHERE aggregate_type = $1 AND aggregate_id = $2 AND {} > $3
                      ORDER BY sequence LIMIT 1) AS first_later,
                    (SELECT coalesce(max(sequence), 0) FROM events
                      WHERE aggregate_type = $1 AND aggregate_id = $2) AS version",
            recorded_at_key_sql("(metadata->>'recorded_at')")
        );
        let row = sqlx::query(&query)
            .bind(aggregate_type)
            .bind(aggregate_id)
            .bind(recorded_at_key(at))
            .fetch_one(&self.pool)
            .await
            .map_err(storage_error)?;
        Ok((row.get("first_later"), row.get("version")))
    }

    async fn snapshot_below(
        &self,
        aggregate_type: &str,
        aggregate_id: &str,
        version: i64,
    ) -> Result<Option<Snapshot>, EventLogError> {
        let row = sqlx::query(
            "SELECT version, payload FROM snapshot_history
              WHERE aggregate_type = $1 AND aggregate_id = $2 AND version < $3
              ORDER BY version DESC LIMIT 1",
        )
        .bind(aggregate_type)
        .bind(aggregate_id)
        .bind(version)
        .fetch_optional(&self.pool)
        .await
        .map_err(storage_error)?;
        Ok(row.map(|row| Snapshot {
            version: row.get("version"),
            payload: row.get("payload"),
        }))
    }
}

fn stored_event(row: &PgRow) -> Result<(LogCursor, StoredEvent), EventLogError> {
    let cursor = LogCursor {
        tx: row.get("tx"),
        position: row.get("position"),
    };
    let event = StoredEvent {
        position: cursor.position,
        aggregate_type: row.get("aggregate_type"),
        aggregate_id: row.get("aggregate_id"),
        sequence: row.get("sequence"),
        event_type: row.get("event_type"),
        event_version: row.get("event_version"),
        payload: row.get("payload"),
        metadata: decode_metadata(row.get("metadata"))?,
    };
    Ok((cursor, event))
}

/// A duplicate stream sequence is a concurrency conflict; a duplicate command id is a replay;
/// a duplicate claim belongs to another aggregate.
fn classify(error: sqlx::Error, append: &Append) -> EventLogError {
    if let Some(db) = error.as_database_error() {
        match db.constraint() {
            Some("events_pkey") => return EventLogError::Conflict,
            Some("commands_pkey") => return EventLogError::DuplicateCommand,
            Some("unique_claims_pkey") => {
                return EventLogError::ClaimTaken(append.claims.take.clone().unwrap_or_default())
            }
            _ => {}
        }
    }
    storage_error(error)
}
