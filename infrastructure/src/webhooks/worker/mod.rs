//! The delivery worker of a process. A supervisor starts one task per enabled endpoint; each
//! task holds the endpoint's lease (the consumer runtime's: a Postgres advisory lock on a
//! connection of its own, an in-process claim on SQLite, where one process owns the file), so
//! each endpoint is delivered by one replica at a time. The holder repeats a round: queue the
//! new catalog rows (fan-out), take the due deliveries of up to `parallel_accounts` accounts,
//! send each account's in order (the accounts in parallel) and record each outcome
//! (`round.rs`); after failures, the auto-disable rule (`disabling.rs`). All time comes from the
//! injected clock.

mod disabling;
mod round;

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use application::CommandBus;
use domain::{BillingServices, Clock};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::consumers::lease::Lease;
use crate::store::Store;

use super::sealing::SecretSealer;
use super::sender::Sender;
use super::url_guard::UrlPolicy;

/// How the worker paces itself.
#[derive(Debug, Clone, Copy)]
pub struct WebhookOptions {
    /// How often an idle endpoint looks for new events and due retries, and a standby one for
    /// its lease.
    pub poll_interval: Duration,
    /// Deliveries of one endpoint in flight at once (each to another account).
    pub parallel_accounts: i64,
    pub url_policy: UrlPolicy,
}

impl Default for WebhookOptions {
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_millis(250),
            parallel_accounts: 32,
            url_policy: UrlPolicy::default(),
        }
    }
}

/// The longest wait between rounds that keep failing.
const MAX_ERROR_WAIT: Duration = Duration::from_secs(30);

/// How often an idle endpoint's pending gauges are refreshed.
const METRICS_EVERY: Duration = Duration::from_secs(5);

struct Context {
    store: Arc<Store>,
    /// Records an endpoint's disabling in the log.
    bus: Arc<CommandBus<Store>>,
    services: BillingServices,
    clock: Arc<dyn Clock>,
    sealer: SecretSealer,
    sender: Sender,
    options: WebhookOptions,
}

/// The running delivery worker.
pub struct WebhookWorker {
    shutdown: watch::Sender<bool>,
    task: JoinHandle<()>,
}

/// What a round found.
enum Round {
    /// It sent or queued something: go again at once.
    Busy,
    Idle,
    /// The endpoint was deleted or disabled.
    Gone,
}

impl WebhookWorker {
    pub fn spawn(
        store: Arc<Store>,
        bus: Arc<CommandBus<Store>>,
        services: BillingServices,
        sealer: SecretSealer,
        options: WebhookOptions,
    ) -> Result<Self, reqwest::Error> {
        let context = Arc::new(Context {
            store,
            bus,
            clock: services.clock.clone(),
            services,
            sealer,
            sender: Sender::new()?,
            options,
        });
        let shutdown = watch::channel(false).0;
        let task = tokio::spawn(supervise(context, shutdown.subscribe()));
        Ok(Self { shutdown, task })
    }

    /// Stops every endpoint task after its current round and releases the leases.
    pub async fn stop(self) {
        self.shutdown.send_replace(true);
        if let Err(error) = self.task.await {
            tracing::error!(%error, "webhook worker panicked");
        }
    }
}

async fn supervise(context: Arc<Context>, mut shutdown: watch::Receiver<bool>) {
    let mut running: HashMap<String, JoinHandle<()>> = HashMap::new();
    let mut failures = 0u32;
    while !*shutdown.borrow() {
        running.retain(|_, task| !task.is_finished());
        let listed = context.store.list_webhook_endpoints().await;
        failures = if listed.is_err() { failures + 1 } else { 0 };
        match listed {
            Ok(endpoints) => {
                for endpoint in endpoints.into_iter().filter(|e| !e.is_disabled()) {
                    if let Entry::Vacant(slot) = running.entry(endpoint.id) {
                        let id = slot.key().clone();
                        let context = Arc::clone(&context);
                        slot.insert(tokio::spawn(deliver_endpoint(
                            context,
                            id,
                            shutdown.clone(),
                        )));
                    }
                }
            }
            Err(error) => tracing::warn!(%error, "cannot list webhook endpoints; retrying"),
        }
        let wait = context.options.poll_interval * 2u32.pow(failures.min(7));
        tokio::select! {
            _ = shutdown.changed() => {}
            _ = tokio::time::sleep(wait.min(MAX_ERROR_WAIT)) => {}
        }
    }
    for (_, task) in running {
        let _ = task.await;
    }
}

async fn deliver_endpoint(context: Arc<Context>, id: String, mut shutdown: watch::Receiver<bool>) {
    let mut lease = Lease::for_projection(&context.store, &format!("webhooks:{id}"));
    // While deliveries wait for their retries the rounds are idle; the pending gauges (the
    // oldest one's age above all) are refreshed every so often all the same.
    let mut published = Instant::now();
    // Rounds failed in a row: a database that is down, a secret that cannot be opened. Each
    // doubles the wait (to 30 s), so a lasting fault is not retried and logged 4 times a second.
    let mut failures = 0u32;
    while !*shutdown.borrow() {
        let (held, round) = match lease.try_acquire().await {
            Ok(true) => (true, context.round(&id).await),
            Ok(false) => (false, Ok(Round::Idle)),
            Err(error) => (false, Err(error.into())),
        };
        failures = if round.is_err() { failures + 1 } else { 0 };
        match round {
            Ok(Round::Busy) => {
                published = Instant::now();
                continue;
            }
            Ok(Round::Idle) if held && published.elapsed() >= METRICS_EVERY => {
                published = Instant::now();
                if let Err(error) = context.publish_pending(&id).await {
                    tracing::warn!(endpoint = id, %error, "cannot read pending webhooks");
                }
            }
            Ok(Round::Idle) => {}
            Ok(Round::Gone) => break,
            Err(error) => {
                tracing::warn!(endpoint = id, %error, failures, "webhook round failed; retrying")
            }
        }
        let wait = context.options.poll_interval * 2u32.pow(failures.min(7));
        tokio::select! {
            _ = shutdown.changed() => {}
            _ = tokio::time::sleep(wait.min(MAX_ERROR_WAIT)) => {}
        }
    }
    lease.release().await;
}
