//! ChangePlan: immediate prorated upgrades, scheduled downgrades, and what may not change.

use super::*;
use crate::catalog::tests::definition;
use crate::period::BillingInterval;

fn plan_changed(
    from: &str,
    to: &str,
    lines: Vec<InvoiceLine>,
    now: DateTime<Utc>,
) -> SubscriptionEvent {
    SubscriptionEvent::PlanChanged {
        account_id: account(),
        from_plan: plan(from),
        to_plan: plan(to),
        proration_lines: lines,
        credit: None,
        discount: None,
        at: now,
    }
}

fn change_scheduled(from: &str, to: &str, now: DateTime<Utc>) -> SubscriptionEvent {
    SubscriptionEvent::PlanChangeScheduled {
        account_id: account(),
        from_plan: plan(from),
        to_plan: plan(to),
        effective_at: april().end,
        at: now,
    }
}

fn pro_to_enterprise_from_april_16(amount: i64) -> Vec<InvoiceLine> {
    vec![line(
        "Upgrade from Pro to Enterprise, prorated 2026-04-16 – 2026-05-01",
        LineKind::Proration,
        1,
        amount,
    )]
}

/// `SPEC 3.2`'s proration by hand: `amount × remaining / period`, rounded half-up.
fn prorated(amount: i64, remaining_seconds: i64, period_seconds: i64) -> i64 {
    (2 * amount * remaining_seconds + period_seconds) / (2 * period_seconds)
}

#[test]
fn an_upgrade_halfway_through_the_period_charges_half_the_price_difference() {
    // April has 30 days; at 2026-04-16T00:00 15 of them remain.
    let now = at("2026-04-16T00:00:00Z");
    let expected = prorated(19_900 - 4_900, 15 * 86_400, 30 * 86_400);
    assert_eq!(expected, 7_500);
    given_at(now, active_pro_in_april(3, false))
        .when(change_plan("enterprise", false, &[]))
        .then_expect_events(vec![plan_changed(
            "pro",
            "enterprise",
            pro_to_enterprise_from_april_16(expected),
            now,
        )]);
}

#[test]
fn an_upgrade_charge_is_the_prorated_difference_rounded_half_up() {
    // 07:00 on the 16th leaves 1_296_000 − 25_200 = 1_270_800 of 2_592_000 seconds:
    // 15_000 × 1_270_800 / 2_592_000 = 7_354.17 → 7_354.
    let now = at("2026-04-16T07:00:00Z");
    let remaining = (april().end - now).num_seconds();
    assert_eq!(remaining, 1_270_800);
    let expected = prorated(15_000, remaining, april().seconds());
    assert_eq!(expected, 7_354);
    given_at(now, active_pro_in_april(3, false))
        .when(change_plan("enterprise", false, &[]))
        .then_expect_events(vec![plan_changed(
            "pro",
            "enterprise",
            pro_to_enterprise_from_april_16(expected),
            now,
        )]);
}

#[test]
fn an_upgrade_during_the_trial_applies_at_once_without_a_charge() {
    let now = at("2026-03-05T00:00:00Z");
    given_at(now, vec![pro_trial()])
        .when(change_plan("enterprise", false, &[]))
        .then_expect_events(vec![plan_changed("pro", "enterprise", vec![], now)]);
}

#[test]
fn an_upgrade_replaces_a_scheduled_downgrade() {
    let now = at("2026-04-16T00:00:00Z");
    let mut history = active_pro_in_april(3, false);
    history.push(change_scheduled(
        "pro",
        "starter",
        at("2026-04-10T00:00:00Z"),
    ));
    let events = TestFramework::<Subscription>::with(services_at(now))
        .given(history.clone())
        .when(change_plan("enterprise", false, &[]))
        .inspect_result()
        .unwrap();
    assert!(
        matches!(&events[..], [SubscriptionEvent::PlanChanged { to_plan, .. }] if *to_plan == plan("enterprise"))
    );
    history.extend(events);
    let subscription = fold(history);
    assert_eq!(subscription.plan_id(), Some(&plan("enterprise")));
    assert_eq!(subscription.scheduled_change(), None);
}

/// `small` (rank 1, 10 seats, 1900) and `premium` (rank 2, 3 seats, 1000): an upgrade by rank
/// that has fewer seats and costs less.
fn odd_plans() -> BillingServices {
    let mut premium = definition("premium", 2);
    premium.seat_limit = Some(3);
    premium.base_price = Some(1000);
    let mut small = definition("small", 1);
    small.seat_limit = Some(10);
    services_with(at("2026-04-16T00:00:00Z"), vec![small, premium])
}

fn small_trial(seat_count: u32) -> SubscriptionEvent {
    SubscriptionEvent::TrialStarted {
        subscription_id: sub_id(),
        account_id: account(),
        plan_id: plan("small"),
        currency: usd(0).currency,
        seats: seats(seat_count),
        overage_billing: false,
        billing_account: Some(billing()),
        trial_ends_at: at("2026-03-15T00:00:00Z"),
        at: t0(),
    }
}

#[test]
fn an_upgrade_to_fewer_seats_than_in_use_needs_overage_billing() {
    TestFramework::<Subscription>::with(odd_plans())
        .given(vec![small_trial(5)])
        .when(change_plan("premium", false, &[]))
        .then_expect_error(rule(SubscriptionRule::SeatLimitExceeded {
            limit: 3,
            requested: 5,
        }));
}

#[test]
fn an_upgrade_to_a_cheaper_plan_charges_nothing() {
    let now = at("2026-04-16T00:00:00Z");
    TestFramework::<Subscription>::with(odd_plans())
        .given(vec![small_trial(2), activated("small", 2, april())])
        .when(change_plan("premium", false, &[]))
        .then_expect_events(vec![plan_changed("small", "premium", vec![], now)]);
}

#[test]
fn no_downgrade_that_removes_committed_features_without_confirmation() {
    let refused = given_at(at("2026-04-16T00:00:00Z"), active_pro_in_april(3, false))
        .when(change_plan(
            "starter",
            false,
            &["api_access", "projects", "analytics"],
        ))
        .inspect_result()
        .unwrap_err();
    let expected = rule(SubscriptionRule::CommittedFeaturesWouldBeRemoved {
        features: vec![
            crate::testing::feature("analytics"),
            crate::testing::feature("api_access"),
        ],
    });
    assert_eq!(refused, expected);
    assert!(
        refused
            .to_string()
            .ends_with("it would remove analytics, api_access"),
        "{refused}"
    );
}

#[test]
fn a_confirmed_downgrade_removing_committed_features_is_scheduled_for_the_period_end() {
    let now = at("2026-04-16T00:00:00Z");
    given_at(now, active_pro_in_april(3, false))
        .when(change_plan("starter", true, &["analytics", "api_access"]))
        .then_expect_events(vec![change_scheduled("pro", "starter", now)]);
}

#[test]
fn a_downgrade_removing_only_uncommitted_features_needs_no_confirmation() {
    let now = at("2026-04-16T00:00:00Z");
    given_at(now, active_pro_in_april(3, false))
        .when(change_plan(
            "starter",
            false,
            &["projects", "email_support"],
        ))
        .then_expect_events(vec![change_scheduled("pro", "starter", now)]);
}

#[test]
fn a_downgrade_from_enterprise_protects_committed_sso() {
    given_at(
        at("2026-04-16T00:00:00Z"),
        vec![
            trial_of("enterprise", 3, Some(billing()), false),
            activated("enterprise", 3, april()),
        ],
    )
    .when(change_plan("pro", false, &["sso"]))
    .then_expect_error(rule(SubscriptionRule::CommittedFeaturesWouldBeRemoved {
        features: vec![crate::testing::feature("sso")],
    }));
}

#[test]
fn a_downgrade_below_the_seats_in_use_needs_overage_billing() {
    given_at(at("2026-04-16T00:00:00Z"), active_pro_in_april(8, false))
        .when(change_plan("starter", false, &[]))
        .then_expect_error(rule(SubscriptionRule::DowngradeSeatLimitBelowSeats {
            limit: 5,
            seats: 8,
        }));
}

#[test]
fn a_downgrade_below_the_seats_in_use_is_scheduled_with_overage_billing() {
    let now = at("2026-04-16T00:00:00Z");
    given_at(now, active_pro_in_april(8, true))
        .when(change_plan("starter", false, &[]))
        .then_expect_events(vec![change_scheduled("pro", "starter", now)]);
}

#[test]
fn a_downgrade_during_the_trial_applies_at_once() {
    let now = at("2026-03-05T00:00:00Z");
    given_at(now, vec![pro_trial()])
        .when(change_plan("starter", false, &[]))
        .then_expect_events(vec![plan_changed("pro", "starter", vec![], now)]);
}

#[test]
fn asking_again_for_the_scheduled_downgrade_changes_nothing() {
    let mut history = active_pro_in_april(3, false);
    history.push(change_scheduled(
        "pro",
        "starter",
        at("2026-04-10T00:00:00Z"),
    ));
    given_at(at("2026-04-16T00:00:00Z"), history)
        .when(change_plan("starter", false, &[]))
        .then_expect_events(vec![]);
}

#[test]
fn a_new_downgrade_replaces_the_scheduled_one() {
    let now = at("2026-04-16T00:00:00Z");
    let history = vec![
        trial_of("enterprise", 3, Some(billing()), false),
        activated("enterprise", 3, april()),
        change_scheduled("enterprise", "pro", at("2026-04-10T00:00:00Z")),
    ];
    given_at(now, history)
        .when(change_plan("starter", false, &[]))
        .then_expect_events(vec![change_scheduled("enterprise", "starter", now)]);
}

#[test]
fn a_plan_cannot_be_changed_to_itself() {
    given_at(at("2026-04-16T00:00:00Z"), active_pro_in_april(3, false))
        .when(change_plan("pro", false, &[]))
        .then_expect_error(rule(SubscriptionRule::SamePlan {
            plan_id: plan("pro"),
        }));
}

#[test]
fn a_plan_cannot_be_changed_to_an_unknown_plan() {
    given_at(at("2026-04-16T00:00:00Z"), active_pro_in_april(3, false))
        .when(change_plan("platinum", false, &[]))
        .then_expect_error(rule(SubscriptionRule::UnknownPlan {
            plan_id: plan("platinum"),
        }));
}

#[test]
fn the_plan_of_a_cancelled_subscription_cannot_change() {
    given(vec![pro_trial(), cancelled("closed", t0())])
        .when(change_plan("enterprise", false, &[]))
        .then_expect_error(rule(SubscriptionRule::AlreadyCancelled {
            command: "ChangePlan",
        }));
}

/// `basic` (usd, month, rank 1), `euro` (eur, month, rank 2), `annual` (usd, year, rank 3).
fn mixed_plans() -> BillingServices {
    let mut euro = definition("euro", 2);
    euro.currency = Some("eur".into());
    let mut annual = definition("annual", 3);
    annual.interval = Some(BillingInterval::Year);
    services_with(t0(), vec![definition("basic", 1), euro, annual])
}

fn basic_trial() -> SubscriptionEvent {
    SubscriptionEvent::TrialStarted {
        subscription_id: sub_id(),
        account_id: account(),
        plan_id: plan("basic"),
        currency: usd(0).currency,
        seats: seats(1),
        overage_billing: false,
        billing_account: None,
        trial_ends_at: at("2026-03-15T00:00:00Z"),
        at: t0(),
    }
}

#[test]
fn a_plan_cannot_change_to_another_currency() {
    TestFramework::<Subscription>::with(mixed_plans())
        .given(vec![basic_trial()])
        .when(change_plan("euro", false, &[]))
        .then_expect_error(rule(SubscriptionRule::PlanCurrencyMismatch {
            from: usd(0).currency,
            to: crate::money::Currency::parse("eur").unwrap(),
        }));
}

#[test]
fn a_plan_cannot_change_to_another_billing_interval() {
    TestFramework::<Subscription>::with(mixed_plans())
        .given(vec![basic_trial()])
        .when(change_plan("annual", false, &[]))
        .then_expect_error(rule(SubscriptionRule::PlanIntervalMismatch {
            from: BillingInterval::Month,
            to: BillingInterval::Year,
        }));
}

fn downgrade_now(plan_id: &str) -> SubscriptionCommand {
    match change_plan(plan_id, false, &[]) {
        SubscriptionCommand::ChangePlan {
            plan_id,
            confirm_feature_removal,
            committed_features,
            ..
        } => SubscriptionCommand::ChangePlan {
            plan_id,
            confirm_feature_removal,
            committed_features,
            downgrade_now: true,
        },
        other => other,
    }
}

#[test]
fn a_downgrade_now_credits_the_unused_part_of_the_price_difference() {
    // Half of April left: half of 4900 − 1900 comes back.
    let now = at("2026-04-16T00:00:00Z");
    let mut changed = plan_changed("pro", "starter", vec![], now);
    if let SubscriptionEvent::PlanChanged { credit, .. } = &mut changed {
        *credit = Some(usd(prorated(4_900 - 1_900, 15 * 86_400, 30 * 86_400)));
    }
    given_at(now, active_pro_in_april(3, false))
        .when(downgrade_now("starter"))
        .then_expect_events(vec![changed]);
}

#[test]
fn a_downgrade_now_replaces_the_same_downgrade_scheduled() {
    let now = at("2026-04-30T00:00:00Z");
    let mut history = active_pro_in_april(3, false);
    history.push(change_scheduled(
        "pro",
        "starter",
        at("2026-04-10T00:00:00Z"),
    ));
    let mut changed = plan_changed("pro", "starter", vec![], now);
    if let SubscriptionEvent::PlanChanged { credit, .. } = &mut changed {
        *credit = Some(usd(100));
    }
    given_at(now, history)
        .when(downgrade_now("starter"))
        .then_expect_events(vec![changed]);
}

#[test]
fn a_downgrade_now_keeps_the_rules_of_a_downgrade() {
    given_at(at("2026-04-16T00:00:00Z"), active_pro_in_april(3, false))
        .when(match downgrade_now("starter") {
            SubscriptionCommand::ChangePlan {
                plan_id,
                committed_features: _,
                confirm_feature_removal,
                downgrade_now,
            } => SubscriptionCommand::ChangePlan {
                plan_id,
                confirm_feature_removal,
                committed_features: BTreeSet::from([crate::testing::feature("analytics")]),
                downgrade_now,
            },
            other => other,
        })
        .then_expect_error(
            SubscriptionRule::CommittedFeaturesWouldBeRemoved {
                features: vec![crate::testing::feature("analytics")],
            }
            .into(),
        );
}
