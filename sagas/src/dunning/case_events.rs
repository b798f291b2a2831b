//! Pure reactions to a dunning case's own events (SPEC 4):
//! - DunningStarted → MarkPastDue, the `payment_failed` notification, and the timers (each
//!   retry, the window expiry, the cancellation);
//! - DunningWindowExtended → a window-expiry timer at the new end (the old one is refused);
//! - DunningSuspended → SuspendEntitlements and the `access_suspended` notification;
//! - DunningRecovered → Reactivate, RestoreEntitlements (a no-op unless suspended) and the
//!   `payment_recovered` notification;
//! - DunningCancelled → CancelForNonPayment (`dunning_exhausted`, which revokes entitlements
//!   through the entitlements policy), MarkUncollectible and the `subscription_cancelled`
//!   notification;
//! - DunningClosed (its subscription was cancelled) → its unfired timers withdrawn.

use application::scheduler::NewTimer;
use domain::dunning::{DunningCase, DunningCommand, DunningEvent, NotificationKind};
use domain::entitlements::EntitlementsCommand;
use domain::invoice::InvoiceCommand;
use domain::subscription::SubscriptionCommand;
use uuid::Uuid;

use super::orders::{reaction, Order};
use super::timers;

/// What one event of the case calls for.
#[derive(Debug, Default, PartialEq)]
pub struct CaseResponse {
    pub orders: Vec<Order>,
    pub timers: Vec<NewTimer>,
    /// Withdraw the case's unfired timers.
    pub withdraw_timers: bool,
}

/// The reaction to `event` (id `event_id`) of `case`, loaded after it.
pub fn react(event_id: Uuid, case: &DunningCase, event: &DunningEvent) -> CaseResponse {
    let (Some(case_id), Some(account_id)) = (case.case_id(), case.account_id()) else {
        return CaseResponse::default();
    };
    let account = account_id.as_str();
    let notify = |kind: NotificationKind, name: &str| {
        let command = DunningCommand::RecordNotification {
            kind,
            dedupe_key: format!("{name}:{case_id}"),
        };
        Order::Dunning(reaction(
            &format!("notify_{name}"),
            event_id,
            case_id.to_string(),
            command,
        ))
    };
    let subscription = |step: &str, command: SubscriptionCommand| {
        case.subscription_id()
            .map(|id| Order::Subscription(reaction(step, event_id, id.to_string(), command)))
    };
    let entitlements = |step: &str, command: EntitlementsCommand| {
        Order::Entitlements(reaction(step, event_id, account, command))
    };
    match event {
        DunningEvent::DunningStarted {
            window_expires_at,
            cancel_at,
            retry_schedule,
            ..
        } => {
            let past_due = SubscriptionCommand::MarkPastDue {
                dunning_case_id: case_id,
            };
            let mut timers: Vec<NewTimer> = retry_schedule
                .iter()
                .map(|at| timers::retry(case_id, *at))
                .collect();
            timers.push(timers::window_expiry(case_id, *window_expires_at));
            timers.push(timers::cancellation(case_id, *cancel_at));
            CaseResponse {
                orders: subscription("mark_past_due", past_due)
                    .into_iter()
                    .chain([notify(NotificationKind::PaymentFailed, "payment_failed")])
                    .collect(),
                timers,
                withdraw_timers: false,
            }
        }
        DunningEvent::DunningWindowExtended {
            window_expires_at, ..
        } => CaseResponse {
            orders: vec![],
            timers: vec![timers::window_expiry(case_id, *window_expires_at)],
            withdraw_timers: false,
        },
        DunningEvent::DunningSuspended { .. } => {
            let Some(window_expires_at) = case.window_expires_at() else {
                return CaseResponse::default();
            };
            let suspend = EntitlementsCommand::SuspendEntitlements {
                dunning_case_id: case_id,
                window_expires_at,
            };
            CaseResponse {
                orders: vec![
                    entitlements("suspend_entitlements", suspend),
                    notify(NotificationKind::AccessSuspended, "access_suspended"),
                ],
                timers: vec![],
                withdraw_timers: false,
            }
        }
        DunningEvent::DunningRecovered { .. } => CaseResponse {
            orders: subscription("reactivate", SubscriptionCommand::Reactivate)
                .into_iter()
                .chain([
                    entitlements(
                        "restore_entitlements",
                        EntitlementsCommand::RestoreEntitlements,
                    ),
                    notify(NotificationKind::PaymentRecovered, "payment_recovered"),
                ])
                .collect(),
            timers: vec![],
            withdraw_timers: false,
        },
        DunningEvent::DunningCancelled { .. } => {
            let cancel = SubscriptionCommand::CancelForNonPayment;
            let uncollectible = case.invoice_id().map(|id| {
                Order::Invoice(reaction(
                    "mark_uncollectible",
                    event_id,
                    id.to_string(),
                    InvoiceCommand::MarkUncollectible,
                ))
            });
            CaseResponse {
                orders: subscription("cancel_subscription", cancel)
                    .into_iter()
                    .chain(uncollectible)
                    .chain([notify(
                        NotificationKind::SubscriptionCancelled,
                        "subscription_cancelled",
                    )])
                    .collect(),
                timers: vec![],
                withdraw_timers: false,
            }
        }
        DunningEvent::DunningClosed { .. } => CaseResponse {
            withdraw_timers: true,
            ..CaseResponse::default()
        },
        _ => CaseResponse::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use application::scheduler::TimerKind;
    use chrono::{DateTime, Duration, Utc};
    use cqrs_es::Aggregate;
    use domain::{AccountId, Currency, Money};

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-03-01T00:00:00Z")
            .unwrap()
            .to_utc()
    }

    fn started(case_id: Uuid, subscription_id: Uuid) -> DunningEvent {
        DunningEvent::DunningStarted {
            case_id,
            account_id: AccountId::parse("acct_1").unwrap(),
            subscription_id: Some(subscription_id),
            invoice_id: Uuid::new_v4(),
            amount_due: Money::new(4900, Currency::parse("usd").unwrap()),
            failure_reason: "Your card was declined.".into(),
            failure_code: "card_declined".into(),
            started_at: t0(),
            window_expires_at: t0() + Duration::days(14),
            cancel_at: t0() + Duration::days(30),
            retry_schedule: [1, 3, 5, 7].map(|d| t0() + Duration::days(d)).to_vec(),
        }
    }

    fn case_after(events: &[DunningEvent]) -> DunningCase {
        let mut case = DunningCase::default();
        for event in events {
            case.apply(event.clone());
        }
        case
    }

    #[test]
    fn a_started_case_marks_past_due_notifies_once_and_schedules_every_deadline() {
        let (case_id, subscription_id, cause) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let event = started(case_id, subscription_id);
        let response = react(cause, &case_after(std::slice::from_ref(&event)), &event);
        let Order::Subscription(past_due) = &response.orders[0] else {
            panic!("{:?}", response.orders)
        };
        assert_eq!(past_due.aggregate_id, subscription_id.to_string());
        assert_eq!(
            past_due.command_id,
            format!("dunning_saga.mark_past_due:{cause}")
        );
        let Order::Dunning(notify) = &response.orders[1] else {
            panic!("{:?}", response.orders)
        };
        assert_eq!(
            notify.command,
            DunningCommand::RecordNotification {
                kind: NotificationKind::PaymentFailed,
                dedupe_key: format!("payment_failed:{case_id}"),
            }
        );
        let kinds: Vec<_> = response.timers.iter().map(|t| (t.kind, t.due_at)).collect();
        let day = |d| t0() + Duration::days(d);
        assert_eq!(
            kinds,
            vec![
                (TimerKind::DunningRetry, day(1)),
                (TimerKind::DunningRetry, day(3)),
                (TimerKind::DunningRetry, day(5)),
                (TimerKind::DunningRetry, day(7)),
                (TimerKind::DunningWindowExpiry, day(14)),
                (TimerKind::DunningCancellation, day(30)),
            ]
        );
        let mut keys: Vec<_> = response.timers.iter().map(|t| &t.dedupe_key).collect();
        keys.dedup();
        assert_eq!(keys.len(), 6, "every timer has its own dedupe key");
    }

    #[test]
    fn a_cancelled_case_cancels_the_subscription_and_gives_up_the_invoice() {
        let (case_id, subscription_id, cause) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let cancelled = DunningEvent::DunningCancelled {
            reason: "dunning_exhausted".into(),
            at: t0() + Duration::days(30),
        };
        let case = case_after(&[started(case_id, subscription_id), cancelled.clone()]);
        let response = react(cause, &case, &cancelled);
        let steps: Vec<_> = response.orders.iter().map(Order::step).collect();
        assert_eq!(
            steps,
            [
                "dunning_saga.cancel_subscription",
                "dunning_saga.mark_uncollectible",
                "dunning_saga.notify_subscription_cancelled"
            ]
        );
        let Order::Subscription(cancel) = &response.orders[0] else {
            panic!()
        };
        assert_eq!(cancel.command, SubscriptionCommand::CancelForNonPayment);
    }

    #[test]
    fn recovery_reactivates_restores_and_notifies() {
        let recovered = DunningEvent::DunningRecovered { at: t0() };
        let case = case_after(&[started(Uuid::new_v4(), Uuid::new_v4()), recovered.clone()]);
        let response = react(Uuid::new_v4(), &case, &recovered);
        let steps: Vec<_> = response.orders.iter().map(Order::step).collect();
        assert_eq!(
            steps,
            [
                "dunning_saga.reactivate",
                "dunning_saga.restore_entitlements",
                "dunning_saga.notify_payment_recovered"
            ]
        );
    }

    #[test]
    fn an_extended_window_gets_a_timer_of_its_own() {
        let case_id = Uuid::new_v4();
        let extended = DunningEvent::DunningWindowExtended {
            window_expires_at: t0() + Duration::days(20),
            previous: t0() + Duration::days(14),
            at: t0(),
        };
        let case = case_after(&[started(case_id, Uuid::new_v4()), extended.clone()]);
        let response = react(Uuid::new_v4(), &case, &extended);
        assert_eq!(
            response.timers,
            vec![timers::window_expiry(case_id, t0() + Duration::days(20))]
        );
        assert_ne!(
            timers::window_expiry(case_id, t0() + Duration::days(14)).dedupe_key,
            response.timers[0].dedupe_key
        );
    }

    #[test]
    fn a_case_closed_by_a_cancellation_withdraws_its_timers_and_sends_nothing() {
        let closed = DunningEvent::DunningClosed {
            reason: domain::dunning::CaseClosure::SubscriptionCancelled,
            at: t0() + Duration::days(2),
        };
        let case = case_after(&[started(Uuid::new_v4(), Uuid::new_v4()), closed.clone()]);
        let response = react(Uuid::new_v4(), &case, &closed);
        assert!(response.withdraw_timers);
        assert!(
            response.orders.is_empty() && response.timers.is_empty(),
            "{response:?}"
        );
    }
}
