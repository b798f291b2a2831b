//! Given/when/then tests of the Entitlements aggregate, with the shipped catalog and a fixed
//! clock (`t0` = 2026-03-01T00:00:00Z unless a test moves it).

mod commitments;
mod lifecycle;
mod metering;
mod state;
mod suspension;
mod usage;

use chrono::{DateTime, Duration, Utc};
use cqrs_es::test::TestFramework;
use cqrs_es::Aggregate;
use uuid::Uuid;

use super::*;
use crate::period::{BillingInterval, BillingPeriod};
use crate::testing::{account, feature, plan, services, services_at, shipped_catalog, t0};

type Framework = TestFramework<Entitlements>;

fn rule(rule: EntitlementsRule) -> DomainError {
    DomainError::from(rule)
}

fn not_found() -> DomainError {
    DomainError::NotFound {
        aggregate: "entitlements",
    }
}

/// The 14-day trial starting at `t0`.
fn trial() -> BillingPeriod {
    BillingPeriod {
        start: t0(),
        end: t0() + Duration::days(14),
    }
}

/// The first paid month, starting at `t0`.
fn march() -> BillingPeriod {
    BillingPeriod::starting(t0(), BillingInterval::Month).unwrap()
}

fn april() -> BillingPeriod {
    march().next(BillingInterval::Month).unwrap()
}

fn case_a() -> Uuid {
    Uuid::from_u128(0xA)
}

fn case_b() -> Uuid {
    Uuid::from_u128(0xB)
}

fn usage_id(id: &str) -> UsageId {
    UsageId::parse(id).unwrap()
}

fn enable(plan_id: &str, period: BillingPeriod) -> EntitlementsCommand {
    EntitlementsCommand::EnableEntitlements {
        account_id: account(),
        plan_id: plan(plan_id),
        period,
    }
}

/// `EntitlementsEnabled` for a shipped plan, at `at`.
fn enabled_at(plan_id: &str, period: BillingPeriod, at: DateTime<Utc>) -> EntitlementsEvent {
    let catalog = shipped_catalog();
    let granted = catalog.get(&plan(plan_id)).unwrap();
    EntitlementsEvent::EntitlementsEnabled {
        account_id: account(),
        plan_id: plan(plan_id),
        features: granted.features.clone(),
        limits: granted.limits.clone(),
        period,
        at,
    }
}

fn enabled(plan_id: &str, period: BillingPeriod) -> EntitlementsEvent {
    enabled_at(plan_id, period, t0())
}

fn recalculated(plan_id: &str, removed: &[&str]) -> EntitlementsEvent {
    let catalog = shipped_catalog();
    let granted = catalog.get(&plan(plan_id)).unwrap();
    EntitlementsEvent::EntitlementsRecalculated {
        plan_id: plan(plan_id),
        features: granted.features.clone(),
        limits: granted.limits.clone(),
        removed_features: removed.iter().map(|f| feature(f)).collect(),
        at: t0(),
    }
}

fn suspended(dunning_case_id: Uuid) -> EntitlementsEvent {
    EntitlementsEvent::EntitlementsSuspended {
        dunning_case_id,
        at: t0(),
    }
}

fn revoked() -> EntitlementsEvent {
    EntitlementsEvent::EntitlementsRevoked {
        reason: "subscription_cancelled".into(),
        at: t0(),
    }
}

fn record(feature_key: &str, quantity: u64, id: &str) -> EntitlementsCommand {
    EntitlementsCommand::RecordUsage {
        feature: feature(feature_key),
        quantity,
        usage_id: usage_id(id),
        timestamp: None,
    }
}

/// `UsageRecorded` at `t0`, in March, with the totals the aggregate should report.
fn recorded(
    feature_key: &str,
    quantity: u64,
    id: &str,
    used: u64,
    limit: Option<u64>,
) -> EntitlementsEvent {
    EntitlementsEvent::UsageRecorded {
        feature: feature(feature_key),
        quantity,
        usage_id: usage_id(id),
        used,
        limit,
        over_limit: limit.is_some_and(|limit| used > limit),
        period: Some(march()),
        at: t0(),
    }
}

fn committed(feature_key: &str) -> EntitlementsEvent {
    EntitlementsEvent::CommitmentAdded {
        feature: feature(feature_key),
        at: t0(),
    }
}

/// The aggregate after `events`, as a replay would build it.
fn fold(events: Vec<EntitlementsEvent>) -> Entitlements {
    let mut entitlements = Entitlements::default();
    for event in events {
        entitlements.apply(event);
    }
    entitlements
}
