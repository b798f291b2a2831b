//! Policy: an account's entitlements follow its subscription (SPEC section 4).
//! - TrialStarted, SubscriptionActivated → EnableEntitlements for the trial or the paid period;
//! - PeriodRenewed → ResetUsage for the new period;
//! - PlanChanged → RecalculateEntitlements;
//! - SubscriptionCancelled → RevokeEntitlements.
//!
//! Listens to: subscription events. Keeps: no state of its own. Writes: Entitlements commands.

use domain::entitlements::EntitlementsCommand;
use domain::subscription::SubscriptionEvent;
use domain::BillingPeriod;
use uuid::Uuid;

use crate::reaction::Reaction;

pub const POLICY: &str = "entitlements_policy";

/// The Entitlements command `event` calls for, if any.
pub fn react(event_id: Uuid, event: &SubscriptionEvent) -> Option<Reaction<EntitlementsCommand>> {
    use SubscriptionEvent as E;
    let (account_id, command) = match event {
        E::TrialStarted {
            account_id,
            plan_id,
            trial_ends_at,
            at,
            ..
        } => {
            // A trial of zero days grants nothing: the scheduler activates or cancels it at once.
            if trial_ends_at <= at {
                return None;
            }
            let period = BillingPeriod {
                start: *at,
                end: *trial_ends_at,
            };
            let command = EntitlementsCommand::EnableEntitlements {
                account_id: account_id.clone(),
                plan_id: plan_id.clone(),
                period,
            };
            (account_id, command)
        }
        E::SubscriptionActivated {
            account_id,
            plan_id,
            period,
            ..
        } => {
            let command = EntitlementsCommand::EnableEntitlements {
                account_id: account_id.clone(),
                plan_id: plan_id.clone(),
                period: *period,
            };
            (account_id, command)
        }
        E::PeriodRenewed {
            account_id, period, ..
        } => (
            account_id,
            EntitlementsCommand::ResetUsage { period: *period },
        ),
        E::PlanChanged {
            account_id,
            to_plan,
            ..
        } => {
            let command = EntitlementsCommand::RecalculateEntitlements {
                plan_id: to_plan.clone(),
            };
            (account_id, command)
        }
        E::SubscriptionCancelled {
            account_id, reason, ..
        } => {
            let reason = format!("subscription_cancelled: {reason}");
            (
                account_id,
                EntitlementsCommand::RevokeEntitlements { reason },
            )
        }
        _ => return None,
    };
    Some(Reaction::new(
        POLICY,
        event_id,
        account_id.as_str(),
        command,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Duration, Utc};
    use domain::subscription::CancellationReason;
    use domain::{AccountId, Currency, PlanId, SeatCount};

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-03-01T00:00:00Z")
            .unwrap()
            .to_utc()
    }

    fn trial(days: i64) -> SubscriptionEvent {
        SubscriptionEvent::TrialStarted {
            subscription_id: Uuid::new_v4(),
            account_id: AccountId::parse("acct_1").unwrap(),
            plan_id: PlanId::parse("pro").unwrap(),
            currency: Currency::parse("usd").unwrap(),
            seats: SeatCount::ONE,
            overage_billing: false,
            billing_account: None,
            trial_ends_at: t0() + Duration::days(days),
            at: t0(),
        }
    }

    #[test]
    fn a_trial_enables_the_plan_for_the_trial_period() {
        let cause = Uuid::new_v4();
        let reaction = react(cause, &trial(14)).expect("a reaction");
        assert_eq!(reaction.aggregate_id, "acct_1");
        assert_eq!(reaction.command_id, format!("entitlements_policy:{cause}"));
        match reaction.command {
            EntitlementsCommand::EnableEntitlements {
                period, plan_id, ..
            } => {
                assert_eq!(plan_id.as_str(), "pro");
                assert_eq!(
                    (period.start, period.end),
                    (t0(), t0() + Duration::days(14))
                );
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn a_zero_day_trial_grants_nothing() {
        assert!(react(Uuid::new_v4(), &trial(0)).is_none());
    }

    #[test]
    fn the_same_cause_always_yields_the_same_command_id() {
        let cause = Uuid::new_v4();
        assert_eq!(
            react(cause, &trial(14)).unwrap().command_id,
            react(cause, &trial(14)).unwrap().command_id
        );
    }

    #[test]
    fn cancellation_revokes_with_the_reason() {
        let event = SubscriptionEvent::SubscriptionCancelled {
            account_id: AccountId::parse("acct_1").unwrap(),
            reason: CancellationReason::TrialExpired,
            comment: None,
            ended_at: t0(),
            closed: None,
            discount: None,
            at: t0(),
        };
        match react(Uuid::new_v4(), &event).unwrap().command {
            EntitlementsCommand::RevokeEntitlements { reason } => {
                assert_eq!(reason, "subscription_cancelled: trial_expired")
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn seat_changes_do_not_touch_entitlements() {
        let event = SubscriptionEvent::SeatsAdded {
            account_id: AccountId::parse("acct_1").unwrap(),
            count: SeatCount::ONE,
            seats: SeatCount::parse(2).unwrap(),
            pending_item: None,
            at: t0(),
        };
        assert!(react(Uuid::new_v4(), &event).is_none());
    }
}
