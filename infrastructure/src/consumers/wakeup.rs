//! What wakes an idle worker: on Postgres a LISTEN on the events channel (every append) and on
//! the checkpoints channel (so a standby worker sees the active one's progress); on SQLite the
//! store's in-process watch, woken by every append. Polling is the fallback for anything a
//! notification can miss (a dropped listener connection, an event that became visible later).

use std::sync::Arc;
use std::time::Duration;

use crate::store::postgres::EVENTS_CHANNEL;
use crate::Store;
use sqlx::postgres::PgListener;
use sqlx::PgPool;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::checkpoint::CHECKPOINTS_CHANNEL;

/// The wake-up signal shared by a runtime's workers: a counter that moves on every notification.
pub(crate) struct WakeupSource {
    receiver: watch::Receiver<i64>,
    /// The Postgres listener task; it also ends by itself once every receiver is gone.
    listener: Option<JoinHandle<()>>,
}

impl WakeupSource {
    pub(crate) fn start(store: &Store) -> Self {
        match store {
            Store::Sqlite(log) => Self {
                receiver: log.subscribe(),
                listener: None,
            },
            Store::Postgres(log) => {
                let (sender, receiver) = watch::channel(0);
                let listener =
                    tokio::spawn(forward_notifications(log.pool().clone(), Arc::new(sender)));
                Self {
                    receiver,
                    listener: Some(listener),
                }
            }
        }
    }

    /// The counter itself: it moves on every notification.
    pub(crate) fn signal(&self) -> watch::Receiver<i64> {
        self.receiver.clone()
    }

    pub(crate) fn wakeups(&self, poll_interval: Duration) -> Wakeups {
        Wakeups {
            receiver: Some(self.receiver.clone()),
            poll_interval,
        }
    }

    pub(crate) fn stop(&mut self) {
        if let Some(listener) = self.listener.take() {
            listener.abort();
        }
    }
}

impl Drop for WakeupSource {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn forward_notifications(pool: PgPool, sender: Arc<watch::Sender<i64>>) {
    let wake = || sender.send_modify(|count| *count = count.wrapping_add(1));
    loop {
        let mut listener = match listen(&pool).await {
            Ok(listener) => listener,
            Err(sqlx::Error::PoolClosed) => return,
            Err(error) => {
                tracing::warn!(%error, "cannot LISTEN for new events; polling meanwhile");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        loop {
            tokio::select! {
                _ = sender.closed() => return,
                received = listener.try_recv() => match received {
                    Ok(Some(_)) => wake(),
                    // The connection dropped and notifications may be lost: look now.
                    Ok(None) => wake(),
                    // The store is shutting down.
                    Err(sqlx::Error::PoolClosed) => return,
                    Err(error) => {
                        tracing::warn!(%error, "LISTEN connection failed; reconnecting");
                        wake();
                        break;
                    }
                },
            }
        }
    }
}

async fn listen(pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener
        .listen_all([EVENTS_CHANNEL, CHECKPOINTS_CHANNEL])
        .await?;
    Ok(listener)
}

/// One worker's view of the wake-ups.
pub(crate) struct Wakeups {
    receiver: Option<watch::Receiver<i64>>,
    poll_interval: Duration,
}

impl Wakeups {
    /// Forgets the wake-ups so far; call before reading the log, so that an append that lands
    /// between the read and the wait still wakes the wait.
    pub(crate) fn mark_seen(&mut self) {
        if let Some(receiver) = &mut self.receiver {
            receiver.borrow_and_update();
        }
    }

    /// Returns at the next wake-up, or after the poll interval.
    pub(crate) async fn next(&mut self) {
        let Some(receiver) = &mut self.receiver else {
            return tokio::time::sleep(self.poll_interval).await;
        };
        let closed = tokio::select! {
            changed = receiver.changed() => changed.is_err(),
            _ = tokio::time::sleep(self.poll_interval) => false,
        };
        if closed {
            // The source is gone; polling alone from now on, rather than a busy loop.
            self.receiver = None;
        }
    }
}
