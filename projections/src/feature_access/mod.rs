//! Feature Access View (SPEC 5), on the product's hot path: "may account X use feature F now?",
//! answered from stored inputs by the domain's own rule, `FeatureAccess::decide`.
//!
//! Listens to: `entitlements` events.
//! Keeps: `feature_access_accounts` (standing, plan, usage period) and `feature_access` (per
//! feature: granted now, limit, used this period).
//! Writes: per batch, loads the rows of the accounts the batch touches, folds the events into
//! them in memory and upserts the rows that changed.

mod cache;
mod cost;
mod row;
mod table;
mod view;

use application::event_log::StoredEvent;
use domain::{AccountId, FeatureKey, PlanCatalog};

use crate::event::{AccountEvent, BillingEvent, ENTITLEMENTS};
use infrastructure::consumers::ProjectionError;
use infrastructure::consumers::Projector;
use infrastructure::portable::{Pool, Tx};

pub use cache::{AccessCache, Consistency};
pub use cost::UsageSoFarView;
pub use row::{AccessAccountRow, FeatureRow};
pub use view::FeatureAccessView;

/// The projector of the Feature Access View.
#[derive(Debug, Default)]
pub struct FeatureAccessProjector;

impl FeatureAccessProjector {
    pub const NAME: &'static str = "feature_access";
}

/// The tables this projector owns.
pub const TABLES: [&str; 2] = ["feature_access_accounts", "feature_access"];

impl Projector for FeatureAccessProjector {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn listens_to(&self) -> &'static [&'static str] {
        &[ENTITLEMENTS]
    }

    fn tables(&self) -> &'static [&'static str] {
        &TABLES
    }

    /// Entitlements streams are keyed by account id, as the rows are.
    fn change_topic(&self) -> Option<&'static str> {
        Some(Self::NAME)
    }

    async fn apply_batch(
        &self,
        tx: &mut Tx,
        events: &[StoredEvent],
    ) -> Result<(), ProjectionError> {
        let events = AccountEvent::decode_all(events)?;
        let accounts = AccountEvent::accounts(&events);
        let mut stored = table::load(tx, &accounts).await?;
        let mut folded = stored.clone();
        for event in &events {
            if let BillingEvent::Entitlements { event: change, .. } = &event.event {
                folded
                    .entry(event.account_id.clone())
                    .or_default()
                    .apply(&event.account_id, change);
            }
        }
        let (mut changed_accounts, mut changed_features) = (Vec::new(), Vec::new());
        for (account_id, after) in folded {
            let before = stored.remove(&account_id).unwrap_or_default();
            if after.account != before.account {
                changed_accounts.extend(after.account);
            }
            changed_features.extend(
                after
                    .features
                    .into_values()
                    .filter(|row| before.features.get(&row.feature) != Some(row)),
            );
        }
        table::save(tx, changed_accounts, changed_features).await?;
        Ok(())
    }
}

/// May `account_id` use `feature` now? `None` when the account's entitlements were never
/// enabled (no such account, as far as access goes).
pub async fn access(
    cache: &AccessCache,
    catalog: &PlanCatalog,
    account_id: &AccountId,
    feature: &FeatureKey,
    consistency: Consistency,
) -> Result<Option<FeatureAccessView>, ProjectionError> {
    let Some(rows) = cache.rows(account_id.as_str(), consistency).await? else {
        return Ok(None);
    };
    let row = rows
        .features
        .iter()
        .find(|row| row.feature == feature.as_str());
    let view = FeatureAccessView::decide(account_id.as_str(), feature.as_str(), &rows.status, row)?;
    Ok(Some(view.priced(catalog, &rows.plan_id)))
}

/// Access to every feature the account's plan grants, and to any other with usage this period,
/// in key order. `None` when the account's entitlements were never enabled.
pub async fn all_access(
    cache: &AccessCache,
    catalog: &PlanCatalog,
    account_id: &AccountId,
    consistency: Consistency,
) -> Result<Option<Vec<FeatureAccessView>>, ProjectionError> {
    let Some(rows) = cache.rows(account_id.as_str(), consistency).await? else {
        return Ok(None);
    };
    rows.features
        .iter()
        .filter(|row| row.in_plan || row.used > 0)
        .map(|row| {
            FeatureAccessView::decide(account_id.as_str(), &row.feature, &rows.status, Some(row))
                .map(|view| view.priced(catalog, &rows.plan_id))
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// The account's priced features with their usage this period and its cost so far; empty when
/// its entitlements were never enabled.
pub async fn usage_so_far(
    cache: &AccessCache,
    catalog: &PlanCatalog,
    account_id: &AccountId,
) -> Result<Vec<UsageSoFarView>, ProjectionError> {
    let rows = cache
        .rows(account_id.as_str(), Consistency::Eventual)
        .await?;
    Ok(rows.map_or_else(Vec::new, |rows| cost::usage_so_far(catalog, &rows)))
}

/// Every stored row, by key: for audit verification and rebuild comparisons.
pub async fn all_rows(
    pool: &Pool,
) -> Result<(Vec<AccessAccountRow>, Vec<FeatureRow>), ProjectionError> {
    Ok(table::all(pool).await?)
}
