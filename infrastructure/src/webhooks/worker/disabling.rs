//! The auto-disable rule (SPEC 9.2): an endpoint whose every attempt failed for three days is
//! disabled, and the log records `WebhookEndpointDisabled` first.

use application::{CommandContext, DispatchError};
use chrono::SubsecRound;
use domain::webhook_endpoint::{EndpointDescription, WebhookEndpoint, WebhookEndpointCommand};
use domain::DomainError;

use super::Context;
use crate::webhooks::backoff;
use crate::webhooks::WebhookError;

impl Context {
    /// Disables the endpoint when every attempt failed for three days. The log is told first
    /// (`WebhookEndpointDisabled`, once per failing spell), then the endpoint is marked; after a
    /// crash in between, the next round fails again and does both again, the first a no-op.
    pub(super) async fn disable_if_failing(&self, id: &str) -> Result<(), WebhookError> {
        let now = self.clock.now();
        let Some(endpoint) = self.store.webhook_endpoint(id).await? else {
            return Ok(());
        };
        let Some(failing_since) = endpoint
            .failing_since
            .filter(|since| *since <= now - backoff::give_up_after())
        else {
            return Ok(());
        };
        let command = WebhookEndpointCommand::DisableFailingEndpoint {
            endpoint: EndpointDescription {
                url: endpoint.url,
                enabled_events: endpoint.enabled_events,
                description: endpoint.description,
                created_at: endpoint.created_at,
                starts_after_position: endpoint.starts_after,
                previous_secret_expires_at: endpoint.previous_secret_expires_at,
            },
            failing_since,
        };
        let cause = format!("webhooks:{id}:failing_since:{}", failing_since.timestamp());
        let context = CommandContext {
            actor: "system:webhooks".into(),
            correlation_id: cause.clone(),
            causation_id: cause,
            idempotency_key: None,
            key: None,
        };
        let record = |e: DispatchError<DomainError>| WebhookError::Record(e.to_string());
        self.bus
            .execute::<WebhookEndpoint>(id, command, &self.services, &context)
            .await
            .map_err(record)?;
        // The endpoint shows the instant the log recorded, also when this repeats it.
        let recorded = self.bus.load::<WebhookEndpoint>(id).await.map_err(record)?;
        // To the microsecond, as the endpoint's table keeps time (and the catalog renders it).
        let disabled_at = recorded
            .aggregate
            .disabled_at()
            .unwrap_or(now)
            .trunc_subsecs(6);
        if self
            .store
            .disable_webhook_endpoint_if_failing(id, disabled_at)
            .await?
        {
            tracing::warn!(
                endpoint = id,
                "webhook endpoint disabled: every delivery failed for 3 days"
            );
            metrics::counter!("ledgerline_webhook_endpoints_disabled_total").increment(1);
        }
        Ok(())
    }
}
