//! Retries: extra ones on request, their outcomes, and the escalation when all have failed.

use super::*;
use crate::dunning::DunningRule;
use crate::error::DomainError;

fn outcome_failed() -> DunningCommand {
    DunningCommand::RecordRetryOutcome {
        succeeded: false,
        failure_reason: Some("insufficient_funds".into()),
    }
}

#[test]
fn an_extra_retry_can_be_scheduled_now_or_later() {
    given_at(day(2), vec![started()])
        .when(DunningCommand::ScheduleRetry { at: day(2) })
        .then_expect_events(vec![DunningEvent::RetryScheduled {
            retry_at: day(2),
            at: day(2),
        }]);
    given_at(day(2), vec![started()])
        .when(DunningCommand::ScheduleRetry { at: day(9) })
        .then_expect_events(vec![DunningEvent::RetryScheduled {
            retry_at: day(9),
            at: day(2),
        }]);
}

#[test]
fn a_retry_is_not_scheduled_in_the_past() {
    given_at(day(2), vec![started()])
        .when(DunningCommand::ScheduleRetry {
            at: day(2) - Duration::seconds(1),
        })
        .then_expect_error(DunningRule::RetryInThePast { now: day(2) }.into());
}

#[test]
fn a_retry_comes_before_the_cancellation() {
    given_at(day(2), vec![started()])
        .when(DunningCommand::ScheduleRetry { at: day(30) })
        .then_expect_error(DunningRule::RetryAfterCancellation { cancel_at: day(30) }.into());
}

#[test]
fn a_retry_already_scheduled_is_not_scheduled_twice() {
    given_at(t0(), vec![started()])
        .when(DunningCommand::ScheduleRetry { at: day(3) })
        .then_expect_events(vec![]);
}

#[test]
fn a_failed_retry_is_recorded_with_its_reason() {
    given_at(day(1), vec![started()])
        .when(outcome_failed())
        .then_expect_events(vec![retry_failed(1, day(1))]);
}

#[test]
fn a_successful_retry_is_recorded_without_a_reason() {
    given_at(day(3), vec![started(), retry_failed(1, day(1))])
        .when(DunningCommand::RecordRetryOutcome {
            succeeded: true,
            failure_reason: None,
        })
        .then_expect_events(vec![DunningEvent::RetryOutcomeRecorded {
            attempt: 2,
            succeeded: true,
            failure_reason: None,
            at: day(3),
        }]);
    given_at(day(3), vec![started()])
        .when(DunningCommand::RecordRetryOutcome {
            succeeded: true,
            failure_reason: Some("insufficient_funds".into()),
        })
        .then_expect_error(DomainError::invalid(
            "failure_reason",
            "must be absent when the retry succeeded",
        ));
}

fn three_failed_retries() -> Vec<DunningEvent> {
    vec![
        started(),
        retry_failed(1, day(1)),
        retry_failed(2, day(3)),
        retry_failed(3, day(5)),
    ]
}

#[test]
fn when_every_scheduled_retry_has_failed_the_case_escalates() {
    given_at(day(7), three_failed_retries())
        .when(outcome_failed())
        .then_expect_events(vec![
            retry_failed(4, day(7)),
            escalated("retries_exhausted", day(7)),
        ]);
}

#[test]
fn an_extra_retry_postpones_the_escalation() {
    let mut events = three_failed_retries();
    events.push(DunningEvent::RetryScheduled {
        retry_at: day(6),
        at: day(5),
    });
    given_at(day(6), events)
        .when(outcome_failed())
        .then_expect_events(vec![retry_failed(4, day(6))]);
}

#[test]
fn an_escalated_case_is_not_escalated_again_when_retries_run_out() {
    let mut events = three_failed_retries();
    events.push(escalated("vip customer", day(6)));
    given_at(day(7), events)
        .when(outcome_failed())
        .then_expect_events(vec![retry_failed(4, day(7))]);
}
