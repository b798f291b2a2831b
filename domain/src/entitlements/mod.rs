//! The Entitlements aggregate (SPEC 3.3), one per account: which features the account's plan
//! grants, their per-period limits and usage, explicit commitments, and whether access is
//! suspended by dunning or revoked by a cancellation. Commands are decided in `decide.rs`.

mod access;
mod commands;
mod decide;
mod events;
mod ledger;
mod metering;
mod rules;
mod usage;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};

use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use ledger::UsageLedger;

pub use access::{AccessReason, FeatureAccess};
pub use commands::EntitlementsCommand;
pub use events::EntitlementsEvent;
pub use ledger::BilledUsage;
pub use rules::EntitlementsRule;
pub use usage::{check_quantity, UsageId, MAX_USAGE_QUANTITY};

use crate::catalog::Limit;
use crate::error::DomainError;
use crate::invoice::InvoiceLine;
use crate::period::BillingPeriod;
use crate::services::BillingServices;
use crate::values::{AccountId, FeatureKey, PlanId};

/// Where an account's entitlements stand. `None`: never enabled.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntitlementStatus {
    #[default]
    None,
    Enabled,
    Suspended,
    Revoked,
}

/// An account's entitlements. Identified by the account id.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Entitlements {
    /// `None` until the first `EntitlementsEnabled`.
    state: Option<EntitlementsState>,
}

/// The standing of entitlements that were enabled at least once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Standing {
    Enabled,
    Suspended { dunning_case_id: Uuid },
    Revoked { reason: String },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct EntitlementsState {
    account_id: AccountId,
    standing: Standing,
    plan_id: PlanId,
    features: BTreeSet<FeatureKey>,
    limits: BTreeMap<FeatureKey, Limit>,
    /// The usage period the counters belong to.
    period: BillingPeriod,
    /// The period before `period`, which late usage may still be recorded for. Snapshots
    /// written before it existed hold none until the next period starts.
    #[serde(default)]
    previous_period: Option<BillingPeriod>,
    /// What each billable period recorded and what invoices billed of it.
    #[serde(default)]
    ledger: UsageLedger,
    /// Units used per feature in `period`; a feature with no usage has no entry.
    usage: BTreeMap<FeatureKey, u64>,
    /// Every usage id ever recorded, across periods, so that a late retry of a previous
    /// period's record is not counted into the new one. Grows with usage; acceptable for now,
    /// to be bounded by a retention window (e.g. the previous period's ids) when it matters.
    seen_usage_ids: BTreeSet<UsageId>,
    commitments: BTreeSet<FeatureKey>,
}

static NO_FEATURES: BTreeSet<FeatureKey> = BTreeSet::new();
static NO_LIMITS: BTreeMap<FeatureKey, Limit> = BTreeMap::new();

impl Aggregate for Entitlements {
    const TYPE: &'static str = "entitlements";
    type Command = EntitlementsCommand;
    type Event = EntitlementsEvent;
    type Error = DomainError;
    type Services = BillingServices;

    async fn handle(
        &mut self,
        command: Self::Command,
        services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        let decided = self.decide(command, services);
        crate::decided::write(self, sink, decided).await
    }

    fn apply(&mut self, event: Self::Event) {
        match (&mut self.state, event) {
            (Some(state), event) => state.apply(event),
            (
                None,
                EntitlementsEvent::EntitlementsEnabled {
                    account_id,
                    plan_id,
                    features,
                    limits,
                    period,
                    ..
                },
            ) => {
                self.state = Some(EntitlementsState {
                    account_id,
                    standing: Standing::Enabled,
                    plan_id,
                    features,
                    limits,
                    period,
                    previous_period: None,
                    ledger: UsageLedger::default(),
                    usage: BTreeMap::new(),
                    seen_usage_ids: BTreeSet::new(),
                    commitments: BTreeSet::new(),
                })
            }
            // Only EntitlementsEnabled can start a stream; anything else before it is ignored.
            (None, _) => {}
        }
    }
}

impl EntitlementsState {
    fn grant(
        &mut self,
        plan_id: PlanId,
        features: BTreeSet<FeatureKey>,
        limits: BTreeMap<FeatureKey, Limit>,
    ) {
        // A commitment protects a granted feature; once the plan no longer grants it, it ends.
        self.commitments
            .retain(|feature| features.contains(feature));
        self.plan_id = plan_id;
        self.features = features;
        self.limits = limits;
    }

    fn apply(&mut self, event: EntitlementsEvent) {
        match event {
            EntitlementsEvent::EntitlementsEnabled {
                account_id,
                plan_id,
                features,
                limits,
                period,
                ..
            } => {
                self.account_id = account_id;
                self.standing = Standing::Enabled;
                self.grant(plan_id, features, limits);
                if self.period != period {
                    self.start_period(period);
                }
            }
            EntitlementsEvent::EntitlementsRecalculated {
                plan_id,
                features,
                limits,
                ..
            } => self.grant(plan_id, features, limits),
            EntitlementsEvent::EntitlementsSuspended {
                dunning_case_id, ..
            } => self.standing = Standing::Suspended { dunning_case_id },
            EntitlementsEvent::EntitlementsRestored { .. } => self.standing = Standing::Enabled,
            EntitlementsEvent::EntitlementsRevoked { reason, .. } => {
                self.standing = Standing::Revoked { reason }
            }
            EntitlementsEvent::UsageRecorded {
                feature,
                quantity,
                usage_id,
                used,
                period,
                ..
            } => {
                if let Some(period) = period {
                    self.ledger.record(period, feature.clone(), quantity);
                }
                self.usage.insert(feature, used);
                self.seen_usage_ids.insert(usage_id);
            }
            EntitlementsEvent::LateUsageRecorded {
                feature,
                quantity,
                usage_id,
                period,
                ..
            } => {
                self.ledger.record(period, feature, quantity);
                self.seen_usage_ids.insert(usage_id);
            }
            EntitlementsEvent::UsageBilled {
                invoice_id,
                period,
                billed,
                lines,
                ..
            } => self.ledger.billed(invoice_id, period, billed, lines),
            EntitlementsEvent::UsageReset { period, .. } => self.start_period(period),
            EntitlementsEvent::CommitmentAdded { feature, .. } => {
                self.commitments.insert(feature);
            }
            EntitlementsEvent::CommitmentReleased { feature, .. } => {
                self.commitments.remove(&feature);
            }
        }
    }

    /// A new usage period: the counters restart, and late usage may still go to the old one.
    fn start_period(&mut self, period: BillingPeriod) {
        self.previous_period = Some(self.period);
        self.period = period;
        self.usage.clear();
    }

    fn status(&self) -> EntitlementStatus {
        match self.standing {
            Standing::Enabled => EntitlementStatus::Enabled,
            Standing::Suspended { .. } => EntitlementStatus::Suspended,
            Standing::Revoked { .. } => EntitlementStatus::Revoked,
        }
    }

    fn used(&self, feature: &FeatureKey) -> u64 {
        self.usage.get(feature).copied().unwrap_or(0)
    }

    fn limit_of(&self, feature: &FeatureKey) -> Option<u64> {
        self.limits.get(feature).and_then(|limit| limit.units())
    }
}

/// Read accessors and the queries the application and the read models rely on.
impl Entitlements {
    pub fn status(&self) -> EntitlementStatus {
        self.state
            .as_ref()
            .map_or(EntitlementStatus::None, EntitlementsState::status)
    }

    pub fn account_id(&self) -> Option<&AccountId> {
        self.state.as_ref().map(|s| &s.account_id)
    }

    pub fn plan_id(&self) -> Option<&PlanId> {
        self.state.as_ref().map(|s| &s.plan_id)
    }

    /// The features the plan grants (kept after a revocation, for the record).
    pub fn features(&self) -> &BTreeSet<FeatureKey> {
        self.state.as_ref().map_or(&NO_FEATURES, |s| &s.features)
    }

    pub fn limits(&self) -> &BTreeMap<FeatureKey, Limit> {
        self.state.as_ref().map_or(&NO_LIMITS, |s| &s.limits)
    }

    /// Units of `feature` used in the current period.
    pub fn usage(&self, feature: &FeatureKey) -> u64 {
        self.state.as_ref().map_or(0, |s| s.used(feature))
    }

    pub fn period(&self) -> Option<BillingPeriod> {
        self.state.as_ref().map(|s| s.period)
    }

    /// The usage lines billed for invoice `invoice_id`, if it was one of the latest bills.
    pub fn usage_lines_of(&self, invoice_id: Uuid) -> Option<&[InvoiceLine]> {
        self.state.as_ref()?.ledger.lines_of(invoice_id)
    }

    /// Features explicitly committed (not counting usage; see [`Self::committed_features`]).
    pub fn commitments(&self) -> &BTreeSet<FeatureKey> {
        self.state.as_ref().map_or(&NO_FEATURES, |s| &s.commitments)
    }

    /// The dunning case that suspended access, while suspended.
    pub fn dunning_case_id(&self) -> Option<Uuid> {
        match self.state.as_ref().map(|s| &s.standing) {
            Some(Standing::Suspended { dunning_case_id }) => Some(*dunning_case_id),
            _ => None,
        }
    }

    /// Why access was revoked, while revoked.
    pub fn revocation_reason(&self) -> Option<&str> {
        match self.state.as_ref().map(|s| &s.standing) {
            Some(Standing::Revoked { reason }) => Some(reason),
            _ => None,
        }
    }

    /// The features a downgrade may not remove without confirmation (SPEC 3.2): those with
    /// usage recorded in the current period, and those explicitly committed.
    pub fn committed_features(&self) -> BTreeSet<FeatureKey> {
        self.used_features()
            .chain(self.commitments())
            .cloned()
            .collect()
    }

    /// The features with usage recorded in the current period.
    pub fn used_features(&self) -> impl Iterator<Item = &FeatureKey> {
        self.state.iter().flat_map(|state| {
            state
                .usage
                .iter()
                .filter(|(_, used)| **used > 0)
                .map(|(feature, _)| feature)
        })
    }

    /// May the account use `feature` now? See [`FeatureAccess::decide`].
    pub fn access(&self, feature: &FeatureKey) -> FeatureAccess {
        match &self.state {
            None => FeatureAccess::decide(EntitlementStatus::None, false, None, 0),
            Some(state) => FeatureAccess::decide(
                state.status(),
                state.features.contains(feature),
                state.limit_of(feature),
                state.used(feature),
            ),
        }
    }
}
