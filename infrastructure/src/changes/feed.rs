//! One process's view of the change notices: a LISTEN connection on Postgres, the store's
//! in-process channel on SQLite. Subscribers learn whether the feed can be trusted right now
//! ("listening"); while it cannot, notices may be lost and caches must not serve.

use std::time::Duration;

use sqlx::postgres::PgListener;
use sqlx::PgPool;
use tokio::sync::{broadcast, watch};

use super::{Change, CHANGES_CHANNEL};
use crate::Store;

/// How many notices a slow subscriber may fall behind before it must start over.
const BACKLOG: usize = 4_096;

/// What a subscriber is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    Changed(Change),
    /// Start over: forget everything cached. `listening` says whether notices can be trusted
    /// from now on (false while the listener connection is down).
    Reset {
        listening: bool,
    },
}

/// The change notices of one process.
pub struct ChangeFeed {
    changes: broadcast::Sender<Change>,
    /// Counts the times listening (re)started; `None` while not listening.
    listening: watch::Receiver<Option<u64>>,
}

impl ChangeFeed {
    /// Starts following the notices of `store`. Must be called inside a Tokio runtime.
    pub fn start(store: &Store) -> Self {
        match store {
            Store::Sqlite(log) => Self {
                changes: log.change_sender(),
                // One process owns the file: every change passes through its channel.
                listening: log.change_listening(),
            },
            Store::Postgres(log) => {
                let changes = broadcast::channel(BACKLOG).0;
                let (state, listening) = watch::channel(None);
                // It ends once the feed and every subscription are gone (or the pool closes).
                tokio::spawn(listen(log.pool().clone(), changes.clone(), state));
                Self { changes, listening }
            }
        }
    }

    /// Whether notices can be trusted now, so caches serve (false while the Postgres listener
    /// connection is down or not yet up).
    pub fn listening(&self) -> bool {
        self.listening.borrow().is_some()
    }

    /// A subscription whose first notice is a `Reset` with the current state.
    pub fn subscribe(&self) -> ChangeSubscription {
        let mut listening = self.listening.clone();
        listening.mark_changed();
        ChangeSubscription {
            changes: self.changes.subscribe(),
            listening,
        }
    }
}

pub struct ChangeSubscription {
    changes: broadcast::Receiver<Change>,
    listening: watch::Receiver<Option<u64>>,
}

impl ChangeSubscription {
    /// The next notice; `None` once the feed is gone.
    pub async fn next(&mut self) -> Option<Notice> {
        let reset = |listening: &mut watch::Receiver<Option<u64>>| Notice::Reset {
            listening: listening.borrow_and_update().is_some(),
        };
        tokio::select! {
            biased;
            changed = self.listening.changed() => match changed {
                Ok(()) => Some(reset(&mut self.listening)),
                Err(_) => None,
            },
            received = self.changes.recv() => match received {
                Ok(change) => Some(Notice::Changed(change)),
                Err(broadcast::error::RecvError::Lagged(_)) => Some(reset(&mut self.listening)),
                Err(broadcast::error::RecvError::Closed) => None,
            },
        }
    }
}

/// Keeps a LISTEN connection open, forwarding every notice; reports when it is (re)established
/// and when it drops, since notices sent meanwhile are lost.
async fn listen(
    pool: PgPool,
    changes: broadcast::Sender<Change>,
    state: watch::Sender<Option<u64>>,
) {
    let mut generation = 0;
    loop {
        let connected = tokio::select! {
            _ = state.closed() => return,
            connected = connect(&pool) => connected,
        };
        let mut listener = match connected {
            Ok(listener) => listener,
            Err(sqlx::Error::PoolClosed) => return,
            Err(error) => {
                tracing::warn!(%error, "cannot LISTEN for change notices; caches bypassed");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        generation += 1;
        state.send_replace(Some(generation));
        loop {
            let received = tokio::select! {
                _ = state.closed() => return,
                received = listener.try_recv() => received,
            };
            match received {
                Ok(Some(notification)) => {
                    if let Some(change) = Change::parse(notification.payload()) {
                        // No subscriber is not an error.
                        let _ = changes.send(change);
                    }
                }
                Err(sqlx::Error::PoolClosed) => {
                    state.send_replace(None);
                    return;
                }
                // `Ok(None)` is a dropped connection: what was sent meanwhile is lost. A fresh
                // listener is connected before anyone is told to trust the feed again.
                lost => {
                    if let Err(error) = lost {
                        tracing::warn!(%error, "change notices lost; caches bypassed until reconnected");
                    }
                    state.send_replace(None);
                    break;
                }
            }
        }
    }
}

async fn connect(pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CHANGES_CHANNEL).await?;
    Ok(listener)
}
