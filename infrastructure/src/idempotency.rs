//! Idempotency retention: the command records of client requests (their `Idempotency-Key`)
//! expire after the configured retention, so the `commands` table does not grow forever. Records
//! of commands that policies and timers derive from events are kept: a policy re-reading its
//! events after a rebuild must still find them, or it would append twice (`docs/event-log.md`).

use application::event_log::CommandKey;
use chrono::{DateTime, SecondsFormat, Utc};

use crate::store::Store;

impl Store {
    /// Deletes the records of client requests recorded before `cutoff` and answers how many went.
    /// A request retried after its record is gone executes again.
    pub async fn purge_request_records(&self, cutoff: DateTime<Utc>) -> Result<u64, sqlx::Error> {
        let pattern = format!("{}%", CommandKey::REQUEST_PREFIX);
        let purged = match self {
            Store::Postgres(log) => {
                sqlx::query("DELETE FROM commands WHERE command_id LIKE $1 AND recorded_at < $2")
                    .bind(&pattern)
                    .bind(cutoff)
                    .execute(log.pool())
                    .await?
                    .rows_affected()
            }
            // SQLite keeps `recorded_at` as RFC 3339 text with milliseconds and a `Z`, which
            // sorts as time does; the cutoff is written the same way.
            Store::Sqlite(log) => {
                sqlx::query("DELETE FROM commands WHERE command_id LIKE $1 AND recorded_at < $2")
                    .bind(&pattern)
                    .bind(cutoff.to_rfc3339_opts(SecondsFormat::Millis, true))
                    .execute(log.writer())
                    .await?
                    .rows_affected()
            }
        };
        Ok(purged)
    }
}
