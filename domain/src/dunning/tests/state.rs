//! `apply` folds events into the state the accessors report; the case survives serde
//! (snapshots) and every event names itself by its variant.

use cqrs_es::DomainEvent;

use super::*;
use crate::dunning::{DunningStage, DunningStatus, RetryAttempt};

fn worked_case() -> Vec<DunningEvent> {
    vec![
        started(),
        notified(NotificationKind::PaymentFailed, "k1", t0()),
        retry_failed(1, day(1)),
        DunningEvent::RetryScheduled {
            retry_at: day(2),
            at: day(1),
        },
        DunningEvent::DunningCaseAssigned {
            agent: "ana".into(),
            at: day(1),
        },
        DunningEvent::DunningNoteAdded {
            text: "called the customer".into(),
            author: Some("ana".into()),
            at: day(1),
        },
        DunningEvent::DunningWindowExtended {
            window_expires_at: day(20),
            previous: day(14),
            at: day(1),
        },
    ]
}

#[test]
fn a_case_never_started_reports_nothing() {
    let case = DunningCase::default();
    assert!(!case.exists());
    assert_eq!(case.status(), None);
    assert_eq!(case.stage(), None);
    assert!(!case.is_open());
    assert!(case.retry_schedule().is_empty());
    assert!(!case.retries_exhausted());
    assert_eq!(case.next_retry_at(t0()), None);
}

#[test]
fn apply_folds_the_work_done_on_a_case() {
    let case = folded(worked_case());
    assert_eq!(case.case_id(), Some(case_id()));
    assert_eq!(case.account_id(), Some(&account()));
    assert_eq!(case.invoice_id(), Some(invoice_id()));
    assert_eq!(case.subscription_id(), Some(subscription_id()));
    assert_eq!(case.amount_due(), Some(&usd(4900)));
    assert_eq!(case.status(), Some(DunningStatus::Open));
    assert_eq!(case.stage(), Some(DunningStage::Retrying));
    assert_eq!(case.started_at(), Some(t0()));
    assert_eq!(case.window_expires_at(), Some(day(20)));
    assert_eq!(case.cancel_at(), Some(day(30)));
    assert_eq!(
        case.retry_schedule(),
        &[day(1), day(2), day(3), day(5), day(7)]
    );
    assert_eq!(
        case.next_retry_at(day(1) + Duration::hours(1)),
        Some(day(2))
    );
    assert_eq!(
        case.next_retry_at(day(1)),
        Some(day(2)),
        "the retry of day 1 was made: it is not the next one, even at its own instant"
    );
    assert_eq!(
        case.attempts(),
        &[RetryAttempt {
            attempt: 1,
            succeeded: false,
            failure_reason: Some("insufficient_funds".into()),
            at: day(1),
        }]
    );
    assert!(!case.retries_exhausted());
    assert_eq!(case.last_failure_reason(), Some("insufficient_funds"));
    assert!(case.has_notified(NotificationKind::PaymentFailed));
    assert!(!case.has_notified(NotificationKind::AccessSuspended));
    assert_eq!(case.assigned_agent(), Some("ana"));
    assert_eq!(case.notes().len(), 1);
    assert_eq!(case.notes()[0].author.as_deref(), Some("ana"));
}

#[test]
fn apply_folds_stages_and_closing() {
    let mut events = vec![started(), escalated("hard_decline: lost_card", t0())];
    assert_eq!(
        folded(events.clone()).stage(),
        Some(DunningStage::Escalated)
    );
    events.push(suspended(day(14)));
    assert_eq!(
        folded(events.clone()).stage(),
        Some(DunningStage::Suspended)
    );
    events.push(DunningEvent::DunningResolved {
        resolution: "written off".into(),
        at: day(15),
    });
    let closed = folded(events);
    assert_eq!(closed.status(), Some(DunningStatus::Resolved));
    assert_eq!(closed.stage(), None);
    assert!(!closed.is_open());
    assert_eq!(closed.resolution(), Some("written off"));
    assert_eq!(closed.next_retry_at(t0()), None);
}

#[test]
fn retries_are_exhausted_once_every_scheduled_one_failed() {
    let mut events = vec![started()];
    for (n, d) in [(1, 1), (2, 3), (3, 5)] {
        events.push(retry_failed(n, day(d)));
    }
    assert!(!folded(events.clone()).retries_exhausted());
    events.push(retry_failed(4, day(7)));
    assert!(folded(events).retries_exhausted());
}

#[test]
fn the_case_round_trips_through_serde_for_snapshots() {
    let case = folded(worked_case());
    let json = serde_json::to_string(&case).unwrap();
    assert_eq!(serde_json::from_str::<DunningCase>(&json).unwrap(), case);
    let empty = serde_json::to_string(&DunningCase::default()).unwrap();
    assert_eq!(
        serde_json::from_str::<DunningCase>(&empty).unwrap(),
        DunningCase::default()
    );
}

#[test]
fn every_event_round_trips_and_is_tagged_with_its_event_type() {
    let mut events = worked_case();
    events.extend([
        escalated("retries_exhausted", day(7)),
        suspended(day(20)),
        DunningEvent::DunningRecovered { at: day(21) },
        DunningEvent::DunningCancelled {
            reason: "dunning_exhausted".into(),
            at: day(30),
        },
        DunningEvent::DunningResolved {
            resolution: "ok".into(),
            at: day(30),
        },
    ]);
    for event in events {
        let json = serde_json::to_value(&event).unwrap();
        let tag = json.as_object().and_then(|o| o.keys().next().cloned());
        assert_eq!(tag, Some(event.event_type()));
        assert_eq!(event.event_version(), "1.0");
        assert_eq!(serde_json::from_value::<DunningEvent>(json).unwrap(), event);
    }
}

#[test]
fn commands_round_trip_through_serde() {
    let command = start_command(true);
    let json = serde_json::to_string(&command).unwrap();
    assert_eq!(
        serde_json::from_str::<DunningCommand>(&json).unwrap(),
        command
    );
}

#[test]
fn rules_have_unique_snake_case_codes_and_say_when_in_rfc3339() {
    use crate::dunning::DunningRule;
    let rules = [
        DunningRule::AlreadyStarted,
        DunningRule::CaseClosed {
            status: DunningStatus::Recovered,
        },
        DunningRule::RetryInThePast { now: t0() },
        DunningRule::RetryAfterCancellation { cancel_at: day(30) },
        DunningRule::WindowNotExpired {
            window_expires_at: day(14),
        },
        DunningRule::CancellationNotDue { cancel_at: day(30) },
        DunningRule::WindowNotExtended { current: day(14) },
        DunningRule::WindowEndInThePast { now: t0() },
        DunningRule::WindowBeyondCancellation { cancel_at: day(30) },
        DunningRule::AlreadySuspended,
    ];
    let codes: std::collections::BTreeSet<_> = rules.iter().map(DunningRule::code).collect();
    assert_eq!(codes.len(), rules.len());
    assert!(codes
        .iter()
        .all(|c| c.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')));
    assert_eq!(
        rules[4].to_string(),
        "no suspension before the dunning window expires at 2026-03-15T00:00:00Z"
    );
    assert_eq!(
        rules[1].to_string(),
        "the dunning case is recovered: only an open case can be worked"
    );
}
