//! How `apply` folds events into state, snapshot safety, and what holds for every command.

use cqrs_es::DomainEvent;

use super::*;

fn pending() -> InvoiceLine {
    line(
        "Seats beyond 20 on the Pro plan, prorated 2026-04-16 – 2026-05-01",
        LineKind::Proration,
        2,
        200,
    )
}

/// A past-due Pro subscription with overage seats, a pending item and a scheduled downgrade.
fn busy_history() -> Vec<SubscriptionEvent> {
    let mut history = active_pro_in_april(20, true);
    history.extend([
        SubscriptionEvent::SeatsAdded {
            account_id: account(),
            count: seats(2),
            seats: seats(22),
            pending_item: Some(pending()),
            at: at("2026-04-16T00:00:00Z"),
        },
        SubscriptionEvent::PlanChangeScheduled {
            account_id: account(),
            from_plan: plan("pro"),
            to_plan: plan("starter"),
            effective_at: april().end,
            at: at("2026-04-17T00:00:00Z"),
        },
        marked_past_due(at("2026-04-18T00:00:00Z")),
    ]);
    history
}

#[test]
fn a_subscription_that_was_never_created_reports_nothing() {
    let subscription = Subscription::default();
    assert_eq!(subscription.status(), SubscriptionStatus::None);
    assert!(!subscription.is_open());
    assert_eq!(subscription.account_id(), None);
    assert_eq!(subscription.seats(), None);
    assert!(subscription.pending_items().is_empty());
}

#[test]
fn a_trial_reports_its_terms() {
    let subscription = fold(vec![trial_of("pro", 3, None, false)]);
    assert_eq!(subscription.status(), SubscriptionStatus::Trialing);
    assert!(subscription.is_open());
    assert_eq!(subscription.subscription_id(), Some(sub_id()));
    assert_eq!(subscription.account_id(), Some(&account()));
    assert_eq!(subscription.plan_id(), Some(&plan("pro")));
    assert_eq!(subscription.currency(), Some(&usd(0).currency));
    assert_eq!(subscription.seats(), Some(seats(3)));
    assert_eq!(subscription.billing_account(), None);
    assert_eq!(
        subscription.trial_ends_at(),
        Some(at("2026-03-15T00:00:00Z"))
    );
    assert_eq!(subscription.current_period(), None);
}

#[test]
fn seats_pending_items_downgrades_and_dunning_are_folded() {
    let subscription = fold(busy_history());
    assert_eq!(subscription.status(), SubscriptionStatus::PastDue);
    assert!(subscription.is_open());
    assert_eq!(subscription.seats(), Some(seats(22)));
    assert!(subscription.overage_billing());
    assert_eq!(subscription.billing_account(), Some(&billing()));
    assert_eq!(subscription.current_period(), Some(april()));
    assert_eq!(subscription.pending_items(), &[pending()]);
    assert_eq!(
        subscription.scheduled_change(),
        Some(&ScheduledPlanChange {
            plan_id: plan("starter"),
            effective_at: april().end,
        })
    );
    assert_eq!(subscription.dunning_case_id(), Some(case_id()));
}

#[test]
fn renewal_applies_the_new_period_and_clears_what_it_billed() {
    let may = BillingPeriod {
        start: april().end,
        end: at("2026-06-01T00:00:00Z"),
    };
    let mut history = busy_history();
    history.extend([
        SubscriptionEvent::SubscriptionReactivated {
            account_id: account(),
            dunning_case_id: Some(case_id()),
            at: at("2026-04-20T00:00:00Z"),
        },
        SubscriptionEvent::PlanChanged {
            account_id: account(),
            from_plan: plan("pro"),
            to_plan: plan("starter"),
            proration_lines: vec![],
            credit: None,
            discount: None,
            at: april().end,
        },
        SubscriptionEvent::PeriodRenewed {
            account_id: account(),
            period: may,
            plan_id: plan("starter"),
            seats: seats(22),
            invoice_lines: vec![pending()],
            closed: None,
            discount: None,
            at: april().end,
        },
    ]);
    let subscription = fold(history);
    assert_eq!(subscription.status(), SubscriptionStatus::Active);
    assert_eq!(subscription.dunning_case_id(), None);
    assert_eq!(subscription.plan_id(), Some(&plan("starter")));
    assert_eq!(subscription.scheduled_change(), None);
    assert_eq!(subscription.current_period(), Some(may));
    assert!(subscription.pending_items().is_empty());
}

#[test]
fn cancellation_is_folded_and_closes_the_subscription() {
    let mut history = busy_history();
    history.push(SubscriptionEvent::CancellationScheduled {
        account_id: account(),
        comment: Some("budget".into()),
        effective_at: april().end,
        at: at("2026-04-19T00:00:00Z"),
    });
    let scheduled = fold(history.clone());
    assert!(scheduled.cancel_at_period_end());
    assert_eq!(scheduled.cancellation_comment(), Some("budget"));
    assert!(scheduled.is_open());

    history.push(cancelled("budget", april().end));
    let ended = fold(history);
    assert_eq!(ended.status(), SubscriptionStatus::Cancelled);
    assert!(!ended.is_open());
    assert_eq!(ended.ended_at(), Some(april().end));
    assert_eq!(ended.cancellation_comment(), Some("budget"));
    assert_eq!(ended.scheduled_change(), None);
    assert!(ended.pending_items().is_empty());
}

#[test]
fn an_event_without_a_trial_before_it_is_ignored_not_a_panic() {
    let subscription = fold(vec![marked_past_due(t0()), cancelled("x", t0())]);
    assert_eq!(subscription, Subscription::default());
}

/// Snapshots taken before cancellation reasons were typed name the comment
/// `cancellation_reason`; they still load, with the text as the comment.
#[test]
fn an_older_snapshot_s_cancellation_reason_reads_as_the_comment() {
    let mut history = busy_history();
    history.push(SubscriptionEvent::CancellationScheduled {
        account_id: account(),
        comment: Some("budget".into()),
        effective_at: april().end,
        at: at("2026-04-19T00:00:00Z"),
    });
    let json = serde_json::to_string(&fold(history)).unwrap();
    assert!(
        json.contains("\"cancellation_comment\":\"budget\""),
        "{json}"
    );
    let older = json.replace("cancellation_comment", "cancellation_reason");
    let back: Subscription = serde_json::from_str(&older).unwrap();
    assert_eq!(back.cancellation_comment(), Some("budget"));
}

#[test]
fn a_populated_subscription_round_trips_through_json() {
    let subscription = fold(busy_history());
    let json = serde_json::to_string(&subscription).unwrap();
    let back: Subscription = serde_json::from_str(&json).unwrap();
    assert_eq!(back, subscription);
    let empty: Subscription =
        serde_json::from_str(&serde_json::to_string(&Subscription::default()).unwrap()).unwrap();
    assert_eq!(empty, Subscription::default());
}

#[test]
fn events_round_trip_through_json_and_are_named_after_their_variant() {
    for event in busy_history() {
        let json = serde_json::to_value(&event).unwrap();
        let tag = json.as_object().unwrap().keys().next().unwrap().clone();
        assert_eq!(event.event_type(), tag);
        assert_eq!(event.event_version(), "1.0");
        assert_eq!(
            serde_json::from_value::<SubscriptionEvent>(json).unwrap(),
            event
        );
    }
}

fn every_command_but_start() -> Vec<SubscriptionCommand> {
    vec![
        SubscriptionCommand::AttachBillingAccount {
            billing_account: billing(),
        },
        SubscriptionCommand::ActivateSubscription,
        SubscriptionCommand::AddSeats { count: seats(1) },
        SubscriptionCommand::RemoveSeats { count: seats(1) },
        SubscriptionCommand::SetOverageBilling { enabled: true },
        change_plan("enterprise", false, &[]),
        SubscriptionCommand::CancelSubscription {
            at_period_end: true,
            comment: Some("x".into()),
        },
        SubscriptionCommand::RenewPeriod,
        SubscriptionCommand::ExpireTrial,
        SubscriptionCommand::MarkPastDue {
            dunning_case_id: case_id(),
        },
        SubscriptionCommand::Reactivate,
    ]
}

#[test]
fn every_command_on_a_subscription_that_does_not_exist_is_not_found() {
    for command in every_command_but_start() {
        given(vec![])
            .when(command)
            .then_expect_error(DomainError::NotFound {
                aggregate: "subscription",
            });
    }
}

#[test]
fn every_command_on_a_cancelled_subscription_is_refused_by_name() {
    for command in every_command_but_start() {
        let name = command.name();
        given_at(
            at("2026-06-01T00:00:00Z"),
            vec![pro_trial(), cancelled("closed", t0())],
        )
        .when(command)
        .then_expect_error(rule(SubscriptionRule::AlreadyCancelled { command: name }));
    }
}

#[test]
fn commands_round_trip_through_json() {
    for command in every_command_but_start() {
        let json = serde_json::to_string(&command).unwrap();
        assert_eq!(
            serde_json::from_str::<SubscriptionCommand>(&json).unwrap(),
            command
        );
    }
}

#[test]
fn rule_codes_are_distinct_snake_case() {
    let rules = [
        SubscriptionRule::UnknownPlan { plan_id: plan("x") },
        SubscriptionRule::AlreadyExists {
            subscription_id: sub_id(),
        },
        SubscriptionRule::AlreadyCancelled {
            command: "AddSeats",
        },
        SubscriptionRule::InvalidTransition {
            command: "RenewPeriod",
            status: SubscriptionStatus::Trialing,
        },
        SubscriptionRule::ActivationRequiresBillingAccount,
        SubscriptionRule::SeatLimitExceeded {
            limit: 5,
            requested: 6,
        },
        SubscriptionRule::SeatsBelowMinimum {
            seats: 1,
            removing: 1,
        },
        SubscriptionRule::OverageBillingInUse { seats: 6, limit: 5 },
        SubscriptionRule::SamePlan {
            plan_id: plan("pro"),
        },
        SubscriptionRule::PlanCurrencyMismatch {
            from: usd(0).currency,
            to: usd(0).currency,
        },
        SubscriptionRule::PlanIntervalMismatch {
            from: crate::period::BillingInterval::Month,
            to: crate::period::BillingInterval::Year,
        },
        SubscriptionRule::CommittedFeaturesWouldBeRemoved { features: vec![] },
        SubscriptionRule::DowngradeSeatLimitBelowSeats { limit: 5, seats: 6 },
        SubscriptionRule::PeriodNotEnded { period_end: t0() },
        SubscriptionRule::TrialNotEnded {
            trial_ends_at: t0(),
        },
        SubscriptionRule::AlreadyPastDue {
            dunning_case_id: case_id(),
        },
    ];
    let codes: BTreeSet<&str> = rules.iter().map(SubscriptionRule::code).collect();
    assert_eq!(codes.len(), rules.len());
    assert!(codes
        .iter()
        .all(|c| c.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')));
}

#[test]
fn the_seed_rules_say_which_rule_refused_the_command() {
    assert_eq!(
        SubscriptionRule::ActivationRequiresBillingAccount.to_string(),
        "a subscription cannot be activated without a billing account"
    );
    assert!(SubscriptionRule::SeatLimitExceeded {
        limit: 5,
        requested: 6
    }
    .to_string()
    .contains(
        "a seat cannot be added beyond the plan's seat limit unless overage billing is enabled"
    ));
    assert!(SubscriptionRule::CommittedFeaturesWouldBeRemoved {
        features: vec![crate::testing::feature("sso")],
    }
    .to_string()
    .starts_with(
        "a downgrade cannot remove features that have usage this period or an explicit commitment"
    ));
}
