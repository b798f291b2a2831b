//! Notifications are recorded exactly once per dedupe key, even after the case has closed.

use super::*;
use crate::error::DomainError;

fn notify(kind: NotificationKind, dedupe_key: &str) -> DunningCommand {
    DunningCommand::RecordNotification {
        kind,
        dedupe_key: dedupe_key.into(),
    }
}

#[test]
fn a_notification_is_recorded_with_its_dedupe_key() {
    given_at(t0(), vec![started()])
        .when(notify(
            NotificationKind::PaymentFailed,
            "case:payment_failed",
        ))
        .then_expect_events(vec![notified(
            NotificationKind::PaymentFailed,
            "case:payment_failed",
            t0(),
        )]);
}

#[test]
fn notifications_are_deduplicated_by_key() {
    let sent = notified(NotificationKind::PaymentFailed, "case:payment_failed", t0());
    given_at(day(1), vec![started(), sent.clone()])
        .when(notify(
            NotificationKind::PaymentFailed,
            "case:payment_failed",
        ))
        .then_expect_events(vec![]);
    // The same kind under another key is another message (e.g. a second retry failure).
    given_at(day(3), vec![started(), sent])
        .when(notify(NotificationKind::RetryFailed, "case:retry_failed:2"))
        .then_expect_events(vec![notified(
            NotificationKind::RetryFailed,
            "case:retry_failed:2",
            day(3),
        )]);
}

#[test]
fn a_closing_notice_is_recorded_after_the_case_closed() {
    given_at(
        day(4),
        vec![started(), DunningEvent::DunningRecovered { at: day(4) }],
    )
    .when(notify(NotificationKind::PaymentRecovered, "case:recovered"))
    .then_expect_events(vec![notified(
        NotificationKind::PaymentRecovered,
        "case:recovered",
        day(4),
    )]);
}

#[test]
fn a_notification_needs_a_dedupe_key() {
    given_at(t0(), vec![started()])
        .when(notify(NotificationKind::PaymentFailed, ""))
        .then_expect_error(DomainError::invalid(
            "dedupe_key",
            "must be 1 to 200 characters and not blank",
        ));
}

#[test]
fn notification_kinds_are_snake_case_on_the_wire() {
    assert_eq!(
        serde_json::to_value(NotificationKind::AccessSuspended).unwrap(),
        "access_suspended"
    );
    assert_eq!(
        serde_json::to_value(NotificationKind::PaymentRecovered).unwrap(),
        "payment_recovered"
    );
}
