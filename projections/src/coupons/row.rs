//! One coupon's row and how each event changes it: the fold of the Coupon aggregate's `apply`,
//! in column form.

use domain::coupon::{CouponEvent, CouponId, CouponTerms};

use crate::columns::{parse_timestamp, timestamp};
use crate::resources::CouponView;
use chrono::{DateTime, Utc};
use infrastructure::consumers::ProjectionError;

/// The `coupons` row of one coupon.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CouponRow {
    pub coupon_id: String,
    /// The coupon's terms, as the domain serialises them (JSON).
    pub terms: String,
    pub times_redeemed: i64,
    pub created_at: String,
    pub archived_at: Option<String>,
    /// The position of `CouponCreated`: the list's order and its page cursor.
    pub position: i64,
}

impl CouponRow {
    /// The row `CouponCreated` at `position` creates; `None` for any other event.
    pub fn created(position: i64, event: &CouponEvent) -> Option<Result<Self, String>> {
        let CouponEvent::CouponCreated {
            coupon_id,
            terms,
            at,
        } = event
        else {
            return None;
        };
        Some(
            serde_json::to_string(terms)
                .map_err(|e| e.to_string())
                .map(|terms| Self {
                    coupon_id: coupon_id.to_string(),
                    terms,
                    times_redeemed: 0,
                    created_at: timestamp(*at),
                    archived_at: None,
                    position,
                }),
        )
    }

    pub fn apply(&mut self, event: &CouponEvent) {
        match event {
            CouponEvent::CouponCreated { .. } => {}
            CouponEvent::CouponRedeemed { redemptions, .. } => {
                self.times_redeemed = i64::from(*redemptions)
            }
            CouponEvent::CouponArchived { at } => self.archived_at = Some(timestamp(*at)),
        }
    }

    /// The coupon as the API shows it at `now`.
    pub fn view(self, now: DateTime<Utc>) -> Result<CouponView, ProjectionError> {
        let corrupt =
            |what: String| ProjectionError::Corrupt(format!("coupon {}: {what}", self.coupon_id));
        let id = CouponId::parse(&self.coupon_id).map_err(|e| corrupt(e.to_string()))?;
        let terms: CouponTerms =
            serde_json::from_str(&self.terms).map_err(|e| corrupt(e.to_string()))?;
        let times_redeemed =
            u32::try_from(self.times_redeemed).map_err(|e| corrupt(e.to_string()))?;
        Ok(CouponView::new(
            &id,
            &terms,
            times_redeemed,
            parse_timestamp(&self.created_at)?,
            self.archived_at.is_some(),
            now,
        ))
    }
}
