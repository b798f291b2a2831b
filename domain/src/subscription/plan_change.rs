//! Changing plan. An upgrade (higher rank) applies at once with a prorated charge for the rest of
//! a paid period; a downgrade waits for the period end, or applies now when asked, crediting the
//! unused part of the old plan to the account's balance (SPEC 11.4). Neither may silently take
//! away features the customer has committed to. During a trial both apply at once: nothing has
//! been paid.

use std::collections::BTreeSet;

use super::discount::Billed;
use super::invoicing::{downgrade_credit, upgrade_proration_lines};
use super::{Context, SubscriptionEvent, SubscriptionRule, SubscriptionState, SubscriptionStatus};
use crate::catalog::Plan;
use crate::error::DomainError;
use crate::invoice::InvoiceLine;
use crate::money::Money;
use crate::values::{FeatureKey, PlanId};

type Events = Result<Vec<SubscriptionEvent>, DomainError>;

/// What a plan change asks besides the plan.
pub(super) struct Change<'a> {
    pub confirm_feature_removal: bool,
    /// Features with usage this period or an explicit commitment.
    pub committed_features: &'a BTreeSet<FeatureKey>,
    pub downgrade_now: bool,
}

impl SubscriptionState {
    pub(super) fn change_plan(
        &self,
        plan_id: &PlanId,
        change: Change<'_>,
        ctx: &Context<'_>,
    ) -> Events {
        let to = ctx.plan(plan_id)?;
        let from = ctx.plan(&self.plan_id)?;
        if to.id == from.id {
            return Err(SubscriptionRule::SamePlan {
                plan_id: to.id.clone(),
            }
            .into());
        }
        if to.currency != from.currency {
            return Err(SubscriptionRule::PlanCurrencyMismatch {
                from: from.currency.clone(),
                to: to.currency.clone(),
            }
            .into());
        }
        if to.interval != from.interval {
            return Err(SubscriptionRule::PlanIntervalMismatch {
                from: from.interval,
                to: to.interval,
            }
            .into());
        }
        if to.rank > from.rank {
            self.upgrade(from, to, ctx)
        } else {
            self.downgrade(from, to, change, ctx)
        }
    }

    fn upgrade(&self, from: &Plan, to: &Plan, ctx: &Context<'_>) -> Events {
        if self.seats.get() > to.seat_limit && !self.overage_billing {
            return Err(SubscriptionRule::SeatLimitExceeded {
                limit: to.seat_limit,
                requested: self.seats.get(),
            }
            .into());
        }
        let proration_lines = match self.current_period {
            Some(period) if self.is_billing() => {
                upgrade_proration_lines(from, to, &period, ctx.now)?
            }
            _ => Vec::new(),
        };
        self.plan_changed(from, to, proration_lines, None, ctx)
    }

    fn downgrade(&self, from: &Plan, to: &Plan, change: Change<'_>, ctx: &Context<'_>) -> Events {
        let scheduled = self
            .scheduled_change
            .as_ref()
            .is_some_and(|scheduled| scheduled.plan_id == to.id);
        if scheduled && !change.downgrade_now {
            return Ok(Vec::new());
        }
        let committed_features = change.committed_features;
        // BTreeSet order: the affected features come out sorted.
        let affected: Vec<FeatureKey> = from
            .features
            .difference(&to.features)
            .filter(|feature| committed_features.contains(*feature))
            .cloned()
            .collect();
        if !affected.is_empty() && !change.confirm_feature_removal {
            return Err(
                SubscriptionRule::CommittedFeaturesWouldBeRemoved { features: affected }.into(),
            );
        }
        if self.seats.get() > to.seat_limit && !self.overage_billing {
            return Err(SubscriptionRule::DowngradeSeatLimitBelowSeats {
                limit: to.seat_limit,
                seats: self.seats.get(),
            }
            .into());
        }
        if self.status == SubscriptionStatus::Trialing {
            return self.plan_changed(from, to, Vec::new(), None, ctx);
        }
        let period = self.paid_period("ChangePlan")?;
        if change.downgrade_now {
            let credit = downgrade_credit(from, to, &period, ctx.now)?;
            return self.plan_changed(from, to, Vec::new(), credit, ctx);
        }
        Ok(vec![SubscriptionEvent::PlanChangeScheduled {
            account_id: self.account_id.clone(),
            from_plan: from.id.clone(),
            to_plan: to.id.clone(),
            effective_at: period.end,
            at: ctx.now,
        }])
    }

    /// The change now, with its proration invoice's discount when there is an invoice, or the
    /// credit a downgrade now gives back; then the end of a discount that invoice was the last of.
    fn plan_changed(
        &self,
        from: &Plan,
        to: &Plan,
        proration_lines: Vec<InvoiceLine>,
        credit: Option<Money>,
        ctx: &Context<'_>,
    ) -> Events {
        let (discount, ended) = match proration_lines.is_empty() {
            true => (None, None),
            false => self.discount_on(Billed::Proration, &to.id, ctx),
        };
        let changed = SubscriptionEvent::PlanChanged {
            account_id: self.account_id.clone(),
            from_plan: from.id.clone(),
            to_plan: to.id.clone(),
            proration_lines,
            credit,
            discount,
            at: ctx.now,
        };
        Ok(std::iter::once(changed).chain(ended).collect())
    }
}
