//! A webhook endpoint's disabling, as the log records it (SPEC 9.2): an endpoint whose every
//! delivery failed for three days is disabled, and `webhook_endpoint.disabled` tells the product.
//! The endpoint itself (its URL, secrets and delivery state) is configuration kept by the
//! delivery worker's tables; the stream only records what the public is told about it. The
//! stream id is the endpoint's id (`we_…`).

use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};

use crate::{BillingServices, DomainError};

/// The endpoint as it was when it was disabled: what its public resource shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointDescription {
    pub url: String,
    pub enabled_events: Vec<String>,
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
    /// It received the catalog events after this position.
    pub starts_after_position: i64,
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum WebhookEndpointCommand {
    /// Every delivery failed since `failing_since`, three days or more ago: disable it. Once per
    /// failing spell: a repeat with the same `failing_since` (a worker resumed after a crash)
    /// records nothing.
    DisableFailingEndpoint {
        endpoint: EndpointDescription,
        failing_since: DateTime<Utc>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum WebhookEndpointEvent {
    WebhookEndpointDisabled {
        endpoint: EndpointDescription,
        failing_since: DateTime<Utc>,
        at: DateTime<Utc>,
    },
}

impl DomainEvent for WebhookEndpointEvent {
    fn event_type(&self) -> String {
        match self {
            WebhookEndpointEvent::WebhookEndpointDisabled { .. } => "WebhookEndpointDisabled",
        }
        .to_owned()
    }

    fn event_version(&self) -> String {
        crate::EVENT_VERSION_1.to_owned()
    }
}

/// The aggregate: the endpoint's last recorded disabling. `Default` is none.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookEndpoint {
    endpoint: Option<EndpointDescription>,
    failing_since: Option<DateTime<Utc>>,
    disabled_at: Option<DateTime<Utc>>,
}

impl WebhookEndpoint {
    /// The endpoint as its last disabling described it.
    pub fn endpoint(&self) -> Option<&EndpointDescription> {
        self.endpoint.as_ref()
    }

    /// When it was last disabled for failing.
    pub fn disabled_at(&self) -> Option<DateTime<Utc>> {
        self.disabled_at
    }

    fn decide(
        &self,
        command: WebhookEndpointCommand,
        now: DateTime<Utc>,
    ) -> Result<Vec<WebhookEndpointEvent>, DomainError> {
        match command {
            WebhookEndpointCommand::DisableFailingEndpoint { failing_since, .. }
                if self.failing_since == Some(failing_since) =>
            {
                Ok(vec![])
            }
            WebhookEndpointCommand::DisableFailingEndpoint {
                endpoint,
                failing_since,
            } => Ok(vec![WebhookEndpointEvent::WebhookEndpointDisabled {
                endpoint,
                failing_since,
                at: now,
            }]),
        }
    }
}

impl Aggregate for WebhookEndpoint {
    const TYPE: &'static str = "webhook_endpoint";
    type Command = WebhookEndpointCommand;
    type Event = WebhookEndpointEvent;
    type Error = DomainError;
    type Services = BillingServices;

    async fn handle(
        &mut self,
        command: WebhookEndpointCommand,
        services: &BillingServices,
        sink: &EventSink<Self>,
    ) -> Result<(), DomainError> {
        let decided = self.decide(command, services.clock.now());
        crate::decided::write(self, sink, decided).await
    }

    fn apply(&mut self, event: WebhookEndpointEvent) {
        match event {
            WebhookEndpointEvent::WebhookEndpointDisabled {
                endpoint,
                failing_since,
                at,
            } => {
                self.endpoint = Some(endpoint);
                self.failing_since = Some(failing_since);
                self.disabled_at = Some(at);
            }
        }
    }
}

#[cfg(test)]
mod tests;
