//! Enabling, recalculating and revoking entitlements, and commands on entitlements that were
//! never enabled.

use super::*;

#[test]
fn enabling_grants_the_plans_features_and_limits_for_the_period() {
    Framework::with(services())
        .given_no_previous_events()
        .when(enable("pro", trial()))
        .then_expect_events(vec![enabled("pro", trial())]);
}

#[test]
fn entitlements_cannot_be_enabled_for_a_plan_outside_the_catalog() {
    Framework::with(services())
        .given_no_previous_events()
        .when(enable("platinum", trial()))
        .then_expect_error(rule(EntitlementsRule::UnknownPlan {
            plan_id: plan("platinum"),
        }));
}

#[test]
fn a_period_must_end_after_it_starts() {
    let empty = BillingPeriod {
        start: t0(),
        end: t0(),
    };
    let error = Framework::with(services())
        .given_no_previous_events()
        .when(enable("pro", empty))
        .inspect_result()
        .unwrap_err();
    assert!(
        matches!(error, DomainError::Invalid(ref e) if e.field == "period"),
        "{error:?}"
    );
}

#[test]
fn entitlements_belong_to_one_account() {
    let error = Framework::with(services())
        .given(vec![enabled("pro", trial())])
        .when(EntitlementsCommand::EnableEntitlements {
            account_id: AccountId::parse("acct_2").unwrap(),
            plan_id: plan("pro"),
            period: march(),
        })
        .inspect_result()
        .unwrap_err();
    assert!(
        matches!(error, DomainError::Invalid(ref e) if e.field == "account_id"),
        "{error:?}"
    );
}

#[test]
fn activation_re_enables_the_plan_for_the_first_paid_period() {
    Framework::with(services())
        .given(vec![enabled("pro", trial())])
        .when(enable("pro", march()))
        .then_expect_events(vec![enabled("pro", march())]);
}

#[test]
fn enabling_the_same_plan_for_the_same_period_changes_nothing() {
    Framework::with(services())
        .given(vec![enabled("pro", trial())])
        .when(enable("pro", trial()))
        .then_expect_events(vec![]);
}

#[test]
fn suspended_entitlements_stay_suspended_until_restored() {
    Framework::with(services())
        .given(vec![enabled("pro", march()), suspended(case_a())])
        .when(enable("pro", april()))
        .then_expect_error(rule(EntitlementsRule::EntitlementsSuspended {
            dunning_case_id: case_a(),
        }));
}

#[test]
fn a_new_subscription_enables_revoked_entitlements_again() {
    Framework::with(services())
        .given(vec![enabled("pro", march()), revoked()])
        .when(enable("pro", march()))
        .then_expect_events(vec![enabled("pro", march())]);
}

#[test]
fn a_plan_change_recalculates_features_and_lists_those_removed() {
    Framework::with(services())
        .given(vec![enabled("pro", march())])
        .when(EntitlementsCommand::RecalculateEntitlements {
            plan_id: plan("starter"),
        })
        .then_expect_events(vec![recalculated(
            "starter",
            &["analytics", "api_access", "priority_support"],
        )]);
}

#[test]
fn an_upgrade_removes_no_feature() {
    Framework::with(services())
        .given(vec![enabled("pro", march())])
        .when(EntitlementsCommand::RecalculateEntitlements {
            plan_id: plan("enterprise"),
        })
        .then_expect_events(vec![recalculated("enterprise", &[])]);
}

#[test]
fn suspended_entitlements_follow_a_plan_change_and_stay_suspended() {
    let events = Framework::with(services())
        .given(vec![enabled("pro", march()), suspended(case_a())])
        .when(EntitlementsCommand::RecalculateEntitlements {
            plan_id: plan("enterprise"),
        })
        .inspect_result()
        .unwrap();
    assert_eq!(events, vec![recalculated("enterprise", &[])]);
    let after = fold(vec![
        enabled("pro", march()),
        suspended(case_a()),
        events[0].clone(),
    ]);
    assert_eq!(after.status(), EntitlementStatus::Suspended);
    assert_eq!(after.plan_id(), Some(&plan("enterprise")));
}

#[test]
fn recalculating_to_the_current_plan_changes_nothing() {
    Framework::with(services())
        .given(vec![enabled("pro", march())])
        .when(EntitlementsCommand::RecalculateEntitlements {
            plan_id: plan("pro"),
        })
        .then_expect_events(vec![]);
}

#[test]
fn entitlements_cannot_be_recalculated_for_a_plan_outside_the_catalog() {
    Framework::with(services())
        .given(vec![enabled("pro", march())])
        .when(EntitlementsCommand::RecalculateEntitlements {
            plan_id: plan("platinum"),
        })
        .then_expect_error(rule(EntitlementsRule::UnknownPlan {
            plan_id: plan("platinum"),
        }));
}

#[test]
fn revoked_entitlements_cannot_be_recalculated() {
    Framework::with(services())
        .given(vec![enabled("pro", march()), revoked()])
        .when(EntitlementsCommand::RecalculateEntitlements {
            plan_id: plan("starter"),
        })
        .then_expect_error(rule(EntitlementsRule::EntitlementsRevoked));
}

fn revoke(reason: &str) -> EntitlementsCommand {
    EntitlementsCommand::RevokeEntitlements {
        reason: reason.into(),
    }
}

#[test]
fn a_cancelled_subscription_revokes_entitlements() {
    Framework::with(services())
        .given(vec![enabled("pro", march())])
        .when(revoke("subscription_cancelled"))
        .then_expect_events(vec![revoked()]);
}

#[test]
fn a_cancelled_subscription_revokes_suspended_entitlements() {
    Framework::with(services())
        .given(vec![enabled("pro", march()), suspended(case_a())])
        .when(revoke("  subscription_cancelled "))
        .then_expect_events(vec![revoked()]);
}

#[test]
fn revoking_revoked_entitlements_changes_nothing() {
    Framework::with(services())
        .given(vec![enabled("pro", march()), revoked()])
        .when(revoke("dunning_exhausted"))
        .then_expect_events(vec![]);
}

#[test]
fn a_revocation_needs_a_reason_of_at_most_500_characters() {
    for reason in ["", "   ", &"x".repeat(501)] {
        let error = Framework::with(services())
            .given(vec![enabled("pro", march())])
            .when(revoke(reason))
            .inspect_result()
            .unwrap_err();
        assert!(
            matches!(error, DomainError::Invalid(ref e) if e.field == "reason"),
            "{error:?}"
        );
    }
}

#[test]
fn every_command_but_enable_needs_entitlements_that_were_enabled() {
    let commands = vec![
        EntitlementsCommand::RecalculateEntitlements {
            plan_id: plan("pro"),
        },
        EntitlementsCommand::SuspendEntitlements {
            dunning_case_id: case_a(),
            window_expires_at: t0(),
        },
        EntitlementsCommand::RestoreEntitlements,
        revoke("subscription_cancelled"),
        record("api_calls", 1, "u1"),
        EntitlementsCommand::ResetUsage { period: april() },
        EntitlementsCommand::AddCommitment {
            feature: feature("analytics"),
        },
        EntitlementsCommand::ReleaseCommitment {
            feature: feature("analytics"),
        },
    ];
    for command in commands {
        Framework::with(services())
            .given_no_previous_events()
            .when(command)
            .then_expect_error(not_found());
    }
}

#[test]
fn event_types_are_the_variant_names_at_version_one() {
    use cqrs_es::DomainEvent;
    let cases = [
        (enabled("pro", march()), "EntitlementsEnabled"),
        (recalculated("starter", &[]), "EntitlementsRecalculated"),
        (suspended(case_a()), "EntitlementsSuspended"),
        (
            EntitlementsEvent::EntitlementsRestored { at: t0() },
            "EntitlementsRestored",
        ),
        (revoked(), "EntitlementsRevoked"),
        (
            recorded("api_calls", 1, "u1", 1, Some(100_000)),
            "UsageRecorded",
        ),
        (
            EntitlementsEvent::UsageReset {
                period: april(),
                at: t0(),
            },
            "UsageReset",
        ),
        (committed("analytics"), "CommitmentAdded"),
        (
            EntitlementsEvent::CommitmentReleased {
                feature: feature("analytics"),
                at: t0(),
            },
            "CommitmentReleased",
        ),
    ];
    for (event, name) in cases {
        assert_eq!(event.event_type(), name);
        assert_eq!(event.event_version(), "1.0");
        // The default external tagging puts the same name on the wire.
        let json = serde_json::to_value(&event).unwrap();
        assert!(json.get(name).is_some(), "{json}");
    }
}
