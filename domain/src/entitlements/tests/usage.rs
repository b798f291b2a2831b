//! Metering usage and resetting it for a new period.

use super::*;

#[test]
fn usage_is_counted_for_the_current_period() {
    Framework::with(services())
        .given(vec![
            enabled("pro", march()),
            recorded("api_calls", 40, "u1", 40, Some(100_000)),
        ])
        .when(record("api_calls", 2, "u2"))
        .then_expect_events(vec![recorded("api_calls", 2, "u2", 42, Some(100_000))]);
}

#[test]
fn usage_is_recorded_once_per_usage_id() {
    Framework::with(services())
        .given(vec![
            enabled("pro", march()),
            recorded("api_calls", 40, "u1", 40, Some(100_000)),
        ])
        .when(record("api_calls", 40, "u1"))
        .then_expect_events(vec![]);
}

#[test]
fn a_usage_id_stays_spent_after_a_new_period_begins() {
    Framework::with(services())
        .given(vec![
            enabled("pro", march()),
            recorded("api_calls", 40, "u1", 40, Some(100_000)),
            EntitlementsEvent::UsageReset {
                period: april(),
                at: t0(),
            },
        ])
        .when(record("api_calls", 40, "u1"))
        .then_expect_events(vec![]);
}

#[test]
fn a_retried_usage_record_is_still_accepted_after_revocation() {
    Framework::with(services())
        .given(vec![
            enabled("pro", march()),
            recorded("api_calls", 1, "u1", 1, Some(100_000)),
            revoked(),
        ])
        .when(record("api_calls", 1, "u1"))
        .then_expect_events(vec![]);
}

#[test]
fn usage_over_the_limit_is_recorded_and_flagged_never_dropped() {
    let events = Framework::with(services())
        .given(vec![
            enabled("starter", march()),
            recorded("projects", 9, "u1", 9, Some(10)),
        ])
        .when(record("projects", 3, "u2"))
        .inspect_result()
        .unwrap();
    assert_eq!(
        events,
        vec![EntitlementsEvent::UsageRecorded {
            feature: feature("projects"),
            quantity: 3,
            usage_id: usage_id("u2"),
            used: 12,
            limit: Some(10),
            over_limit: true,
            period: Some(march()),
            at: t0(),
        }]
    );
}

#[test]
fn usage_that_reaches_the_limit_exactly_is_not_over_it() {
    Framework::with(services())
        .given(vec![
            enabled("starter", march()),
            recorded("projects", 9, "u1", 9, Some(10)),
        ])
        .when(record("projects", 1, "u2"))
        .then_expect_events(vec![EntitlementsEvent::UsageRecorded {
            feature: feature("projects"),
            quantity: 1,
            usage_id: usage_id("u2"),
            used: 10,
            limit: Some(10),
            over_limit: false,
            period: Some(march()),
            at: t0(),
        }]);
}

#[test]
fn unlimited_and_unmetered_features_are_never_over_a_limit() {
    for (plan_id, feature_key) in [("enterprise", "api_calls"), ("pro", "analytics")] {
        Framework::with(services())
            .given(vec![enabled(plan_id, march())])
            .when(record(feature_key, MAX_USAGE_QUANTITY, "u1"))
            .then_expect_events(vec![recorded(
                feature_key,
                MAX_USAGE_QUANTITY,
                "u1",
                MAX_USAGE_QUANTITY,
                None,
            )]);
    }
}

#[test]
fn usage_of_a_feature_the_plan_does_not_grant_is_refused() {
    Framework::with(services())
        .given(vec![enabled("starter", march())])
        .when(record("analytics", 1, "u1"))
        .then_expect_error(rule(EntitlementsRule::FeatureNotInPlan {
            feature: feature("analytics"),
            plan_id: plan("starter"),
        }));
}

#[test]
fn a_usage_quantity_is_between_one_and_a_billion() {
    for quantity in [0, MAX_USAGE_QUANTITY + 1] {
        let error = Framework::with(services())
            .given(vec![enabled("pro", march())])
            .when(record("api_calls", quantity, "u1"))
            .inspect_result()
            .unwrap_err();
        assert!(
            matches!(error, DomainError::Invalid(ref e) if e.field == "quantity"),
            "{error:?}"
        );
    }
}

#[test]
fn usage_while_suspended_is_still_recorded() {
    Framework::with(services())
        .given(vec![enabled("pro", march()), suspended(case_a())])
        .when(record("api_calls", 5, "u1"))
        .then_expect_events(vec![recorded("api_calls", 5, "u1", 5, Some(100_000))]);
}

#[test]
fn usage_after_revocation_is_refused() {
    Framework::with(services())
        .given(vec![enabled("pro", march()), revoked()])
        .when(record("api_calls", 5, "u1"))
        .then_expect_error(rule(EntitlementsRule::EntitlementsRevoked));
}

#[test]
fn a_new_period_resets_usage() {
    Framework::with(services())
        .given(vec![
            enabled("pro", march()),
            recorded("api_calls", 40, "u1", 40, Some(100_000)),
        ])
        .when(EntitlementsCommand::ResetUsage { period: april() })
        .then_expect_events(vec![EntitlementsEvent::UsageReset {
            period: april(),
            at: t0(),
        }]);
}

#[test]
fn a_suspended_account_still_starts_new_periods() {
    Framework::with(services())
        .given(vec![enabled("pro", march()), suspended(case_a())])
        .when(EntitlementsCommand::ResetUsage { period: april() })
        .then_expect_events(vec![EntitlementsEvent::UsageReset {
            period: april(),
            at: t0(),
        }]);
}

#[test]
fn resetting_to_the_current_period_changes_nothing() {
    Framework::with(services())
        .given(vec![
            enabled("pro", march()),
            recorded("api_calls", 40, "u1", 40, Some(100_000)),
        ])
        .when(EntitlementsCommand::ResetUsage { period: march() })
        .then_expect_events(vec![]);
}

#[test]
fn usage_cannot_be_reset_to_an_earlier_period() {
    let february = BillingPeriod {
        start: t0() - Duration::days(28),
        end: t0(),
    };
    Framework::with(services())
        .given(vec![enabled("pro", march())])
        .when(EntitlementsCommand::ResetUsage { period: february })
        .then_expect_error(rule(EntitlementsRule::PeriodBeforeCurrent {
            current_start: march().start,
            requested_start: february.start,
        }));
}

#[test]
fn a_reset_period_must_end_after_it_starts() {
    let inverted = BillingPeriod {
        start: april().end,
        end: april().start,
    };
    let error = Framework::with(services())
        .given(vec![enabled("pro", march())])
        .when(EntitlementsCommand::ResetUsage { period: inverted })
        .inspect_result()
        .unwrap_err();
    assert!(
        matches!(error, DomainError::Invalid(ref e) if e.field == "period"),
        "{error:?}"
    );
}

#[test]
fn revoked_entitlements_have_no_usage_to_reset() {
    Framework::with(services())
        .given(vec![enabled("pro", march()), revoked()])
        .when(EntitlementsCommand::ResetUsage { period: april() })
        .then_expect_error(rule(EntitlementsRule::EntitlementsRevoked));
}
