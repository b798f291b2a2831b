//! The business rules that can refuse a subscription command (409), each with a message in billing
//! words and a stable code for API clients.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::SubscriptionStatus;
use crate::money::Currency;
use crate::period::BillingInterval;
use crate::values::{FeatureKey, PlanId};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubscriptionRule {
    #[error("plan `{plan_id}` is not in the plan catalog")]
    UnknownPlan { plan_id: PlanId },

    #[error("subscription {subscription_id} already exists")]
    AlreadyExists { subscription_id: Uuid },

    #[error("the subscription is cancelled, which is final: {command} is refused")]
    AlreadyCancelled { command: &'static str },

    #[error("{command} is not possible while the subscription is {status}")]
    InvalidTransition {
        command: &'static str,
        status: SubscriptionStatus,
    },

    #[error("a subscription cannot be activated without a billing account")]
    ActivationRequiresBillingAccount,

    #[error(
        "{requested} seats exceed the plan's seat limit of {limit}: a seat cannot be added beyond \
         the plan's seat limit unless overage billing is enabled"
    )]
    SeatLimitExceeded { limit: u32, requested: u32 },

    #[error("removing {removing} of {seats} seats would leave fewer than one seat")]
    SeatsBelowMinimum { seats: u32, removing: u32 },

    #[error(
        "overage billing cannot be disabled while {seats} seats exceed the plan's seat limit of \
         {limit}"
    )]
    OverageBillingInUse { seats: u32, limit: u32 },

    #[error("the subscription is already on plan `{plan_id}`")]
    SamePlan { plan_id: PlanId },

    #[error("the subscription has no discount to remove")]
    NoDiscount,

    #[error(
        "cannot change from a plan billed in {from} to one billed in {to}: the rest of a period \
         cannot be prorated across currencies; cancel and start a new subscription instead"
    )]
    PlanCurrencyMismatch { from: Currency, to: Currency },

    #[error(
        "cannot change from a {} plan to a {} plan: the rest of a period cannot be prorated \
         across billing intervals; cancel and start a new subscription instead",
        interval_name(*from), interval_name(*to)
    )]
    PlanIntervalMismatch {
        from: BillingInterval,
        to: BillingInterval,
    },

    #[error(
        "a downgrade cannot remove features that have usage this period or an explicit \
         commitment without confirmation (`confirm_feature_removal: true`): it would remove {}",
        join(features)
    )]
    CommittedFeaturesWouldBeRemoved { features: Vec<FeatureKey> },

    #[error(
        "the new plan's seat limit of {limit} is below the current {seats} seats: enable overage \
         billing or remove seats first"
    )]
    DowngradeSeatLimitBelowSeats { limit: u32, seats: u32 },

    #[error("the current period runs until {period_end}; it cannot be renewed before it ends")]
    PeriodNotEnded { period_end: DateTime<Utc> },

    #[error("the trial runs until {trial_ends_at}; it cannot expire before then")]
    TrialNotEnded { trial_ends_at: DateTime<Utc> },

    #[error("the subscription is already past due under dunning case {dunning_case_id}")]
    AlreadyPastDue { dunning_case_id: Uuid },
}

impl SubscriptionRule {
    /// A stable snake_case name for API clients.
    pub fn code(&self) -> &'static str {
        match self {
            SubscriptionRule::UnknownPlan { .. } => "unknown_plan",
            SubscriptionRule::AlreadyExists { .. } => "subscription_already_exists",
            SubscriptionRule::AlreadyCancelled { .. } => "subscription_cancelled",
            SubscriptionRule::InvalidTransition { .. } => "invalid_subscription_transition",
            SubscriptionRule::ActivationRequiresBillingAccount => {
                "activation_requires_billing_account"
            }
            SubscriptionRule::SeatLimitExceeded { .. } => "seat_limit_exceeded",
            SubscriptionRule::SeatsBelowMinimum { .. } => "seats_below_minimum",
            SubscriptionRule::OverageBillingInUse { .. } => "overage_billing_in_use",
            SubscriptionRule::SamePlan { .. } => "same_plan",
            SubscriptionRule::NoDiscount => "no_discount",
            SubscriptionRule::PlanCurrencyMismatch { .. } => "plan_currency_mismatch",
            SubscriptionRule::PlanIntervalMismatch { .. } => "plan_interval_mismatch",
            SubscriptionRule::CommittedFeaturesWouldBeRemoved { .. } => {
                "committed_features_would_be_removed"
            }
            SubscriptionRule::DowngradeSeatLimitBelowSeats { .. } => {
                "downgrade_seat_limit_below_seats"
            }
            SubscriptionRule::PeriodNotEnded { .. } => "period_not_ended",
            SubscriptionRule::TrialNotEnded { .. } => "trial_not_ended",
            SubscriptionRule::AlreadyPastDue { .. } => "already_past_due",
        }
    }
}

fn interval_name(interval: BillingInterval) -> &'static str {
    match interval {
        BillingInterval::Month => "monthly",
        BillingInterval::Year => "yearly",
    }
}

fn join(features: &[FeatureKey]) -> String {
    features
        .iter()
        .map(FeatureKey::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}
