//! Reading the domain events that projectors consume out of the stored global log. This is the
//! one place projections deserialise payloads, through the upcasters of `domain::upcasting`, so
//! an event stored in an older version reads in the current shape.

use std::collections::BTreeSet;

use application::event_log::StoredEvent;
use application::EventFailure;
use cqrs_es::Aggregate;
use domain::coupon::Coupon;
use domain::customer_balance::CustomerBalance;
use domain::dunning::DunningCase;
use domain::entitlements::{Entitlements, EntitlementsEvent};
use domain::invoice::{Invoice, InvoiceEvent};
use domain::invoice_numbering::{InvoiceNumbering, InvoiceNumberingEvent};
use domain::subscription::{Subscription, SubscriptionEvent};
use domain::webhook_endpoint::WebhookEndpoint;
use domain::AccountId;
use serde::de::DeserializeOwned;

use infrastructure::consumers::ProjectionError;

/// `aggregate_type` of the Subscription aggregate's events.
pub const SUBSCRIPTION: &str = <Subscription as Aggregate>::TYPE;
/// `aggregate_type` of the Entitlements aggregate's events (their aggregate id is the account id).
pub const ENTITLEMENTS: &str = <Entitlements as Aggregate>::TYPE;
/// `aggregate_type` of the Invoice aggregate's events (their aggregate id is the invoice id).
pub const INVOICE: &str = <Invoice as Aggregate>::TYPE;
/// `aggregate_type` of the InvoiceNumbering aggregate's events (their aggregate id is the prefix).
pub const INVOICE_NUMBERING: &str = <InvoiceNumbering as Aggregate>::TYPE;
/// `aggregate_type` of the Coupon aggregate's events (their aggregate id is the coupon id).
pub const COUPON: &str = <Coupon as Aggregate>::TYPE;
/// `aggregate_type` of the DunningCase aggregate's events (their aggregate id is the case id).
pub const DUNNING_CASE: &str = <DunningCase as Aggregate>::TYPE;
/// `aggregate_type` of the CustomerBalance aggregate's events (their aggregate id is the account
/// id).
pub const CUSTOMER_BALANCE: &str = <CustomerBalance as Aggregate>::TYPE;
/// `aggregate_type` of the WebhookEndpoint aggregate's events (their aggregate id is the
/// endpoint id).
pub const WEBHOOK_ENDPOINT: &str = <WebhookEndpoint as Aggregate>::TYPE;

/// A consumed event, typed.
#[derive(Debug, Clone, PartialEq)]
pub enum BillingEvent {
    Subscription {
        subscription_id: String,
        event: SubscriptionEvent,
    },
    Entitlements {
        account_id: String,
        event: EntitlementsEvent,
    },
    /// An aggregate type this crate does not read (yet): invoices, dunning cases.
    Other,
}

impl BillingEvent {
    /// Decodes `stored`. A payload that does not decode is an error naming the event: the
    /// projection stops there rather than skip it.
    pub fn decode(stored: &StoredEvent) -> Result<Self, ProjectionError> {
        Ok(match stored.aggregate_type.as_str() {
            SUBSCRIPTION => BillingEvent::Subscription {
                subscription_id: stored.aggregate_id.clone(),
                event: payload(stored)?,
            },
            ENTITLEMENTS => BillingEvent::Entitlements {
                account_id: stored.aggregate_id.clone(),
                event: payload(stored)?,
            },
            _ => BillingEvent::Other,
        })
    }
}

/// An event that belongs to one account, decoded, with the stored event it came from.
pub struct AccountEvent<'a> {
    pub stored: &'a StoredEvent,
    pub account_id: String,
    pub event: BillingEvent,
}

impl AccountEvent<'_> {
    /// Decodes `events`, leaving out those of aggregates this crate does not read.
    pub fn decode_all(events: &[StoredEvent]) -> Result<Vec<AccountEvent<'_>>, ProjectionError> {
        let mut decoded = Vec::with_capacity(events.len());
        for stored in events {
            let event = BillingEvent::decode(stored)?;
            let account_id = match &event {
                BillingEvent::Subscription { event, .. } => {
                    subscription_account(event).as_str().to_owned()
                }
                BillingEvent::Entitlements { account_id, .. } => account_id.clone(),
                BillingEvent::Other => continue,
            };
            decoded.push(AccountEvent {
                stored,
                account_id,
                event,
            });
        }
        Ok(decoded)
    }

    /// The accounts `events` belong to.
    pub fn accounts(events: &[AccountEvent<'_>]) -> BTreeSet<String> {
        events.iter().map(|e| e.account_id.clone()).collect()
    }

    /// The error that stops the projection at this event.
    pub fn error(&self, reason: impl Into<String>) -> ProjectionError {
        event_error(self.stored, reason.into())
    }
}

/// An invoice event, decoded, with the stored event it came from. Only `InvoiceIssued` names the
/// account: readers keep the invoice → account mapping themselves.
pub struct InvoiceChange<'a> {
    pub stored: &'a StoredEvent,
    pub invoice_id: String,
    pub event: InvoiceEvent,
}

impl InvoiceChange<'_> {
    /// Decodes the invoice events among `events`, in order.
    pub fn decode_all(events: &[StoredEvent]) -> Result<Vec<InvoiceChange<'_>>, ProjectionError> {
        events
            .iter()
            .filter(|stored| stored.aggregate_type == INVOICE)
            .map(|stored| {
                Ok(InvoiceChange {
                    stored,
                    invoice_id: stored.aggregate_id.clone(),
                    event: payload(stored)?,
                })
            })
            .collect()
    }

    /// The invoices `changes` are about.
    pub fn invoices(changes: &[InvoiceChange<'_>]) -> BTreeSet<String> {
        changes.iter().map(|c| c.invoice_id.clone()).collect()
    }

    /// The error that stops the projection at this event.
    pub fn error(&self, reason: impl Into<String>) -> ProjectionError {
        event_error(self.stored, reason.into())
    }
}

/// An invoice number assigned (`InvoiceNumberAssigned`), with the stored event it came from.
pub struct NumberAssignment<'a> {
    pub stored: &'a StoredEvent,
    pub invoice_id: String,
    pub number: String,
}

impl NumberAssignment<'_> {
    /// Decodes the number assignments among `events`, in order.
    pub fn decode_all(
        events: &[StoredEvent],
    ) -> Result<Vec<NumberAssignment<'_>>, ProjectionError> {
        events
            .iter()
            .filter_map(|stored| NumberAssignment::decode(stored).transpose())
            .collect()
    }

    /// The number assignment `stored` is, if it is one.
    pub fn decode(stored: &StoredEvent) -> Result<Option<NumberAssignment<'_>>, ProjectionError> {
        if stored.aggregate_type != INVOICE_NUMBERING {
            return Ok(None);
        }
        let InvoiceNumberingEvent::InvoiceNumberAssigned {
            invoice_id, number, ..
        } = payload(stored)?;
        Ok(Some(NumberAssignment {
            stored,
            invoice_id: invoice_id.to_string(),
            number,
        }))
    }

    /// The error that stops the projection at this event.
    pub fn error(&self, reason: impl Into<String>) -> ProjectionError {
        event_error(self.stored, reason.into())
    }
}

/// The account a subscription event belongs to: every variant names it.
pub fn subscription_account(event: &SubscriptionEvent) -> &AccountId {
    use SubscriptionEvent as E;
    match event {
        E::TrialStarted { account_id, .. }
        | E::BillingAccountAttached { account_id, .. }
        | E::SubscriptionActivated { account_id, .. }
        | E::SeatsAdded { account_id, .. }
        | E::SeatsRemoved { account_id, .. }
        | E::OverageBillingSet { account_id, .. }
        | E::PlanChanged { account_id, .. }
        | E::PlanChangeScheduled { account_id, .. }
        | E::CancellationScheduled { account_id, .. }
        | E::SubscriptionCancelled { account_id, .. }
        | E::PeriodRenewed { account_id, .. }
        | E::SubscriptionMarkedPastDue { account_id, .. }
        | E::SubscriptionReactivated { account_id, .. }
        | E::TrialWillEnd { account_id, .. }
        | E::DiscountApplied { account_id, .. }
        | E::DiscountRemoved { account_id, .. }
        | E::DiscountEnded { account_id, .. } => account_id,
    }
}

pub(crate) fn payload<E: DeserializeOwned>(stored: &StoredEvent) -> Result<E, ProjectionError> {
    // Most events are stored in the current version: decoded in place, not copied to upcast.
    let decoded = if domain::upcasting::is_current(&stored.event_type, &stored.event_version) {
        E::deserialize(&stored.payload)
    } else {
        serde_json::from_value(domain::upcasting::upcast(stored.serialized()).payload)
    };
    decoded.map_err(|e| event_error(stored, format!("the payload does not decode: {e}")))
}

pub(crate) fn event_error(stored: &StoredEvent, reason: String) -> ProjectionError {
    EventFailure::at(stored, reason).into()
}
