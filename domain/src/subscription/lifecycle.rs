//! The subscription's life: trial, billing account, activation, renewal, cancellation, and the
//! past-due detour the dunning saga drives.

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use super::discount::Billed;
use super::invoicing::period_invoice_lines;
use super::{
    BillingAccount, CancellationReason, ClosedPeriod, Context, SubscriptionEvent, SubscriptionRule,
    SubscriptionState, SubscriptionStatus,
};
use crate::error::DomainError;
use crate::period::BillingPeriod;
use crate::values::{AccountId, PlanId, SeatCount};

type Events = Result<Vec<SubscriptionEvent>, DomainError>;

/// The fields of `StartTrial`.
pub(super) struct NewTrial {
    pub subscription_id: Uuid,
    pub account_id: AccountId,
    pub plan_id: PlanId,
    pub seats: SeatCount,
    pub billing_account: Option<BillingAccount>,
    pub overage_billing: bool,
}

pub(super) fn start_trial(trial: NewTrial, ctx: &Context<'_>) -> Events {
    let plan = ctx.plan(&trial.plan_id)?;
    if trial.seats.get() > plan.seat_limit && !trial.overage_billing {
        return Err(SubscriptionRule::SeatLimitExceeded {
            limit: plan.seat_limit,
            requested: trial.seats.get(),
        }
        .into());
    }
    // A plan without trial days ends its trial at once; the scheduler then expires it.
    let trial_ends_at = ctx
        .now
        .checked_add_signed(Duration::days(i64::from(plan.trial_days)))
        .ok_or_else(|| DomainError::invalid("trial_ends_at", "is out of range"))?;
    Ok(vec![SubscriptionEvent::TrialStarted {
        subscription_id: trial.subscription_id,
        account_id: trial.account_id,
        plan_id: trial.plan_id,
        currency: plan.currency.clone(),
        seats: trial.seats,
        overage_billing: trial.overage_billing,
        billing_account: trial.billing_account,
        trial_ends_at,
        at: ctx.now,
    }])
}

impl SubscriptionState {
    pub(super) fn attach_billing_account(
        &self,
        billing_account: BillingAccount,
        ctx: &Context<'_>,
    ) -> Events {
        if self.billing_account.as_ref() == Some(&billing_account) {
            return Ok(Vec::new());
        }
        Ok(vec![SubscriptionEvent::BillingAccountAttached {
            account_id: self.account_id.clone(),
            billing_account,
            retry_open_invoice: self.status == SubscriptionStatus::PastDue,
            at: ctx.now,
        }])
    }

    pub(super) fn activate(&self, ctx: &Context<'_>) -> Events {
        if self.status != SubscriptionStatus::Trialing {
            return Err(self.invalid_transition("ActivateSubscription"));
        }
        if self.billing_account.is_none() {
            return Err(SubscriptionRule::ActivationRequiresBillingAccount.into());
        }
        self.activation(ctx.now, ctx)
    }

    pub(super) fn expire_trial(&self, ctx: &Context<'_>) -> Events {
        if self.status != SubscriptionStatus::Trialing {
            return Err(self.invalid_transition("ExpireTrial"));
        }
        if ctx.now < self.trial_ends_at {
            return Err(SubscriptionRule::TrialNotEnded {
                trial_ends_at: self.trial_ends_at,
            }
            .into());
        }
        let event = match &self.billing_account {
            _ if self.cancel_at_period_end => self.cancelled(
                CancellationReason::Requested,
                self.cancellation_comment.clone(),
                self.trial_ends_at,
                ctx,
            ),
            // The first period starts at the trial end, not when the scheduler got to it, so a
            // late scheduler neither shifts the billing cycle nor gives free days.
            Some(_) => return self.activation(self.trial_ends_at, ctx),
            None => self.cancelled(
                CancellationReason::TrialExpired,
                None,
                self.trial_ends_at,
                ctx,
            ),
        };
        Ok(vec![event])
    }

    /// The trial-will-end notice: only while the trial runs.
    pub(super) fn warn_trial_ending(&self, ctx: &Context<'_>) -> Events {
        if self.status != SubscriptionStatus::Trialing {
            return Err(self.invalid_transition("WarnTrialEnding"));
        }
        Ok(vec![SubscriptionEvent::TrialWillEnd {
            account_id: self.account_id.clone(),
            trial_ends_at: self.trial_ends_at,
            at: ctx.now,
        }])
    }

    pub(super) fn renew_period(&self, ctx: &Context<'_>) -> Events {
        let period = self.paid_period("RenewPeriod")?;
        if ctx.now < period.end {
            return Err(SubscriptionRule::PeriodNotEnded {
                period_end: period.end,
            }
            .into());
        }
        if self.cancel_at_period_end {
            let comment = self.cancellation_comment.clone();
            let requested = CancellationReason::Requested;
            return Ok(vec![self.cancelled(requested, comment, period.end, ctx)]);
        }
        let mut events = Vec::new();
        let closed = ClosedPeriod {
            period,
            plan_id: self.plan_id.clone(),
        };
        let mut plan = ctx.plan(&self.plan_id)?;
        if let Some(change) = &self.scheduled_change {
            plan = ctx.plan(&change.plan_id)?;
            events.push(SubscriptionEvent::PlanChanged {
                account_id: self.account_id.clone(),
                from_plan: self.plan_id.clone(),
                to_plan: change.plan_id.clone(),
                proration_lines: Vec::new(),
                credit: None,
                discount: None,
                at: ctx.now,
            });
        }
        let next = period.next(plan.interval)?;
        let invoice_lines = period_invoice_lines(plan, &next, self.seats, &self.pending_items)?;
        let (discount, ended) = self.discount_on(Billed::Period, &plan.id, ctx);
        events.push(SubscriptionEvent::PeriodRenewed {
            account_id: self.account_id.clone(),
            period: next,
            plan_id: plan.id.clone(),
            seats: self.seats,
            invoice_lines,
            closed: Some(closed),
            discount,
            at: ctx.now,
        });
        events.extend(ended);
        Ok(events)
    }

    pub(super) fn cancel(
        &self,
        at_period_end: bool,
        comment: Option<String>,
        ctx: &Context<'_>,
    ) -> Events {
        if !at_period_end {
            let requested = CancellationReason::Requested;
            return Ok(vec![self.cancelled(requested, comment, ctx.now, ctx)]);
        }
        if self.cancel_at_period_end {
            return Ok(Vec::new());
        }
        let effective_at = match self.status {
            SubscriptionStatus::Trialing => self.trial_ends_at,
            _ => self.paid_period("CancelSubscription")?.end,
        };
        Ok(vec![SubscriptionEvent::CancellationScheduled {
            account_id: self.account_id.clone(),
            comment,
            effective_at,
            at: ctx.now,
        }])
    }

    /// Dunning ran out: service ends now, and the reason tells the billing policy to write the
    /// open invoices off.
    pub(super) fn cancel_for_non_payment(&self, ctx: &Context<'_>) -> Events {
        let exhausted = CancellationReason::DunningExhausted;
        Ok(vec![self.cancelled(exhausted, None, ctx.now, ctx)])
    }

    pub(super) fn mark_past_due(&self, dunning_case_id: Uuid, ctx: &Context<'_>) -> Events {
        match (self.status, self.dunning_case_id) {
            (SubscriptionStatus::Active, _) => {
                Ok(vec![SubscriptionEvent::SubscriptionMarkedPastDue {
                    account_id: self.account_id.clone(),
                    dunning_case_id,
                    at: ctx.now,
                }])
            }
            (SubscriptionStatus::PastDue, Some(open)) if open == dunning_case_id => Ok(Vec::new()),
            (SubscriptionStatus::PastDue, Some(open)) => Err(SubscriptionRule::AlreadyPastDue {
                dunning_case_id: open,
            }
            .into()),
            _ => Err(self.invalid_transition("MarkPastDue")),
        }
    }

    pub(super) fn reactivate(&self, ctx: &Context<'_>) -> Events {
        match self.status {
            SubscriptionStatus::PastDue => Ok(vec![SubscriptionEvent::SubscriptionReactivated {
                account_id: self.account_id.clone(),
                dunning_case_id: self.dunning_case_id,
                at: ctx.now,
            }]),
            SubscriptionStatus::Active => Ok(Vec::new()),
            _ => Err(self.invalid_transition("Reactivate")),
        }
    }

    /// The first paid period, starting at `start`, and its invoice; then the end of a discount
    /// that invoice was the last of.
    fn activation(&self, start: DateTime<Utc>, ctx: &Context<'_>) -> Events {
        let plan = ctx.plan(&self.plan_id)?;
        let period = BillingPeriod::starting(start, plan.interval)?;
        let invoice_lines = period_invoice_lines(plan, &period, self.seats, &self.pending_items)?;
        let (discount, ended) = self.discount_on(Billed::Period, &plan.id, ctx);
        let activated = SubscriptionEvent::SubscriptionActivated {
            account_id: self.account_id.clone(),
            plan_id: plan.id.clone(),
            period,
            seats: self.seats,
            invoice_lines,
            discount,
            at: ctx.now,
        };
        Ok(std::iter::once(activated).chain(ended).collect())
    }

    fn cancelled(
        &self,
        reason: CancellationReason,
        comment: Option<String>,
        ended_at: DateTime<Utc>,
        ctx: &Context<'_>,
    ) -> SubscriptionEvent {
        // A trial has no paid period; a paid one ends with the subscription.
        let closed = self.current_period.map(|period| ClosedPeriod {
            period,
            plan_id: self.plan_id.clone(),
        });
        let (discount, _) = self.discount_on(Billed::Final, &self.plan_id, ctx);
        SubscriptionEvent::SubscriptionCancelled {
            account_id: self.account_id.clone(),
            reason,
            comment,
            ended_at,
            closed,
            discount,
            at: ctx.now,
        }
    }
}
