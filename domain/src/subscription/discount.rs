//! A redeemed coupon on a subscription (SPEC 11.3): which of its invoices the discount applies
//! to, and when it ends. The invoicing events carry the discount they bill with, so the billing
//! policy and the previews compute the same `discount` line from the event alone.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Context, SubscriptionEvent, SubscriptionRule, SubscriptionState};
use crate::coupon::{CouponDuration, Discount};
use crate::error::DomainError;
use crate::values::PlanId;

/// A coupon's terms as a subscription keeps them once redeemed: later changes to the coupon
/// (archiving) do not touch a discount already given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionDiscount {
    pub discount: Discount,
    pub duration: CouponDuration,
    /// Invoices issued on another plan are not discounted; all plans when absent.
    pub applies_to_plans: Option<BTreeSet<PlanId>>,
}

/// The discount in force, since when, and how many period invoices it has discounted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActiveDiscount {
    pub terms: SubscriptionDiscount,
    pub applied_at: DateTime<Utc>,
    pub periods_discounted: u32,
}

impl ActiveDiscount {
    /// The period invoices it will still discount; `None` for ever.
    pub fn periods_left(&self) -> Option<u32> {
        match self.terms.duration {
            CouponDuration::Once => Some(1),
            CouponDuration::Repeating { periods } => {
                Some(periods.saturating_sub(self.periods_discounted))
            }
            CouponDuration::Forever => None,
        }
    }
}

/// What the invoice being issued bills.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Billed {
    /// A period in advance: activation or renewal. Counts towards a repeating duration.
    Period,
    /// An upgrade's proration, mid-period.
    Proration,
    /// The usage of the last period, after a cancellation.
    Final,
}

type Events = Result<Vec<SubscriptionEvent>, DomainError>;

impl SubscriptionState {
    /// Replaces any discount in force, as Stripe does.
    pub(super) fn apply_discount(&self, terms: SubscriptionDiscount, ctx: &Context<'_>) -> Events {
        Ok(vec![SubscriptionEvent::DiscountApplied {
            account_id: self.account_id.clone(),
            discount: terms,
            at: ctx.now,
        }])
    }

    pub(super) fn remove_discount(&self, ctx: &Context<'_>) -> Events {
        let Some(active) = &self.discount else {
            return Err(SubscriptionRule::NoDiscount.into());
        };
        Ok(vec![SubscriptionEvent::DiscountRemoved {
            account_id: self.account_id.clone(),
            coupon_id: active.terms.discount.coupon_id.clone(),
            at: ctx.now,
        }])
    }

    /// The discount an invoice issued now on `plan` carries, and the event that ends the
    /// discount when this invoice is its last.
    pub(super) fn discount_on(
        &self,
        billed: Billed,
        plan: &PlanId,
        ctx: &Context<'_>,
    ) -> (Option<Discount>, Option<SubscriptionEvent>) {
        let Some(active) = &self.discount else {
            return (None, None);
        };
        let terms = &active.terms;
        if terms
            .applies_to_plans
            .as_ref()
            .is_some_and(|plans| !plans.contains(plan))
        {
            return (None, None);
        }
        let last = match (billed, terms.duration) {
            // A cancellation ends every discount with the subscription.
            (Billed::Final, _) | (_, CouponDuration::Forever) => false,
            (_, CouponDuration::Once) => true,
            (Billed::Period, CouponDuration::Repeating { periods }) => {
                active.periods_discounted + 1 >= periods
            }
            (Billed::Proration, CouponDuration::Repeating { .. }) => false,
        };
        let ended = last.then(|| SubscriptionEvent::DiscountEnded {
            account_id: self.account_id.clone(),
            coupon_id: terms.discount.coupon_id.clone(),
            at: ctx.now,
        });
        (Some(terms.discount.clone()), ended)
    }
}
