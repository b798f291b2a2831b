//! Explicit commitments, and the committed features a downgrade must respect.

use super::*;

fn add(feature_key: &str) -> EntitlementsCommand {
    EntitlementsCommand::AddCommitment {
        feature: feature(feature_key),
    }
}

fn release(feature_key: &str) -> EntitlementsCommand {
    EntitlementsCommand::ReleaseCommitment {
        feature: feature(feature_key),
    }
}

fn released(feature_key: &str) -> EntitlementsEvent {
    EntitlementsEvent::CommitmentReleased {
        feature: feature(feature_key),
        at: t0(),
    }
}

fn features(keys: &[&str]) -> BTreeSet<FeatureKey> {
    keys.iter().map(|key| feature(key)).collect()
}

#[test]
fn a_feature_of_the_plan_can_be_committed() {
    Framework::with(services())
        .given(vec![enabled("pro", march())])
        .when(add("analytics"))
        .then_expect_events(vec![committed("analytics")]);
}

#[test]
fn only_a_feature_of_the_plan_can_be_committed() {
    Framework::with(services())
        .given(vec![enabled("pro", march())])
        .when(add("sso"))
        .then_expect_error(rule(EntitlementsRule::FeatureNotInPlan {
            feature: feature("sso"),
            plan_id: plan("pro"),
        }));
}

#[test]
fn committing_a_committed_feature_changes_nothing() {
    Framework::with(services())
        .given(vec![enabled("pro", march()), committed("analytics")])
        .when(add("analytics"))
        .then_expect_events(vec![]);
}

#[test]
fn revoked_entitlements_take_no_commitment() {
    Framework::with(services())
        .given(vec![enabled("pro", march()), revoked()])
        .when(add("analytics"))
        .then_expect_error(rule(EntitlementsRule::EntitlementsRevoked));
}

#[test]
fn a_commitment_can_be_released() {
    Framework::with(services())
        .given(vec![enabled("pro", march()), committed("analytics")])
        .when(release("analytics"))
        .then_expect_events(vec![released("analytics")]);
}

#[test]
fn releasing_an_uncommitted_feature_changes_nothing() {
    Framework::with(services())
        .given(vec![enabled("pro", march())])
        .when(release("analytics"))
        .then_expect_events(vec![]);
}

#[test]
fn a_commitment_can_be_released_after_revocation() {
    Framework::with(services())
        .given(vec![
            enabled("pro", march()),
            committed("analytics"),
            revoked(),
        ])
        .when(release("analytics"))
        .then_expect_events(vec![released("analytics")]);
}

#[test]
fn features_with_usage_this_period_are_committed() {
    let entitlements = fold(vec![
        enabled("pro", march()),
        recorded("api_calls", 3, "u1", 3, Some(100_000)),
        recorded("analytics", 1, "u2", 1, None),
    ]);
    assert_eq!(
        entitlements.committed_features(),
        features(&["analytics", "api_calls"])
    );
}

#[test]
fn explicit_commitments_are_committed() {
    let entitlements = fold(vec![enabled("pro", march()), committed("priority_support")]);
    assert_eq!(
        entitlements.committed_features(),
        features(&["priority_support"])
    );
    let released = fold(vec![
        enabled("pro", march()),
        committed("priority_support"),
        released("priority_support"),
    ]);
    assert_eq!(released.committed_features(), features(&[]));
}

#[test]
fn a_new_period_clears_usage_commitments_but_not_explicit_ones() {
    let entitlements = fold(vec![
        enabled("pro", march()),
        recorded("analytics", 1, "u1", 1, None),
        committed("priority_support"),
        EntitlementsEvent::UsageReset {
            period: april(),
            at: t0(),
        },
    ]);
    assert_eq!(
        entitlements.committed_features(),
        features(&["priority_support"])
    );
    assert_eq!(entitlements.usage(&feature("analytics")), 0);
}

#[test]
fn commitments_on_features_a_plan_change_removes_end_with_it() {
    let entitlements = fold(vec![
        enabled("pro", march()),
        committed("analytics"),
        committed("projects"),
        recalculated("starter", &["analytics", "api_access", "priority_support"]),
    ]);
    assert_eq!(entitlements.commitments(), &features(&["projects"]));
}

#[test]
fn entitlements_never_enabled_commit_nothing() {
    assert!(Entitlements::default().committed_features().is_empty());
}
