//! The event log on Postgres, in the `events` table layout of postgres-es: what differs from SQLite
//! (the reads are in `reads`, `command_load`, `history` and `global_order`). A command's read is
//! one statement (`command_load`: its record, or the snapshot and the events after it) and so is
//! its append (events, snapshot, command record and the wake-up NOTIFY together): postgres-es reads
//! the snapshot and the events in two round trips and cannot share its transaction.

use application::event_log::{Append, CommandRecord, EventLogError};
use sqlx::postgres::PgPool;
use sqlx::Row;

use super::{appended_record, storage_error};

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

/// What differs from SQLite: the append.
impl PostgresEventLog {
    pub(super) async fn append(&self, append: Append) -> Result<CommandRecord, EventLogError> {
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
        Ok(appended_record(append, new_version, row.get("position")))
    }
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
