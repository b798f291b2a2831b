//! Closing a case: recovered, cancelled as exhausted (not before its date), or resolved by
//! support; a closed case takes no further work.

use super::*;
use crate::dunning::{CaseClosure, DunningRule, DunningStatus};
use crate::error::DomainError;

#[test]
fn a_paid_invoice_recovers_the_case_at_any_stage() {
    given_at(day(2), vec![started()])
        .when(DunningCommand::Recover)
        .then_expect_events(vec![DunningEvent::DunningRecovered { at: day(2) }]);
    given_at(day(16), vec![started(), suspended(day(14))])
        .when(DunningCommand::Recover)
        .then_expect_events(vec![DunningEvent::DunningRecovered { at: day(16) }]);
}

#[test]
fn the_case_is_cancelled_as_exhausted_only_from_its_cancellation_date() {
    given_at(
        day(30) - Duration::seconds(1),
        vec![started(), suspended(day(14))],
    )
    .when(DunningCommand::CancelDunning)
    .then_expect_error(DunningRule::CancellationNotDue { cancel_at: day(30) }.into());
    given_at(day(30), vec![started(), suspended(day(14))])
        .when(DunningCommand::CancelDunning)
        .then_expect_events(vec![DunningEvent::DunningCancelled {
            reason: "dunning_exhausted".into(),
            at: day(30),
        }]);
}

#[test]
fn support_can_resolve_a_case_by_hand() {
    given_at(
        day(5),
        vec![started(), escalated("retries_exhausted", day(5))],
    )
    .when(DunningCommand::ResolveManually {
        resolution: "paid by bank transfer, reconciled".into(),
    })
    .then_expect_events(vec![DunningEvent::DunningResolved {
        resolution: "paid by bank transfer, reconciled".into(),
        at: day(5),
    }]);
    given_at(day(5), vec![started()])
        .when(DunningCommand::ResolveManually {
            resolution: "x".repeat(501),
        })
        .then_expect_error(DomainError::invalid(
            "resolution",
            "must be 1 to 500 characters and not blank",
        ));
}

#[test]
fn a_closed_case_takes_no_further_work() {
    let closings = [
        (
            DunningEvent::DunningRecovered { at: day(2) },
            DunningStatus::Recovered,
        ),
        (
            DunningEvent::DunningCancelled {
                reason: "dunning_exhausted".into(),
                at: day(30),
            },
            DunningStatus::Cancelled,
        ),
        (
            DunningEvent::DunningResolved {
                resolution: "written off".into(),
                at: day(3),
            },
            DunningStatus::Resolved,
        ),
        (
            DunningEvent::DunningClosed {
                reason: CaseClosure::SubscriptionCancelled,
                at: day(3),
            },
            DunningStatus::Closed,
        ),
    ];
    for (closing, status) in closings {
        for command in case_commands() {
            given_at(day(31), vec![started(), closing.clone()])
                .when(command)
                .then_expect_error(DunningRule::CaseClosed { status }.into());
        }
    }
}

#[test]
fn a_cancelled_subscription_closes_its_open_case_once() {
    let close = DunningCommand::CloseCase {
        reason: CaseClosure::SubscriptionCancelled,
    };
    let closed = DunningEvent::DunningClosed {
        reason: CaseClosure::SubscriptionCancelled,
        at: day(4),
    };
    given_at(day(4), vec![started(), suspended(day(3))])
        .when(close.clone())
        .then_expect_events(vec![closed.clone()]);
    // Already closed, or closed another way: nothing left to do, and no refusal.
    given_at(day(5), vec![started(), closed])
        .when(close.clone())
        .then_expect_events(vec![]);
    given_at(
        day(5),
        vec![started(), DunningEvent::DunningRecovered { at: day(2) }],
    )
    .when(close)
    .then_expect_events(vec![]);
}
