//! AddSeats, RemoveSeats and SetOverageBilling, with the prorated items overage seats accrue.

use super::*;

fn add(n: u32) -> SubscriptionCommand {
    SubscriptionCommand::AddSeats { count: seats(n) }
}

fn remove(n: u32) -> SubscriptionCommand {
    SubscriptionCommand::RemoveSeats { count: seats(n) }
}

fn seats_added(
    count: u32,
    total: u32,
    item: Option<InvoiceLine>,
    now: DateTime<Utc>,
) -> SubscriptionEvent {
    SubscriptionEvent::SeatsAdded {
        account_id: account(),
        count: seats(count),
        seats: seats(total),
        pending_item: item,
        at: now,
    }
}

fn overage_billing_set(enabled: bool, now: DateTime<Utc>) -> SubscriptionEvent {
    SubscriptionEvent::OverageBillingSet {
        account_id: account(),
        enabled,
        at: now,
    }
}

/// The prorated charge for `quantity` Pro overage seats from `from` to the end of April.
fn pro_seat_proration(from: &str, quantity: u32, unit: i64) -> Option<InvoiceLine> {
    Some(line(
        &format!("Seats beyond 20 on the Pro plan, prorated {from} – 2026-05-01"),
        LineKind::Proration,
        quantity,
        unit,
    ))
}

#[test]
fn seats_within_the_limit_are_added_without_a_charge() {
    let now = at("2026-04-16T00:00:00Z");
    given_at(now, active_pro_in_april(3, false))
        .when(add(2))
        .then_expect_events(vec![seats_added(2, 5, None, now)]);
}

#[test]
fn no_seat_beyond_the_plan_limit_without_overage_billing() {
    given_at(at("2026-04-16T00:00:00Z"), active_pro_in_april(19, false))
        .when(add(2))
        .then_expect_error(rule(SubscriptionRule::SeatLimitExceeded {
            limit: 20,
            requested: 21,
        }));
}

#[test]
fn overage_seats_added_mid_period_accrue_a_prorated_pending_item() {
    // Half of April is left: each new overage seat costs 400 × 15/30 = 200.
    let now = at("2026-04-16T00:00:00Z");
    given_at(now, active_pro_in_april(20, true))
        .when(add(3))
        .then_expect_events(vec![seats_added(
            3,
            23,
            pro_seat_proration("2026-04-16", 3, 200),
            now,
        )]);
}

#[test]
fn only_the_seats_that_go_over_the_limit_are_prorated_and_rounded_half_up() {
    // 18 → 22 seats puts 2 over the limit of 20; 20 of 30 days remain:
    // 400 × 1_728_000 / 2_592_000 = 266.67 → 267 per seat.
    let now = at("2026-04-11T00:00:00Z");
    given_at(now, active_pro_in_april(18, true))
        .when(add(4))
        .then_expect_events(vec![seats_added(
            4,
            22,
            pro_seat_proration("2026-04-11", 2, 267),
            now,
        )]);
}

#[test]
fn overage_seats_added_while_past_due_are_also_prorated() {
    let now = at("2026-04-16T00:00:00Z");
    let mut history = active_pro_in_april(21, true);
    history.push(marked_past_due(at("2026-04-02T00:00:00Z")));
    given_at(now, history)
        .when(add(1))
        .then_expect_events(vec![seats_added(
            1,
            22,
            pro_seat_proration("2026-04-16", 1, 200),
            now,
        )]);
}

#[test]
fn overage_seats_added_during_the_trial_cost_nothing_yet() {
    let now = at("2026-03-05T00:00:00Z");
    given_at(now, vec![trial_of("starter", 5, Some(billing()), true)])
        .when(add(2))
        .then_expect_events(vec![seats_added(2, 7, None, now)]);
}

#[test]
fn seats_cannot_exceed_the_limit_of_a_scheduled_downgrade_without_overage_billing() {
    let mut history = active_pro_in_april(4, false);
    history.push(SubscriptionEvent::PlanChangeScheduled {
        account_id: account(),
        from_plan: plan("pro"),
        to_plan: plan("starter"),
        effective_at: april().end,
        at: at("2026-04-10T00:00:00Z"),
    });
    given_at(at("2026-04-16T00:00:00Z"), history)
        .when(add(2))
        .then_expect_error(rule(SubscriptionRule::SeatLimitExceeded {
            limit: 5,
            requested: 6,
        }));
}

#[test]
fn seats_cannot_be_added_past_the_seat_count_maximum() {
    given_at(at("2026-04-16T00:00:00Z"), active_pro_in_april(20, true))
        .when(add(SeatCount::MAX))
        .then_expect_error(DomainError::Invalid(
            SeatCount::parse(SeatCount::MAX + 20).unwrap_err(),
        ));
}

#[test]
fn seats_cannot_be_added_to_a_cancelled_subscription() {
    given(vec![pro_trial(), cancelled("closed", t0())])
        .when(add(1))
        .then_expect_error(rule(SubscriptionRule::AlreadyCancelled {
            command: "AddSeats",
        }));
}

#[test]
fn seats_are_removed_without_a_credit() {
    let now = at("2026-04-16T00:00:00Z");
    given_at(now, active_pro_in_april(25, true))
        .when(remove(10))
        .then_expect_events(vec![SubscriptionEvent::SeatsRemoved {
            account_id: account(),
            count: seats(10),
            seats: seats(15),
            at: now,
        }]);
}

#[test]
fn seats_are_never_removed_below_one() {
    given(vec![pro_trial()])
        .when(remove(3))
        .then_expect_error(rule(SubscriptionRule::SeatsBelowMinimum {
            seats: 3,
            removing: 3,
        }));
}

#[test]
fn seats_cannot_be_removed_from_a_cancelled_subscription() {
    given(vec![pro_trial(), cancelled("closed", t0())])
        .when(remove(1))
        .then_expect_error(rule(SubscriptionRule::AlreadyCancelled {
            command: "RemoveSeats",
        }));
}

#[test]
fn overage_billing_is_enabled_and_disabled() {
    let now = at("2026-04-16T00:00:00Z");
    given_at(now, active_pro_in_april(3, false))
        .when(SubscriptionCommand::SetOverageBilling { enabled: true })
        .then_expect_events(vec![overage_billing_set(true, now)]);
    given_at(now, active_pro_in_april(20, true))
        .when(SubscriptionCommand::SetOverageBilling { enabled: false })
        .then_expect_events(vec![overage_billing_set(false, now)]);
}

#[test]
fn setting_overage_billing_to_its_current_value_changes_nothing() {
    given(vec![pro_trial()])
        .when(SubscriptionCommand::SetOverageBilling { enabled: false })
        .then_expect_events(vec![]);
}

#[test]
fn overage_billing_cannot_be_disabled_while_seats_exceed_the_limit() {
    given_at(at("2026-04-16T00:00:00Z"), active_pro_in_april(21, true))
        .when(SubscriptionCommand::SetOverageBilling { enabled: false })
        .then_expect_error(rule(SubscriptionRule::OverageBillingInUse {
            seats: 21,
            limit: 20,
        }));
}

#[test]
fn overage_billing_cannot_be_disabled_while_seats_exceed_a_scheduled_downgrades_limit() {
    let mut history = active_pro_in_april(8, true);
    history.push(SubscriptionEvent::PlanChangeScheduled {
        account_id: account(),
        from_plan: plan("pro"),
        to_plan: plan("starter"),
        effective_at: april().end,
        at: at("2026-04-10T00:00:00Z"),
    });
    given_at(at("2026-04-16T00:00:00Z"), history)
        .when(SubscriptionCommand::SetOverageBilling { enabled: false })
        .then_expect_error(rule(SubscriptionRule::OverageBillingInUse {
            seats: 8,
            limit: 5,
        }));
}

#[test]
fn overage_billing_cannot_be_set_on_a_cancelled_subscription() {
    given(vec![pro_trial(), cancelled("closed", t0())])
        .when(SubscriptionCommand::SetOverageBilling { enabled: true })
        .then_expect_error(rule(SubscriptionRule::AlreadyCancelled {
            command: "SetOverageBilling",
        }));
}
