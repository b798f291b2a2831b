//! Suspension by dunning and restoration after recovery.

use super::*;

fn suspend(dunning_case_id: Uuid, window_expires_at: DateTime<Utc>) -> EntitlementsCommand {
    EntitlementsCommand::SuspendEntitlements {
        dunning_case_id,
        window_expires_at,
    }
}

#[test]
fn no_entitlement_suspension_before_the_dunning_window_expires() {
    let window_expires_at = t0() + Duration::days(14);

    Framework::with(services_at(window_expires_at - Duration::seconds(1)))
        .given(vec![enabled("pro", march())])
        .when(suspend(case_a(), window_expires_at))
        .then_expect_error(rule(EntitlementsRule::DunningWindowNotExpired {
            window_expires_at,
        }));

    Framework::with(services_at(window_expires_at))
        .given(vec![enabled("pro", march())])
        .when(suspend(case_a(), window_expires_at))
        .then_expect_events(vec![EntitlementsEvent::EntitlementsSuspended {
            dunning_case_id: case_a(),
            at: window_expires_at,
        }]);
}

#[test]
fn suspending_again_for_the_same_dunning_case_changes_nothing() {
    Framework::with(services())
        .given(vec![enabled("pro", march()), suspended(case_a())])
        .when(suspend(case_a(), t0()))
        .then_expect_events(vec![]);
}

#[test]
fn another_dunning_case_cannot_take_over_a_suspension() {
    Framework::with(services())
        .given(vec![enabled("pro", march()), suspended(case_a())])
        .when(suspend(case_b(), t0()))
        .then_expect_error(rule(EntitlementsRule::SuspendedByAnotherCase {
            dunning_case_id: case_a(),
        }));
}

#[test]
fn revoked_entitlements_cannot_be_suspended() {
    Framework::with(services())
        .given(vec![enabled("pro", march()), revoked()])
        .when(suspend(case_a(), t0()))
        .then_expect_error(rule(EntitlementsRule::EntitlementsRevoked));
}

#[test]
fn a_recovered_payment_restores_suspended_entitlements() {
    Framework::with(services())
        .given(vec![enabled("pro", march()), suspended(case_a())])
        .when(EntitlementsCommand::RestoreEntitlements)
        .then_expect_events(vec![EntitlementsEvent::EntitlementsRestored { at: t0() }]);
}

#[test]
fn restoring_enabled_entitlements_changes_nothing() {
    Framework::with(services())
        .given(vec![enabled("pro", march())])
        .when(EntitlementsCommand::RestoreEntitlements)
        .then_expect_events(vec![]);
}

#[test]
fn revoked_entitlements_cannot_be_restored() {
    Framework::with(services())
        .given(vec![
            enabled("pro", march()),
            suspended(case_a()),
            revoked(),
        ])
        .when(EntitlementsCommand::RestoreEntitlements)
        .then_expect_error(rule(EntitlementsRule::EntitlementsRevoked));
}
