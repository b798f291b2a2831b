//! Ledgerline's billing domain: the Subscription, Entitlements, Invoice, DunningCase and
//! CustomerBalance aggregates with their commands, events and rules, and the value types they
//! are made of.
//! Pure: no IO, no storage, no HTTP, and time only through the injected [`Clock`].

pub mod catalog;
pub mod clock;
pub mod coupon;
pub mod customer_balance;
mod decided;
pub mod dunning;
pub mod entitlements;
pub mod error;
pub mod invoice;
pub mod invoice_numbering;
pub mod money;
pub mod period;
pub mod pricing;
pub mod processor_customer;
pub mod processor_event;
pub mod services;
pub mod subscription;
pub mod upcasting;
pub mod values;
pub mod webhook_endpoint;

#[cfg(test)]
pub(crate) mod testing;

pub use catalog::{Limit, Plan, PlanCatalog, PlanDefinition};
pub use clock::{Clock, ManualClock};
pub use error::{DomainError, ErrorClass, RuleViolation, ValidationError};
pub use money::{Currency, Money, MoneyError, MAX_AMOUNT};
pub use period::{BillingInterval, BillingPeriod};
pub use services::BillingServices;
pub use values::{
    AccountId, Email, FeatureKey, InvoicePrefix, PaymentMethodToken, PlanId, SeatCount,
};

/// The `event_version` every event type starts at.
pub const EVENT_VERSION_1: &str = "1.0";
