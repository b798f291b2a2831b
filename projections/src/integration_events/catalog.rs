//! The public event catalog (SPEC 9.1): which domain event becomes which integration event.
//! Domain events are internal and may change shape; these names are the public contract.

use domain::customer_balance::CustomerBalanceEvent;
use domain::dunning::DunningEvent;
use domain::entitlements::EntitlementsEvent;
use domain::invoice::InvoiceEvent;
use domain::subscription::SubscriptionEvent;
use domain::webhook_endpoint::WebhookEndpointEvent;

/// The version of the catalog's shapes, sent with every event.
pub const API_VERSION: &str = "2026-12-01";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventType {
    SubscriptionCreated,
    SubscriptionActivated,
    SubscriptionUpdated,
    SubscriptionPastDue,
    SubscriptionCancelled,
    SubscriptionTrialWillEnd,
    InvoiceIssued,
    InvoicePaid,
    InvoicePaymentFailed,
    InvoiceRefunded,
    InvoiceVoided,
    InvoiceUncollectible,
    CreditNoteCreated,
    EntitlementsUpdated,
    UsageLimitReached,
    DunningCaseOpened,
    DunningCaseEscalated,
    DunningCaseRecovered,
    DunningCaseClosed,
    WebhookEndpointDisabled,
    CustomerBalanceUpdated,
}

impl EventType {
    pub const ALL: [EventType; 21] = [
        EventType::SubscriptionCreated,
        EventType::SubscriptionActivated,
        EventType::SubscriptionUpdated,
        EventType::SubscriptionPastDue,
        EventType::SubscriptionCancelled,
        EventType::SubscriptionTrialWillEnd,
        EventType::InvoiceIssued,
        EventType::InvoicePaid,
        EventType::InvoicePaymentFailed,
        EventType::InvoiceRefunded,
        EventType::InvoiceVoided,
        EventType::InvoiceUncollectible,
        EventType::CreditNoteCreated,
        EventType::EntitlementsUpdated,
        EventType::UsageLimitReached,
        EventType::DunningCaseOpened,
        EventType::DunningCaseEscalated,
        EventType::DunningCaseRecovered,
        EventType::DunningCaseClosed,
        EventType::WebhookEndpointDisabled,
        EventType::CustomerBalanceUpdated,
    ];

    /// The public name, e.g. `invoice.paid`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::SubscriptionCreated => "subscription.created",
            EventType::SubscriptionActivated => "subscription.activated",
            EventType::SubscriptionUpdated => "subscription.updated",
            EventType::SubscriptionPastDue => "subscription.past_due",
            EventType::SubscriptionCancelled => "subscription.cancelled",
            EventType::SubscriptionTrialWillEnd => "subscription.trial_will_end",
            EventType::InvoiceIssued => "invoice.issued",
            EventType::InvoicePaid => "invoice.paid",
            EventType::InvoicePaymentFailed => "invoice.payment_failed",
            EventType::InvoiceRefunded => "invoice.refunded",
            EventType::InvoiceVoided => "invoice.voided",
            EventType::InvoiceUncollectible => "invoice.uncollectible",
            EventType::CreditNoteCreated => "credit_note.created",
            EventType::EntitlementsUpdated => "entitlements.updated",
            EventType::UsageLimitReached => "usage.limit_reached",
            EventType::DunningCaseOpened => "dunning_case.opened",
            EventType::DunningCaseEscalated => "dunning_case.escalated",
            EventType::DunningCaseRecovered => "dunning_case.recovered",
            EventType::DunningCaseClosed => "dunning_case.closed",
            EventType::WebhookEndpointDisabled => "webhook_endpoint.disabled",
            EventType::CustomerBalanceUpdated => "customer_balance.updated",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == name)
    }

    pub fn of_subscription(event: &SubscriptionEvent) -> Option<Self> {
        use SubscriptionEvent as E;
        Some(match event {
            E::TrialStarted { .. } => EventType::SubscriptionCreated,
            E::SubscriptionActivated { .. } => EventType::SubscriptionActivated,
            E::BillingAccountAttached { .. }
            | E::SeatsAdded { .. }
            | E::SeatsRemoved { .. }
            | E::OverageBillingSet { .. }
            | E::PlanChanged { .. }
            | E::PlanChangeScheduled { .. }
            | E::CancellationScheduled { .. }
            | E::PeriodRenewed { .. }
            | E::SubscriptionReactivated { .. }
            | E::DiscountApplied { .. }
            | E::DiscountRemoved { .. }
            | E::DiscountEnded { .. } => EventType::SubscriptionUpdated,
            E::SubscriptionMarkedPastDue { .. } => EventType::SubscriptionPastDue,
            E::SubscriptionCancelled { .. } => EventType::SubscriptionCancelled,
            E::TrialWillEnd { .. } => EventType::SubscriptionTrialWillEnd,
        })
    }

    pub fn of_invoice(event: &InvoiceEvent) -> Option<Self> {
        use InvoiceEvent as E;
        match event {
            E::InvoiceIssued { .. } => Some(EventType::InvoiceIssued),
            E::InvoicePaid { .. } => Some(EventType::InvoicePaid),
            E::PaymentFailed { .. } => Some(EventType::InvoicePaymentFailed),
            E::InvoiceRefunded { .. } => Some(EventType::InvoiceRefunded),
            E::InvoiceVoided { .. } => Some(EventType::InvoiceVoided),
            E::InvoiceMarkedUncollectible { .. } => Some(EventType::InvoiceUncollectible),
            // Steps of a payment whose outcome is told by the events above.
            E::PaymentAttempted { .. }
            | E::PaymentRecorded { .. }
            | E::OverpaymentReceived { .. }
            | E::OverpaymentRefunded { .. }
            | E::OverpaymentRefundFailed { .. } => None,
            // Not in the public catalog yet (docs/stripe.md): support sees it on the timeline
            // and in the work queue.
            E::DisputeOpened { .. } => None,
            E::CreditNoteIssued { .. } => Some(EventType::CreditNoteCreated),
        }
    }

    pub fn of_entitlements(event: &EntitlementsEvent) -> Option<Self> {
        use EntitlementsEvent as E;
        match event {
            E::EntitlementsEnabled { .. }
            | E::EntitlementsRecalculated { .. }
            | E::EntitlementsSuspended { .. }
            | E::EntitlementsRestored { .. }
            | E::EntitlementsRevoked { .. } => Some(EventType::EntitlementsUpdated),
            // Only the record that first reaches the limit in its period.
            E::UsageRecorded {
                quantity,
                used,
                limit: Some(limit),
                ..
            } if *used >= *limit && used.saturating_sub(*quantity) < *limit => {
                Some(EventType::UsageLimitReached)
            }
            E::UsageRecorded { .. }
            | E::LateUsageRecorded { .. }
            | E::UsageBilled { .. }
            | E::UsageReset { .. }
            | E::CommitmentAdded { .. }
            | E::CommitmentReleased { .. } => None,
        }
    }

    pub fn of_dunning(event: &DunningEvent) -> Option<Self> {
        use DunningEvent as E;
        match event {
            E::DunningStarted { .. } => Some(EventType::DunningCaseOpened),
            E::DunningEscalated { .. } => Some(EventType::DunningCaseEscalated),
            E::DunningRecovered { .. } => Some(EventType::DunningCaseRecovered),
            // Every way a case ends without recovering; the object's `status` says which.
            E::DunningCancelled { .. } | E::DunningResolved { .. } | E::DunningClosed { .. } => {
                Some(EventType::DunningCaseClosed)
            }
            E::RetryScheduled { .. }
            | E::RetryOutcomeRecorded { .. }
            | E::NotificationRecorded { .. }
            | E::DunningSuspended { .. }
            | E::DunningCaseAssigned { .. }
            | E::DunningNoteAdded { .. }
            | E::DunningWindowExtended { .. } => None,
        }
    }

    pub fn of_webhook_endpoint(event: &WebhookEndpointEvent) -> Option<Self> {
        match event {
            WebhookEndpointEvent::WebhookEndpointDisabled { .. } => {
                Some(EventType::WebhookEndpointDisabled)
            }
        }
    }

    /// Every movement of a balance: the object's `balance` says where it stands.
    pub fn of_customer_balance(event: &CustomerBalanceEvent) -> Option<Self> {
        match event {
            CustomerBalanceEvent::BalanceAdjusted { .. }
            | CustomerBalanceEvent::BalanceCredited { .. }
            | CustomerBalanceEvent::BalanceApplied { .. } => {
                Some(EventType::CustomerBalanceUpdated)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_has_one_name_that_parses_back() {
        let mut names = std::collections::BTreeSet::new();
        for kind in EventType::ALL {
            assert!(names.insert(kind.as_str()), "{kind:?} named twice");
            assert_eq!(EventType::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(EventType::parse("invoice.*"), None);
    }
}
