//! One round of an endpoint's delivery: queue what is new, take the due deliveries of up to
//! `parallel_accounts` accounts, send each account's in order (the accounts in parallel), and
//! record every outcome.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::task::JoinSet;

use crate::Secret;

use super::{Context, Round};
use crate::webhooks::deliveries::{AttemptOutcome, AttemptReport, DueDelivery};
use crate::webhooks::endpoints::Endpoint;
use crate::webhooks::sender::SignedDelivery;
use crate::webhooks::signing;
use crate::webhooks::url_guard::UrlRefused;
use crate::webhooks::WebhookError;

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

impl Context {
    pub(super) async fn round(self: &Arc<Self>, id: &str) -> Result<Round, WebhookError> {
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
        let mut failed = false;
        while let Some(joined) = accounts.join_next().await {
            match joined {
                Ok(delivered) => failed |= delivered? != AttemptOutcome::Succeeded,
                Err(error) => tracing::error!(endpoint = id, %error, "webhook sender panicked"),
            }
        }
        if failed {
            self.disable_if_failing(id).await?;
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

    pub(super) async fn publish_pending(&self, id: &str) -> Result<(), WebhookError> {
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
