//! What happened to an account's entitlements. Each event carries what the Feature Access view
//! and the timeline need to render it alone: the granted features and limits, usage totals after
//! the change, and the business time `at`.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::usage::UsageId;
use crate::catalog::Limit;
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
