//! The Subscription aggregate (SPEC 3.2): one customer's plan, seats, billing account and billing
//! periods, from trial to cancellation. It decides what is charged (invoice lines in its events);
//! issuing and collecting invoices is the policy layer's and the Invoice aggregate's job.
//!
//! "One non-cancelled subscription per account" spans aggregates, so the application layer
//! enforces it (with [`Subscription::is_open`] and [`Subscription::account_id`]) before sending
//! `StartTrial`; this aggregate cannot see other subscriptions.

mod commands;
mod discount;
mod events;
mod invoicing;
mod lifecycle;
mod plan_change;
mod rules;
mod seats;

#[cfg(test)]
mod tests;

use std::fmt;

use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::catalog::{Plan, PlanCatalog};
use crate::error::DomainError;
use crate::invoice::InvoiceLine;
use crate::money::Currency;
use crate::period::BillingPeriod;
use crate::services::BillingServices;
use crate::values::{AccountId, Email, PaymentMethodToken, PlanId, SeatCount};

pub use commands::{SubscriptionCommand, MAX_COMMENT_CHARS};
pub use discount::{ActiveDiscount, SubscriptionDiscount};
pub use events::{CancellationReason, ClosedPeriod, SubscriptionEvent, CANCELLATION_VERSION};
pub use rules::SubscriptionRule;

/// Where a subscription is in its life. `None` means it was never created.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubscriptionStatus {
    #[default]
    None,
    Trialing,
    Active,
    PastDue,
    /// Terminal.
    Cancelled,
}

impl SubscriptionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SubscriptionStatus::None => "none",
            SubscriptionStatus::Trialing => "trialing",
            SubscriptionStatus::Active => "active",
            SubscriptionStatus::PastDue => "past_due",
            SubscriptionStatus::Cancelled => "cancelled",
        }
    }
}

impl fmt::Display for SubscriptionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who pays and how: the address invoices go to and the payment method charged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillingAccount {
    pub email: Email,
    pub payment_method: PaymentMethodToken,
}

/// A downgrade waiting for the end of the current period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduledPlanChange {
    pub plan_id: PlanId,
    pub effective_at: DateTime<Utc>,
}

/// The aggregate. `state` is `None` until `TrialStarted`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Subscription {
    state: Option<SubscriptionState>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct SubscriptionState {
    subscription_id: Uuid,
    account_id: AccountId,
    plan_id: PlanId,
    currency: Currency,
    seats: SeatCount,
    overage_billing: bool,
    billing_account: Option<BillingAccount>,
    status: SubscriptionStatus,
    trial_ends_at: DateTime<Utc>,
    current_period: Option<BillingPeriod>,
    /// Cancel when the trial (while trialing) or the current period ends.
    cancel_at_period_end: bool,
    /// The client's comment on a scheduled or completed cancellation (snapshots taken before
    /// cancellation reasons were typed call it `cancellation_reason`).
    #[serde(alias = "cancellation_reason")]
    cancellation_comment: Option<String>,
    ended_at: Option<DateTime<Utc>>,
    /// Why a cancelled subscription was cancelled. Snapshots taken before it was kept lack it.
    #[serde(default)]
    cancelled_for: Option<CancellationReason>,
    scheduled_change: Option<ScheduledPlanChange>,
    /// Prorated charges accrued mid-period, billed on the next invoice.
    pending_items: Vec<InvoiceLine>,
    dunning_case_id: Option<Uuid>,
    /// The redeemed coupon in force. Snapshots taken before coupons lack it.
    #[serde(default)]
    discount: Option<ActiveDiscount>,
}

impl Subscription {
    pub fn status(&self) -> SubscriptionStatus {
        self.state
            .as_ref()
            .map_or(SubscriptionStatus::None, |s| s.status)
    }

    /// Created and not cancelled: the account's one live subscription.
    pub fn is_open(&self) -> bool {
        !matches!(
            self.status(),
            SubscriptionStatus::None | SubscriptionStatus::Cancelled
        )
    }

    pub fn subscription_id(&self) -> Option<Uuid> {
        self.state.as_ref().map(|s| s.subscription_id)
    }

    pub fn account_id(&self) -> Option<&AccountId> {
        self.state.as_ref().map(|s| &s.account_id)
    }

    pub fn plan_id(&self) -> Option<&PlanId> {
        self.state.as_ref().map(|s| &s.plan_id)
    }

    pub fn currency(&self) -> Option<&Currency> {
        self.state.as_ref().map(|s| &s.currency)
    }

    pub fn seats(&self) -> Option<SeatCount> {
        self.state.as_ref().map(|s| s.seats)
    }

    pub fn overage_billing(&self) -> bool {
        self.state.as_ref().is_some_and(|s| s.overage_billing)
    }

    pub fn billing_account(&self) -> Option<&BillingAccount> {
        self.state.as_ref().and_then(|s| s.billing_account.as_ref())
    }

    pub fn trial_ends_at(&self) -> Option<DateTime<Utc>> {
        self.state.as_ref().map(|s| s.trial_ends_at)
    }

    pub fn current_period(&self) -> Option<BillingPeriod> {
        self.state.as_ref().and_then(|s| s.current_period)
    }

    pub fn cancel_at_period_end(&self) -> bool {
        self.state.as_ref().is_some_and(|s| s.cancel_at_period_end)
    }

    pub fn cancellation_comment(&self) -> Option<&str> {
        self.state
            .as_ref()
            .and_then(|s| s.cancellation_comment.as_deref())
    }

    /// Why a cancelled subscription was cancelled.
    pub fn cancellation_reason(&self) -> Option<CancellationReason> {
        self.state.as_ref().and_then(|s| s.cancelled_for)
    }

    /// When a cancelled subscription ended.
    pub fn ended_at(&self) -> Option<DateTime<Utc>> {
        self.state.as_ref().and_then(|s| s.ended_at)
    }

    pub fn scheduled_change(&self) -> Option<&ScheduledPlanChange> {
        self.state
            .as_ref()
            .and_then(|s| s.scheduled_change.as_ref())
    }

    pub fn pending_items(&self) -> &[InvoiceLine] {
        self.state.as_ref().map_or(&[], |s| &s.pending_items)
    }

    /// The redeemed coupon in force.
    pub fn discount(&self) -> Option<&ActiveDiscount> {
        self.state.as_ref().and_then(|s| s.discount.as_ref())
    }

    /// The dunning case that made the subscription past due.
    pub fn dunning_case_id(&self) -> Option<Uuid> {
        self.state.as_ref().and_then(|s| s.dunning_case_id)
    }

    /// Validates the command against the state and returns the events it causes, without
    /// applying any: `handle` writes them only once all of them are decided.
    fn decide(
        &self,
        command: SubscriptionCommand,
        services: &BillingServices,
    ) -> Result<Vec<SubscriptionEvent>, DomainError> {
        use SubscriptionCommand as C;
        command.validate()?;
        let ctx = Context {
            now: services.clock.now(),
            catalog: services.catalog.as_ref(),
        };
        let Some(state) = &self.state else {
            return match command {
                C::StartTrial {
                    subscription_id,
                    account_id,
                    plan_id,
                    seats,
                    billing_account,
                    overage_billing,
                } => lifecycle::start_trial(
                    lifecycle::NewTrial {
                        subscription_id,
                        account_id,
                        plan_id,
                        seats,
                        billing_account,
                        overage_billing,
                    },
                    &ctx,
                ),
                _ => Err(DomainError::NotFound {
                    aggregate: Self::TYPE,
                }),
            };
        };
        let name = command.name();
        match command {
            C::StartTrial { .. } => Err(SubscriptionRule::AlreadyExists {
                subscription_id: state.subscription_id,
            }
            .into()),
            _ if state.status == SubscriptionStatus::Cancelled => {
                Err(SubscriptionRule::AlreadyCancelled { command: name }.into())
            }
            C::AttachBillingAccount { billing_account } => {
                state.attach_billing_account(billing_account, &ctx)
            }
            C::ActivateSubscription => state.activate(&ctx),
            C::AddSeats { count } => state.add_seats(count, &ctx),
            C::RemoveSeats { count } => state.remove_seats(count, &ctx),
            C::SetOverageBilling { enabled } => state.set_overage_billing(enabled, &ctx),
            C::ChangePlan {
                plan_id,
                confirm_feature_removal,
                committed_features,
                downgrade_now,
            } => {
                let change = plan_change::Change {
                    confirm_feature_removal,
                    committed_features: &committed_features,
                    downgrade_now,
                };
                state.change_plan(&plan_id, change, &ctx)
            }
            C::CancelSubscription {
                at_period_end,
                comment,
            } => state.cancel(at_period_end, comment, &ctx),
            C::CancelForNonPayment => state.cancel_for_non_payment(&ctx),
            C::RenewPeriod => state.renew_period(&ctx),
            C::ExpireTrial => state.expire_trial(&ctx),
            C::WarnTrialEnding => state.warn_trial_ending(&ctx),
            C::MarkPastDue { dunning_case_id } => state.mark_past_due(dunning_case_id, &ctx),
            C::Reactivate => state.reactivate(&ctx),
            C::ApplyDiscount { discount } => state.apply_discount(discount, &ctx),
            C::RemoveDiscount => state.remove_discount(&ctx),
        }
    }
}

/// What every decision needs from outside: the time and the plans.
struct Context<'a> {
    now: DateTime<Utc>,
    catalog: &'a PlanCatalog,
}

impl Context<'_> {
    fn plan(&self, plan_id: &PlanId) -> Result<&Plan, DomainError> {
        self.catalog.get(plan_id).ok_or_else(|| {
            SubscriptionRule::UnknownPlan {
                plan_id: plan_id.clone(),
            }
            .into()
        })
    }
}

impl SubscriptionState {
    /// A refusal because the subscription is in the wrong state for `command`.
    fn invalid_transition(&self, command: &'static str) -> DomainError {
        SubscriptionRule::InvalidTransition {
            command,
            status: self.status,
        }
        .into()
    }

    /// Active or past due: in a paid period.
    fn is_billing(&self) -> bool {
        matches!(
            self.status,
            SubscriptionStatus::Active | SubscriptionStatus::PastDue
        )
    }

    /// A period invoice went out with `discount` off: one period fewer left to discount.
    fn count_discounted_period(&mut self, discount: Option<&crate::coupon::Discount>) {
        if let (Some(active), Some(_)) = (self.discount.as_mut(), discount) {
            active.periods_discounted += 1;
        }
    }

    /// The paid period, or a refusal of `command` when there is none.
    fn paid_period(&self, command: &'static str) -> Result<BillingPeriod, DomainError> {
        match self.current_period {
            Some(period) if self.is_billing() => Ok(period),
            _ => Err(self.invalid_transition(command)),
        }
    }
}

impl Aggregate for Subscription {
    const TYPE: &'static str = "subscription";
    type Command = SubscriptionCommand;
    type Event = SubscriptionEvent;
    type Error = DomainError;
    type Services = BillingServices;

    async fn handle(
        &mut self,
        command: Self::Command,
        services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        let decided = self.decide(command, services);
        crate::decided::write(self, sink, decided).await
    }

    fn apply(&mut self, event: Self::Event) {
        use SubscriptionEvent as E;
        if let E::TrialStarted {
            subscription_id,
            account_id,
            plan_id,
            currency,
            seats,
            overage_billing,
            billing_account,
            trial_ends_at,
            at: _,
        } = event
        {
            self.state = Some(SubscriptionState {
                subscription_id,
                account_id,
                plan_id,
                currency,
                seats,
                overage_billing,
                billing_account,
                status: SubscriptionStatus::Trialing,
                trial_ends_at,
                current_period: None,
                cancel_at_period_end: false,
                cancellation_comment: None,
                ended_at: None,
                cancelled_for: None,
                scheduled_change: None,
                pending_items: Vec::new(),
                dunning_case_id: None,
                discount: None,
            });
            return;
        }
        // Any other event belongs to a created subscription; one without is ignored, not a panic.
        let Some(state) = self.state.as_mut() else {
            return;
        };
        match event {
            E::TrialStarted { .. } => {}
            E::BillingAccountAttached {
                billing_account, ..
            } => state.billing_account = Some(billing_account),
            E::SubscriptionActivated {
                plan_id,
                period,
                seats,
                discount,
                ..
            } => {
                state.count_discounted_period(discount.as_ref());
                state.status = SubscriptionStatus::Active;
                state.plan_id = plan_id;
                state.current_period = Some(period);
                state.seats = seats;
                state.pending_items.clear();
            }
            E::SeatsAdded {
                seats,
                pending_item,
                ..
            } => {
                state.seats = seats;
                state.pending_items.extend(pending_item);
            }
            E::SeatsRemoved { seats, .. } => state.seats = seats,
            E::OverageBillingSet { enabled, .. } => state.overage_billing = enabled,
            E::PlanChanged { to_plan, .. } => {
                state.plan_id = to_plan;
                state.scheduled_change = None;
            }
            E::PlanChangeScheduled {
                to_plan,
                effective_at,
                ..
            } => {
                state.scheduled_change = Some(ScheduledPlanChange {
                    plan_id: to_plan,
                    effective_at,
                });
            }
            E::CancellationScheduled { comment, .. } => {
                state.cancel_at_period_end = true;
                state.cancellation_comment = comment;
            }
            E::SubscriptionCancelled {
                reason,
                comment,
                ended_at,
                ..
            } => {
                state.status = SubscriptionStatus::Cancelled;
                state.cancelled_for = Some(reason);
                state.cancellation_comment = comment;
                state.ended_at = Some(ended_at);
                // Nothing more is billed or changed after a cancellation.
                state.scheduled_change = None;
                state.pending_items.clear();
                state.discount = None;
            }
            E::PeriodRenewed {
                period,
                plan_id,
                seats,
                discount,
                ..
            } => {
                state.count_discounted_period(discount.as_ref());
                state.current_period = Some(period);
                state.plan_id = plan_id;
                state.seats = seats;
                // They were billed on the renewal invoice.
                state.pending_items.clear();
            }
            E::SubscriptionMarkedPastDue {
                dunning_case_id, ..
            } => {
                state.status = SubscriptionStatus::PastDue;
                state.dunning_case_id = Some(dunning_case_id);
            }
            E::SubscriptionReactivated { .. } => {
                state.status = SubscriptionStatus::Active;
                state.dunning_case_id = None;
            }
            E::TrialWillEnd { .. } => {}
            E::DiscountApplied { discount, at, .. } => {
                state.discount = Some(ActiveDiscount {
                    terms: discount,
                    applied_at: at,
                    periods_discounted: 0,
                })
            }
            E::DiscountRemoved { .. } | E::DiscountEnded { .. } => state.discount = None,
        }
    }
}
