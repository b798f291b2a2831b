//! `EventLog::load_for_command` on both backends: the command's record, or else the stream's
//! snapshot and the events after it, in one statement, so a command costs one read round trip.

use application::event_log::{CommandLoad, EventLogError, Snapshot, StreamTail};
use cqrs_es::persist::SerializedEvent;
use serde_json::Value;

use super::reads::command_record;
use super::storage_error;
use crate::portable::{self, Pool};

/// `$1`, `$2`: the stream; `$3`: the command id, or NULL. Each row is one `part`: the command
/// record (then alone), the snapshot, or an event. `version` is the record's or the snapshot's
/// version, or the event's sequence. The text runs unchanged on Postgres and SQLite (sqlx binds
/// SQLite's `$N` by number), and the stream is read only when the command id is not recorded.
const LOAD_FOR_COMMAND: &str = r#"
WITH recorded AS (
    SELECT command_id, fingerprint, aggregate_type, aggregate_id, version, position
      FROM commands WHERE command_id = $3
), snapshot AS (
    SELECT version, payload FROM snapshots
     WHERE aggregate_type = $1 AND aggregate_id = $2 AND NOT EXISTS (SELECT 1 FROM recorded)
)
SELECT 'command' AS part, command_id, fingerprint, aggregate_type, aggregate_id, version,
       position, NULL AS payload, NULL AS event_type, NULL AS event_version
  FROM recorded
UNION ALL
SELECT 'snapshot', NULL, NULL, NULL, NULL, version, NULL, payload, NULL, NULL
  FROM snapshot
UNION ALL
SELECT 'event', NULL, NULL, NULL, NULL, sequence, NULL, payload, event_type, event_version
  FROM events
 WHERE aggregate_type = $1 AND aggregate_id = $2 AND NOT EXISTS (SELECT 1 FROM recorded)
   AND sequence > coalesce((SELECT version FROM snapshot), 0)
ORDER BY version
"#;

/// Runs [`LOAD_FOR_COMMAND`] for stream (`aggregate_type`, `aggregate_id`) on `pool` and puts
/// its rows together.
pub(super) async fn load_for_command(
    pool: &Pool,
    aggregate_type: &str,
    aggregate_id: &str,
    command_id: Option<&str>,
) -> Result<CommandLoad, EventLogError> {
    let rows = portable::query(LOAD_FOR_COMMAND)
        .bind(aggregate_type)
        .bind(aggregate_id)
        .bind(command_id)
        .fetch_all(pool)
        .await
        .map_err(storage_error)?;
    let mut tail = StreamTail::default();
    for row in &rows {
        match row.get::<String>("part").as_str() {
            "command" => return Ok(CommandLoad::Recorded(command_record(row))),
            "snapshot" => {
                tail.snapshot = Some(Snapshot {
                    version: row.get("version"),
                    payload: row.get("payload"),
                })
            }
            "event" => tail.events.push(SerializedEvent::new(
                aggregate_id.to_owned(),
                row.get::<i64>("version") as usize,
                aggregate_type.to_owned(),
                row.get("event_type"),
                row.get("event_version"),
                row.get("payload"),
                Value::Null,
            )),
            other => {
                return Err(EventLogError::Storage(format!(
                    "loading a stream returned an unknown part `{other}`"
                )))
            }
        }
    }
    Ok(CommandLoad::Stream(tail))
}
