//! The read models running in this process: the consumer runtime of `infrastructure` with every
//! read model spawned on it, plus what only read models have, rebuilds in the background.

use std::collections::BTreeMap;
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex};

use infrastructure::consumers::{Consumers, ProjectionError, RuntimeOptions};
use infrastructure::Store;

use crate::rebuild::{ReadModelProjector, Rebuild, ReplayProgress};

/// The log consumers of this process, the read models among them rebuildable. Everything else
/// (spawning policies, states, read-your-writes waits) is the runtime's, through `Deref`.
pub struct Projections {
    store: Arc<Store>,
    consumers: Consumers,
    /// The read models among the workers: what can be rebuilt.
    read_models: Vec<ReadModelProjector>,
    /// Rebuilds running in this process, with how far each got.
    rebuilds: Arc<Mutex<BTreeMap<&'static str, ReplayProgress>>>,
}

impl Projections {
    /// A runtime with no projection yet. Must be called inside a Tokio runtime.
    pub fn new(store: Arc<Store>, options: RuntimeOptions) -> Self {
        Self {
            consumers: Consumers::new(Arc::clone(&store), options),
            store,
            read_models: Vec::new(),
            rebuilds: Arc::default(),
        }
    }

    /// Starts a worker for a read model, which can then be rebuilt.
    pub fn spawn_read_model(&mut self, model: ReadModelProjector) {
        self.consumers.spawn(model.fresh());
        self.read_models.push(model);
    }

    /// The read models running here, in the order they were spawned.
    pub fn read_models(&self) -> &[ReadModelProjector] {
        &self.read_models
    }

    /// How far the rebuild of `name` running in this process got, if one runs.
    pub fn rebuild_progress(&self, name: &str) -> Option<ReplayProgress> {
        lock(&self.rebuilds).get(name).copied()
    }

    /// Starts rebuilding the read model `name` in the background (see `rebuild`): the live
    /// worker and the queries carry on with the old tables until the swap.
    /// [`ProjectionError::UnknownProjection`] for no projection of that name,
    /// [`ProjectionError::NotRebuildable`] for a policy, [`ProjectionError::RebuildRunning`]
    /// when a rebuild of it runs here or in another process.
    pub async fn start_rebuild(&self, name: &str) -> Result<(), ProjectionError> {
        if self.consumers.state(name).is_none() {
            return Err(ProjectionError::UnknownProjection(name.to_owned()));
        }
        let model = self
            .read_models
            .iter()
            .find(|model| model.name() == name)
            .ok_or_else(|| ProjectionError::NotRebuildable(name.to_owned()))?
            .clone();
        let name = model.name();
        let starting = ReplayProgress {
            reached: 0,
            target: 0,
        };
        if lock(&self.rebuilds).insert(name, starting).is_some() {
            return Err(ProjectionError::RebuildRunning(name.to_owned()));
        }
        let rebuild = match Rebuild::claim(Arc::clone(&self.store), model).await {
            Ok(rebuild) => rebuild,
            Err(error) => {
                lock(&self.rebuilds).remove(name);
                return Err(error);
            }
        };
        let rebuilds = Arc::clone(&self.rebuilds);
        let failed = self.consumers.error_reporter(name);
        tokio::spawn(async move {
            let report = |progress| {
                lock(&rebuilds).insert(name, progress);
            };
            match rebuild.run(&report).await {
                Ok(at) => {
                    tracing::info!(
                        projection = name,
                        position = at.position,
                        "read model rebuilt"
                    )
                }
                Err(error) => {
                    tracing::error!(projection = name, %error, "rebuild failed");
                    if let Some(failed) = &failed {
                        failed(format!("rebuild failed: {error}"));
                    }
                }
            }
            lock(&rebuilds).remove(name);
        });
        Ok(())
    }

    /// Stops every worker after its current batch, releases the leases and waits for them.
    pub async fn stop(self) {
        self.consumers.stop().await
    }

    /// Stops every worker at once, mid-batch if need be, as a crash would.
    pub async fn abort(self) {
        self.consumers.abort().await
    }
}

impl Deref for Projections {
    type Target = Consumers;

    fn deref(&self) -> &Consumers {
        &self.consumers
    }
}

impl DerefMut for Projections {
    fn deref_mut(&mut self) -> &mut Consumers {
        &mut self.consumers
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
