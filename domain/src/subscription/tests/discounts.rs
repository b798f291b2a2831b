//! Discounts (SPEC 11.3): which invoices a redeemed coupon discounts, for how long, and how it
//! ends. Each test runs the subscription month by month, as the scheduler would.

use std::collections::BTreeSet;

use super::*;
use crate::coupon::{BasisPoints, CouponDuration, CouponId, Discount, Reduction};

fn quarter_off(duration: CouponDuration) -> SubscriptionDiscount {
    SubscriptionDiscount {
        discount: Discount {
            coupon_id: CouponId::parse("QUARTER").unwrap(),
            reduction: Reduction::PercentOff(BasisPoints::parse(2500).unwrap()),
        },
        duration,
        applies_to_plans: None,
    }
}

/// An active Pro subscription in April, and the state its history folds into.
struct Run {
    subscription: Subscription,
}

impl Run {
    fn active_in_april() -> Self {
        let mut subscription = Subscription::default();
        for event in active_pro_in_april(3, false) {
            subscription.apply(event);
        }
        Self { subscription }
    }

    /// Decides `command` at `now` and applies what it decided.
    fn send(&mut self, command: SubscriptionCommand, now: &str) -> Vec<SubscriptionEvent> {
        let events = self
            .subscription
            .decide(command, &services_at(at(now)))
            .unwrap();
        for event in events.clone() {
            self.subscription.apply(event);
        }
        events
    }

    /// An upgrade to enterprise halfway through April: a proration invoice.
    fn upgrade_mid_april(&mut self) -> Vec<SubscriptionEvent> {
        let upgrade = change_plan("enterprise", false, &[]);
        self.send(upgrade, "2026-04-16T00:00:00Z")
    }

    fn apply_discount(&mut self, terms: SubscriptionDiscount) {
        self.send(
            SubscriptionCommand::ApplyDiscount { discount: terms },
            "2026-04-10T00:00:00Z",
        );
    }

    /// Renews at each month's start from May, answering what each renewal invoice carried,
    /// and whether the discount ended with it.
    fn renew_months(&mut self, months: u32) -> Vec<(bool, bool)> {
        (0..months)
            .map(|month| {
                let now = format!("2026-{:02}-01T00:00:00Z", 5 + month);
                let events = self.send(SubscriptionCommand::RenewPeriod, &now);
                (discount_of(&events[0]).is_some(), ended(&events))
            })
            .collect()
    }
}

fn discount_of(event: &SubscriptionEvent) -> Option<&Discount> {
    match event {
        SubscriptionEvent::PeriodRenewed { discount, .. }
        | SubscriptionEvent::SubscriptionActivated { discount, .. }
        | SubscriptionEvent::PlanChanged { discount, .. }
        | SubscriptionEvent::SubscriptionCancelled { discount, .. } => discount.as_ref(),
        _ => None,
    }
}

fn ended(events: &[SubscriptionEvent]) -> bool {
    events
        .iter()
        .any(|event| matches!(event, SubscriptionEvent::DiscountEnded { .. }))
}

#[test]
fn a_repeating_discount_discounts_exactly_its_number_of_renewals() {
    let mut run = Run::active_in_april();
    run.apply_discount(quarter_off(CouponDuration::Repeating { periods: 3 }));
    assert_eq!(
        run.renew_months(5),
        vec![
            (true, false),
            (true, false),
            (true, true),
            (false, false),
            (false, false)
        ]
    );
    assert!(run.subscription.discount().is_none());
}

#[test]
fn a_forever_discount_never_ends_and_goes_with_a_cancellation() {
    let mut run = Run::active_in_april();
    run.apply_discount(quarter_off(CouponDuration::Forever));
    assert_eq!(run.renew_months(3), vec![(true, false); 3]);
    let cancelled = run.send(
        SubscriptionCommand::CancelSubscription {
            at_period_end: false,
            comment: None,
        },
        "2026-07-15T00:00:00Z",
    );
    // The final invoice of the last period's usage is discounted too.
    assert!(discount_of(&cancelled[0]).is_some());
    assert!(!ended(&cancelled));
    assert!(run.subscription.discount().is_none());
}

#[test]
fn a_once_discount_is_spent_on_the_next_invoice_even_a_proration() {
    let mut run = Run::active_in_april();
    run.apply_discount(quarter_off(CouponDuration::Once));
    let upgraded = run.upgrade_mid_april();
    assert!(discount_of(&upgraded[0]).is_some());
    assert!(ended(&upgraded));
    assert_eq!(run.renew_months(1), vec![(false, false)]);
}

#[test]
fn a_proration_under_a_repeating_discount_does_not_use_up_a_period() {
    let mut run = Run::active_in_april();
    run.apply_discount(quarter_off(CouponDuration::Repeating { periods: 1 }));
    let upgraded = run.upgrade_mid_april();
    assert!(discount_of(&upgraded[0]).is_some());
    assert!(!ended(&upgraded));
    assert_eq!(run.renew_months(2), vec![(true, true), (false, false)]);
}

#[test]
fn a_discount_for_other_plans_discounts_nothing_and_is_not_used_up() {
    let mut run = Run::active_in_april();
    let mut terms = quarter_off(CouponDuration::Repeating { periods: 1 });
    terms.applies_to_plans = Some(BTreeSet::from([plan("enterprise")]));
    run.apply_discount(terms);
    assert_eq!(run.renew_months(2), vec![(false, false); 2]);
    assert_eq!(run.subscription.discount().unwrap().periods_left(), Some(1));
}

#[test]
fn a_discount_applied_in_the_trial_discounts_the_activation_invoice() {
    let mut subscription = Subscription::default();
    subscription.apply(pro_trial());
    let mut run = Run { subscription };
    run.apply_discount(quarter_off(CouponDuration::Once));
    let activated = run.send(
        SubscriptionCommand::ActivateSubscription,
        "2026-04-11T00:00:00Z",
    );
    assert!(discount_of(&activated[0]).is_some());
    assert!(ended(&activated));
}

#[test]
fn a_new_discount_replaces_the_one_in_force() {
    let mut run = Run::active_in_april();
    run.apply_discount(quarter_off(CouponDuration::Forever));
    run.renew_months(1);
    run.apply_discount(quarter_off(CouponDuration::Repeating { periods: 2 }));
    let active = run.subscription.discount().unwrap();
    assert_eq!(active.periods_discounted, 0);
    assert_eq!(active.periods_left(), Some(2));
}

#[test]
fn removing_a_discount_needs_one() {
    given(active_pro_in_april(3, false))
        .when(SubscriptionCommand::RemoveDiscount)
        .then_expect_error(SubscriptionRule::NoDiscount.into());
    let applied = SubscriptionEvent::DiscountApplied {
        account_id: account(),
        discount: quarter_off(CouponDuration::Forever),
        at: t0(),
    };
    let mut history = active_pro_in_april(3, false);
    history.push(applied);
    given(history)
        .when(SubscriptionCommand::RemoveDiscount)
        .then_expect_events(vec![SubscriptionEvent::DiscountRemoved {
            account_id: account(),
            coupon_id: CouponId::parse("QUARTER").unwrap(),
            at: t0(),
        }]);
}

#[test]
fn a_cancelled_subscription_takes_no_discount() {
    let mut history = active_pro_in_april(3, false);
    history.push(cancelled("", at("2026-04-20T00:00:00Z")));
    given(history)
        .when(SubscriptionCommand::ApplyDiscount {
            discount: quarter_off(CouponDuration::Once),
        })
        .then_expect_error(
            SubscriptionRule::AlreadyCancelled {
                command: "ApplyDiscount",
            }
            .into(),
        );
}
