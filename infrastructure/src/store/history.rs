//! The past of a stream, for the audit state: `load_prefix` on both backends. Each adapter
//! answers two questions in SQL (where a time cuts its stream, which kept snapshot lies below a
//! version); putting the prefix together from them and the stream's events is shared here.

use std::future::Future;

use application::event_log::{AsOf, EventLog, EventLogError, Snapshot, StreamPrefix};
use chrono::{DateTime, Utc};

/// The queries over a stream's kept history that each backend answers in its own SQL.
pub(super) trait KeptHistory {
    /// The first sequence of the stream recorded after `at` (`None` if none is) and the stream's
    /// version (0 if it has no events).
    fn recorded_bounds(
        &self,
        aggregate_type: &str,
        aggregate_id: &str,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<(Option<i64>, i64), EventLogError>> + Send;

    /// The newest kept snapshot of the stream whose version is below `version`.
    fn snapshot_below(
        &self,
        aggregate_type: &str,
        aggregate_id: &str,
        version: i64,
    ) -> impl Future<Output = Result<Option<Snapshot>, EventLogError>> + Send;
}

/// `EventLog::load_prefix`, from an adapter's [`KeptHistory`] and its `read_stream`.
pub(super) async fn load_prefix<L: EventLog + KeptHistory>(
    log: &L,
    aggregate_type: &str,
    aggregate_id: &str,
    as_of: AsOf,
) -> Result<Option<StreamPrefix>, EventLogError> {
    let end = match as_of {
        AsOf::Version(version) => version,
        AsOf::RecordedAt(at) => {
            match log
                .recorded_bounds(aggregate_type, aggregate_id, at)
                .await?
            {
                (Some(first_later), _) => first_later - 1,
                (None, version) => version,
            }
        }
    };
    if end < 1 {
        return Ok(None);
    }
    let snapshot = log
        .snapshot_below(aggregate_type, aggregate_id, end)
        .await?;
    let after = snapshot.as_ref().map_or(0, |s| s.version);
    // A version far beyond the stream reads the (bounded) tail after the newest snapshot and
    // finds it too short.
    let wanted = end - after;
    let limit = u32::try_from(wanted).unwrap_or(u32::MAX);
    let events = log
        .read_stream(aggregate_type, aggregate_id, after, limit)
        .await?;
    if events.len() as i64 != wanted {
        return Ok(None);
    }
    Ok(Some(StreamPrefix { snapshot, events }))
}

/// An SQL expression of the stored `recorded_at` text `ts` (RFC 3339 in UTC as chrono writes
/// it: `2026-03-01T12:00:00Z`, `…00.5Z`, up to 9 fraction digits) that sorts as the instant
/// does: the fraction padded to 9 digits, as [`recorded_at_key`] writes one. Plain text
/// comparison would put `…00.5Z` before `…00Z`; converting to the database's time types would
/// round to micro- (Postgres) or milliseconds (SQLite).
pub(super) fn recorded_at_key_sql(ts: &str) -> String {
    format!(
        "substr({ts}, 1, 19) || '.' || substr(CASE WHEN substr({ts}, 20, 1) = '.' \
         THEN substr({ts}, 21, length({ts}) - 21) ELSE '' END || '000000000', 1, 9)"
    )
}

/// `at` as the key [`recorded_at_key_sql`] computes for stored times.
pub(super) fn recorded_at_key(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.9f").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_of_an_instant_has_nine_fraction_digits() {
        let at = DateTime::parse_from_rfc3339("2026-03-01T12:00:00.5Z")
            .unwrap()
            .to_utc();
        assert_eq!(recorded_at_key(at), "2026-03-01T12:00:00.500000000");
    }
}
