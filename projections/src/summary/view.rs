//! The summary as clients see it: SPEC section 6's "Summary" resource, built from the stored row.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::columns::{parse_count, parse_feature_list, parse_timestamp};
use crate::feature_access::UsageSoFarView;
use crate::resources::DiscountView;
use domain::subscription::ActiveDiscount;
use infrastructure::consumers::ProjectionError;

use super::row::SummaryRow;

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SummaryView {
    pub account_id: String,
    /// Null until the account's first trial starts (its entitlements may be known before).
    pub subscription_id: Option<Uuid>,
    pub plan_id: Option<String>,
    /// `none`, `trialing`, `active`, `past_due` or `cancelled`.
    pub status: String,
    pub trial_ends_at: Option<DateTime<Utc>>,
    /// Null while trialing.
    pub current_period_start: Option<DateTime<Utc>>,
    /// The renewal date.
    pub current_period_end: Option<DateTime<Utc>>,
    pub seats: SeatsView,
    pub cancel_at_period_end: bool,
    pub scheduled_change: Option<ScheduledChangeView>,
    pub entitlements: EntitlementsView,
    pub balance_due: BalanceView,
    /// Money a payment attempt took beyond what an invoice still owed (`OverpaymentReceived`),
    /// in the balance's currency: `held` is not yet given back (the refund is pending, or the
    /// gateway refused it and support must act), `refunded` went back through the gateway.
    pub overpayments: OverpaymentsView,
    pub in_dunning: bool,
    pub dunning_case_id: Option<Uuid>,
    /// The redeemed coupon discounting the subscription's invoices.
    pub discount: Option<DiscountView>,
    /// The account's credit balance (SPEC 11.4), which pays its next invoices before the card.
    /// Read from the customer balances read model, which may trail the summary by a moment.
    pub credit_balance: BalanceView,
    /// Each feature the plan prices: its usage this period and what it costs so far, billed in
    /// arrears at period end. Read from the Feature Access View.
    pub usage: Vec<UsageSoFarView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SeatsView {
    pub count: u64,
    /// The plan's seat limit; null if unknown (no subscription, or a plan gone from the catalog).
    pub limit: Option<u64>,
    /// Seats beyond the limit.
    pub overage: u64,
    pub overage_billing: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ScheduledChangeView {
    pub plan_id: String,
    pub effective_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct EntitlementsView {
    /// `none`, `enabled`, `suspended` or `revoked`.
    pub status: String,
    pub features: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct BalanceView {
    /// Minor units.
    pub amount: i64,
    pub currency: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct OverpaymentsView {
    /// Minor units.
    pub held: i64,
    /// Minor units.
    pub refunded: i64,
    pub currency: Option<String>,
}

impl TryFrom<SummaryRow> for SummaryView {
    type Error = ProjectionError;

    fn try_from(row: SummaryRow) -> Result<Self, Self::Error> {
        let count = row.seat_count.map(parse_count).transpose()?.unwrap_or(0);
        let limit = row.seat_limit.map(parse_count).transpose()?;
        let scheduled_change = match (row.scheduled_plan_id, row.scheduled_effective_at) {
            (Some(plan_id), Some(at)) => Some(ScheduledChangeView {
                plan_id,
                effective_at: parse_timestamp(&at)?,
            }),
            _ => None,
        };
        Ok(Self {
            subscription_id: row.subscription_id.as_deref().map(uuid).transpose()?,
            plan_id: row.plan_id,
            status: row.status,
            trial_ends_at: optional_timestamp(row.trial_ends_at)?,
            current_period_start: optional_timestamp(row.current_period_start)?,
            current_period_end: optional_timestamp(row.current_period_end)?,
            seats: SeatsView {
                count,
                limit,
                overage: limit.map_or(0, |limit| count.saturating_sub(limit)),
                overage_billing: row.overage_billing,
            },
            cancel_at_period_end: row.cancel_at_period_end,
            scheduled_change,
            entitlements: EntitlementsView {
                status: row.entitlement_status,
                features: parse_feature_list(&row.entitlement_features)?,
            },
            overpayments: OverpaymentsView {
                held: row.overpaid_held_amount,
                refunded: row.overpaid_refunded_amount,
                currency: row.balance_due_currency.clone(),
            },
            balance_due: BalanceView {
                amount: row.balance_due_amount,
                currency: row.balance_due_currency,
            },
            in_dunning: row.in_dunning,
            dunning_case_id: row.dunning_case_id.as_deref().map(uuid).transpose()?,
            discount: row.discount.as_deref().map(discount).transpose()?,
            credit_balance: BalanceView {
                amount: 0,
                currency: None,
            },
            usage: Vec::new(),
            account_id: row.account_id,
        })
    }
}

fn optional_timestamp(text: Option<String>) -> Result<Option<DateTime<Utc>>, ProjectionError> {
    text.as_deref().map(parse_timestamp).transpose()
}

fn discount(text: &str) -> Result<DiscountView, ProjectionError> {
    serde_json::from_str::<ActiveDiscount>(text)
        .map(|active| DiscountView::of(&active))
        .map_err(|e| ProjectionError::Corrupt(format!("discount `{text}`: {e}")))
}

fn uuid(text: &str) -> Result<Uuid, ProjectionError> {
    Uuid::parse_str(text).map_err(|e| ProjectionError::Corrupt(format!("uuid `{text}`: {e}")))
}
