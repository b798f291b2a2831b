//! One account's feature-access rows and how each Entitlements event changes them. The fold
//! mirrors the Entitlements aggregate's `apply` for what access depends on: the standing, the
//! granted features and limits, and this period's usage.

use std::collections::{BTreeMap, BTreeSet};

use domain::entitlements::{EntitlementStatus, EntitlementsEvent};
use domain::{BillingPeriod, FeatureKey, Limit};

use crate::columns::{count, entitlement_status, timestamp};

/// The `feature_access_accounts` row: the account's standing and usage period.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AccessAccountRow {
    pub account_id: String,
    pub status: String,
    pub plan_id: String,
    pub period_start: String,
    pub period_end: String,
}

/// A `feature_access` row: one feature the plan grants or once granted.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct FeatureRow {
    pub account_id: String,
    pub feature: String,
    pub in_plan: bool,
    /// Null: unlimited or not metered.
    pub limit_units: Option<i64>,
    pub used: i64,
}

/// Everything the view holds about one account.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AccountAccess {
    /// `None` until entitlements are first enabled.
    pub account: Option<AccessAccountRow>,
    pub features: BTreeMap<String, FeatureRow>,
}

impl AccountAccess {
    /// Applies `event` to the rows of `account_id`.
    pub fn apply(&mut self, account_id: &str, event: &EntitlementsEvent) {
        use EntitlementsEvent as E;
        if let E::EntitlementsEnabled {
            plan_id,
            features,
            limits,
            period,
            ..
        } = event
        {
            let (start, end) = period_columns(period);
            let new_period = self.account.as_ref().is_none_or(|account| {
                (&account.period_start, &account.period_end) != (&start, &end)
            });
            self.account = Some(AccessAccountRow {
                account_id: account_id.to_owned(),
                status: entitlement_status(EntitlementStatus::Enabled).to_owned(),
                plan_id: plan_id.to_string(),
                period_start: start,
                period_end: end,
            });
            self.grant(account_id, features, limits);
            if new_period {
                self.reset_usage();
            }
            return;
        }
        // As in the aggregate, nothing but enabling counts before entitlements exist.
        let Some(account) = &mut self.account else {
            return;
        };
        let set_status = |account: &mut AccessAccountRow, status| {
            account.status = entitlement_status(status).to_owned()
        };
        match event {
            E::EntitlementsEnabled { .. } => {}
            E::EntitlementsRecalculated {
                plan_id,
                features,
                limits,
                ..
            } => {
                account.plan_id = plan_id.to_string();
                self.grant(account_id, features, limits);
            }
            E::EntitlementsSuspended { .. } => set_status(account, EntitlementStatus::Suspended),
            E::EntitlementsRestored { .. } => set_status(account, EntitlementStatus::Enabled),
            E::EntitlementsRevoked { .. } => set_status(account, EntitlementStatus::Revoked),
            E::UsageRecorded { feature, used, .. } => {
                self.feature_mut(account_id, feature.as_str()).used = count(*used);
            }
            E::UsageReset { period, .. } => {
                (account.period_start, account.period_end) = period_columns(period);
                self.reset_usage();
            }
            // Late usage belongs to the period before; billing changes no access.
            E::LateUsageRecorded { .. }
            | E::UsageBilled { .. }
            | E::CommitmentAdded { .. }
            | E::CommitmentReleased { .. } => {}
        }
    }

    /// The plan now grants exactly `features`; features it no longer grants keep their row
    /// (and their usage, as the aggregate keeps its counters) with `in_plan` false.
    fn grant(
        &mut self,
        account_id: &str,
        features: &BTreeSet<FeatureKey>,
        limits: &BTreeMap<FeatureKey, Limit>,
    ) {
        for feature in features {
            self.feature_mut(account_id, feature.as_str());
        }
        let limits: BTreeMap<&str, Option<u64>> = limits
            .iter()
            .map(|(feature, limit)| (feature.as_str(), limit.units()))
            .collect();
        for row in self.features.values_mut() {
            row.in_plan = features.iter().any(|f| f.as_str() == row.feature);
            row.limit_units = limits
                .get(row.feature.as_str())
                .copied()
                .flatten()
                .map(count);
        }
    }

    fn reset_usage(&mut self) {
        for row in self.features.values_mut() {
            row.used = 0;
        }
    }

    fn feature_mut(&mut self, account_id: &str, feature: &str) -> &mut FeatureRow {
        self.features
            .entry(feature.to_owned())
            .or_insert_with(|| FeatureRow {
                account_id: account_id.to_owned(),
                feature: feature.to_owned(),
                in_plan: false,
                limit_units: None,
                used: 0,
            })
    }
}

fn period_columns(period: &BillingPeriod) -> (String, String) {
    (timestamp(period.start), timestamp(period.end))
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};
    use domain::entitlements::UsageId;
    use domain::{AccountId, PlanId};

    use super::*;

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-03-01T00:00:00Z")
            .unwrap()
            .to_utc()
    }

    fn key(feature: &str) -> FeatureKey {
        FeatureKey::parse(feature).unwrap()
    }

    fn enabled() -> EntitlementsEvent {
        EntitlementsEvent::EntitlementsEnabled {
            account_id: AccountId::parse("acct_1").unwrap(),
            plan_id: PlanId::parse("starter").unwrap(),
            features: [key("projects")].into(),
            limits: [(key("projects"), Limit::Units(10))].into(),
            period: BillingPeriod {
                start: t0(),
                end: t0() + chrono::Duration::days(30),
            },
            at: t0(),
        }
    }

    fn usage(used: u64) -> EntitlementsEvent {
        EntitlementsEvent::UsageRecorded {
            feature: key("projects"),
            quantity: 1,
            usage_id: UsageId::parse("u1").unwrap(),
            used,
            limit: Some(10),
            over_limit: used > 10,
            period: None,
            at: t0(),
        }
    }

    #[test]
    fn nothing_but_enabling_counts_before_entitlements_exist() {
        let mut access = AccountAccess::default();
        access.apply("acct_1", &usage(3));
        assert_eq!(access, AccountAccess::default());
        access.apply("acct_1", &enabled());
        access.apply("acct_1", &usage(3));
        let projects = &access.features["projects"];
        assert_eq!(
            (projects.in_plan, projects.limit_units, projects.used),
            (true, Some(10), 3)
        );
    }

    #[test]
    fn a_usage_total_beyond_the_column_is_stored_at_its_limit_rather_than_wrap_or_stop() {
        let mut access = AccountAccess::default();
        access.apply("acct_1", &enabled());
        access.apply("acct_1", &usage(u64::MAX));
        assert_eq!(access.features["projects"].used, i64::MAX);
    }
}
