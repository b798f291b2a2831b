//! SPEC 6's "Subscription", as it is at a version of its stream.

use chrono::{DateTime, Utc};
use domain::subscription::Subscription;
use domain::SeatCount;
use serde::Serialize;

use super::DiscountView;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SubscriptionView {
    id: Uuid,
    account_id: String,
    plan_id: String,
    status: String,
    seats: u32,
    overage_billing: bool,
    billing_email: Option<String>,
    /// The billing account's payment method (a processor's id such as `pm_card_visa`).
    payment_method: Option<String>,
    trial_ends_at: Option<DateTime<Utc>>,
    current_period_start: Option<DateTime<Utc>>,
    current_period_end: Option<DateTime<Utc>>,
    cancel_at_period_end: bool,
    /// Once cancelled: `requested`, `trial_expired` or `dunning_exhausted`.
    cancellation_reason: Option<String>,
    /// The client's own words on its cancellation.
    cancellation_comment: Option<String>,
    /// Once cancelled: when service ended.
    ended_at: Option<DateTime<Utc>>,
    scheduled_change: Option<ScheduledChangeView>,
    /// The redeemed coupon discounting its invoices.
    discount: Option<DiscountView>,
    version: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ScheduledChangeView {
    plan_id: String,
    effective_at: DateTime<Utc>,
}

impl SubscriptionView {
    /// `subscription` at stream `version`; `None` before it was created.
    pub fn of(subscription: &Subscription, version: i64) -> Option<Self> {
        let s = subscription;
        Some(Self {
            id: s.subscription_id()?,
            account_id: s.account_id()?.to_string(),
            plan_id: s.plan_id()?.to_string(),
            status: s.status().as_str().to_owned(),
            seats: s.seats().map_or(0, SeatCount::get),
            overage_billing: s.overage_billing(),
            billing_email: s.billing_account().map(|b| b.email.to_string()),
            payment_method: s
                .billing_account()
                .map(|b| b.payment_method.as_str().to_owned()),
            trial_ends_at: s.trial_ends_at(),
            current_period_start: s.current_period().map(|p| p.start),
            current_period_end: s.current_period().map(|p| p.end),
            cancel_at_period_end: s.cancel_at_period_end(),
            cancellation_reason: s.cancellation_reason().map(|r| r.as_str().to_owned()),
            cancellation_comment: s.cancellation_comment().map(str::to_owned),
            ended_at: s.ended_at(),
            scheduled_change: s.scheduled_change().map(|c| ScheduledChangeView {
                plan_id: c.plan_id.to_string(),
                effective_at: c.effective_at,
            }),
            discount: s.discount().map(DiscountView::of),
            version,
        })
    }
}
