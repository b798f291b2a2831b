//! Coupons (SPEC 11.3), for `GET /v1/coupons`: every coupon with its terms and how often it was
//! redeemed, oldest first. One coupon is read from its own stream; this is the list.
//!
//! Listens to: `coupon` events.
//! Keeps: `coupons`, one row per coupon (see [`CouponRow`]).
//! Writes: per batch, loads the rows of the coupons the batch touches, folds the events into
//! them in memory and upserts the rows that changed.

mod row;
mod table;

use std::collections::BTreeMap;

use application::event_log::StoredEvent;
use chrono::{DateTime, Utc};
use domain::coupon::CouponEvent;

use crate::event::{event_error, payload, COUPON};
use crate::page::{self, PositionCursor};
use crate::resources::CouponView;
use infrastructure::consumers::{ProjectionError, Projector};
use infrastructure::portable::{Pool, Tx};

pub use row::CouponRow;

/// Every table this projector owns (for rebuild and verification).
pub const TABLES: &[&str] = &["coupons"];

/// The projector of the coupon list.
#[derive(Debug, Default)]
pub struct CouponsProjector;

impl CouponsProjector {
    pub const NAME: &'static str = "coupons";
}

impl Projector for CouponsProjector {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn tables(&self) -> &'static [&'static str] {
        TABLES
    }

    fn listens_to(&self) -> &'static [&'static str] {
        &[COUPON]
    }

    async fn apply_batch(
        &self,
        tx: &mut Tx,
        events: &[StoredEvent],
    ) -> Result<(), ProjectionError> {
        let coupons = events
            .iter()
            .filter(|stored| stored.aggregate_type == COUPON)
            .map(|stored| stored.aggregate_id.clone())
            .collect();
        let stored_rows = table::load(tx, &coupons).await?;
        let mut rows: BTreeMap<String, CouponRow> = stored_rows.clone();
        for stored in events.iter().filter(|s| s.aggregate_type == COUPON) {
            let event: CouponEvent = payload(stored)?;
            let id = &stored.aggregate_id;
            match (
                CouponRow::created(stored.position, &event),
                rows.get_mut(id),
            ) {
                (Some(row), None) => {
                    rows.insert(id.clone(), row.map_err(|e| event_error(stored, e))?);
                }
                (None, Some(row)) => row.apply(&event),
                (Some(_), Some(_)) => {
                    return Err(event_error(stored, "the coupon was already created".into()))
                }
                (None, None) => {
                    return Err(event_error(stored, "no CouponCreated precedes it".into()))
                }
            }
        }
        let changed = rows
            .into_values()
            .filter(|row| stored_rows.get(&row.coupon_id) != Some(row))
            .collect();
        table::save(tx, changed).await?;
        Ok(())
    }
}

/// Up to `limit` coupons, oldest first, after `cursor`, as they stand at `now`.
pub async fn page(
    pool: &Pool,
    limit: u32,
    cursor: Option<PositionCursor>,
    now: DateTime<Utc>,
) -> Result<(Vec<CouponView>, Option<String>), ProjectionError> {
    let after = cursor.map_or(0, PositionCursor::position);
    let rows = table::page(pool, after, page::rows_to_fetch(limit)).await?;
    page::split(
        rows,
        limit,
        |row| Ok(row.position.to_string()),
        |row| row.view(now),
    )
}

/// Every stored coupon, by id: for audit verification and rebuild comparisons.
pub async fn all_rows(pool: &Pool) -> Result<Vec<CouponRow>, ProjectionError> {
    Ok(table::all(pool).await?)
}
