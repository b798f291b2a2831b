//! The Coupon aggregate (SPEC 11.3): a discount operators create once and subscriptions redeem.
//! Each redemption is a command on the coupon's own stream, so optimistic concurrency decides
//! between two requests racing for its last redemption: one wins, the other is refused.
//! What a redeemed coupon takes off each invoice is the subscription's business (its
//! `discount`), computed by [`Discount::line_for`].

mod discount;
mod rules;
mod terms;

#[cfg(test)]
mod tests;

use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::DomainError;
use crate::money::Currency;
use crate::services::BillingServices;
use crate::values::PlanId;

pub use discount::Discount;
pub use rules::CouponRule;
pub use terms::{BasisPoints, CouponDuration, CouponId, CouponTerms, Reduction};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CouponCommand {
    CreateCoupon {
        coupon_id: CouponId,
        terms: CouponTerms,
    },
    /// A subscription on `plan_id`, billed in `currency`, takes the coupon.
    RedeemCoupon {
        subscription_id: Uuid,
        plan_id: PlanId,
        currency: Currency,
    },
    /// No more redemptions; the discounts already redeemed run their course.
    ArchiveCoupon,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CouponEvent {
    CouponCreated {
        coupon_id: CouponId,
        terms: CouponTerms,
        at: DateTime<Utc>,
    },
    CouponRedeemed {
        subscription_id: Uuid,
        /// How many times the coupon has been redeemed, this one included.
        redemptions: u32,
        at: DateTime<Utc>,
    },
    CouponArchived {
        at: DateTime<Utc>,
    },
}

impl DomainEvent for CouponEvent {
    fn event_type(&self) -> String {
        match self {
            CouponEvent::CouponCreated { .. } => "CouponCreated",
            CouponEvent::CouponRedeemed { .. } => "CouponRedeemed",
            CouponEvent::CouponArchived { .. } => "CouponArchived",
        }
        .to_owned()
    }

    fn event_version(&self) -> String {
        crate::EVENT_VERSION_1.to_owned()
    }
}

/// The aggregate: `None` until created.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coupon {
    state: Option<CouponState>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct CouponState {
    coupon_id: CouponId,
    terms: CouponTerms,
    created_at: DateTime<Utc>,
    redemptions: u32,
    archived_at: Option<DateTime<Utc>>,
}

impl Coupon {
    pub fn coupon_id(&self) -> Option<&CouponId> {
        self.state.as_ref().map(|s| &s.coupon_id)
    }

    pub fn terms(&self) -> Option<&CouponTerms> {
        self.state.as_ref().map(|s| &s.terms)
    }

    pub fn created_at(&self) -> Option<DateTime<Utc>> {
        self.state.as_ref().map(|s| s.created_at)
    }

    pub fn redemptions(&self) -> u32 {
        self.state.as_ref().map_or(0, |s| s.redemptions)
    }

    pub fn archived_at(&self) -> Option<DateTime<Utc>> {
        self.state.as_ref().and_then(|s| s.archived_at)
    }

    /// What a subscription that redeemed the coupon takes off its invoices.
    pub fn discount(&self) -> Option<Discount> {
        self.state.as_ref().map(|s| Discount {
            coupon_id: s.coupon_id.clone(),
            reduction: s.terms.reduction.clone(),
        })
    }

    fn decide(
        &self,
        command: CouponCommand,
        services: &BillingServices,
    ) -> Result<Vec<CouponEvent>, DomainError> {
        let now = services.clock.now();
        let Some(state) = &self.state else {
            return match command {
                CouponCommand::CreateCoupon { coupon_id, terms } => {
                    terms.check(services.catalog.as_ref(), now)?;
                    Ok(vec![CouponEvent::CouponCreated {
                        coupon_id,
                        terms,
                        at: now,
                    }])
                }
                _ => Err(DomainError::NotFound {
                    aggregate: Self::TYPE,
                }),
            };
        };
        match command {
            CouponCommand::CreateCoupon { .. } => Err(CouponRule::AlreadyExists.into()),
            CouponCommand::RedeemCoupon {
                subscription_id,
                plan_id,
                currency,
            } => {
                state.check_redeemable(&plan_id, &currency, now)?;
                Ok(vec![CouponEvent::CouponRedeemed {
                    subscription_id,
                    redemptions: state.redemptions + 1,
                    at: now,
                }])
            }
            CouponCommand::ArchiveCoupon if state.archived_at.is_some() => Ok(Vec::new()),
            CouponCommand::ArchiveCoupon => Ok(vec![CouponEvent::CouponArchived { at: now }]),
        }
    }
}

impl CouponState {
    fn check_redeemable(
        &self,
        plan_id: &PlanId,
        currency: &Currency,
        now: DateTime<Utc>,
    ) -> Result<(), CouponRule> {
        let terms = &self.terms;
        if self.archived_at.is_some() {
            return Err(CouponRule::Archived);
        }
        if let Some(redeem_by) = terms.redeem_by.filter(|by| now > *by) {
            return Err(CouponRule::RedeemByPassed { redeem_by });
        }
        if let Some(max) = terms.max_redemptions.filter(|max| self.redemptions >= *max) {
            return Err(CouponRule::RedemptionsExhausted {
                max_redemptions: max,
            });
        }
        if let Some(plans) = &terms.applies_to_plans {
            if !plans.contains(plan_id) {
                return Err(CouponRule::PlanNotEligible {
                    plan_id: plan_id.clone(),
                });
            }
        }
        if let Reduction::AmountOff(amount) = &terms.reduction {
            if &amount.currency != currency {
                return Err(CouponRule::CurrencyMismatch {
                    coupon: amount.currency.clone(),
                    subscription: currency.clone(),
                });
            }
        }
        Ok(())
    }
}

impl Aggregate for Coupon {
    const TYPE: &'static str = "coupon";
    type Command = CouponCommand;
    type Event = CouponEvent;
    type Error = DomainError;
    type Services = BillingServices;

    async fn handle(
        &mut self,
        command: CouponCommand,
        services: &BillingServices,
        sink: &EventSink<Self>,
    ) -> Result<(), DomainError> {
        let decided = self.decide(command, services);
        crate::decided::write(self, sink, decided).await
    }

    fn apply(&mut self, event: CouponEvent) {
        match event {
            CouponEvent::CouponCreated {
                coupon_id,
                terms,
                at,
            } => {
                self.state = Some(CouponState {
                    coupon_id,
                    terms,
                    created_at: at,
                    redemptions: 0,
                    archived_at: None,
                })
            }
            CouponEvent::CouponRedeemed { redemptions, .. } => {
                if let Some(state) = self.state.as_mut() {
                    state.redemptions = redemptions;
                }
            }
            CouponEvent::CouponArchived { at } => {
                if let Some(state) = self.state.as_mut() {
                    state.archived_at = Some(at);
                }
            }
        }
    }
}
