//! The delivery worker of a process. A supervisor starts one task per enabled endpoint; each
//! task holds the endpoint's lease (the consumer runtime's: a Postgres advisory lock on a
//! connection of its own, an in-process claim on SQLite, where one process owns the file), so
//! each endpoint is delivered by one replica at a time. The holder repeats a round: queue the
//! new catalog rows (fan-out), take the due deliveries of up to `parallel_accounts` accounts,
//! send each account's in order (the accounts in parallel) and record each outcome. All time comes from the injected clock.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use domain::Clock;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use crate::consumers::lease::Lease;
use crate::store::Store;
use crate::Secret;

use super::deliveries::{AttemptOutcome, AttemptReport, DueDelivery};
use super::endpoints::Endpoint;
use super::sealing::SecretSealer;
use super::sender::{Sender, SignedDelivery};
use super::signing;
use super::url_guard::{UrlPolicy, UrlRefused};
use super::WebhookError;

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

/// The most deliveries of one account sent in one round, one after another.
const PER_ACCOUNT: i64 = 50;

/// Where a round's deliveries go, read once per round.
struct Destination {
    endpoint: Endpoint,
    /// The signing secrets: the current one, and the previous one during a rotation.
    secrets: Vec<Secret>,
    /// Why the URL may not be called (a private address, without `--webhook-allow-private`).
    refused: Option<UrlRefused>,
}

/// The longest wait between rounds that keep failing.
const MAX_ERROR_WAIT: Duration = Duration::from_secs(30);

/// How often an idle endpoint's pending gauges are refreshed.
const METRICS_EVERY: Duration = Duration::from_secs(5);

struct Context {
    store: Arc<Store>,
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
        clock: Arc<dyn Clock>,
        sealer: SecretSealer,
        options: WebhookOptions,
    ) -> Result<Self, reqwest::Error> {
        let context = Arc::new(Context {
            store,
            clock,
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

impl Context {
    async fn round(self: &Arc<Self>, id: &str) -> Result<Round, WebhookError> {
        let Some(endpoint) = self.store.webhook_endpoint(id).await? else {
            return Ok(Round::Gone);
        };
        if endpoint.is_disabled() {
            return Ok(Round::Gone);
        }
        let now = self.clock.now();
        let queued = self.store.fan_out_webhooks(&endpoint, now).await?;
        let due = self
            .store
            .due_webhook_deliveries(id, now, self.options.parallel_accounts, PER_ACCOUNT)
            .await?;
        if due.is_empty() {
            if queued > 0 {
                self.publish_pending(id).await?;
                return Ok(Round::Busy);
            }
            return Ok(Round::Idle);
        }
        let destination = Arc::new(Destination {
            secrets: self
                .store
                .webhook_signing_secrets(id, &self.sealer, now)
                .await?,
            refused: self.options.url_policy.check(&endpoint.url).await.err(),
            endpoint,
        });
        let mut accounts = JoinSet::new();
        for queue in by_account(due) {
            let context = Arc::clone(self);
            let destination = Arc::clone(&destination);
            accounts.spawn(async move { context.deliver_in_order(&destination, queue).await });
        }
        let mut gave_up = false;
        while let Some(joined) = accounts.join_next().await {
            match joined {
                Ok(delivered) => gave_up |= delivered? == AttemptOutcome::GaveUp,
                Err(error) => tracing::error!(endpoint = id, %error, "webhook sender panicked"),
            }
        }
        if gave_up
            && self
                .store
                .disable_webhook_endpoint_if_failing(id, self.clock.now())
                .await?
        {
            tracing::warn!(
                endpoint = id,
                "webhook endpoint disabled: every delivery failed for 3 days"
            );
            metrics::counter!("ledgerline_webhook_endpoints_disabled_total").increment(1);
        }
        self.publish_pending(id).await?;
        Ok(Round::Busy)
    }

    /// Sends one account's deliveries one after another, recording each; stops at the first
    /// that does not succeed (its retry, or its give-up, decides what comes next). Answers the
    /// last outcome.
    async fn deliver_in_order(
        &self,
        destination: &Destination,
        queue: Vec<DueDelivery>,
    ) -> Result<AttemptOutcome, WebhookError> {
        let id = &destination.endpoint.id;
        let mut outcome = AttemptOutcome::Succeeded;
        for delivery in queue {
            let report = match &destination.refused {
                Some(reason) => AttemptReport {
                    error: Some(format!("destination refused: {reason}")),
                    ..AttemptReport::default()
                },
                None => {
                    let signed = self.sign(destination, &delivery)?;
                    self.sender.send(signed).await
                }
            };
            outcome = self
                .store
                .record_webhook_attempt(id, &delivery, &report, self.clock.now())
                .await?;
            count(id, &delivery, &report, outcome);
            if outcome != AttemptOutcome::Succeeded {
                break;
            }
        }
        Ok(outcome)
    }

    /// The signed request for one delivery, signed at the clock's now.
    fn sign(
        &self,
        destination: &Destination,
        delivery: &DueDelivery,
    ) -> Result<SignedDelivery, WebhookError> {
        let endpoint = &destination.endpoint;
        let timestamp = self.clock.now().timestamp();
        let secrets: Vec<&Secret> = destination.secrets.iter().collect();
        let body = delivery.body.as_bytes();
        let signature = signing::signature_header(&secrets, &delivery.event_id, timestamp, body)
            .map_err(|e| WebhookError::Corrupt(format!("{}: {e}", endpoint.id)))?;
        Ok(SignedDelivery {
            url: endpoint.url.clone(),
            webhook_id: delivery.event_id.clone(),
            timestamp,
            signature,
            body: delivery.body.clone(),
        })
    }

    async fn publish_pending(&self, id: &str) -> Result<(), WebhookError> {
        let (pending, oldest) = self.store.pending_webhooks(id).await?;
        let age = oldest.map_or(0.0, |at| {
            (self.clock.now() - at).num_milliseconds().max(0) as f64 / 1000.0
        });
        metrics::gauge!("ledgerline_webhook_pending", "endpoint" => id.to_owned())
            .set(pending as f64);
        metrics::gauge!("ledgerline_webhook_oldest_pending_seconds", "endpoint" => id.to_owned())
            .set(age);
        Ok(())
    }
}

/// `due` (in position order) split into one list per account, in the order of their first
/// delivery.
fn by_account(due: Vec<DueDelivery>) -> Vec<Vec<DueDelivery>> {
    let mut queues: Vec<Vec<DueDelivery>> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for delivery in due {
        let slot = *index.entry(delivery.account_id.clone()).or_insert_with(|| {
            queues.push(Vec::new());
            queues.len() - 1
        });
        queues[slot].push(delivery);
    }
    queues
}

/// Counts an attempt by endpoint and outcome.
fn count(endpoint: &str, delivery: &DueDelivery, report: &AttemptReport, outcome: AttemptOutcome) {
    let outcome = match outcome {
        AttemptOutcome::Succeeded => "succeeded",
        AttemptOutcome::RetryAt(_) => "retried",
        AttemptOutcome::GaveUp => "failed",
        AttemptOutcome::Superseded => "superseded",
    };
    tracing::debug!(
        endpoint,
        webhook_id = delivery.event_id,
        position = delivery.position,
        status = report.status_code,
        error = report.error.as_deref(),
        outcome,
        "webhook attempt"
    );
    metrics::counter!(
        "ledgerline_webhook_deliveries_total",
        "endpoint" => endpoint.to_owned(),
        "outcome" => outcome
    )
    .increment(1);
}
