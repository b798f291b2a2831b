//! The runtime that follows the global log: one worker task per consumer (a read model's
//! projector or a policy), from its checkpoint with exactly-once effect, one active worker per
//! consumer across processes, observable state, read-your-writes waits and graceful stop.
//! Rebuilding a read model is the `projections` crate's business, on top of this.

pub mod checkpoint;
mod error;
mod freshness;
pub mod lease;
mod projector;
mod runner;
mod state;
mod tail;
mod wakeup;

use std::sync::Arc;
use std::time::Duration;

use crate::Store;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use checkpoint::{
    load as recorded_checkpoint, recorded_status, RecordedStatus, CHECKPOINTS_CHANNEL,
};
pub use error::ProjectionError;
pub use lease::lock_key;
pub use projector::{listened, Projector};
pub use runner::RuntimeOptions;
pub use state::{ProjectionState, ProjectionStatus};

use runner::Runner;
use state::StatePublisher;
use tail::SharedTail;
use wakeup::WakeupSource;

/// The running log consumers of this process.
pub struct Consumers {
    store: Arc<Store>,
    options: RuntimeOptions,
    wakeups: WakeupSource,
    /// The newest events, read once for every worker here.
    tail: Arc<SharedTail>,
    workers: Vec<Worker>,
}

struct Worker {
    name: &'static str,
    state: StatePublisher,
    /// Dropping it stops the worker too (after its current batch).
    shutdown: watch::Sender<bool>,
    /// `None` once the worker was stopped and awaited.
    task: Option<JoinHandle<()>>,
}

impl Worker {
    async fn stop(&mut self) {
        self.shutdown.send_replace(true);
        if let Some(task) = self.task.take() {
            if let Err(error) = task.await {
                tracing::error!(projection = self.name, %error, "projection worker panicked");
            }
        }
    }
}

impl Consumers {
    /// A runtime with no projection yet. Must be called inside a Tokio runtime.
    pub fn new(store: Arc<Store>, options: RuntimeOptions) -> Self {
        let wakeups = WakeupSource::start(&store);
        Self {
            tail: Arc::new(SharedTail::new(Arc::clone(&store), wakeups.signal())),
            wakeups,
            store,
            options,
            workers: Vec::new(),
        }
    }

    /// Starts a worker for `projector`. Panics if a projection of the same name already runs
    /// here: two would share one checkpoint (a wiring defect, not a runtime condition).
    pub fn spawn<P: Projector>(&mut self, projector: P) {
        let name = projector.name();
        assert!(
            self.worker(name).is_none(),
            "projection `{name}` is already running in this runtime"
        );
        let state = StatePublisher::new(name);
        let shutdown = watch::channel(false).0;
        let runner = Runner {
            store: Arc::clone(&self.store),
            projector,
            options: self.options,
            state: state.clone(),
            shutdown: shutdown.subscribe(),
            wakeups: self.wakeups.wakeups(self.options.poll_interval),
            tail: Arc::clone(&self.tail),
        };
        let task = Some(tokio::spawn(runner.run()));
        self.workers.push(Worker {
            name,
            state,
            shutdown,
            task,
        });
    }

    pub fn names(&self) -> Vec<&'static str> {
        self.workers.iter().map(|worker| worker.name).collect()
    }

    /// Every projection's state, in the order they were spawned.
    pub fn states(&self) -> Vec<ProjectionState> {
        self.workers
            .iter()
            .map(|worker| worker.state.current())
            .collect()
    }

    pub fn state(&self, name: &str) -> Option<ProjectionState> {
        self.worker(name).map(|worker| worker.state.current())
    }

    /// Something that shows an error as the last error of the projection `name`, from any
    /// task (a failed rebuild of it); `None` for no projection of that name.
    pub fn error_reporter(&self, name: &str) -> Option<impl Fn(String) + Send + 'static> {
        let state = self.worker(name)?.state.clone();
        Some(move |error| state.set_last_error(error))
    }

    /// Changes to one projection's state, as they happen.
    pub fn watch(&self, name: &str) -> Option<watch::Receiver<ProjectionState>> {
        self.worker(name).map(|worker| worker.state.subscribe())
    }

    /// Waits until every projection has applied the event at `position` (read-your-writes), or
    /// fails with [`ProjectionError::Stale`] after `timeout` (the API answers 503 `stale_read`).
    pub async fn wait_for(&self, position: i64, timeout: Duration) -> Result<(), ProjectionError> {
        let receivers = self.workers.iter().map(|w| w.state.subscribe()).collect();
        freshness::wait_until_applied(&self.store, receivers, position, timeout).await
    }

    /// [`Self::wait_for`], for the named projections only: a query waits for the read models it
    /// reads, not for the others.
    pub async fn wait_for_projections(
        &self,
        names: &[&str],
        position: i64,
        timeout: Duration,
    ) -> Result<(), ProjectionError> {
        let receivers = names
            .iter()
            .map(|name| {
                self.watch(name)
                    .ok_or_else(|| ProjectionError::UnknownProjection((*name).to_owned()))
            })
            .collect::<Result<_, _>>()?;
        freshness::wait_until_applied(&self.store, receivers, position, timeout).await
    }

    /// Stops one projection after its current batch and waits for it; its state stays
    /// readable (`stopped`), and waits for it time out as `Stale`.
    pub async fn stop_projection(&mut self, name: &str) -> Result<(), ProjectionError> {
        let worker = self
            .workers
            .iter_mut()
            .find(|worker| worker.name == name)
            .ok_or_else(|| ProjectionError::UnknownProjection(name.to_owned()))?;
        worker.stop().await;
        Ok(())
    }

    /// Stops every worker after its current batch, releases the leases and waits for them.
    pub async fn stop(mut self) {
        for worker in &self.workers {
            worker.shutdown.send_replace(true);
        }
        for worker in &mut self.workers {
            worker.stop().await;
        }
        self.wakeups.stop();
    }

    /// Stops every worker at once, mid-batch if need be, as a crash would: an uncommitted batch
    /// rolls back, and leases go with their connections.
    pub async fn abort(mut self) {
        let tasks: Vec<JoinHandle<()>> = self
            .workers
            .iter_mut()
            .filter_map(|worker| worker.task.take())
            .collect();
        // All at once: a worker left running while another dies would pick up its connection.
        for task in &tasks {
            task.abort();
        }
        for task in tasks {
            let _ = task.await;
        }
        self.wakeups.stop();
    }

    fn worker(&self, name: &str) -> Option<&Worker> {
        self.workers.iter().find(|worker| worker.name == name)
    }
}
