//! What happened to a subscription. Every event names its account and carries the business time
//! `at`, so policies and projections can act on it without loading the aggregate; events that
//! start a paid period carry the invoice lines to bill.

use chrono::{DateTime, Utc};
use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{BillingAccount, SubscriptionDiscount};
use crate::coupon::{CouponId, Discount};
use crate::invoice::InvoiceLine;
use crate::money::{Currency, Money};
use crate::period::BillingPeriod;
use crate::values::{AccountId, PlanId, SeatCount};

/// `CancellationScheduled` and `SubscriptionCancelled` 2.0: a typed `reason` and the client's
/// `comment` (1.0: one free-text `reason`).
pub const CANCELLATION_VERSION: &str = "2.0";

/// Why a subscription ended. Every variant but `Requested` is the system's own decision, and no
/// client request can produce it: a client's words go to the cancellation's `comment`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CancellationReason {
    /// A client asked (the product's backend, an operator).
    Requested,
    /// The trial ended without a billing account.
    TrialExpired,
    /// Dunning ran out: the open invoices are written off, not voided.
    DunningExhausted,
}

impl CancellationReason {
    pub fn as_str(self) -> &'static str {
        match self {
            CancellationReason::Requested => "requested",
            CancellationReason::TrialExpired => "trial_expired",
            CancellationReason::DunningExhausted => "dunning_exhausted",
        }
    }
}

impl std::fmt::Display for CancellationReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A paid period that ended, and the plan it was on: what its usage is billed at, in arrears.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClosedPeriod {
    pub period: BillingPeriod,
    pub plan_id: PlanId,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum SubscriptionEvent {
    TrialStarted {
        subscription_id: Uuid,
        account_id: AccountId,
        plan_id: PlanId,
        currency: Currency,
        seats: SeatCount,
        overage_billing: bool,
        billing_account: Option<BillingAccount>,
        trial_ends_at: DateTime<Utc>,
        at: DateTime<Utc>,
    },
    BillingAccountAttached {
        account_id: AccountId,
        billing_account: BillingAccount,
        /// The subscription is past due: the dunning saga retries the open invoice at once.
        retry_open_invoice: bool,
        at: DateTime<Utc>,
    },
    /// The first paid period started; `invoice_lines` are the first invoice's.
    SubscriptionActivated {
        account_id: AccountId,
        plan_id: PlanId,
        period: BillingPeriod,
        seats: SeatCount,
        invoice_lines: Vec<InvoiceLine>,
        /// The discount the invoice takes off, if one applies; absent on events recorded
        /// before coupons.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        discount: Option<Discount>,
        at: DateTime<Utc>,
    },
    SeatsAdded {
        account_id: AccountId,
        count: SeatCount,
        /// The total after the change.
        seats: SeatCount,
        /// The prorated charge for new overage seats, billed on the next invoice.
        pending_item: Option<InvoiceLine>,
        at: DateTime<Utc>,
    },
    SeatsRemoved {
        account_id: AccountId,
        count: SeatCount,
        /// The total after the change.
        seats: SeatCount,
        at: DateTime<Utc>,
    },
    OverageBillingSet {
        account_id: AccountId,
        enabled: bool,
        at: DateTime<Utc>,
    },
    /// The plan changed now; a non-empty `proration_lines` is invoiced at once, and a `credit`
    /// (a downgrade now) goes to the account's balance.
    PlanChanged {
        account_id: AccountId,
        from_plan: PlanId,
        to_plan: PlanId,
        proration_lines: Vec<InvoiceLine>,
        /// The unused part of the old plan, prorated as upgrades are, credited to the balance;
        /// only on a downgrade now. Absent on events recorded before downgrades could apply now.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        credit: Option<Money>,
        /// The discount the invoice takes off, if one applies; absent on events recorded
        /// before coupons.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        discount: Option<Discount>,
        at: DateTime<Utc>,
    },
    /// A downgrade that takes effect at `effective_at`, the current period's end.
    PlanChangeScheduled {
        account_id: AccountId,
        from_plan: PlanId,
        to_plan: PlanId,
        effective_at: DateTime<Utc>,
        at: DateTime<Utc>,
    },
    /// The subscription will be cancelled at `effective_at` (trial or period end), as a client
    /// asked. Version 1 kept the client's text as `reason`; see [`crate::upcasting`].
    CancellationScheduled {
        account_id: AccountId,
        /// The client's own words, for people; nothing is decided on it.
        comment: Option<String>,
        effective_at: DateTime<Utc>,
        at: DateTime<Utc>,
    },
    /// Version 1 kept a free-text `reason` that the system's decisions were keyed on; version 2
    /// types it, and keeps a client's text apart as `comment`.
    SubscriptionCancelled {
        account_id: AccountId,
        reason: CancellationReason,
        comment: Option<String>,
        /// When service ended: now for an immediate cancel, the trial or period end otherwise.
        ended_at: DateTime<Utc>,
        /// The paid period that ended with the subscription (none for a trial); absent on
        /// events recorded before usage was billed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        closed: Option<ClosedPeriod>,
        /// The discount the invoice takes off, if one applies; absent on events recorded
        /// before coupons.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        discount: Option<Discount>,
        at: DateTime<Utc>,
    },
    /// The next period started; `invoice_lines` are the renewal invoice's, before usage.
    PeriodRenewed {
        account_id: AccountId,
        period: BillingPeriod,
        plan_id: PlanId,
        seats: SeatCount,
        invoice_lines: Vec<InvoiceLine>,
        /// The period that ended, whose usage the renewal invoice bills; absent on events
        /// recorded before usage was billed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        closed: Option<ClosedPeriod>,
        /// The discount the invoice takes off, if one applies; absent on events recorded
        /// before coupons.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        discount: Option<Discount>,
        at: DateTime<Utc>,
    },
    SubscriptionMarkedPastDue {
        account_id: AccountId,
        dunning_case_id: Uuid,
        at: DateTime<Utc>,
    },
    SubscriptionReactivated {
        account_id: AccountId,
        /// The dunning case the subscription recovered from.
        dunning_case_id: Option<Uuid>,
        at: DateTime<Utc>,
    },
    /// A redeemed coupon now discounts the subscription's invoices, replacing any discount.
    DiscountApplied {
        account_id: AccountId,
        discount: SubscriptionDiscount,
        at: DateTime<Utc>,
    },
    /// A client took the discount off before it ran its course.
    DiscountRemoved {
        account_id: AccountId,
        coupon_id: CouponId,
        at: DateTime<Utc>,
    },
    /// The discount discounted its last invoice (`once`, or `repeating`'s last period).
    DiscountEnded {
        account_id: AccountId,
        coupon_id: CouponId,
        at: DateTime<Utc>,
    },
    /// The trial ends at `trial_ends_at`, in three days or less: the customer is told.
    TrialWillEnd {
        account_id: AccountId,
        trial_ends_at: DateTime<Utc>,
        at: DateTime<Utc>,
    },
}

impl DomainEvent for SubscriptionEvent {
    fn event_type(&self) -> String {
        let name = match self {
            SubscriptionEvent::TrialStarted { .. } => "TrialStarted",
            SubscriptionEvent::BillingAccountAttached { .. } => "BillingAccountAttached",
            SubscriptionEvent::SubscriptionActivated { .. } => "SubscriptionActivated",
            SubscriptionEvent::SeatsAdded { .. } => "SeatsAdded",
            SubscriptionEvent::SeatsRemoved { .. } => "SeatsRemoved",
            SubscriptionEvent::OverageBillingSet { .. } => "OverageBillingSet",
            SubscriptionEvent::PlanChanged { .. } => "PlanChanged",
            SubscriptionEvent::PlanChangeScheduled { .. } => "PlanChangeScheduled",
            SubscriptionEvent::CancellationScheduled { .. } => "CancellationScheduled",
            SubscriptionEvent::SubscriptionCancelled { .. } => "SubscriptionCancelled",
            SubscriptionEvent::PeriodRenewed { .. } => "PeriodRenewed",
            SubscriptionEvent::SubscriptionMarkedPastDue { .. } => "SubscriptionMarkedPastDue",
            SubscriptionEvent::SubscriptionReactivated { .. } => "SubscriptionReactivated",
            SubscriptionEvent::TrialWillEnd { .. } => "TrialWillEnd",
            SubscriptionEvent::DiscountApplied { .. } => "DiscountApplied",
            SubscriptionEvent::DiscountRemoved { .. } => "DiscountRemoved",
            SubscriptionEvent::DiscountEnded { .. } => "DiscountEnded",
        };
        name.to_owned()
    }

    fn event_version(&self) -> String {
        match self {
            SubscriptionEvent::CancellationScheduled { .. }
            | SubscriptionEvent::SubscriptionCancelled { .. } => CANCELLATION_VERSION,
            _ => crate::EVENT_VERSION_1,
        }
        .to_owned()
    }
}
