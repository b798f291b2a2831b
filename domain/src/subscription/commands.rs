//! What can be asked of a subscription (SPEC 3.2), in parsed value types. The scheduler sends
//! `RenewPeriod`, `ExpireTrial` and
//! `WarnTrialEnding`; the dunning saga sends `MarkPastDue` and `Reactivate`.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{BillingAccount, SubscriptionDiscount};
use crate::error::ValidationError;
use crate::values::{AccountId, FeatureKey, PlanId, SeatCount};

/// The longest cancellation comment kept, in characters.
pub const MAX_COMMENT_CHARS: usize = 500;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum SubscriptionCommand {
    /// Creates the subscription in `trialing`. The id is chosen by the caller.
    StartTrial {
        subscription_id: Uuid,
        account_id: AccountId,
        plan_id: PlanId,
        seats: SeatCount,
        billing_account: Option<BillingAccount>,
        overage_billing: bool,
    },
    AttachBillingAccount {
        billing_account: BillingAccount,
    },
    /// Ends the trial now and starts the first paid period.
    ActivateSubscription,
    AddSeats {
        count: SeatCount,
    },
    RemoveSeats {
        count: SeatCount,
    },
    SetOverageBilling {
        enabled: bool,
    },
    ChangePlan {
        plan_id: PlanId,
        confirm_feature_removal: bool,
        /// Features with usage in the current period or an explicit commitment, supplied by the
        /// application layer from the Entitlements aggregate.
        committed_features: BTreeSet<FeatureKey>,
        /// A downgrade takes effect now, crediting the unused part of the old plan, rather than
        /// at the period end. Upgrades always take effect now.
        #[serde(default)]
        downgrade_now: bool,
    },
    /// A client's cancellation: its reason is always `requested`; `comment` is its own words.
    CancelSubscription {
        at_period_end: bool,
        comment: Option<String>,
    },
    /// Dunning saga, when the case runs out: cancelled at once as `dunning_exhausted`.
    CancelForNonPayment,
    /// Scheduler, at the period end.
    RenewPeriod,
    /// Scheduler, at the trial end.
    ExpireTrial,
    /// Scheduler, three days before the trial end: tells the customer the trial ends soon.
    WarnTrialEnding,
    /// Dunning saga, when a dunning case starts.
    MarkPastDue {
        dunning_case_id: Uuid,
    },
    /// Dunning saga, when the case recovers.
    Reactivate,
    /// A coupon the application layer redeemed for this subscription.
    ApplyDiscount {
        discount: SubscriptionDiscount,
    },
    RemoveDiscount,
}

impl SubscriptionCommand {
    /// The command's name as the SPEC spells it, for refusals.
    pub fn name(&self) -> &'static str {
        match self {
            SubscriptionCommand::StartTrial { .. } => "StartTrial",
            SubscriptionCommand::AttachBillingAccount { .. } => "AttachBillingAccount",
            SubscriptionCommand::ActivateSubscription => "ActivateSubscription",
            SubscriptionCommand::AddSeats { .. } => "AddSeats",
            SubscriptionCommand::RemoveSeats { .. } => "RemoveSeats",
            SubscriptionCommand::SetOverageBilling { .. } => "SetOverageBilling",
            SubscriptionCommand::ChangePlan { .. } => "ChangePlan",
            SubscriptionCommand::CancelSubscription { .. } => "CancelSubscription",
            SubscriptionCommand::CancelForNonPayment => "CancelForNonPayment",
            SubscriptionCommand::RenewPeriod => "RenewPeriod",
            SubscriptionCommand::ExpireTrial => "ExpireTrial",
            SubscriptionCommand::WarnTrialEnding => "WarnTrialEnding",
            SubscriptionCommand::MarkPastDue { .. } => "MarkPastDue",
            SubscriptionCommand::Reactivate => "Reactivate",
            SubscriptionCommand::ApplyDiscount { .. } => "ApplyDiscount",
            SubscriptionCommand::RemoveDiscount => "RemoveDiscount",
        }
    }

    /// The checks on the command's own values that its types cannot express.
    pub(super) fn validate(&self) -> Result<(), ValidationError> {
        match self {
            SubscriptionCommand::StartTrial {
                subscription_id, ..
            } if subscription_id.is_nil() => Err(ValidationError::new(
                "subscription_id",
                "must not be the nil UUID",
            )),
            SubscriptionCommand::MarkPastDue { dunning_case_id } if dunning_case_id.is_nil() => {
                Err(ValidationError::new(
                    "dunning_case_id",
                    "must not be the nil UUID",
                ))
            }
            SubscriptionCommand::CancelSubscription {
                comment: Some(comment),
                ..
            } if comment.chars().count() > MAX_COMMENT_CHARS => Err(ValidationError::new(
                "reason",
                format!("must be at most {MAX_COMMENT_CHARS} characters"),
            )),
            _ => Ok(()),
        }
    }
}
