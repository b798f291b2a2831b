//! Policy: the timers a subscription needs (SPEC 3.2).
//! - TrialStarted → TrialWillEnd three days before the trial end (at once for a shorter trial),
//!   and ExpireTrial at the trial end (it activates or cancels the subscription);
//! - SubscriptionActivated, PeriodRenewed → RenewPeriod at the period end.
//!
//! A scheduled cancellation or downgrade needs no timer of its own: RenewPeriod and ExpireTrial
//! apply it. A timer that finds nothing to do (the subscription was cancelled at once, or
//! activated by hand) is refused by the aggregate and completed.
//!
//! Listens to: subscription events. Keeps: no state of its own. Writes: timers, idempotent by
//! their dedupe keys, so a re-run after a crash schedules nothing twice.

use application::scheduler::{NewTimer, TimerKind};
use chrono::{Duration, SecondsFormat};
use domain::subscription::SubscriptionEvent;

pub const POLICY: &str = "timers_policy";

/// How long before a trial ends the customer is warned, as Stripe's `trial_will_end` is.
pub const TRIAL_WARNING: Duration = Duration::days(3);

/// The timers `event` of the subscription `subscription_id` calls for.
pub fn react(subscription_id: &str, event: &SubscriptionEvent) -> Vec<NewTimer> {
    use SubscriptionEvent as E;
    match event {
        E::TrialStarted {
            trial_ends_at, at, ..
        } => vec![
            NewTimer {
                kind: TimerKind::TrialWillEnd,
                aggregate_id: subscription_id.to_owned(),
                due_at: (*trial_ends_at - TRIAL_WARNING).max(*at),
                dedupe_key: format!("trial_will_end:{subscription_id}"),
            },
            NewTimer {
                kind: TimerKind::ExpireTrial,
                aggregate_id: subscription_id.to_owned(),
                due_at: *trial_ends_at,
                dedupe_key: format!("expire_trial:{subscription_id}"),
            },
        ],
        E::SubscriptionActivated { period, .. } | E::PeriodRenewed { period, .. } => {
            // One renewal per period: the period end names it.
            let end = period.end.to_rfc3339_opts(SecondsFormat::AutoSi, true);
            vec![NewTimer {
                kind: TimerKind::RenewPeriod,
                aggregate_id: subscription_id.to_owned(),
                due_at: period.end,
                dedupe_key: format!("renew:{subscription_id}:{end}"),
            }]
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};
    use domain::{AccountId, BillingPeriod, Currency, PlanId, SeatCount};
    use uuid::Uuid;

    const SUB: &str = "0b6f5d7e-1f0a-4c55-9d7e-6a1f2b3c4d5e";

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-03-01T00:00:00Z")
            .unwrap()
            .to_utc()
    }

    fn account() -> AccountId {
        AccountId::parse("acct_1").unwrap()
    }

    fn period(start: DateTime<Utc>) -> BillingPeriod {
        BillingPeriod {
            start,
            end: start + Duration::days(31),
        }
    }

    fn renewed(start: DateTime<Utc>) -> SubscriptionEvent {
        SubscriptionEvent::PeriodRenewed {
            account_id: account(),
            period: period(start),
            plan_id: PlanId::parse("pro").unwrap(),
            seats: SeatCount::ONE,
            invoice_lines: Vec::new(),
            closed: None,
            discount: None,
            at: start,
        }
    }

    fn trial(days: i64) -> SubscriptionEvent {
        SubscriptionEvent::TrialStarted {
            subscription_id: Uuid::parse_str(SUB).unwrap(),
            account_id: account(),
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
    fn a_trial_warns_three_days_ahead_and_expires_at_its_end_once_per_subscription() {
        assert_eq!(
            react(SUB, &trial(14)),
            vec![
                NewTimer {
                    kind: TimerKind::TrialWillEnd,
                    aggregate_id: SUB.to_owned(),
                    due_at: t0() + Duration::days(11),
                    dedupe_key: format!("trial_will_end:{SUB}"),
                },
                NewTimer {
                    kind: TimerKind::ExpireTrial,
                    aggregate_id: SUB.to_owned(),
                    due_at: t0() + Duration::days(14),
                    dedupe_key: format!("expire_trial:{SUB}"),
                }
            ]
        );
    }

    #[test]
    fn a_trial_shorter_than_the_warning_warns_at_once() {
        let timers = react(SUB, &trial(2));
        assert_eq!(timers[0].kind, TimerKind::TrialWillEnd);
        assert_eq!(timers[0].due_at, t0());
    }

    #[test]
    fn activation_and_each_renewal_schedule_the_next_renewal() {
        let activated = SubscriptionEvent::SubscriptionActivated {
            account_id: account(),
            plan_id: PlanId::parse("pro").unwrap(),
            period: period(t0()),
            seats: SeatCount::ONE,
            invoice_lines: Vec::new(),
            discount: None,
            at: t0(),
        };
        let [first] = react(SUB, &activated).try_into().expect("one renewal");
        assert_eq!(
            (first.kind, first.due_at),
            (TimerKind::RenewPeriod, t0() + Duration::days(31))
        );
        assert_eq!(
            first.dedupe_key,
            format!("renew:{SUB}:2026-04-01T00:00:00Z")
        );
        let [second] = react(SUB, &renewed(first.due_at))
            .try_into()
            .expect("the next renewal");
        assert_eq!(second.due_at, first.due_at + Duration::days(31));
        assert_ne!(second.dedupe_key, first.dedupe_key, "one timer per period");
        assert_eq!(
            react(SUB, &renewed(first.due_at)),
            vec![second],
            "the same event always yields the same timer"
        );
    }

    #[test]
    fn a_scheduled_cancellation_needs_no_timer_of_its_own() {
        let event = SubscriptionEvent::CancellationScheduled {
            account_id: account(),
            comment: Some("too expensive".into()),
            effective_at: t0(),
            at: t0(),
        };
        assert_eq!(react(SUB, &event), Vec::new());
    }
}
