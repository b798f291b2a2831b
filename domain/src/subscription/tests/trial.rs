//! StartTrial, AttachBillingAccount, ExpireTrial and WarnTrialEnding.

use super::*;
use crate::catalog::tests::definition;

fn start_trial(plan_id: &str, seat_count: u32, overage_billing: bool) -> SubscriptionCommand {
    SubscriptionCommand::StartTrial {
        subscription_id: sub_id(),
        account_id: account(),
        plan_id: plan(plan_id),
        seats: seats(seat_count),
        billing_account: Some(billing()),
        overage_billing,
    }
}

#[test]
fn a_trial_starts_on_a_catalog_plan_and_ends_after_its_trial_days() {
    given(vec![])
        .when(start_trial("pro", 3, false))
        .then_expect_events(vec![SubscriptionEvent::TrialStarted {
            subscription_id: sub_id(),
            account_id: account(),
            plan_id: plan("pro"),
            currency: usd(0).currency,
            seats: seats(3),
            overage_billing: false,
            billing_account: Some(billing()),
            trial_ends_at: at("2026-03-15T00:00:00Z"),
            at: t0(),
        }]);
}

#[test]
fn an_enterprise_trial_lasts_thirty_days() {
    let events = TestFramework::<Subscription>::with(services_at(t0()))
        .given_no_previous_events()
        .when(start_trial("enterprise", 1, false))
        .inspect_result()
        .unwrap();
    assert!(matches!(
        &events[..],
        [SubscriptionEvent::TrialStarted { trial_ends_at, .. }] if *trial_ends_at == at("2026-03-31T00:00:00Z")
    ));
}

#[test]
fn a_plan_without_trial_days_ends_its_trial_at_once() {
    let mut no_trial = definition("no_trial", 1);
    no_trial.trial_days = Some(0);
    TestFramework::<Subscription>::with(services_with(t0(), vec![no_trial]))
        .given_no_previous_events()
        .when(SubscriptionCommand::StartTrial {
            subscription_id: sub_id(),
            account_id: account(),
            plan_id: plan("no_trial"),
            seats: seats(1),
            billing_account: None,
            overage_billing: false,
        })
        .then_expect_events(vec![SubscriptionEvent::TrialStarted {
            subscription_id: sub_id(),
            account_id: account(),
            plan_id: plan("no_trial"),
            currency: usd(0).currency,
            seats: seats(1),
            overage_billing: false,
            billing_account: None,
            trial_ends_at: t0(),
            at: t0(),
        }]);
}

#[test]
fn a_trial_cannot_start_on_an_unknown_plan() {
    given(vec![])
        .when(start_trial("platinum", 1, false))
        .then_expect_error(rule(SubscriptionRule::UnknownPlan {
            plan_id: plan("platinum"),
        }));
}

#[test]
fn a_trial_cannot_start_beyond_the_seat_limit_without_overage_billing() {
    given(vec![])
        .when(start_trial("starter", 6, false))
        .then_expect_error(rule(SubscriptionRule::SeatLimitExceeded {
            limit: 5,
            requested: 6,
        }));
}

#[test]
fn a_trial_may_start_beyond_the_seat_limit_with_overage_billing() {
    given(vec![])
        .when(start_trial("starter", 6, true))
        .then_expect_events(vec![SubscriptionEvent::TrialStarted {
            subscription_id: sub_id(),
            account_id: account(),
            plan_id: plan("starter"),
            currency: usd(0).currency,
            seats: seats(6),
            overage_billing: true,
            billing_account: Some(billing()),
            trial_ends_at: at("2026-03-15T00:00:00Z"),
            at: t0(),
        }]);
}

#[test]
fn a_subscription_cannot_be_started_twice() {
    given(vec![pro_trial()])
        .when(start_trial("pro", 3, false))
        .then_expect_error(rule(SubscriptionRule::AlreadyExists {
            subscription_id: sub_id(),
        }));
}

#[test]
fn a_cancelled_subscription_cannot_be_started_again() {
    given(vec![pro_trial(), cancelled("too expensive", t0())])
        .when(start_trial("pro", 3, false))
        .then_expect_error(rule(SubscriptionRule::AlreadyExists {
            subscription_id: sub_id(),
        }));
}

#[test]
fn a_trial_needs_a_real_subscription_id() {
    given(vec![])
        .when(SubscriptionCommand::StartTrial {
            subscription_id: Uuid::nil(),
            account_id: account(),
            plan_id: plan("pro"),
            seats: seats(1),
            billing_account: None,
            overage_billing: false,
        })
        .then_expect_error(DomainError::invalid(
            "subscription_id",
            "must not be the nil UUID",
        ));
}

fn other_card() -> BillingAccount {
    BillingAccount {
        email: Email::parse("ap@example.com").unwrap(),
        payment_method: PaymentMethodToken::parse("pm_card_mastercard").unwrap(),
    }
}

#[test]
fn a_billing_account_is_attached_to_a_trial_without_a_retry() {
    let now = at("2026-03-05T12:00:00Z");
    given_at(now, vec![trial_of("pro", 3, None, false)])
        .when(SubscriptionCommand::AttachBillingAccount {
            billing_account: billing(),
        })
        .then_expect_events(vec![SubscriptionEvent::BillingAccountAttached {
            account_id: account(),
            billing_account: billing(),
            retry_open_invoice: false,
            at: now,
        }]);
}

#[test]
fn attaching_a_new_payment_method_while_past_due_retries_the_open_invoice() {
    let now = at("2026-04-03T09:00:00Z");
    let mut history = active_pro_in_april(3, false);
    history.push(marked_past_due(at("2026-04-02T00:00:00Z")));
    given_at(now, history)
        .when(SubscriptionCommand::AttachBillingAccount {
            billing_account: other_card(),
        })
        .then_expect_events(vec![SubscriptionEvent::BillingAccountAttached {
            account_id: account(),
            billing_account: other_card(),
            retry_open_invoice: true,
            at: now,
        }]);
}

#[test]
fn attaching_the_same_billing_account_again_changes_nothing() {
    given(active_pro_in_april(3, false))
        .when(SubscriptionCommand::AttachBillingAccount {
            billing_account: billing(),
        })
        .then_expect_events(vec![]);
}

#[test]
fn a_billing_account_cannot_be_attached_to_a_cancelled_subscription() {
    given(vec![pro_trial(), cancelled("moved away", t0())])
        .when(SubscriptionCommand::AttachBillingAccount {
            billing_account: other_card(),
        })
        .then_expect_error(rule(SubscriptionRule::AlreadyCancelled {
            command: "AttachBillingAccount",
        }));
}

#[test]
fn an_expired_trial_with_a_billing_account_activates_from_the_trial_end() {
    // The scheduler is six hours late: the first period still starts at the trial end.
    let trial_end = at("2026-03-15T00:00:00Z");
    let now = at("2026-03-15T06:00:00Z");
    given_at(now, vec![pro_trial()])
        .when(SubscriptionCommand::ExpireTrial)
        .then_expect_events(vec![SubscriptionEvent::SubscriptionActivated {
            account_id: account(),
            plan_id: plan("pro"),
            period: BillingPeriod {
                start: trial_end,
                end: at("2026-04-15T00:00:00Z"),
            },
            seats: seats(3),
            invoice_lines: vec![line(
                "Pro plan, 2026-03-15 – 2026-04-15",
                LineKind::Base,
                1,
                4900,
            )],
            discount: None,
            at: now,
        }]);
}

#[test]
fn an_expired_trial_without_a_billing_account_is_cancelled_as_trial_expired() {
    let trial_end = at("2026-03-15T00:00:00Z");
    given_at(trial_end, vec![trial_of("pro", 3, None, false)])
        .when(SubscriptionCommand::ExpireTrial)
        .then_expect_events(vec![SubscriptionEvent::SubscriptionCancelled {
            account_id: account(),
            reason: CancellationReason::TrialExpired,
            comment: None,
            ended_at: trial_end,
            closed: None,
            discount: None,
            at: trial_end,
        }]);
}

#[test]
fn a_trial_whose_cancellation_was_scheduled_is_cancelled_at_its_end() {
    let trial_end = at("2026-03-15T00:00:00Z");
    let scheduled = SubscriptionEvent::CancellationScheduled {
        account_id: account(),
        comment: Some("not a fit".into()),
        effective_at: trial_end,
        at: at("2026-03-03T00:00:00Z"),
    };
    given_at(trial_end, vec![pro_trial(), scheduled])
        .when(SubscriptionCommand::ExpireTrial)
        .then_expect_events(vec![cancelled("not a fit", trial_end)]);
}

#[test]
fn a_trial_cannot_expire_before_its_end() {
    given_at(at("2026-03-14T23:59:59Z"), vec![pro_trial()])
        .when(SubscriptionCommand::ExpireTrial)
        .then_expect_error(rule(SubscriptionRule::TrialNotEnded {
            trial_ends_at: at("2026-03-15T00:00:00Z"),
        }));
}

#[test]
fn only_a_trialing_subscription_can_expire() {
    given_at(at("2026-04-20T00:00:00Z"), active_pro_in_april(3, false))
        .when(SubscriptionCommand::ExpireTrial)
        .then_expect_error(rule(SubscriptionRule::InvalidTransition {
            command: "ExpireTrial",
            status: SubscriptionStatus::Active,
        }));
}

#[test]
fn an_expired_trial_cannot_expire_again() {
    let trial_end = at("2026-03-15T00:00:00Z");
    given_at(
        trial_end,
        vec![
            pro_trial(),
            cancelled_for(CancellationReason::TrialExpired, None, trial_end),
        ],
    )
    .when(SubscriptionCommand::ExpireTrial)
    .then_expect_error(rule(SubscriptionRule::AlreadyCancelled {
        command: "ExpireTrial",
    }));
}

#[test]
fn a_running_trial_warns_that_it_ends_soon() {
    let now = at("2026-03-12T00:00:00Z");
    given_at(now, vec![pro_trial()])
        .when(SubscriptionCommand::WarnTrialEnding)
        .then_expect_events(vec![SubscriptionEvent::TrialWillEnd {
            account_id: account(),
            trial_ends_at: at("2026-03-15T00:00:00Z"),
            at: now,
        }]);
}

#[test]
fn an_activated_trial_gives_no_warning() {
    given_at(at("2026-04-20T00:00:00Z"), active_pro_in_april(3, false))
        .when(SubscriptionCommand::WarnTrialEnding)
        .then_expect_error(rule(SubscriptionRule::InvalidTransition {
            command: "WarnTrialEnding",
            status: SubscriptionStatus::Active,
        }));
}
