//! The `dunning_queue_cases` table: loading the cases a batch touches, writing them back in
//! multi-row upserts, and the sorted, filtered reads behind the queue.

use std::collections::{BTreeMap, BTreeSet};

use infrastructure::portable::{query, Pool, Tx, Value};

use super::row::QueueRow;
use super::view::{QueueCursor, QueueSort};

const COLUMNS: &str = "case_id, account_id, subscription_id, invoice_id, amount_due, currency, \
    status, stage, started_at, started_micros, window_expires_at, cancel_at, retry_schedule, \
    last_failure_reason, assigned_agent";

/// Only what events change; the rest is written once, by `DunningStarted`.
const ON_CONFLICT: &str = "ON CONFLICT (case_id) DO UPDATE SET \
    status = excluded.status, stage = excluded.stage, \
    window_expires_at = excluded.window_expires_at, retry_schedule = excluded.retry_schedule, \
    last_failure_reason = excluded.last_failure_reason, assigned_agent = excluded.assigned_agent";

/// The cases that need support: open, and escalated or suspended. (The case escalates itself
/// when its last scheduled retry fails, so "every retry failed" is the escalated stage.)
const IN_QUEUE: &str = "status = 'open' AND stage IN ('escalated', 'suspended')";

/// The stored rows of `cases`, by case id.
pub(super) async fn load(
    tx: &mut Tx,
    cases: &BTreeSet<String>,
) -> Result<BTreeMap<String, QueueRow>, sqlx::Error> {
    let keys: Vec<String> = cases.iter().cloned().collect();
    let select = format!("SELECT {COLUMNS} FROM dunning_queue_cases WHERE case_id IN");
    let rows: Vec<QueueRow> = tx.fetch_in(&select, &keys).await?;
    Ok(rows
        .into_iter()
        .map(|row| (row.case_id.clone(), row))
        .collect())
}

pub(super) async fn save(tx: &mut Tx, rows: Vec<QueueRow>) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let insert = format!("INSERT INTO dunning_queue_cases ({COLUMNS})");
    tx.upsert(&insert, ON_CONFLICT, rows.into_iter().map(params).collect())
        .await
}

fn params(row: QueueRow) -> Vec<Value<'static>> {
    vec![
        row.case_id.into(),
        row.account_id.into(),
        row.subscription_id.into(),
        row.invoice_id.into(),
        row.amount_due.into(),
        row.currency.into(),
        row.status.into(),
        row.stage.into(),
        row.started_at.into(),
        row.started_micros.into(),
        row.window_expires_at.into(),
        row.cancel_at.into(),
        row.retry_schedule.into(),
        row.last_failure_reason.into(),
        row.assigned_agent.into(),
    ]
}

/// Up to `limit` queued cases in `sort` order after `cursor`, at `stage` when one is given.
pub(super) async fn page(
    pool: &Pool,
    stage: Option<&str>,
    sort: QueueSort,
    cursor: Option<&QueueCursor>,
    limit: i64,
) -> Result<Vec<QueueRow>, sqlx::Error> {
    let mut sql = format!("SELECT {COLUMNS} FROM dunning_queue_cases WHERE {IN_QUEUE}");
    let mut params: Vec<Value> = Vec::new();
    if let Some(stage) = stage {
        sql += &format!(" AND stage = {}", bind(&mut params, stage.into()));
    }
    // Amount: largest first; age: oldest first; ties by case id either way.
    let (key, order, direction) = match sort {
        QueueSort::Amount => ("amount_due", "<", "DESC"),
        QueueSort::Age => ("started_micros", ">", "ASC"),
    };
    if let Some(cursor) = cursor {
        let past = bind(&mut params, cursor.key.into());
        let equal = bind(&mut params, cursor.key.into());
        let case = bind(&mut params, cursor.case_id.to_string().into());
        sql += &format!(" AND ({key} {order} {past} OR ({key} = {equal} AND case_id > {case}))");
    }
    let limit = bind(&mut params, limit.into());
    sql += &format!(" ORDER BY {key} {direction}, case_id LIMIT {limit}");
    query(&sql).bind_all(params).fetch_all_as(pool).await
}

/// Adds `value` to `params` and answers its placeholder. Each placeholder is bound once and
/// numbered in order of appearance, which SQLite's `$n` binding needs.
fn bind<'a>(params: &mut Vec<Value<'a>>, value: Value<'a>) -> String {
    params.push(value);
    format!("${}", params.len())
}

/// Every stored case, by case id: for audit verification and rebuild comparisons.
pub(super) async fn all(pool: &Pool) -> Result<Vec<QueueRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM dunning_queue_cases ORDER BY case_id");
    query(&sql).fetch_all_as(pool).await
}
