//! Access to a feature as clients see it: SPEC section 6's "Feature access" resource, decided by
//! the domain's one access rule from the stored rows.

use domain::entitlements::{AccessReason, FeatureAccess};
use serde::Serialize;

use crate::columns::{parse_count, parse_entitlement_status};
use infrastructure::consumers::ProjectionError;

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
        }
    }
}
