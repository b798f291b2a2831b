//! The `feature_access_accounts` and `feature_access` tables: loading the rows a batch touches,
//! writing them back in multi-row upserts, and the reads behind the access queries.

use std::collections::{BTreeMap, BTreeSet};

use crate::sql::{Param, ProjectionTx, ReadPool};

use super::row::{AccessAccountRow, AccountAccess, FeatureRow};

const ACCOUNT_COLUMNS: &str = "account_id, status, plan_id, period_start, period_end";
const FEATURE_COLUMNS: &str = "account_id, feature, in_plan, limit_units, used";

/// The stored rows of `accounts`, by account id (an account without rows maps to the default).
pub(super) async fn load(
    tx: &mut ProjectionTx,
    accounts: &BTreeSet<String>,
) -> Result<BTreeMap<String, AccountAccess>, sqlx::Error> {
    let keys: Vec<String> = accounts.iter().cloned().collect();
    let select =
        format!("SELECT {ACCOUNT_COLUMNS} FROM feature_access_accounts WHERE account_id IN");
    let account_rows: Vec<AccessAccountRow> = tx.fetch_in(&select, &keys).await?;
    let select = format!("SELECT {FEATURE_COLUMNS} FROM feature_access WHERE account_id IN");
    let feature_rows: Vec<FeatureRow> = tx.fetch_in(&select, &keys).await?;

    let mut loaded: BTreeMap<String, AccountAccess> = keys
        .into_iter()
        .map(|account| (account, AccountAccess::default()))
        .collect();
    for row in account_rows {
        if let Some(access) = loaded.get_mut(&row.account_id) {
            access.account = Some(row);
        }
    }
    for row in feature_rows {
        if let Some(access) = loaded.get_mut(&row.account_id) {
            access.features.insert(row.feature.clone(), row);
        }
    }
    Ok(loaded)
}

/// Upserts the given rows. Rows are never deleted: a feature the plan stops granting keeps its
/// row with `in_plan` false.
pub(super) async fn save(
    tx: &mut ProjectionTx,
    accounts: Vec<AccessAccountRow>,
    features: Vec<FeatureRow>,
) -> Result<(), sqlx::Error> {
    if !accounts.is_empty() {
        let rows = accounts
            .into_iter()
            .map(|row| {
                vec![
                    row.account_id.into(),
                    row.status.into(),
                    row.plan_id.into(),
                    row.period_start.into(),
                    row.period_end.into(),
                ]
            })
            .collect();
        tx.upsert(
            &format!("INSERT INTO feature_access_accounts ({ACCOUNT_COLUMNS})"),
            "ON CONFLICT (account_id) DO UPDATE SET status = excluded.status, \
             plan_id = excluded.plan_id, period_start = excluded.period_start, \
             period_end = excluded.period_end",
            rows,
        )
        .await?;
    }
    if !features.is_empty() {
        let rows = features
            .into_iter()
            .map(|row| -> Vec<Param> {
                vec![
                    row.account_id.into(),
                    row.feature.into(),
                    row.in_plan.into(),
                    row.limit_units.into(),
                    row.used.into(),
                ]
            })
            .collect();
        tx.upsert(
            &format!("INSERT INTO feature_access ({FEATURE_COLUMNS})"),
            "ON CONFLICT (account_id, feature) DO UPDATE SET in_plan = excluded.in_plan, \
             limit_units = excluded.limit_units, used = excluded.used",
            rows,
        )
        .await?;
    }
    Ok(())
}

/// What access to one feature depends on. `in_plan` and the rest are null when the account has
/// no row for the feature (its plan never granted it).
#[derive(Debug, sqlx::FromRow)]
pub(super) struct AccessRow {
    pub status: String,
    pub feature: Option<String>,
    pub in_plan: Option<bool>,
    pub limit_units: Option<i64>,
    pub used: Option<i64>,
}

/// The access row of `feature`; `None` when the account's entitlements were never enabled.
pub(super) async fn find(
    pool: &ReadPool,
    account_id: &str,
    feature: &str,
) -> Result<Option<AccessRow>, sqlx::Error> {
    pool.fetch_optional(
        "SELECT a.status, f.feature, f.in_plan, f.limit_units, f.used
           FROM feature_access_accounts a
           LEFT JOIN feature_access f ON f.account_id = a.account_id AND f.feature = $2
          WHERE a.account_id = $1",
        &[account_id.into(), feature.into()],
    )
    .await
}

/// The features the plan grants or that have usage this period, in key order. No rows: the
/// account's entitlements were never enabled; one row without a feature: none to list.
pub(super) async fn listed(
    pool: &ReadPool,
    account_id: &str,
) -> Result<Vec<AccessRow>, sqlx::Error> {
    pool.fetch_all(
        "SELECT a.status, f.feature, f.in_plan, f.limit_units, f.used
           FROM feature_access_accounts a
           LEFT JOIN feature_access f
             ON f.account_id = a.account_id AND (f.in_plan OR f.used > 0)
          WHERE a.account_id = $1
          ORDER BY f.feature",
        &[account_id.into()],
    )
    .await
}

/// Every stored row, by key: for audit verification and rebuild comparisons.
pub(super) async fn all(
    pool: &ReadPool,
) -> Result<(Vec<AccessAccountRow>, Vec<FeatureRow>), sqlx::Error> {
    let accounts = pool
        .fetch_all(
            &format!("SELECT {ACCOUNT_COLUMNS} FROM feature_access_accounts ORDER BY account_id"),
            &[],
        )
        .await?;
    let features = pool
        .fetch_all(
            &format!("SELECT {FEATURE_COLUMNS} FROM feature_access ORDER BY account_id, feature"),
            &[],
        )
        .await?;
    Ok((accounts, features))
}
