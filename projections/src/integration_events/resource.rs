//! A resource the catalog reports on, as the projector remembers it between events: the
//! aggregate's state, folded event by event exactly as the aggregate folds its own stream, and
//! rendered by the same functions the REST API answers with.

use application::event_log::StoredEvent;
use cqrs_es::Aggregate;
use domain::dunning::DunningCase;
use domain::entitlements::{Entitlements, EntitlementsEvent};
use domain::invoice::Invoice;
use domain::subscription::Subscription;
use domain::webhook_endpoint::WebhookEndpoint;
use domain::PlanCatalog;
use serde_json::Value;

use super::catalog::EventType;
use crate::event::{payload, DUNNING_CASE, ENTITLEMENTS, INVOICE, SUBSCRIPTION, WEBHOOK_ENDPOINT};
use crate::feature_access::FeatureAccessView;
use crate::invoices::InvoiceView;
use crate::resources::{DunningCaseView, EndpointView, FeatureList, SubscriptionView};
use infrastructure::consumers::ProjectionError;

pub(super) enum Resource {
    Subscription(Subscription),
    Invoice(Invoice),
    Entitlements(Entitlements),
    DunningCase(DunningCase),
    WebhookEndpoint(WebhookEndpoint),
}

/// What one domain event tells the public.
pub(super) struct Told {
    pub kind: EventType,
    /// `None` for an event about no account (`webhook_endpoint.disabled`).
    pub account_id: Option<String>,
    /// The resource as the REST API renders it after the event.
    pub object: Value,
    /// True when `object` is the whole resource (so it is remembered and diffed); false for an
    /// object about a part of it (`usage.limit_reached` carries one feature's access).
    pub whole: bool,
}

impl Resource {
    /// A resource of `aggregate_type` before its first event.
    pub fn new(aggregate_type: &str) -> Option<Self> {
        Some(match aggregate_type {
            SUBSCRIPTION => Resource::Subscription(Subscription::default()),
            INVOICE => Resource::Invoice(Invoice::default()),
            ENTITLEMENTS => Resource::Entitlements(Entitlements::default()),
            DUNNING_CASE => Resource::DunningCase(DunningCase::default()),
            WEBHOOK_ENDPOINT => Resource::WebhookEndpoint(WebhookEndpoint::default()),
            _ => return None,
        })
    }

    /// A resource as [`Resource::state`] stored it.
    pub fn restore(aggregate_type: &str, state: &str) -> Result<Self, ProjectionError> {
        let corrupt = |e: serde_json::Error| {
            ProjectionError::Corrupt(format!(
                "integration event state of a {aggregate_type}: {e}"
            ))
        };
        Ok(match aggregate_type {
            SUBSCRIPTION => Resource::Subscription(serde_json::from_str(state).map_err(corrupt)?),
            INVOICE => Resource::Invoice(serde_json::from_str(state).map_err(corrupt)?),
            ENTITLEMENTS => Resource::Entitlements(serde_json::from_str(state).map_err(corrupt)?),
            DUNNING_CASE => Resource::DunningCase(serde_json::from_str(state).map_err(corrupt)?),
            WEBHOOK_ENDPOINT => {
                Resource::WebhookEndpoint(serde_json::from_str(state).map_err(corrupt)?)
            }
            other => {
                return Err(ProjectionError::Corrupt(format!(
                    "integration event state of an unknown aggregate type `{other}`"
                )))
            }
        })
    }

    /// The aggregate's state, to store.
    pub fn state(&self) -> Result<String, ProjectionError> {
        let state = match self {
            Resource::Subscription(s) => serde_json::to_string(s),
            Resource::Invoice(i) => serde_json::to_string(i),
            Resource::Entitlements(e) => serde_json::to_string(e),
            Resource::DunningCase(c) => serde_json::to_string(c),
            Resource::WebhookEndpoint(w) => serde_json::to_string(w),
        };
        state.map_err(|e| ProjectionError::Corrupt(format!("integration event state: {e}")))
    }

    /// Folds `stored` into the state and answers what it tells the public, if anything.
    /// Features are priced at `catalog`'s usage prices, as the REST API prices them.
    pub fn apply(
        &mut self,
        stored: &StoredEvent,
        catalog: &PlanCatalog,
    ) -> Result<Option<Told>, ProjectionError> {
        // The feature a usage record is about: its object is that feature's access alone.
        let mut feature = None;
        let kind = match self {
            Resource::Subscription(subscription) => {
                let event = payload(stored)?;
                let kind = EventType::of_subscription(&event);
                subscription.apply(event);
                kind
            }
            Resource::Invoice(invoice) => {
                let event = payload(stored)?;
                let kind = EventType::of_invoice(&event);
                invoice.apply(event);
                kind
            }
            Resource::Entitlements(entitlements) => {
                let event = payload(stored)?;
                let kind = EventType::of_entitlements(&event);
                if let EntitlementsEvent::UsageRecorded { feature: used, .. } = &event {
                    feature = Some(used.clone());
                }
                entitlements.apply(event);
                kind
            }
            Resource::DunningCase(case) => {
                let event = payload(stored)?;
                let kind = EventType::of_dunning(&event);
                case.apply(event);
                kind
            }
            Resource::WebhookEndpoint(endpoint) => {
                let event = payload(stored)?;
                let kind = EventType::of_webhook_endpoint(&event);
                endpoint.apply(event);
                kind
            }
        };
        let Some(kind) = kind else {
            return Ok(None);
        };
        let rendered = match (&*self, &feature) {
            (Resource::Subscription(s), _) => s
                .account_id()
                .zip(SubscriptionView::of(s, stored.sequence).map(to_json)),
            (Resource::Invoice(i), _) => i.account_id().zip(InvoiceView::of(i).map(to_json)),
            (Resource::Entitlements(e), Some(feature)) => e
                .account_id()
                .zip(FeatureAccessView::of_entitlements(e, feature, catalog).map(to_json)),
            (Resource::Entitlements(e), None) => e
                .account_id()
                .zip(FeatureList::of_entitlements(e, catalog).map(to_json)),
            (Resource::DunningCase(c), _) => c
                .account_id()
                .zip(DunningCaseView::of(c, stored.metadata.recorded_at).map(to_json)),
            (Resource::WebhookEndpoint(w), _) => {
                // About the product's own configuration, not about an account.
                let Some(view) = EndpointView::of_disabled(&stored.aggregate_id, w) else {
                    return Ok(None);
                };
                return Ok(Some(Told {
                    kind,
                    account_id: None,
                    object: to_json(view)?,
                    whole: true,
                }));
            }
        };
        // An event the aggregate itself would ignore (none before its creation) tells nothing.
        let Some((account_id, object)) = rendered else {
            return Ok(None);
        };
        Ok(Some(Told {
            kind,
            account_id: Some(account_id.to_string()),
            object: object?,
            whole: feature.is_none(),
        }))
    }
}

/// A rendering as JSON.
fn to_json(view: impl serde::Serialize) -> Result<Value, ProjectionError> {
    serde_json::to_value(view)
        .map_err(|e| ProjectionError::Corrupt(format!("a resource does not render: {e}")))
}
