//! Read-your-writes (SPEC 5): a query that names the position of a command's last event waits,
//! bounded, until the projections it reads have applied that event. Waiting watches the
//! projections' published checkpoints; nothing polls.

use std::time::Duration;

use crate::Store;
use application::event_log::EventLog;
use tokio::sync::watch;

use super::error::ProjectionError;
use super::state::ProjectionState;

/// Waits until every projection in `projections` has applied the event at `position`, or fails
/// with `Stale` after `timeout`. A position of 0 or less asks for nothing.
pub(crate) async fn wait_until_applied(
    store: &Store,
    projections: Vec<watch::Receiver<ProjectionState>>,
    position: i64,
    timeout: Duration,
) -> Result<(), ProjectionError> {
    if position <= 0 {
        return Ok(());
    }
    let stale = ProjectionError::Stale { position, timeout };
    let applied = async {
        // Positions are not in commit order on Postgres; the cursor is.
        let cursor = store
            .cursor_of(position)
            .await?
            .ok_or(ProjectionError::UnknownPosition(position))?;
        for mut projection in projections {
            projection
                .wait_for(|state| state.checkpoint >= cursor)
                .await
                .map_err(|_| ProjectionError::Stale { position, timeout })?;
        }
        Ok(())
    };
    tokio::time::timeout(timeout, applied)
        .await
        .unwrap_or(Err(stale))
}
