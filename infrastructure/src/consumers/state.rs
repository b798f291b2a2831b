//! What a projection reports about itself in this process: where it stands in the log and
//! whether it is running, waiting for the lease, failed or stopped. Published on a watch channel
//! so that readers (`wait_for`, the admin endpoint) see every change without polling.

use application::event_log::LogCursor;
use serde::Serialize;
use tokio::sync::watch;

/// The status of one projection's worker in this process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ProjectionStatus {
    /// Waiting for the lease: another process (or another runner here) is active, or the
    /// database was unreachable. The checkpoint shown is read from the database.
    Standby,
    /// This process holds the lease and applies events.
    Running,
    /// An event could not be applied; the projection stopped at `position` and skips nothing.
    /// It retries when restarted.
    Failed {
        error: String,
        #[serde(rename = "failed_position")]
        position: i64,
    },
    Stopped,
}

/// A projection as seen from this process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProjectionState {
    pub name: &'static str,
    /// The last event applied (the default cursor: none yet).
    pub checkpoint: LogCursor,
    #[serde(flatten)]
    pub status: ProjectionStatus,
    /// The last transient failure (database unreachable…), cleared once a batch commits.
    pub last_error: Option<String>,
}

impl ProjectionState {
    /// The global position of the last event applied; 0 before the first.
    pub fn position(&self) -> i64 {
        self.checkpoint.position
    }
}

/// The writing side of one projection's state.
#[derive(Debug, Clone)]
pub(crate) struct StatePublisher {
    sender: std::sync::Arc<watch::Sender<ProjectionState>>,
}

impl StatePublisher {
    pub(crate) fn new(name: &'static str) -> Self {
        let initial = ProjectionState {
            name,
            checkpoint: LogCursor::default(),
            status: ProjectionStatus::Standby,
            last_error: None,
        };
        Self {
            sender: std::sync::Arc::new(watch::channel(initial).0),
        }
    }

    pub(crate) fn subscribe(&self) -> watch::Receiver<ProjectionState> {
        self.sender.subscribe()
    }

    pub(crate) fn current(&self) -> ProjectionState {
        self.sender.borrow().clone()
    }

    /// Moves the checkpoint forward; a cursor behind the current one is ignored, so a late read
    /// by a standby worker never makes the projection look older than it is.
    pub(crate) fn advance(&self, checkpoint: LogCursor) {
        self.sender.send_if_modified(|state| {
            let moved = checkpoint > state.checkpoint;
            if moved {
                state.checkpoint = checkpoint;
                state.last_error = None;
            }
            moved
        });
    }

    pub(crate) fn set_status(&self, status: ProjectionStatus) {
        self.sender.send_if_modified(|state| {
            let changed = state.status != status;
            state.status = status;
            changed
        });
    }

    pub(crate) fn set_last_error(&self, error: String) {
        self.sender
            .send_modify(|state| state.last_error = Some(error));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_state_names_the_position_it_stopped_at_apart_from_the_checkpoint() {
        let state = ProjectionState {
            name: "account_summary",
            checkpoint: LogCursor { tx: 0, position: 7 },
            status: ProjectionStatus::Failed {
                error: "bad event".into(),
                position: 8,
            },
            last_error: None,
        };
        assert_eq!(
            serde_json::to_value(&state).unwrap(),
            serde_json::json!({
                "name": "account_summary",
                "checkpoint": {"tx": 0, "position": 7},
                "status": "failed",
                "error": "bad event",
                "failed_position": 8,
                "last_error": null,
            })
        );
    }
}
