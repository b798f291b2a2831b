//! Escalation to support, and suspension only once the dunning window has expired.

use super::*;
use crate::dunning::DunningRule;
use crate::error::DomainError;

#[test]
fn a_retrying_case_escalates_to_support() {
    given_at(day(2), vec![started()])
        .when(DunningCommand::Escalate {
            reason: "customer asked for a call".into(),
        })
        .then_expect_events(vec![escalated("customer asked for a call", day(2))]);
}

#[test]
fn an_escalated_or_suspended_case_is_not_escalated_again() {
    let escalate = || DunningCommand::Escalate {
        reason: "again".into(),
    };
    given_at(day(2), vec![started(), escalated("first", day(1))])
        .when(escalate())
        .then_expect_events(vec![]);
    given_at(day(15), vec![started(), suspended(day(14))])
        .when(escalate())
        .then_expect_events(vec![]);
}

#[test]
fn an_escalation_states_its_reason() {
    given_at(day(2), vec![started()])
        .when(DunningCommand::Escalate { reason: "".into() })
        .then_expect_error(DomainError::invalid(
            "reason",
            "must be 1 to 500 characters and not blank",
        ));
}

#[test]
fn no_suspension_before_the_dunning_window_expires() {
    // Day 13: the 14-day window is still running.
    given_at(day(13), vec![started()])
        .when(DunningCommand::MarkSuspended)
        .then_expect_error(
            DunningRule::WindowNotExpired {
                window_expires_at: day(14),
            }
            .into(),
        );
    // One second before the end: still refused.
    given_at(day(14) - Duration::seconds(1), vec![started()])
        .when(DunningCommand::MarkSuspended)
        .then_expect_error(
            DunningRule::WindowNotExpired {
                window_expires_at: day(14),
            }
            .into(),
        );
    // Day 14: the window has expired.
    given_at(day(14), vec![started()])
        .when(DunningCommand::MarkSuspended)
        .then_expect_events(vec![suspended(day(14))]);
    // Support extended the window to day 20: day 14 is refused again.
    let extended = DunningEvent::DunningWindowExtended {
        window_expires_at: day(20),
        previous: day(14),
        at: day(10),
    };
    given_at(day(14), vec![started(), extended])
        .when(DunningCommand::MarkSuspended)
        .then_expect_error(
            DunningRule::WindowNotExpired {
                window_expires_at: day(20),
            }
            .into(),
        );
}

#[test]
fn an_escalated_case_is_suspended_too_once_the_window_expires() {
    given_at(
        day(15),
        vec![started(), escalated("retries_exhausted", day(7))],
    )
    .when(DunningCommand::MarkSuspended)
    .then_expect_events(vec![suspended(day(15))]);
}

#[test]
fn a_suspended_case_is_not_suspended_twice() {
    given_at(day(16), vec![started(), suspended(day(14))])
        .when(DunningCommand::MarkSuspended)
        .then_expect_events(vec![]);
}
