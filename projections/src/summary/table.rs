//! The `account_summaries` table: loading the rows a batch touches, writing them back in
//! multi-row upserts, and the reads behind the summary query.

use std::collections::{BTreeMap, BTreeSet};

use infrastructure::portable::{query, Pool, Tx, Value};

use super::row::SummaryRow;

const COLUMNS: &str = "account_id, subscription_id, plan_id, status, currency, trial_ends_at, \
    current_period_start, current_period_end, seat_count, seat_limit, overage_billing, \
    cancel_at_period_end, scheduled_plan_id, scheduled_effective_at, entitlement_status, \
    entitlement_features, balance_due_amount, balance_due_currency, overpaid_held_amount, \
    overpaid_refunded_amount, in_dunning, dunning_case_id, discount";

const ON_CONFLICT: &str = "ON CONFLICT (account_id) DO UPDATE SET \
    subscription_id = excluded.subscription_id, plan_id = excluded.plan_id, \
    status = excluded.status, currency = excluded.currency, \
    trial_ends_at = excluded.trial_ends_at, \
    current_period_start = excluded.current_period_start, \
    current_period_end = excluded.current_period_end, \
    seat_count = excluded.seat_count, seat_limit = excluded.seat_limit, \
    overage_billing = excluded.overage_billing, \
    cancel_at_period_end = excluded.cancel_at_period_end, \
    scheduled_plan_id = excluded.scheduled_plan_id, \
    scheduled_effective_at = excluded.scheduled_effective_at, \
    entitlement_status = excluded.entitlement_status, \
    entitlement_features = excluded.entitlement_features, \
    balance_due_amount = excluded.balance_due_amount, \
    balance_due_currency = excluded.balance_due_currency, \
    overpaid_held_amount = excluded.overpaid_held_amount, \
    overpaid_refunded_amount = excluded.overpaid_refunded_amount, \
    in_dunning = excluded.in_dunning, dunning_case_id = excluded.dunning_case_id, \
    discount = excluded.discount";

/// The stored rows of `accounts`, by account id.
pub(super) async fn load(
    tx: &mut Tx,
    accounts: &BTreeSet<String>,
) -> Result<BTreeMap<String, SummaryRow>, sqlx::Error> {
    let keys: Vec<String> = accounts.iter().cloned().collect();
    let select = format!("SELECT {COLUMNS} FROM account_summaries WHERE account_id IN");
    let rows: Vec<SummaryRow> = tx.fetch_in(&select, &keys).await?;
    Ok(rows
        .into_iter()
        .map(|row| (row.account_id.clone(), row))
        .collect())
}

pub(super) async fn save(tx: &mut Tx, rows: Vec<SummaryRow>) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let insert = format!("INSERT INTO account_summaries ({COLUMNS})");
    tx.upsert(&insert, ON_CONFLICT, rows.into_iter().map(params).collect())
        .await
}

fn params(row: SummaryRow) -> Vec<Value<'static>> {
    vec![
        row.account_id.into(),
        row.subscription_id.into(),
        row.plan_id.into(),
        row.status.into(),
        row.currency.into(),
        row.trial_ends_at.into(),
        row.current_period_start.into(),
        row.current_period_end.into(),
        row.seat_count.into(),
        row.seat_limit.into(),
        row.overage_billing.into(),
        row.cancel_at_period_end.into(),
        row.scheduled_plan_id.into(),
        row.scheduled_effective_at.into(),
        row.entitlement_status.into(),
        row.entitlement_features.into(),
        row.balance_due_amount.into(),
        row.balance_due_currency.into(),
        row.overpaid_held_amount.into(),
        row.overpaid_refunded_amount.into(),
        row.in_dunning.into(),
        row.dunning_case_id.into(),
        row.discount.into(),
    ]
}

pub(super) async fn find(pool: &Pool, account_id: &str) -> Result<Option<SummaryRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM account_summaries WHERE account_id = $1");
    query(&sql).bind(account_id).fetch_optional_as(pool).await
}

/// Every row, by account id: for audit verification and rebuild comparisons, not for requests.
pub(super) async fn all(pool: &Pool) -> Result<Vec<SummaryRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM account_summaries ORDER BY account_id");
    query(&sql).fetch_all_as(pool).await
}
