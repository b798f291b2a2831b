//! Seats and overage billing. Seats beyond the plan's limit need overage billing; overage seats
//! added mid-period accrue a prorated item for the next invoice. Removing seats credits nothing
//! (Stripe's behaviour without proration credits): the period was already paid for.

use super::invoicing::{overage_seats, seat_proration_item};
use super::{Context, SubscriptionEvent, SubscriptionRule, SubscriptionState};
use crate::catalog::Plan;
use crate::error::DomainError;
use crate::values::SeatCount;

type Events = Result<Vec<SubscriptionEvent>, DomainError>;

impl SubscriptionState {
    pub(super) fn add_seats(&self, count: SeatCount, ctx: &Context<'_>) -> Events {
        let plan = ctx.plan(&self.plan_id)?;
        let seats = self.seats.checked_add(count)?;
        let limit = self.seat_ceiling(plan, ctx)?;
        if seats.get() > limit && !self.overage_billing {
            return Err(SubscriptionRule::SeatLimitExceeded {
                limit,
                requested: seats.get(),
            }
            .into());
        }
        // Trial seats are free; in a paid period only seats that newly go over the limit cost.
        let pending_item = match self.current_period {
            Some(period) if self.is_billing() => {
                let added =
                    overage_seats(plan, seats).saturating_sub(overage_seats(plan, self.seats));
                seat_proration_item(plan, &period, added, ctx.now)?
            }
            _ => None,
        };
        Ok(vec![SubscriptionEvent::SeatsAdded {
            account_id: self.account_id.clone(),
            count,
            seats,
            pending_item,
            at: ctx.now,
        }])
    }

    pub(super) fn remove_seats(&self, count: SeatCount, ctx: &Context<'_>) -> Events {
        let seats = self
            .seats
            .checked_sub(count)
            .ok_or(SubscriptionRule::SeatsBelowMinimum {
                seats: self.seats.get(),
                removing: count.get(),
            })?;
        Ok(vec![SubscriptionEvent::SeatsRemoved {
            account_id: self.account_id.clone(),
            count,
            seats,
            at: ctx.now,
        }])
    }

    pub(super) fn set_overage_billing(&self, enabled: bool, ctx: &Context<'_>) -> Events {
        if enabled == self.overage_billing {
            return Ok(Vec::new());
        }
        if !enabled {
            let limit = self.seat_ceiling(ctx.plan(&self.plan_id)?, ctx)?;
            if self.seats.get() > limit {
                return Err(SubscriptionRule::OverageBillingInUse {
                    seats: self.seats.get(),
                    limit,
                }
                .into());
            }
        }
        Ok(vec![SubscriptionEvent::OverageBillingSet {
            account_id: self.account_id.clone(),
            enabled,
            at: ctx.now,
        }])
    }

    /// The seats covered without overage billing: the plan's limit, or the scheduled downgrade's
    /// when lower, so that the downgrade never lands on more seats than overage billing allows.
    fn seat_ceiling(&self, plan: &Plan, ctx: &Context<'_>) -> Result<u32, DomainError> {
        match &self.scheduled_change {
            Some(change) => Ok(plan.seat_limit.min(ctx.plan(&change.plan_id)?.seat_limit)),
            None => Ok(plan.seat_limit),
        }
    }
}
