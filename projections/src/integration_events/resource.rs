//! A resource the catalog reports on, as the projector remembers it between events: the
//! aggregate's state, folded event by event exactly as the aggregate folds its own stream, and
//! rendered by the same functions the REST API answers with.

use application::event_log::StoredEvent;
use cqrs_es::Aggregate;
use domain::customer_balance::CustomerBalance;
use domain::dunning::DunningCase;
use domain::entitlements::{Entitlements, EntitlementsEvent};
use domain::invoice::Invoice;
use domain::subscription::Subscription;
use domain::webhook_endpoint::WebhookEndpoint;
use domain::PlanCatalog;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::catalog::EventType;
use crate::event::{
    payload, CUSTOMER_BALANCE, DUNNING_CASE, ENTITLEMENTS, INVOICE, SUBSCRIPTION, WEBHOOK_ENDPOINT,
};
use crate::feature_access::FeatureAccessView;
use crate::invoices::InvoiceView;
use crate::resources::{
    CustomerBalanceView, DunningCaseView, EndpointView, FeatureList, SubscriptionView,
};
use infrastructure::consumers::ProjectionError;

pub(super) enum Resource {
    Subscription(Subscription),
    Invoice(NumberedInvoice),
    Entitlements(Entitlements),
    DunningCase(DunningCase),
    WebhookEndpoint(WebhookEndpoint),
    CustomerBalance(CustomerBalance),
}

/// An invoice and its number, which the numbering policy assigns on a stream of its own after
/// `InvoiceIssued`. Stored as the invoice's own state plus `number` once there is one, so a state
/// stored before numbers existed reads as an invoice without one.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(super) struct NumberedInvoice {
    #[serde(flatten)]
    invoice: Invoice,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    number: Option<String>,
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
            INVOICE => Resource::Invoice(NumberedInvoice::default()),
            ENTITLEMENTS => Resource::Entitlements(Entitlements::default()),
            DUNNING_CASE => Resource::DunningCase(DunningCase::default()),
            WEBHOOK_ENDPOINT => Resource::WebhookEndpoint(WebhookEndpoint::default()),
            CUSTOMER_BALANCE => Resource::CustomerBalance(CustomerBalance::default()),
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
            CUSTOMER_BALANCE => {
                Resource::CustomerBalance(serde_json::from_str(state).map_err(corrupt)?)
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
            Resource::CustomerBalance(b) => serde_json::to_string(b),
        };
        state.map_err(|e| ProjectionError::Corrupt(format!("integration event state: {e}")))
    }

    /// Remembers the invoice's number, for the objects of its later events; false when this is
    /// not an invoice.
    pub fn number(&mut self, number: &str) -> bool {
        match self {
            Resource::Invoice(numbered) => {
                numbered.number = Some(number.to_owned());
                true
            }
            _ => false,
        }
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
            Resource::Invoice(numbered) => {
                let event = payload(stored)?;
                let kind = EventType::of_invoice(&event);
                numbered.invoice.apply(event);
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
            Resource::CustomerBalance(balance) => {
                let event = payload(stored)?;
                let kind = EventType::of_customer_balance(&event);
                balance.apply(event);
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
            (Resource::Invoice(i), _) => i.invoice.account_id().zip(
                InvoiceView::of(&i.invoice).map(|view| to_json(view.with_number(i.number.clone()))),
            ),
            (Resource::Entitlements(e), Some(feature)) => e
                .account_id()
                .zip(FeatureAccessView::of_entitlements(e, feature, catalog).map(to_json)),
            (Resource::Entitlements(e), None) => e
                .account_id()
                .zip(FeatureList::of_entitlements(e, catalog).map(to_json)),
            (Resource::DunningCase(c), _) => c
                .account_id()
                .zip(DunningCaseView::of(c, stored.metadata.recorded_at).map(to_json)),
            (Resource::CustomerBalance(b), _) => {
                b.account_id().zip(CustomerBalanceView::of(b).map(to_json))
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};
    use domain::invoice::{CollectionMethod, InvoiceEvent, InvoiceLine, LineKind};
    use domain::{AccountId, Currency, Money};

    fn issued() -> Invoice {
        let at: DateTime<Utc> = "2026-03-01T00:00:00Z".parse().unwrap();
        let usd = Currency::parse("usd").unwrap();
        let line = InvoiceLine::new("Setup", LineKind::Manual, 1, Money::new(500, usd.clone()));
        let mut invoice = Invoice::default();
        invoice.apply(InvoiceEvent::InvoiceIssued {
            invoice_id: uuid::Uuid::new_v4(),
            account_id: AccountId::parse("acct_1").unwrap(),
            subscription_id: None,
            currency: usd.clone(),
            lines: vec![line.unwrap()],
            total: Money::new(500, usd),
            issued_at: at,
            due_at: at,
            collection: CollectionMethod::Manual,
        });
        invoice
    }

    fn restored(state: &str) -> NumberedInvoice {
        match Resource::restore(INVOICE, state).unwrap() {
            Resource::Invoice(numbered) => numbered,
            _ => panic!("not an invoice"),
        }
    }

    #[test]
    fn an_invoice_state_stored_before_numbers_reads_unnumbered_and_a_number_is_kept() {
        let before_numbers = serde_json::to_string(&issued()).unwrap();
        let unnumbered = restored(&before_numbers);
        assert_eq!(unnumbered.number, None);
        assert_eq!(
            serde_json::to_string(&unnumbered.invoice).unwrap(),
            before_numbers
        );

        let mut resource = Resource::Invoice(unnumbered);
        assert!(resource.number("LL-000001"));
        let numbered = restored(&resource.state().unwrap());
        assert_eq!(numbered.number.as_deref(), Some("LL-000001"));
        assert_eq!(
            serde_json::to_string(&numbered.invoice).unwrap(),
            before_numbers
        );
        assert!(!Resource::new(SUBSCRIPTION).unwrap().number("LL-000002"));
    }
}
