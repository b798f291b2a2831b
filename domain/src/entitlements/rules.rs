//! The business rules that can refuse an Entitlements command (409 `rule_violation`). Malformed
//! input is not here: it is a `DomainError::Invalid`.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::values::{FeatureKey, PlanId};

/// The business rules of this aggregate that can refuse a command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntitlementsRule {
    #[error("plan `{plan_id}` is not in the plan catalog")]
    UnknownPlan { plan_id: PlanId },

    #[error(
        "entitlements are suspended by dunning case {dunning_case_id}: they must be restored \
         before they can be enabled again"
    )]
    EntitlementsSuspended { dunning_case_id: Uuid },

    #[error(
        "entitlements were revoked when the subscription was cancelled: only a new \
         subscription can enable them again"
    )]
    EntitlementsRevoked,

    #[error(
        "entitlements cannot be suspended before the dunning window expires at \
         {window_expires_at}"
    )]
    DunningWindowNotExpired { window_expires_at: DateTime<Utc> },

    #[error("entitlements are already suspended by another dunning case, {dunning_case_id}")]
    SuspendedByAnotherCase { dunning_case_id: Uuid },

    #[error("feature `{feature}` is not granted by plan `{plan_id}`")]
    FeatureNotInPlan {
        feature: FeatureKey,
        plan_id: PlanId,
    },

    #[error(
        "usage cannot be reset to a period starting {requested_start}, before the current \
         period's start {current_start}"
    )]
    PeriodBeforeCurrent {
        current_start: DateTime<Utc>,
        requested_start: DateTime<Utc>,
    },
}

impl EntitlementsRule {
    /// A stable snake_case name for the rule, for API clients and logs.
    pub fn code(&self) -> &'static str {
        match self {
            EntitlementsRule::UnknownPlan { .. } => "unknown_plan",
            EntitlementsRule::EntitlementsSuspended { .. } => "entitlements_suspended",
            EntitlementsRule::EntitlementsRevoked => "entitlements_revoked",
            EntitlementsRule::DunningWindowNotExpired { .. } => "dunning_window_not_expired",
            EntitlementsRule::SuspendedByAnotherCase { .. } => "suspended_by_another_case",
            EntitlementsRule::FeatureNotInPlan { .. } => "feature_not_in_plan",
            EntitlementsRule::PeriodBeforeCurrent { .. } => "period_before_current",
        }
    }
}
