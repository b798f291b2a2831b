//! What the application may ask of an account's entitlements (SPEC 3.3). Fields are parsed
//! value types; the quantity and the reason are range-checked when the command is handled.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::usage::UsageId;
use crate::period::BillingPeriod;
use crate::values::{AccountId, FeatureKey, PlanId};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum EntitlementsCommand {
    /// Grants a plan for a period: at trial start, at activation, and for a new subscription
    /// after a revocation. `account_id` is the aggregate's own id.
    EnableEntitlements {
        account_id: AccountId,
        plan_id: PlanId,
        period: BillingPeriod,
    },
    /// Follows a plan change: grants the new plan's features and limits.
    RecalculateEntitlements {
        plan_id: PlanId,
    },
    /// Cuts access while a payment is in dunning, once its window has expired.
    SuspendEntitlements {
        dunning_case_id: Uuid,
        window_expires_at: DateTime<Utc>,
    },
    /// Gives access back after the payment was recovered.
    RestoreEntitlements,
    /// Ends access because the subscription was cancelled.
    RevokeEntitlements {
        reason: String,
    },
    /// Meters `quantity` units of `feature`, once per `usage_id`. `timestamp` (default now)
    /// says which period the units belong to: the current one, or the one before it.
    RecordUsage {
        feature: FeatureKey,
        quantity: u64,
        usage_id: UsageId,
        #[serde(default)]
        timestamp: Option<DateTime<Utc>>,
    },
    /// Bills, for invoice `invoice_id`, the usage of `period` (which just closed) and the late
    /// usage of the periods billed before it, at `plan_id`'s usage prices. Once per invoice.
    BillUsage {
        invoice_id: Uuid,
        period: BillingPeriod,
        plan_id: PlanId,
    },
    /// Starts a new usage period: counters go back to zero.
    ResetUsage {
        period: BillingPeriod,
    },
    /// Protects a feature against a downgrade that would remove it without confirmation.
    AddCommitment {
        feature: FeatureKey,
    },
    ReleaseCommitment {
        feature: FeatureKey,
    },
}
