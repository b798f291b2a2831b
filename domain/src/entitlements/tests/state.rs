//! What the aggregate reports after folding events: accessors, feature access, snapshots.

use proptest::prelude::*;

use super::*;

#[test]
fn folding_a_history_reports_plan_period_usage_and_standing() {
    let entitlements = fold(vec![
        enabled("pro", trial()),
        recorded("api_calls", 7, "u1", 7, Some(100_000)),
        enabled_at("pro", march(), t0() + Duration::days(14)),
        recorded("api_calls", 2, "u2", 2, Some(100_000)),
        committed("analytics"),
        suspended(case_a()),
    ]);
    assert_eq!(entitlements.status(), EntitlementStatus::Suspended);
    assert_eq!(entitlements.account_id(), Some(&account()));
    assert_eq!(entitlements.plan_id(), Some(&plan("pro")));
    assert_eq!(entitlements.period(), Some(march()));
    assert_eq!(
        entitlements.usage(&feature("api_calls")),
        2,
        "activation began a new period"
    );
    assert_eq!(entitlements.dunning_case_id(), Some(case_a()));
    assert!(entitlements.features().contains(&feature("analytics")));
    assert_eq!(
        entitlements.limits().get(&feature("projects")),
        Some(&Limit::Units(50))
    );
    assert_eq!(entitlements.commitments().len(), 1);
}

#[test]
fn a_plan_change_within_the_period_keeps_usage() {
    let entitlements = fold(vec![
        enabled("starter", march()),
        recorded("projects", 4, "u1", 4, Some(10)),
        enabled("pro", march()),
        recalculated("enterprise", &[]),
    ]);
    assert_eq!(entitlements.usage(&feature("projects")), 4);
    assert_eq!(entitlements.plan_id(), Some(&plan("enterprise")));
}

#[test]
fn restoring_and_re_enabling_clear_the_suspension_and_the_revocation() {
    let restored = fold(vec![
        enabled("pro", march()),
        suspended(case_a()),
        EntitlementsEvent::EntitlementsRestored { at: t0() },
    ]);
    assert_eq!(restored.status(), EntitlementStatus::Enabled);
    assert_eq!(restored.dunning_case_id(), None);

    let revoked_then = fold(vec![
        enabled("pro", march()),
        suspended(case_a()),
        revoked(),
    ]);
    assert_eq!(revoked_then.status(), EntitlementStatus::Revoked);
    assert_eq!(
        revoked_then.revocation_reason(),
        Some("subscription_cancelled")
    );
    assert_eq!(revoked_then.dunning_case_id(), None);

    let again = fold(vec![
        enabled("pro", march()),
        revoked(),
        enabled("starter", april()),
    ]);
    assert_eq!(again.status(), EntitlementStatus::Enabled);
    assert_eq!(again.revocation_reason(), None);
    assert_eq!(again.plan_id(), Some(&plan("starter")));
}

#[test]
fn entitlements_never_enabled_report_nothing() {
    let none = Entitlements::default();
    assert_eq!(none.status(), EntitlementStatus::None);
    assert_eq!(none.account_id(), None);
    assert_eq!(none.plan_id(), None);
    assert_eq!(none.period(), None);
    assert!(none.features().is_empty() && none.limits().is_empty());
    assert_eq!(none.usage(&feature("api_calls")), 0);
}

#[test]
fn events_before_the_first_enabling_are_ignored_not_panicked_on() {
    let entitlements = fold(vec![suspended(case_a()), revoked()]);
    assert_eq!(entitlements, Entitlements::default());
}

/// What the product is told about one feature, for compact tables.
fn answer(
    reason: AccessReason,
    limit: Option<u64>,
    used: u64,
    remaining: Option<u64>,
) -> FeatureAccess {
    FeatureAccess {
        allowed: reason == AccessReason::Allowed,
        reason,
        limit,
        used,
        remaining,
    }
}

#[test]
fn feature_access_follows_standing_plan_and_limit() {
    use AccessReason::*;
    let starter = |more: &[EntitlementsEvent]| {
        let mut events = vec![enabled("starter", march())];
        events.extend_from_slice(more);
        events
    };
    let cases = [
        (vec![], "projects", answer(NotEnabled, None, 0, None)),
        (
            starter(&[]),
            "projects",
            answer(Allowed, Some(10), 0, Some(10)),
        ),
        (
            starter(&[]),
            "email_support",
            answer(Allowed, None, 0, None),
        ),
        (
            starter(&[recorded("projects", 9, "u1", 9, Some(10))]),
            "projects",
            answer(Allowed, Some(10), 9, Some(1)),
        ),
        (
            starter(&[recorded("projects", 10, "u1", 10, Some(10))]),
            "projects",
            answer(LimitReached, Some(10), 10, Some(0)),
        ),
        (
            starter(&[recorded("projects", 12, "u1", 12, Some(10))]),
            "projects",
            answer(LimitReached, Some(10), 12, Some(0)),
        ),
        (starter(&[]), "analytics", answer(NotInPlan, None, 0, None)),
        (
            starter(&[suspended(case_a())]),
            "projects",
            answer(Suspended, Some(10), 0, Some(10)),
        ),
        (
            starter(&[revoked()]),
            "projects",
            answer(Revoked, Some(10), 0, Some(10)),
        ),
        (
            vec![enabled("enterprise", march())],
            "api_calls",
            answer(Allowed, None, 0, None),
        ),
    ];
    for (history, key, expected) in cases {
        let case = format!("{key} after {history:?}");
        assert_eq!(fold(history).access(&feature(key)), expected, "{case}");
    }
}

#[test]
fn the_aggregate_round_trips_through_json_for_snapshots() {
    let entitlements = fold(vec![
        enabled("enterprise", march()),
        recorded("api_calls", 7, "u1", 7, None),
        committed("sso"),
        suspended(case_a()),
    ]);
    let json = serde_json::to_string(&entitlements).unwrap();
    let back: Entitlements = serde_json::from_str(&json).unwrap();
    assert_eq!(back, entitlements);
    let revoked_one = fold(vec![enabled("pro", march()), revoked()]);
    let json = serde_json::to_string(&revoked_one).unwrap();
    assert_eq!(
        serde_json::from_str::<Entitlements>(&json).unwrap(),
        revoked_one
    );
    let never = serde_json::to_string(&Entitlements::default()).unwrap();
    assert_eq!(
        serde_json::from_str::<Entitlements>(&never).unwrap(),
        Entitlements::default()
    );
}

#[test]
fn commands_and_events_round_trip_through_json() {
    let command = record("api_calls", 3, "u1");
    let json = serde_json::to_string(&command).unwrap();
    assert_eq!(
        serde_json::from_str::<EntitlementsCommand>(&json).unwrap(),
        command
    );
    for event in [
        enabled("enterprise", march()),
        recorded("projects", 12, "u1", 12, Some(10)),
    ] {
        let json = serde_json::to_string(&event).unwrap();
        assert_eq!(
            serde_json::from_str::<EntitlementsEvent>(&json).unwrap(),
            event
        );
    }
}

/// Runs `commands` through `handle` as the store would, returning the aggregate and its events.
fn run(commands: Vec<EntitlementsCommand>) -> (Entitlements, Vec<EntitlementsEvent>) {
    let services = services();
    let mut entitlements = fold(vec![enabled("starter", march())]);
    let mut history = Vec::new();
    for command in commands {
        if let Ok(events) = entitlements.decide(command, &services) {
            for event in events {
                entitlements.apply(event.clone());
                history.push(event);
            }
        }
    }
    (entitlements, history)
}

proptest! {
    /// However often records are retried, each usage id counts once, the counter is the sum of
    /// the distinct records, and every record over the limit is flagged.
    #[test]
    fn each_usage_id_counts_once_however_often_it_is_retried(
        records in proptest::collection::vec((0u8..6, 1u64..5), 1..40),
    ) {
        let commands = records
            .iter()
            .map(|(id, quantity)| record("projects", *quantity, &format!("u{id}")))
            .collect();
        let (entitlements, events) = run(commands);

        let mut first_quantity = BTreeMap::new();
        for (id, quantity) in &records {
            first_quantity.entry(*id).or_insert(*quantity);
        }
        let expected: u64 = first_quantity.values().sum();
        prop_assert_eq!(events.len(), first_quantity.len());
        prop_assert_eq!(entitlements.usage(&feature("projects")), expected);
        for event in &events {
            if let EntitlementsEvent::UsageRecorded { used, over_limit, .. } = event {
                prop_assert_eq!(*over_limit, *used > 10);
            }
        }
        let replayed = fold(
            std::iter::once(enabled("starter", march())).chain(events.iter().cloned()).collect(),
        );
        prop_assert_eq!(replayed, entitlements);
    }
}
