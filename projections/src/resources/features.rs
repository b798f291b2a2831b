//! SPEC 6's feature list of an account, rendered from its Entitlements aggregate by the domain's
//! one access rule: the same answer the Feature Access View gives from its rows.

use std::collections::BTreeSet;

use domain::entitlements::Entitlements;
use domain::{FeatureKey, PlanCatalog};
use serde::Serialize;

use crate::feature_access::FeatureAccessView;

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct FeatureList {
    pub items: Vec<FeatureAccessView>,
    /// Every feature of the plan fits in one page.
    pub next_cursor: Option<String>,
}

impl FeatureList {
    /// One page of `items`.
    pub fn of(items: Vec<FeatureAccessView>) -> Self {
        Self {
            items,
            next_cursor: None,
        }
    }

    /// Every feature of the account's plan, and any other with usage this period, in key order,
    /// each with the cost so far at the plan's usage prices; `None` before its entitlements were
    /// enabled.
    pub fn of_entitlements(entitlements: &Entitlements, catalog: &PlanCatalog) -> Option<Self> {
        let listed: BTreeSet<_> = entitlements
            .features()
            .iter()
            .chain(entitlements.used_features())
            .collect();
        let items = listed
            .into_iter()
            .map(|feature| FeatureAccessView::of_entitlements(entitlements, feature, catalog))
            .collect::<Option<_>>()?;
        Some(Self::of(items))
    }
}

impl FeatureAccessView {
    /// Access to `feature` as the Feature Access View answers it, decided on the aggregate by the
    /// same rule and priced the same way; `None` before the entitlements were enabled.
    pub fn of_entitlements(
        entitlements: &Entitlements,
        feature: &FeatureKey,
        catalog: &PlanCatalog,
    ) -> Option<Self> {
        let account_id = entitlements.account_id()?;
        let access = entitlements.access(feature);
        let view = Self::of(account_id.as_str(), feature.as_str(), access);
        Some(view.priced(catalog, entitlements.plan_id()?.as_str()))
    }
}
