//! Given/when/then tests of the Subscription aggregate, one file per concept, and the fixtures
//! they share. Times are explicit: the shipped catalog's monthly plans, periods from the 1st.

mod activation_and_renewal;
mod cancellation_and_dunning;
mod discounts;
mod plan_change;
mod seats;
mod state;
mod trial;

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use cqrs_es::test::{AggregateTestExecutor, TestFramework};
use uuid::Uuid;

use super::*;
use crate::catalog::{PlanCatalog, PlanDefinition};
use crate::clock::ManualClock;
use crate::dunning::DunningPolicy;
use crate::invoice::{InvoiceLine, LineKind};
use crate::testing::{account, at, plan, services, services_at, shipped_catalog, t0, usd};
use crate::values::{Email, PaymentMethodToken, SeatCount};

pub(super) fn sub_id() -> Uuid {
    Uuid::from_u128(0x5ab5_c41b_7104)
}

pub(super) fn case_id() -> Uuid {
    Uuid::from_u128(0xd0_0c45e)
}

pub(super) fn seats(n: u32) -> SeatCount {
    SeatCount::parse(n).unwrap()
}

pub(super) fn billing() -> BillingAccount {
    BillingAccount {
        email: Email::parse("billing@example.com").unwrap(),
        payment_method: PaymentMethodToken::parse("pm_card_visa").unwrap(),
    }
}

pub(super) fn line(description: &str, kind: LineKind, quantity: u32, unit: i64) -> InvoiceLine {
    InvoiceLine::new(description, kind, quantity, usd(unit)).unwrap()
}

pub(super) fn april() -> BillingPeriod {
    BillingPeriod {
        start: at("2026-04-01T00:00:00Z"),
        end: at("2026-05-01T00:00:00Z"),
    }
}

/// A command test whose clock reads `t0()`, after `events`.
pub(super) fn given(events: Vec<SubscriptionEvent>) -> AggregateTestExecutor<Subscription> {
    TestFramework::<Subscription>::with(services()).given(events)
}

/// A command test whose clock reads `now`, after `events`.
pub(super) fn given_at(
    now: DateTime<Utc>,
    events: Vec<SubscriptionEvent>,
) -> AggregateTestExecutor<Subscription> {
    TestFramework::<Subscription>::with(services_at(now)).given(events)
}

/// A trial of `plan_id` started at `t0()`, its end per the shipped catalog.
pub(super) fn trial_of(
    plan_id: &str,
    seat_count: u32,
    billing_account: Option<BillingAccount>,
    overage_billing: bool,
) -> SubscriptionEvent {
    let trial_days = shipped_catalog().get(&plan(plan_id)).unwrap().trial_days;
    SubscriptionEvent::TrialStarted {
        subscription_id: sub_id(),
        account_id: account(),
        plan_id: plan(plan_id),
        currency: usd(0).currency,
        seats: seats(seat_count),
        overage_billing,
        billing_account,
        trial_ends_at: t0() + chrono::Duration::days(i64::from(trial_days)),
        at: t0(),
    }
}

/// The usual start: a Pro trial for 3 seats with a billing account.
pub(super) fn pro_trial() -> SubscriptionEvent {
    trial_of("pro", 3, Some(billing()), false)
}

/// Activation into `period`. Its invoice lines do not affect the state, so givens leave them out.
pub(super) fn activated(
    plan_id: &str,
    seat_count: u32,
    period: BillingPeriod,
) -> SubscriptionEvent {
    SubscriptionEvent::SubscriptionActivated {
        account_id: account(),
        plan_id: plan(plan_id),
        period,
        seats: seats(seat_count),
        invoice_lines: Vec::new(),
        discount: None,
        at: period.start,
    }
}

/// A Pro subscription for `seat_count` seats, active in April 2026.
pub(super) fn active_pro_in_april(
    seat_count: u32,
    overage_billing: bool,
) -> Vec<SubscriptionEvent> {
    vec![
        trial_of("pro", seat_count, Some(billing()), overage_billing),
        activated("pro", seat_count, april()),
    ]
}

pub(super) fn marked_past_due(now: DateTime<Utc>) -> SubscriptionEvent {
    SubscriptionEvent::SubscriptionMarkedPastDue {
        account_id: account(),
        dunning_case_id: case_id(),
        at: now,
    }
}

/// A client's words, as the domain keeps them: none when blank.
pub(super) fn comment(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_owned())
}

/// Cancelled at a client's request, with `text` as its comment.
pub(super) fn cancelled(text: &str, ended_at: DateTime<Utc>) -> SubscriptionEvent {
    cancelled_for(CancellationReason::Requested, comment(text), ended_at)
}

pub(super) fn cancelled_for(
    reason: CancellationReason,
    comment: Option<String>,
    ended_at: DateTime<Utc>,
) -> SubscriptionEvent {
    SubscriptionEvent::SubscriptionCancelled {
        account_id: account(),
        reason,
        comment,
        ended_at,
        closed: None,
        discount: None,
        at: ended_at,
    }
}

/// `event`, a cancellation, ending the paid April of the `pro` plan.
pub(super) fn ending_pro_april(mut event: SubscriptionEvent) -> SubscriptionEvent {
    if let SubscriptionEvent::SubscriptionCancelled { closed, .. } = &mut event {
        *closed = Some(ClosedPeriod {
            period: april(),
            plan_id: plan("pro"),
        });
    }
    event
}

pub(super) fn change_plan(plan_id: &str, confirm: bool, committed: &[&str]) -> SubscriptionCommand {
    SubscriptionCommand::ChangePlan {
        plan_id: plan(plan_id),
        confirm_feature_removal: confirm,
        committed_features: committed
            .iter()
            .map(|f| crate::testing::feature(f))
            .collect::<BTreeSet<_>>(),
        downgrade_now: false,
    }
}

pub(super) fn rule(rule: SubscriptionRule) -> DomainError {
    DomainError::from(rule)
}

/// The aggregate after `events`, folded by `apply` alone.
pub(super) fn fold(events: Vec<SubscriptionEvent>) -> Subscription {
    let mut subscription = Subscription::default();
    for event in events {
        cqrs_es::Aggregate::apply(&mut subscription, event);
    }
    subscription
}

/// Services over a catalog of hand-written plans, for cases the shipped catalog cannot show.
pub(super) fn services_with(now: DateTime<Utc>, plans: Vec<PlanDefinition>) -> BillingServices {
    BillingServices::new(
        Arc::new(ManualClock::starting_at(now)),
        Arc::new(PlanCatalog::from_definitions(plans).unwrap()),
        DunningPolicy::default(),
    )
}
