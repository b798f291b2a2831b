//! CancelSubscription, and the dunning saga's MarkPastDue and Reactivate.

use super::*;

fn cancel(at_period_end: bool, text: &str) -> SubscriptionCommand {
    SubscriptionCommand::CancelSubscription {
        at_period_end,
        comment: comment(text),
    }
}

fn scheduled(text: &str, effective_at: DateTime<Utc>, now: DateTime<Utc>) -> SubscriptionEvent {
    SubscriptionEvent::CancellationScheduled {
        account_id: account(),
        comment: comment(text),
        effective_at,
        at: now,
    }
}

#[test]
fn cancelling_at_period_end_schedules_the_cancellation_for_the_period_end() {
    let now = at("2026-04-10T00:00:00Z");
    given_at(now, active_pro_in_april(3, false))
        .when(cancel(true, "too expensive"))
        .then_expect_events(vec![scheduled("too expensive", april().end, now)]);
}

#[test]
fn cancelling_a_trial_at_period_end_schedules_it_for_the_trial_end() {
    let now = at("2026-03-05T00:00:00Z");
    given_at(now, vec![pro_trial()])
        .when(cancel(true, "evaluation over"))
        .then_expect_events(vec![scheduled(
            "evaluation over",
            at("2026-03-15T00:00:00Z"),
            now,
        )]);
}

#[test]
fn cancelling_immediately_ends_the_subscription_now() {
    let now = at("2026-04-10T08:30:00Z");
    given_at(now, active_pro_in_april(3, false))
        .when(cancel(false, "fraud"))
        .then_expect_events(vec![SubscriptionEvent::SubscriptionCancelled {
            account_id: account(),
            reason: CancellationReason::Requested,
            comment: Some("fraud".into()),
            ended_at: now,
            closed: Some(ClosedPeriod {
                period: april(),
                plan_id: plan("pro"),
            }),
            discount: None,
            at: now,
        }]);
}

#[test]
fn a_trial_can_be_cancelled_immediately() {
    let now = at("2026-03-02T00:00:00Z");
    given_at(now, vec![pro_trial()])
        .when(cancel(false, ""))
        .then_expect_events(vec![cancelled("", now)]);
}

#[test]
fn cancelling_at_period_end_again_changes_nothing() {
    let now = at("2026-04-12T00:00:00Z");
    let mut history = active_pro_in_april(3, false);
    history.push(scheduled(
        "too expensive",
        april().end,
        at("2026-04-10T00:00:00Z"),
    ));
    given_at(now, history)
        .when(cancel(true, "really too expensive"))
        .then_expect_events(vec![]);
}

#[test]
fn a_scheduled_cancellation_can_be_brought_forward_to_now() {
    let now = at("2026-04-12T00:00:00Z");
    let mut history = active_pro_in_april(3, false);
    history.push(scheduled(
        "too expensive",
        april().end,
        at("2026-04-10T00:00:00Z"),
    ));
    given_at(now, history)
        .when(cancel(false, "chargeback"))
        .then_expect_events(vec![ending_pro_april(cancelled("chargeback", now))]);
}

#[test]
fn a_cancelled_subscription_cannot_be_cancelled_again() {
    given(vec![pro_trial(), cancelled("first", t0())])
        .when(cancel(false, "second"))
        .then_expect_error(rule(SubscriptionRule::AlreadyCancelled {
            command: "CancelSubscription",
        }));
}

#[test]
fn a_cancellation_reason_is_at_most_500_characters() {
    given(vec![pro_trial()])
        .when(cancel(false, &"é".repeat(501)))
        .then_expect_error(DomainError::invalid(
            "reason",
            "must be at most 500 characters",
        ));
    given(vec![pro_trial()])
        .when(cancel(false, &"é".repeat(500)))
        .then_expect_events(vec![cancelled(&"é".repeat(500), t0())]);
}

#[test]
fn dunning_marks_an_active_subscription_past_due() {
    let now = at("2026-04-02T00:00:00Z");
    given_at(now, active_pro_in_april(3, false))
        .when(SubscriptionCommand::MarkPastDue {
            dunning_case_id: case_id(),
        })
        .then_expect_events(vec![marked_past_due(now)]);
}

#[test]
fn marking_past_due_again_for_the_same_case_changes_nothing() {
    let mut history = active_pro_in_april(3, false);
    history.push(marked_past_due(at("2026-04-02T00:00:00Z")));
    given_at(at("2026-04-03T00:00:00Z"), history)
        .when(SubscriptionCommand::MarkPastDue {
            dunning_case_id: case_id(),
        })
        .then_expect_events(vec![]);
}

#[test]
fn a_past_due_subscription_cannot_be_marked_past_due_by_another_case() {
    let mut history = active_pro_in_april(3, false);
    history.push(marked_past_due(at("2026-04-02T00:00:00Z")));
    given_at(at("2026-04-03T00:00:00Z"), history)
        .when(SubscriptionCommand::MarkPastDue {
            dunning_case_id: Uuid::from_u128(7),
        })
        .then_expect_error(rule(SubscriptionRule::AlreadyPastDue {
            dunning_case_id: case_id(),
        }));
}

#[test]
fn a_trial_cannot_be_past_due() {
    given(vec![pro_trial()])
        .when(SubscriptionCommand::MarkPastDue {
            dunning_case_id: case_id(),
        })
        .then_expect_error(rule(SubscriptionRule::InvalidTransition {
            command: "MarkPastDue",
            status: SubscriptionStatus::Trialing,
        }));
}

#[test]
fn marking_past_due_needs_a_real_dunning_case_id() {
    given(active_pro_in_april(3, false))
        .when(SubscriptionCommand::MarkPastDue {
            dunning_case_id: Uuid::nil(),
        })
        .then_expect_error(DomainError::invalid(
            "dunning_case_id",
            "must not be the nil UUID",
        ));
}

#[test]
fn a_recovered_subscription_is_reactivated() {
    let now = at("2026-04-05T00:00:00Z");
    let mut history = active_pro_in_april(3, false);
    history.push(marked_past_due(at("2026-04-02T00:00:00Z")));
    given_at(now, history)
        .when(SubscriptionCommand::Reactivate)
        .then_expect_events(vec![SubscriptionEvent::SubscriptionReactivated {
            account_id: account(),
            dunning_case_id: Some(case_id()),
            at: now,
        }]);
}

#[test]
fn reactivating_an_active_subscription_changes_nothing() {
    given_at(at("2026-04-05T00:00:00Z"), active_pro_in_april(3, false))
        .when(SubscriptionCommand::Reactivate)
        .then_expect_events(vec![]);
}

#[test]
fn a_trial_cannot_be_reactivated() {
    given(vec![pro_trial()])
        .when(SubscriptionCommand::Reactivate)
        .then_expect_error(rule(SubscriptionRule::InvalidTransition {
            command: "Reactivate",
            status: SubscriptionStatus::Trialing,
        }));
}

#[test]
fn a_cancelled_subscription_cannot_be_reactivated() {
    let mut history = active_pro_in_april(3, false);
    history.push(marked_past_due(at("2026-04-02T00:00:00Z")));
    history.push(cancelled("dunning_exhausted", at("2026-05-02T00:00:00Z")));
    given_at(at("2026-05-03T00:00:00Z"), history)
        .when(SubscriptionCommand::Reactivate)
        .then_expect_error(rule(SubscriptionRule::AlreadyCancelled {
            command: "Reactivate",
        }));
}

#[test]
fn a_trial_activated_early_keeps_its_cancellation_for_the_first_period_end() {
    // As in Stripe: `cancel_at_period_end` follows the current period, which activation replaced.
    let history = vec![
        pro_trial(),
        scheduled(
            "evaluation over",
            at("2026-03-15T00:00:00Z"),
            at("2026-03-02T00:00:00Z"),
        ),
        activated("pro", 3, april()),
    ];
    assert!(fold(history.clone()).cancel_at_period_end());
    given_at(april().end, history)
        .when(SubscriptionCommand::RenewPeriod)
        .then_expect_events(vec![ending_pro_april(cancelled(
            "evaluation over",
            april().end,
        ))]);
}

/// A client cannot make its cancellation the system's: whatever its words, the reason is
/// `requested`, so the billing policy voids the open invoices rather than writing them off.
#[test]
fn a_client_cancellation_is_requested_whatever_its_words() {
    let now = at("2026-04-10T00:00:00Z");
    given_at(now, active_pro_in_april(3, false))
        .when(cancel(false, "dunning_exhausted"))
        .then_expect_events(vec![ending_pro_april(cancelled_for(
            CancellationReason::Requested,
            Some("dunning_exhausted".into()),
            now,
        ))]);
}

#[test]
fn dunning_running_out_cancels_at_once_as_dunning_exhausted() {
    let now = at("2026-04-10T00:00:00Z");
    given_at(now, active_pro_in_april(3, false))
        .when(SubscriptionCommand::CancelForNonPayment)
        .then_expect_events(vec![ending_pro_april(cancelled_for(
            CancellationReason::DunningExhausted,
            None,
            now,
        ))]);
}
