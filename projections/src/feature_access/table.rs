//! The `feature_access_accounts` and `feature_access` tables: loading the rows a batch touches,
//! writing them back in multi-row upserts, and the reads behind the access queries.

use std::collections::{BTreeMap, BTreeSet};

use infrastructure::portable::{query, Pool, Tx, Value};

use super::row::{AccessAccountRow, AccountAccess, FeatureRow};

const ACCOUNT_COLUMNS: &str = "account_id, status, plan_id, period_start, period_end";
const FEATURE_COLUMNS: &str = "account_id, feature, in_plan, limit_units, used";

/// The stored rows of `accounts`, by account id (an account without rows maps to the default).
pub(super) async fn load(
    tx: &mut Tx,
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
    tx: &mut Tx,
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
            .map(|row| -> Vec<Value<'static>> {
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

/// An account's standing and every feature row it has: what access to any of its features
/// depends on.
#[derive(Debug, Clone)]
pub(super) struct AccountRows {
    pub status: String,
    pub plan_id: String,
    /// In key order.
    pub features: Vec<FeatureRow>,
}

/// One row per feature, or one with a null feature for an account without any.
#[derive(Debug, sqlx::FromRow)]
struct JoinedRow {
    status: String,
    plan_id: String,
    feature: Option<String>,
    in_plan: Option<bool>,
    limit_units: Option<i64>,
    used: Option<i64>,
}

/// The stored rows of one account, in one statement.
pub(super) async fn account_rows(
    pool: &Pool,
    account_id: &str,
) -> Result<Option<AccountRows>, sqlx::Error> {
    let joined: Vec<JoinedRow> = query(
        "SELECT a.status, a.plan_id, f.feature, f.in_plan, f.limit_units, f.used
           FROM feature_access_accounts a
           LEFT JOIN feature_access f ON f.account_id = a.account_id
          WHERE a.account_id = $1
          ORDER BY f.feature",
    )
    .bind(account_id)
    .fetch_all_as(pool)
    .await?;
    let Some((status, plan_id)) = joined
        .first()
        .map(|row| (row.status.clone(), row.plan_id.clone()))
    else {
        return Ok(None);
    };
    let features = joined
        .into_iter()
        .filter_map(|row| {
            Some(FeatureRow {
                account_id: account_id.to_owned(),
                feature: row.feature?,
                in_plan: row.in_plan.unwrap_or(false),
                limit_units: row.limit_units,
                used: row.used.unwrap_or(0),
            })
        })
        .collect();
    Ok(Some(AccountRows {
        status,
        plan_id,
        features,
    }))
}

/// Every stored row, by key: for audit verification and rebuild comparisons.
pub(super) async fn all(
    pool: &Pool,
) -> Result<(Vec<AccessAccountRow>, Vec<FeatureRow>), sqlx::Error> {
    let accounts = query(&format!(
        "SELECT {ACCOUNT_COLUMNS} FROM feature_access_accounts ORDER BY account_id"
    ))
    .fetch_all_as(pool)
    .await?;
    let features = query(&format!(
        "SELECT {FEATURE_COLUMNS} FROM feature_access ORDER BY account_id, feature"
    ))
    .fetch_all_as(pool)
    .await?;
    Ok((accounts, features))
}
