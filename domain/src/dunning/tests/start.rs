//! Opening a case: deadlines from the policy, and the hard decline that needs support at once.

use std::sync::Arc;

use super::*;
use crate::clock::ManualClock;
use crate::dunning::{DunningPolicy, DunningRule};
use crate::error::DomainError;
use crate::services::BillingServices;
use crate::testing::shipped_catalog;

fn services_with(policy: DunningPolicy) -> BillingServices {
    BillingServices::new(
        Arc::new(ManualClock::starting_at(t0())),
        Arc::new(shipped_catalog()),
        policy,
    )
}

#[test]
fn dunning_starts_with_retries_window_and_cancellation_counted_from_now() {
    given_at(t0(), vec![])
        .when(start_command(false))
        .then_expect_events(vec![started()]);
}

#[test]
fn the_deadlines_follow_the_configured_policy() {
    let policy = DunningPolicy {
        retry_days: vec![4, 2],
        window_days: 7,
        cancel_after_days: 21,
    };
    TestFramework::<DunningCase>::with(services_with(policy))
        .given_no_previous_events()
        .when(start_command(false))
        .then_expect_events(vec![started_with(
            "Your card was declined.",
            "card_declined",
            7,
            21,
            &[2, 4],
        )]);
}

#[test]
fn a_hard_decline_escalates_at_once_and_schedules_no_retry_of_the_card() {
    let reason = "Your card was reported stolen.";
    given_at(t0(), vec![])
        .when(start_with(4900, reason, "stolen_card", true))
        .then_expect_events(vec![
            started_with(reason, "stolen_card", 14, 30, &[]),
            escalated("hard_decline: stolen_card", t0()),
        ]);
}

#[test]
fn dunning_is_for_an_amount_actually_due() {
    for amount in [0, -1] {
        given_at(t0(), vec![])
            .when(start_with(amount, "declined", "card_declined", false))
            .then_expect_error(DomainError::invalid(
                "amount_due",
                "must be greater than zero",
            ));
    }
}

#[test]
fn dunning_is_for_an_amount_within_the_bound() {
    let amount = crate::money::MAX_AMOUNT + 1;
    given_at(t0(), vec![])
        .when(start_with(amount, "declined", "card_declined", false))
        .then_expect_error(usd(amount).check_bound("amount_due").unwrap_err().into());
}

#[test]
fn dunning_starts_from_a_stated_failure() {
    given_at(t0(), vec![])
        .when(start_with(4900, " ", "card_declined", false))
        .then_expect_error(DomainError::invalid(
            "failure_reason",
            "must be 1 to 500 characters and not blank",
        ));
    given_at(t0(), vec![])
        .when(start_with(4900, "declined", "", false))
        .then_expect_error(DomainError::invalid(
            "failure_code",
            "must be 1 to 64 characters and not blank",
        ));
}

#[test]
fn a_policy_deadline_beyond_the_calendar_is_refused_not_a_panic() {
    let policy = DunningPolicy {
        retry_days: vec![1],
        window_days: u32::MAX,
        cancel_after_days: 30,
    };
    TestFramework::<DunningCase>::with(services_with(policy))
        .given_no_previous_events()
        .when(start_command(false))
        .then_expect_error(DomainError::invalid(
            "dunning_policy",
            "4294967295 days is out of range",
        ));
}

#[test]
fn a_case_is_started_only_once() {
    given_at(t0(), vec![started()])
        .when(start_command(false))
        .then_expect_error(DunningRule::AlreadyStarted.into());
}

#[test]
fn every_other_command_needs_a_started_case() {
    let mut commands = case_commands();
    commands.push(DunningCommand::RecordNotification {
        kind: NotificationKind::PaymentFailed,
        dedupe_key: "k".into(),
    });
    for command in commands {
        given_at(t0(), vec![])
            .when(command)
            .then_expect_error(DomainError::NotFound {
                aggregate: "dunning_case",
            });
    }
}
