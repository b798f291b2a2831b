//! What happened to an account's entitlements. Each event carries what the Feature Access view
//! and the timeline need to render it alone: the granted features and limits, usage totals after
//! the change, and the business time `at`.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::ledger::BilledUsage;
use super::usage::UsageId;
use crate::catalog::Limit;
use crate::invoice::InvoiceLine;
use crate::period::BillingPeriod;
use crate::values::{AccountId, FeatureKey, PlanId};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum EntitlementsEvent {
    /// The plan is granted for `period`. Usage counters restart when `period` differs from the
    /// previous one; commitments on features the plan no longer grants end.
    EntitlementsEnabled {
        account_id: AccountId,
        plan_id: PlanId,
        features: BTreeSet<FeatureKey>,
        limits: BTreeMap<FeatureKey, Limit>,
        period: BillingPeriod,
        at: DateTime<Utc>,
    },
    /// The plan changed. Commitments on `removed_features` end; usage counters are kept.
    EntitlementsRecalculated {
        plan_id: PlanId,
        features: BTreeSet<FeatureKey>,
        limits: BTreeMap<FeatureKey, Limit>,
        removed_features: BTreeSet<FeatureKey>,
        at: DateTime<Utc>,
    },
    EntitlementsSuspended {
        dunning_case_id: Uuid,
        at: DateTime<Utc>,
    },
    EntitlementsRestored {
        at: DateTime<Utc>,
    },
    EntitlementsRevoked {
        reason: String,
        at: DateTime<Utc>,
    },
    /// `used` is the feature's total for the current period after this record; `over_limit`
    /// says that total exceeds `limit` (the record is kept all the same).
    UsageRecorded {
        feature: FeatureKey,
        quantity: u64,
        usage_id: UsageId,
        used: u64,
        limit: Option<u64>,
        over_limit: bool,
        /// The period the units are billed in; absent on records made before usage prices.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        period: Option<BillingPeriod>,
        at: DateTime<Utc>,
    },
    /// Usage whose `timestamp` falls in the period before the current one: billed with that
    /// period, or on the next invoice as an adjustment when it was billed already. It does not
    /// count against the current period's limits.
    LateUsageRecorded {
        feature: FeatureKey,
        quantity: u64,
        usage_id: UsageId,
        period: BillingPeriod,
        at: DateTime<Utc>,
    },
    /// The usage of the periods up to `period` was billed on invoice `invoice_id`: `lines` are
    /// the invoice's usage lines, `billed` how far each feature's billing went.
    UsageBilled {
        invoice_id: Uuid,
        period: BillingPeriod,
        billed: Vec<BilledUsage>,
        lines: Vec<InvoiceLine>,
        at: DateTime<Utc>,
    },
    /// A new usage period began: every counter is back to zero.
    UsageReset {
        period: BillingPeriod,
        at: DateTime<Utc>,
    },
    CommitmentAdded {
        feature: FeatureKey,
        at: DateTime<Utc>,
    },
    CommitmentReleased {
        feature: FeatureKey,
        at: DateTime<Utc>,
    },
}

impl DomainEvent for EntitlementsEvent {
    fn event_type(&self) -> String {
        let name = match self {
            EntitlementsEvent::EntitlementsEnabled { .. } => "EntitlementsEnabled",
            EntitlementsEvent::EntitlementsRecalculated { .. } => "EntitlementsRecalculated",
            EntitlementsEvent::EntitlementsSuspended { .. } => "EntitlementsSuspended",
            EntitlementsEvent::EntitlementsRestored { .. } => "EntitlementsRestored",
            EntitlementsEvent::EntitlementsRevoked { .. } => "EntitlementsRevoked",
            EntitlementsEvent::UsageRecorded { .. } => "UsageRecorded",
            EntitlementsEvent::LateUsageRecorded { .. } => "LateUsageRecorded",
            EntitlementsEvent::UsageBilled { .. } => "UsageBilled",
            EntitlementsEvent::UsageReset { .. } => "UsageReset",
            EntitlementsEvent::CommitmentAdded { .. } => "CommitmentAdded",
            EntitlementsEvent::CommitmentReleased { .. } => "CommitmentReleased",
        };
        name.to_owned()
    }

    fn event_version(&self) -> String {
        crate::EVENT_VERSION_1.to_owned()
    }
}
