//! ActivateSubscription and RenewPeriod, with the invoice lines they ask the policy to bill.

use super::*;

fn march() -> BillingPeriod {
    BillingPeriod {
        start: t0(),
        end: at("2026-04-01T00:00:00Z"),
    }
}

#[test]
fn activation_starts_the_first_paid_period_and_bills_the_base_price() {
    given(vec![pro_trial()])
        .when(SubscriptionCommand::ActivateSubscription)
        .then_expect_events(vec![SubscriptionEvent::SubscriptionActivated {
            account_id: account(),
            plan_id: plan("pro"),
            period: march(),
            seats: seats(3),
            invoice_lines: vec![line(
                "Pro plan, 2026-03-01 – 2026-04-01",
                LineKind::Base,
                1,
                4900,
            )],
            discount: None,
            at: t0(),
        }]);
}

#[test]
fn activation_bills_each_seat_beyond_the_limit_at_the_overage_price() {
    given(vec![trial_of("pro", 25, Some(billing()), true)])
        .when(SubscriptionCommand::ActivateSubscription)
        .then_expect_events(vec![SubscriptionEvent::SubscriptionActivated {
            account_id: account(),
            plan_id: plan("pro"),
            period: march(),
            seats: seats(25),
            invoice_lines: vec![
                line("Pro plan, 2026-03-01 – 2026-04-01", LineKind::Base, 1, 4900),
                line(
                    "Seats beyond 20 on the Pro plan, 2026-03-01 – 2026-04-01",
                    LineKind::Overage,
                    5,
                    400,
                ),
            ],
            discount: None,
            at: t0(),
        }]);
}

#[test]
fn a_subscription_cannot_be_activated_without_a_billing_account() {
    given(vec![trial_of("pro", 3, None, false)])
        .when(SubscriptionCommand::ActivateSubscription)
        .then_expect_error(rule(SubscriptionRule::ActivationRequiresBillingAccount));
}

#[test]
fn an_active_subscription_cannot_be_activated_again() {
    given_at(at("2026-04-10T00:00:00Z"), active_pro_in_april(3, false))
        .when(SubscriptionCommand::ActivateSubscription)
        .then_expect_error(rule(SubscriptionRule::InvalidTransition {
            command: "ActivateSubscription",
            status: SubscriptionStatus::Active,
        }));
}

#[test]
fn a_past_due_subscription_cannot_be_activated() {
    let mut history = active_pro_in_april(3, false);
    history.push(marked_past_due(at("2026-04-02T00:00:00Z")));
    given_at(at("2026-04-10T00:00:00Z"), history)
        .when(SubscriptionCommand::ActivateSubscription)
        .then_expect_error(rule(SubscriptionRule::InvalidTransition {
            command: "ActivateSubscription",
            status: SubscriptionStatus::PastDue,
        }));
}

#[test]
fn a_cancelled_subscription_cannot_be_activated() {
    given(vec![pro_trial(), cancelled("not needed", t0())])
        .when(SubscriptionCommand::ActivateSubscription)
        .then_expect_error(rule(SubscriptionRule::AlreadyCancelled {
            command: "ActivateSubscription",
        }));
}

fn may() -> BillingPeriod {
    BillingPeriod {
        start: at("2026-05-01T00:00:00Z"),
        end: at("2026-06-01T00:00:00Z"),
    }
}

fn renewed(
    plan_id: &str,
    seat_count: u32,
    invoice_lines: Vec<InvoiceLine>,
    now: DateTime<Utc>,
) -> SubscriptionEvent {
    renewed_from(plan_id, plan_id, seat_count, invoice_lines, now)
}

/// May renewed on `plan_id` after an April on `april_plan`, whose usage is billed at it.
fn renewed_from(
    april_plan: &str,
    plan_id: &str,
    seat_count: u32,
    invoice_lines: Vec<InvoiceLine>,
    now: DateTime<Utc>,
) -> SubscriptionEvent {
    SubscriptionEvent::PeriodRenewed {
        account_id: account(),
        period: may(),
        plan_id: plan(plan_id),
        seats: seats(seat_count),
        invoice_lines,
        closed: Some(ClosedPeriod {
            period: april(),
            plan_id: plan(april_plan),
        }),
        discount: None,
        at: now,
    }
}

fn pro_base_in_may() -> InvoiceLine {
    line("Pro plan, 2026-05-01 – 2026-06-01", LineKind::Base, 1, 4900)
}

#[test]
fn renewal_starts_the_next_period_and_bills_the_base_price() {
    let now = at("2026-05-01T00:05:00Z");
    given_at(now, active_pro_in_april(3, false))
        .when(SubscriptionCommand::RenewPeriod)
        .then_expect_events(vec![renewed("pro", 3, vec![pro_base_in_may()], now)]);
}

#[test]
fn the_renewal_invoice_bills_base_overage_seats_and_every_pending_item() {
    let now = at("2026-05-01T00:00:00Z");
    let pending_seats = line(
        "Seats beyond 20 on the Pro plan, prorated 2026-04-16 – 2026-05-01",
        LineKind::Proration,
        3,
        200,
    );
    let pending_more = line(
        "Seats beyond 20 on the Pro plan, prorated 2026-04-21 – 2026-05-01",
        LineKind::Proration,
        2,
        133,
    );
    let mut history = active_pro_in_april(20, true);
    history.push(SubscriptionEvent::SeatsAdded {
        account_id: account(),
        count: seats(3),
        seats: seats(23),
        pending_item: Some(pending_seats.clone()),
        at: at("2026-04-16T00:00:00Z"),
    });
    history.push(SubscriptionEvent::SeatsAdded {
        account_id: account(),
        count: seats(2),
        seats: seats(25),
        pending_item: Some(pending_more.clone()),
        at: at("2026-04-21T00:00:00Z"),
    });
    given_at(now, history)
        .when(SubscriptionCommand::RenewPeriod)
        .then_expect_events(vec![renewed(
            "pro",
            25,
            vec![
                pro_base_in_may(),
                line(
                    "Seats beyond 20 on the Pro plan, 2026-05-01 – 2026-06-01",
                    LineKind::Overage,
                    5,
                    400,
                ),
                pending_seats,
                pending_more,
            ],
            now,
        )]);
}

#[test]
fn a_scheduled_downgrade_is_applied_on_renewal_and_the_new_plan_is_billed() {
    let now = at("2026-05-01T00:00:00Z");
    let mut history = active_pro_in_april(3, false);
    history.push(SubscriptionEvent::PlanChangeScheduled {
        account_id: account(),
        from_plan: plan("pro"),
        to_plan: plan("starter"),
        effective_at: now,
        at: at("2026-04-10T00:00:00Z"),
    });
    given_at(now, history)
        .when(SubscriptionCommand::RenewPeriod)
        .then_expect_events(vec![
            SubscriptionEvent::PlanChanged {
                account_id: account(),
                from_plan: plan("pro"),
                to_plan: plan("starter"),
                proration_lines: vec![],
                credit: None,
                discount: None,
                at: now,
            },
            renewed_from(
                "pro",
                "starter",
                3,
                vec![line(
                    "Starter plan, 2026-05-01 – 2026-06-01",
                    LineKind::Base,
                    1,
                    1900,
                )],
                now,
            ),
        ]);
}

#[test]
fn a_past_due_subscription_still_renews_and_stays_past_due() {
    let now = at("2026-05-01T00:00:00Z");
    let mut history = active_pro_in_april(3, false);
    history.push(marked_past_due(at("2026-04-02T00:00:00Z")));
    given_at(now, history)
        .when(SubscriptionCommand::RenewPeriod)
        .then_expect_events(vec![renewed("pro", 3, vec![pro_base_in_may()], now)]);
}

#[test]
fn a_cancellation_scheduled_for_the_period_end_cancels_on_renewal() {
    let now = at("2026-05-01T02:00:00Z");
    let mut history = active_pro_in_april(3, false);
    history.push(SubscriptionEvent::CancellationScheduled {
        account_id: account(),
        comment: Some("switching provider".into()),
        effective_at: april().end,
        at: at("2026-04-10T00:00:00Z"),
    });
    given_at(now, history)
        .when(SubscriptionCommand::RenewPeriod)
        .then_expect_events(vec![SubscriptionEvent::SubscriptionCancelled {
            account_id: account(),
            reason: CancellationReason::Requested,
            comment: Some("switching provider".into()),
            ended_at: april().end,
            closed: Some(ClosedPeriod {
                period: april(),
                plan_id: plan("pro"),
            }),
            discount: None,
            at: now,
        }]);
}

#[test]
fn a_period_cannot_be_renewed_before_it_ends() {
    given_at(at("2026-04-30T23:59:59Z"), active_pro_in_april(3, false))
        .when(SubscriptionCommand::RenewPeriod)
        .then_expect_error(rule(SubscriptionRule::PeriodNotEnded {
            period_end: april().end,
        }));
}

#[test]
fn a_trial_has_no_period_to_renew() {
    given_at(at("2026-05-01T00:00:00Z"), vec![pro_trial()])
        .when(SubscriptionCommand::RenewPeriod)
        .then_expect_error(rule(SubscriptionRule::InvalidTransition {
            command: "RenewPeriod",
            status: SubscriptionStatus::Trialing,
        }));
}

#[test]
fn a_cancelled_subscription_is_not_renewed() {
    let mut history = active_pro_in_april(3, false);
    history.push(cancelled("closed", at("2026-04-20T00:00:00Z")));
    given_at(at("2026-05-01T00:00:00Z"), history)
        .when(SubscriptionCommand::RenewPeriod)
        .then_expect_error(rule(SubscriptionRule::AlreadyCancelled {
            command: "RenewPeriod",
        }));
}
