//! Access to a feature as clients see it: SPEC section 6's "Feature access" resource, decided by
//! the domain's one access rule from the stored rows.

use domain::entitlements::{AccessReason, FeatureAccess};
use domain::PlanCatalog;
use serde::Serialize;

use crate::columns::{parse_count, parse_entitlement_status};
use infrastructure::consumers::ProjectionError;

use super::cost::cost_so_far;
use super::row::FeatureRow;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FeatureAccessView {
    pub account_id: String,
    pub feature: String,
    pub allowed: bool,
    #[schema(value_type = String)]
    pub reason: AccessReason,
    /// Null when unlimited or not metered.
    pub limit: Option<u64>,
    /// Units used this period.
    pub used: u64,
    /// Null when unlimited or not metered.
    pub remaining: Option<u64>,
    /// What `used` costs at the plan's usage price, in minor units of `currency`, as the
    /// invoice at period end will bill it; null when the plan prices no usage of the feature.
    pub cost_so_far: Option<i64>,
    pub currency: Option<String>,
}

impl FeatureAccessView {
    /// Decides access to `feature` with [`FeatureAccess::decide`], the rule the Entitlements
    /// aggregate uses: the read model stores the inputs, never its own verdict. `row` is `None`
    /// when the account has no row for the feature (its plan never granted it).
    pub(super) fn decide(
        account_id: &str,
        feature: &str,
        status: &str,
        row: Option<&FeatureRow>,
    ) -> Result<Self, ProjectionError> {
        let limit = row
            .and_then(|row| row.limit_units)
            .map(parse_count)
            .transpose()?;
        let used = row
            .map(|row| parse_count(row.used))
            .transpose()?
            .unwrap_or(0);
        let access = FeatureAccess::decide(
            parse_entitlement_status(status)?,
            row.is_some_and(|row| row.in_plan),
            limit,
            used,
        );
        Ok(Self::of(account_id, feature, access))
    }

    /// The view of a decided `access`.
    pub fn of(account_id: &str, feature: &str, access: FeatureAccess) -> Self {
        Self {
            account_id: account_id.to_owned(),
            feature: feature.to_owned(),
            allowed: access.allowed,
            reason: access.reason,
            limit: access.limit,
            used: access.used,
            remaining: access.remaining,
            cost_so_far: None,
            currency: None,
        }
    }

    /// This view with the cost so far of its usage on `plan_id`, when that plan prices it.
    pub(crate) fn priced(mut self, catalog: &PlanCatalog, plan_id: &str) -> Self {
        if let Some(cost) = cost_so_far(catalog, plan_id, &self.feature, self.used) {
            self.cost_so_far = Some(cost.cost_so_far);
            self.currency = Some(cost.currency);
        }
        self
    }
}
