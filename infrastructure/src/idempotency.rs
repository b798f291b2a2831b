//! Idempotency retention: the command records of client requests (their `Idempotency-Key`)
//! expire after the configured retention, so the `commands` table does not grow forever. Records
//! of commands that policies and timers derive from events are kept: a policy re-reading its
//! events after a rebuild must still find them, or it would append twice (`docs/event-log.md`).

use application::event_log::CommandKey;
use chrono::{DateTime, Utc};

use crate::portable;
use crate::store::Store;

impl Store {
    /// Deletes the records of client requests recorded before `cutoff` and answers how many went.
    /// A request retried after its record is gone executes again.
    pub async fn purge_request_records(&self, cutoff: DateTime<Utc>) -> Result<u64, sqlx::Error> {
        let pattern = format!("{}%", CommandKey::REQUEST_PREFIX);
        // SQLite keeps `recorded_at` as RFC 3339 text with milliseconds and a `Z`: a
        // `Value::Time` compares with it as the instant does, to the millisecond.
        portable::query("DELETE FROM commands WHERE command_id LIKE $1 AND recorded_at < $2")
            .bind(pattern)
            .bind(cutoff)
            .execute(self.writer())
            .await
    }
}

/// Who holds a request's `Idempotency-Key`, on a route that appends no event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestClaim {
    /// This request: it runs, then stores its answer or releases the key.
    Won,
    /// An earlier request, with its fingerprint and its stored answer (`None` while it runs).
    Held {
        fingerprint: String,
        reply: Option<String>,
    },
}

impl Store {
    /// Claims `command_id` for a request on `route` that appends no event, in the `commands`
    /// table where command requests record theirs, so a key names one request on any route.
    pub async fn claim_request(
        &self,
        command_id: &str,
        fingerprint: &str,
        route: &str,
    ) -> Result<RequestClaim, sqlx::Error> {
        let insert =
            "INSERT INTO commands (command_id, fingerprint, aggregate_type, aggregate_id, version)
                      VALUES ($1, $2, 'request', $3, 0) ON CONFLICT (command_id) DO NOTHING";
        let select = "SELECT fingerprint, reply FROM commands WHERE command_id = $1";
        // A holder that released its claim between the two statements: claim again.
        loop {
            let inserted = portable::query(insert)
                .bind(command_id)
                .bind(fingerprint)
                .bind(route)
                .execute(self.writer())
                .await?;
            if inserted == 1 {
                return Ok(RequestClaim::Won);
            }
            let held = portable::query(select)
                .bind(command_id)
                .fetch_optional(self.writer())
                .await?;
            if let Some(row) = held {
                return Ok(RequestClaim::Held {
                    fingerprint: row.get("fingerprint"),
                    reply: row.get("reply"),
                });
            }
        }
    }

    /// Stores the answer of a request that won its claim.
    pub async fn complete_request(&self, command_id: &str, reply: &str) -> Result<(), sqlx::Error> {
        let sql = "UPDATE commands SET reply = $1 WHERE command_id = $2";
        portable::query(sql)
            .bind(reply)
            .bind(command_id)
            .execute(self.writer())
            .await?;
        Ok(())
    }

    /// Gives up a claim whose request failed, so that a retry runs it again.
    pub async fn release_request(&self, command_id: &str) -> Result<(), sqlx::Error> {
        let sql = "DELETE FROM commands WHERE command_id = $1 AND reply IS NULL";
        portable::query(sql)
            .bind(command_id)
            .execute(self.writer())
            .await?;
        Ok(())
    }
}
