//! The past of a stream, for the audit state: `load_prefix` on both backends. Where a time cuts
//! the stream and which kept snapshot lies below a version are answered in SQL that differs only
//! in how each backend reads a JSON field; the prefix is put together from them and the events.

use application::event_log::{AsOf, EventLogError, Snapshot, StreamPrefix};
use chrono::{DateTime, Utc};

use super::reads::read_stream;
use super::storage_error;
use crate::portable::{self, Pool};

/// `EventLog::load_prefix`.
pub(super) async fn load_prefix(
    pool: &Pool,
    aggregate_type: &str,
    aggregate_id: &str,
    as_of: AsOf,
) -> Result<Option<StreamPrefix>, EventLogError> {
    let end = match as_of {
        AsOf::Version(version) => version,
        AsOf::RecordedAt(at) => {
            match recorded_bounds(pool, aggregate_type, aggregate_id, at).await? {
                (Some(first_later), _) => first_later - 1,
                (None, version) => version,
            }
        }
    };
    if end < 1 {
        return Ok(None);
    }
    let snapshot = snapshot_below(pool, aggregate_type, aggregate_id, end).await?;
    let after = snapshot.as_ref().map_or(0, |s| s.version);
    // A version far beyond the stream reads the (bounded) tail after the newest snapshot and
    // finds it too short.
    let wanted = end - after;
    let limit = u32::try_from(wanted).unwrap_or(u32::MAX);
    let events = read_stream(pool, aggregate_type, aggregate_id, after, limit).await?;
    if events.len() as i64 != wanted {
        return Ok(None);
    }
    Ok(Some(StreamPrefix { snapshot, events }))
}

/// The first sequence of the stream recorded after `at` (`None` if none is) and the stream's
/// version (0 if it has no events).
async fn recorded_bounds(
    pool: &Pool,
    aggregate_type: &str,
    aggregate_id: &str,
    at: DateTime<Utc>,
) -> Result<(Option<i64>, i64), EventLogError> {
    let recorded_at = match pool {
        Pool::Postgres(_) => "(metadata->>'recorded_at')",
        Pool::Sqlite(_) => "json_extract(metadata, '$.recorded_at')",
    };
    let sql = format!(
        "SELECT (SELECT sequence FROM events
                  WHERE aggregate_type = $1 AND aggregate_id = $2 AND {} > $3
                  ORDER BY sequence LIMIT 1) AS first_later,
                (SELECT coalesce(max(sequence), 0) FROM events
                  WHERE aggregate_type = $1 AND aggregate_id = $2) AS version",
        recorded_at_key_sql(recorded_at)
    );
    let row = portable::query(&sql)
        .bind(aggregate_type)
        .bind(aggregate_id)
        .bind(recorded_at_key(at))
        .fetch_one(pool)
        .await
        .map_err(storage_error)?;
    Ok((row.get("first_later"), row.get("version")))
}

/// The newest kept snapshot of the stream whose version is below `version`.
async fn snapshot_below(
    pool: &Pool,
    aggregate_type: &str,
    aggregate_id: &str,
    version: i64,
) -> Result<Option<Snapshot>, EventLogError> {
    let row = portable::query(
        "SELECT version, payload FROM snapshot_history
          WHERE aggregate_type = $1 AND aggregate_id = $2 AND version < $3
          ORDER BY version DESC LIMIT 1",
    )
    .bind(aggregate_type)
    .bind(aggregate_id)
    .bind(version)
    .fetch_optional(pool)
    .await
    .map_err(storage_error)?;
    Ok(row.map(|row| Snapshot {
        version: row.get("version"),
        payload: row.get("payload"),
    }))
}

/// An SQL expression of the stored `recorded_at` text `ts` (RFC 3339 in UTC as chrono writes
/// it: `2026-03-01T12:00:00Z`, `…00.5Z`, up to 9 fraction digits) that sorts as the instant
/// does: the fraction padded to 9 digits, as [`recorded_at_key`] writes one. Plain text
/// comparison would put `…00.5Z` before `…00Z`; converting to the database's time types would
/// round to micro- (Postgres) or milliseconds (SQLite).
fn recorded_at_key_sql(ts: &str) -> String {
    format!(
        "substr({ts}, 1, 19) || '.' || substr(CASE WHEN substr({ts}, 20, 1) = '.' \
         THEN substr({ts}, 21, length({ts}) - 21) ELSE '' END || '000000000', 1, 9)"
    )
}

/// `at` as the key [`recorded_at_key_sql`] computes for stored times.
fn recorded_at_key(at: DateTime<Utc>) -> String {
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
