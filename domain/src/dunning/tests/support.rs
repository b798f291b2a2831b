//! Support actions on an open case: assign an agent, add notes, extend the dunning window.

use super::*;
use crate::dunning::DunningRule;
use crate::error::DomainError;

#[test]
fn a_case_is_assigned_to_an_agent() {
    given_at(day(8), vec![started()])
        .when(DunningCommand::Assign {
            agent: "ana@support".into(),
        })
        .then_expect_events(vec![DunningEvent::DunningCaseAssigned {
            agent: "ana@support".into(),
            at: day(8),
        }]);
}

#[test]
fn assigning_the_same_agent_again_changes_nothing() {
    let assigned = DunningEvent::DunningCaseAssigned {
        agent: "ana@support".into(),
        at: day(8),
    };
    given_at(day(9), vec![started(), assigned])
        .when(DunningCommand::Assign {
            agent: "ana@support".into(),
        })
        .then_expect_events(vec![]);
}

#[test]
fn an_agent_is_named_in_1_to_100_characters() {
    for agent in [String::new(), "a".repeat(101)] {
        given_at(day(8), vec![started()])
            .when(DunningCommand::Assign { agent })
            .then_expect_error(DomainError::invalid(
                "agent",
                "must be 1 to 100 characters and not blank",
            ));
    }
}

#[test]
fn notes_are_added_with_their_author() {
    given_at(day(8), vec![started()])
        .when(DunningCommand::AddNote {
            text: "Customer will update the card on Friday.".into(),
            author: Some("ana@support".into()),
        })
        .then_expect_events(vec![DunningEvent::DunningNoteAdded {
            text: "Customer will update the card on Friday.".into(),
            author: Some("ana@support".into()),
            at: day(8),
        }]);
}

#[test]
fn a_note_is_1_to_2000_characters() {
    given_at(day(8), vec![started()])
        .when(DunningCommand::AddNote {
            text: "n".repeat(2001),
            author: None,
        })
        .then_expect_error(DomainError::invalid(
            "text",
            "must be 1 to 2000 characters and not blank",
        ));
}

#[test]
fn the_window_can_be_extended_up_to_the_cancellation() {
    given_at(day(10), vec![started()])
        .when(DunningCommand::ExtendWindow { until: day(30) })
        .then_expect_events(vec![DunningEvent::DunningWindowExtended {
            window_expires_at: day(30),
            previous: day(14),
            at: day(10),
        }]);
}

#[test]
fn the_window_is_only_ever_extended() {
    given_at(day(10), vec![started()])
        .when(DunningCommand::ExtendWindow { until: day(14) })
        .then_expect_error(DunningRule::WindowNotExtended { current: day(14) }.into());
}

#[test]
fn the_window_never_runs_past_the_cancellation() {
    given_at(day(10), vec![started()])
        .when(DunningCommand::ExtendWindow {
            until: day(30) + Duration::seconds(1),
        })
        .then_expect_error(DunningRule::WindowBeyondCancellation { cancel_at: day(30) }.into());
}

#[test]
fn an_extended_window_ends_in_the_future() {
    given_at(day(16), vec![started()])
        .when(DunningCommand::ExtendWindow { until: day(15) })
        .then_expect_error(DunningRule::WindowEndInThePast { now: day(16) }.into());
}

#[test]
fn a_suspended_case_window_is_not_extended() {
    given_at(day(15), vec![started(), suspended(day(14))])
        .when(DunningCommand::ExtendWindow { until: day(20) })
        .then_expect_error(DunningRule::AlreadySuspended.into());
}
