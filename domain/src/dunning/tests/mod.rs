//! Given/when/then tests of the DunningCase aggregate, one file per part of a case's life.

mod closing;
mod notifications;
mod retries;
mod start;
mod state;
mod support;
mod suspension;

use chrono::{DateTime, Duration, Utc};
use cqrs_es::test::{AggregateTestExecutor, TestFramework};
use uuid::Uuid;

use crate::dunning::{DunningCase, DunningCommand, DunningEvent, NotificationKind};
use crate::testing::{account, services_at, t0, usd};

fn case_id() -> Uuid {
    Uuid::from_u128(0xca5e)
}

fn invoice_id() -> Uuid {
    Uuid::from_u128(0x1a1a)
}

fn subscription_id() -> Uuid {
    Uuid::from_u128(0x5b5b)
}

/// `days` after the case started (t0).
fn day(days: i64) -> DateTime<Utc> {
    t0() + Duration::days(days)
}

fn start_with(
    amount_due: i64,
    failure_reason: &str,
    failure_code: &str,
    hard_decline: bool,
) -> DunningCommand {
    DunningCommand::StartDunning {
        case_id: case_id(),
        account_id: account(),
        subscription_id: Some(subscription_id()),
        invoice_id: invoice_id(),
        amount_due: usd(amount_due),
        failure_reason: failure_reason.into(),
        failure_code: failure_code.into(),
        hard_decline,
    }
}

fn start_command(hard_decline: bool) -> DunningCommand {
    start_with(
        4900,
        "Your card was declined.",
        "card_declined",
        hard_decline,
    )
}

/// `DunningStarted` at t0 for 4900 usd, with deadlines `days` after t0.
fn started_with(
    failure_reason: &str,
    failure_code: &str,
    window_days: i64,
    cancel_days: i64,
    retry_days: &[i64],
) -> DunningEvent {
    DunningEvent::DunningStarted {
        case_id: case_id(),
        account_id: account(),
        subscription_id: Some(subscription_id()),
        invoice_id: invoice_id(),
        amount_due: usd(4900),
        failure_reason: failure_reason.into(),
        failure_code: failure_code.into(),
        started_at: t0(),
        window_expires_at: day(window_days),
        cancel_at: day(cancel_days),
        retry_schedule: retry_days.iter().map(|d| day(*d)).collect(),
    }
}

/// The case as started under the default policy: retries on days 1, 3, 5 and 7, window
/// 14 days, cancellation after 30.
fn started() -> DunningEvent {
    started_with(
        "Your card was declined.",
        "card_declined",
        14,
        30,
        &[1, 3, 5, 7],
    )
}

/// Every command that works an existing case, except `RecordNotification` (allowed on a closed
/// case).
fn case_commands() -> Vec<DunningCommand> {
    vec![
        DunningCommand::ScheduleRetry { at: day(2) },
        DunningCommand::RecordRetryOutcome {
            succeeded: true,
            failure_reason: None,
        },
        DunningCommand::Escalate {
            reason: "vip".into(),
        },
        DunningCommand::MarkSuspended,
        DunningCommand::Recover,
        DunningCommand::CancelDunning,
        DunningCommand::Assign {
            agent: "ana".into(),
        },
        DunningCommand::AddNote {
            text: "called".into(),
            author: None,
        },
        DunningCommand::ExtendWindow { until: day(20) },
        DunningCommand::ResolveManually {
            resolution: "paid by wire".into(),
        },
    ]
}

fn escalated(reason: &str, at: DateTime<Utc>) -> DunningEvent {
    DunningEvent::DunningEscalated {
        reason: reason.into(),
        at,
    }
}

fn retry_failed(attempt: u32, at: DateTime<Utc>) -> DunningEvent {
    DunningEvent::RetryOutcomeRecorded {
        attempt,
        succeeded: false,
        failure_reason: Some("insufficient_funds".into()),
        at,
    }
}

fn suspended(at: DateTime<Utc>) -> DunningEvent {
    DunningEvent::DunningSuspended { at }
}

fn notified(kind: NotificationKind, dedupe_key: &str, at: DateTime<Utc>) -> DunningEvent {
    DunningEvent::NotificationRecorded {
        kind,
        dedupe_key: dedupe_key.into(),
        at,
    }
}

/// The case after `events`, with the clock at `now`.
fn given_at(now: DateTime<Utc>, events: Vec<DunningEvent>) -> AggregateTestExecutor<DunningCase> {
    TestFramework::<DunningCase>::with(services_at(now)).given(events)
}

fn folded(events: Vec<DunningEvent>) -> DunningCase {
    let mut case = DunningCase::default();
    for event in events {
        cqrs_es::Aggregate::apply(&mut case, event);
    }
    case
}
