//! The idempotency-retention sweep: once an hour, every replica deletes the command records of
//! client requests older than `--idempotency-retention-hours` (the store keeps policy records;
//! see `infrastructure::idempotency`). Deleting is idempotent, so replicas need no coordination.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use infrastructure::Store;
use tokio::task::JoinHandle;

/// How often the sweep runs; retention is counted in hours, so an hour late is within a day's
/// promise by construction of the minimum (24 h).
const SWEEP_EVERY: Duration = Duration::from_secs(60 * 60);

/// Starts the sweep; abort the handle to stop it (a sweep is one statement, safe to cut).
pub fn spawn(store: Arc<Store>, retention_hours: u32) -> JoinHandle<()> {
    let retention = chrono::Duration::hours(i64::from(retention_hours));
    tokio::spawn(async move {
        let mut every = tokio::time::interval(SWEEP_EVERY);
        loop {
            every.tick().await;
            match store.purge_request_records(Utc::now() - retention).await {
                Ok(0) => {}
                Ok(purged) => tracing::info!(purged, "expired idempotency records purged"),
                Err(error) => tracing::warn!(%error, "cannot purge expired idempotency records"),
            }
        }
    })
}
