//! The `coupons` table: loading the coupons a batch touches, writing them back in multi-row
//! upserts, and the page behind the list.

use std::collections::{BTreeMap, BTreeSet};

use infrastructure::portable::{query, Pool, Tx, Value};

use super::row::CouponRow;

const COLUMNS: &str = "coupon_id, terms, times_redeemed, created_at, archived_at, position";

/// Only what events after the creation change.
const ON_CONFLICT: &str = "ON CONFLICT (coupon_id) DO UPDATE SET \
    times_redeemed = excluded.times_redeemed, archived_at = excluded.archived_at";

/// The stored rows of `coupons`, by coupon id.
pub(super) async fn load(
    tx: &mut Tx,
    coupons: &BTreeSet<String>,
) -> Result<BTreeMap<String, CouponRow>, sqlx::Error> {
    let keys: Vec<String> = coupons.iter().cloned().collect();
    let select = format!("SELECT {COLUMNS} FROM coupons WHERE coupon_id IN");
    let rows: Vec<CouponRow> = tx.fetch_in(&select, &keys).await?;
    Ok(rows
        .into_iter()
        .map(|row| (row.coupon_id.clone(), row))
        .collect())
}

pub(super) async fn save(tx: &mut Tx, rows: Vec<CouponRow>) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let insert = format!("INSERT INTO coupons ({COLUMNS})");
    tx.upsert(&insert, ON_CONFLICT, rows.into_iter().map(params).collect())
        .await
}

fn params(row: CouponRow) -> Vec<Value<'static>> {
    vec![
        row.coupon_id.into(),
        row.terms.into(),
        row.times_redeemed.into(),
        row.created_at.into(),
        row.archived_at.into(),
        row.position.into(),
    ]
}

/// Up to `limit` coupons created after position `after`, oldest first.
pub(super) async fn page(
    pool: &Pool,
    after: i64,
    limit: i64,
) -> Result<Vec<CouponRow>, sqlx::Error> {
    let sql =
        format!("SELECT {COLUMNS} FROM coupons WHERE position > $1 ORDER BY position LIMIT $2");
    query(&sql).bind(after).bind(limit).fetch_all_as(pool).await
}

/// Every row, by coupon id: for audit verification and rebuild comparisons, not for requests.
pub(super) async fn all(pool: &Pool) -> Result<Vec<CouponRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM coupons ORDER BY coupon_id");
    query(&sql).fetch_all_as(pool).await
}
