//! Credit notes: only on a paid invoice; `credit_balance` never beyond what was paid and neither
//! refunded nor credited, `refund` never beyond what was refunded and not yet credited; once
//! per credit note id.

use cqrs_es::Aggregate;
use proptest::prelude::*;

use super::*;
use crate::invoice::{CreditNote, CreditNoteOutcome, InvoiceRule, InvoiceStatus};
use crate::testing::account;

fn note_id(n: u128) -> Uuid {
    Uuid::from_u128(0xc0de_0000 + n)
}

fn note(n: u128, amount: i64, outcome: CreditNoteOutcome) -> InvoiceCommand {
    InvoiceCommand::IssueCreditNote {
        note: CreditNote {
            credit_note_id: note_id(n),
            amount: usd(amount),
            reason: "billed twice for March".into(),
            outcome,
        },
    }
}

fn noted(n: u128, amount: i64, outcome: CreditNoteOutcome) -> InvoiceEvent {
    InvoiceEvent::CreditNoteIssued {
        credit_note_id: note_id(n),
        account_id: account(),
        amount: usd(amount),
        reason: "billed twice for March".into(),
        outcome,
        at: t0(),
    }
}

fn paid_invoice() -> Vec<InvoiceEvent> {
    vec![issued(4900), recorded(4900, "ch_1", 4900), paid(4900)]
}

const BALANCE: CreditNoteOutcome = CreditNoteOutcome::CreditBalance;
const REFUND: CreditNoteOutcome = CreditNoteOutcome::Refund;

#[test]
fn a_credit_to_the_balance_is_at_most_what_was_paid_and_not_refunded_or_credited() {
    given(paid_invoice())
        .when(note(1, 1000, BALANCE))
        .then_expect_events(vec![noted(1, 1000, BALANCE)]);
    let mut history = paid_invoice();
    history.extend([refunded(900, 900, false), noted(1, 1000, BALANCE)]);
    given(history.clone())
        .when(note(2, 3001, BALANCE))
        .then_expect_error(
            InvoiceRule::CreditNoteExceedsCreditable {
                outcome: BALANCE,
                creditable: usd(3000),
            }
            .into(),
        );
    given(history)
        .when(note(2, 3000, BALANCE))
        .then_expect_events(vec![noted(2, 3000, BALANCE)]);
}

#[test]
fn a_refund_note_stands_for_a_refund_already_made() {
    given(paid_invoice())
        .when(note(1, 100, REFUND))
        .then_expect_error(
            InvoiceRule::CreditNoteExceedsCreditable {
                outcome: REFUND,
                creditable: usd(0),
            }
            .into(),
        );
    let mut refunded_once = paid_invoice();
    refunded_once.push(refunded(900, 900, false));
    given(refunded_once.clone())
        .when(note(1, 900, REFUND))
        .then_expect_events(vec![noted(1, 900, REFUND)]);
    refunded_once.push(noted(1, 900, REFUND));
    given(refunded_once)
        .when(note(2, 1, REFUND))
        .then_expect_error(
            InvoiceRule::CreditNoteExceedsCreditable {
                outcome: REFUND,
                creditable: usd(0),
            }
            .into(),
        );
}

#[test]
fn a_credit_note_is_issued_once_per_id() {
    let mut history = paid_invoice();
    history.push(noted(1, 1000, BALANCE));
    given(history)
        .when(note(1, 1000, BALANCE))
        .then_expect_events(vec![]);
}

#[test]
fn only_a_paid_invoice_takes_credit_notes() {
    given(vec![issued(4900)])
        .when(note(1, 100, BALANCE))
        .then_expect_error(
            InvoiceRule::InvoiceNotCreditable {
                status: InvoiceStatus::Issued,
            }
            .into(),
        );
}

proptest! {
    /// Whatever notes and refunds are asked, in any order, what the notes credit never exceeds
    /// what was paid: the invoice's total.
    #[test]
    fn credit_notes_never_exceed_the_invoice_total(
        asks in prop::collection::vec((1i64..3000, 0u8..3), 1..12)
    ) {
        let mut invoice = Invoice::default();
        for event in paid_invoice() {
            invoice.apply(event);
        }
        let (mut credited_balance, mut credited_refund) = (0, 0);
        for (n, (amount, kind)) in asks.into_iter().enumerate() {
            let command = match kind {
                0 => note(n as u128, amount, BALANCE),
                1 => note(n as u128, amount, REFUND),
                _ => InvoiceCommand::RefundInvoice {
                    amount: usd(amount),
                    reason: "requested".into(),
                },
            };
            let Ok(events) = invoice.decide(command, t0()) else { continue };
            for event in events {
                if let InvoiceEvent::CreditNoteIssued { amount, outcome, .. } = &event {
                    match outcome {
                        CreditNoteOutcome::CreditBalance => credited_balance += amount.amount,
                        CreditNoteOutcome::Refund => credited_refund += amount.amount,
                    }
                }
                invoice.apply(event);
            }
            let refunded = invoice.amount_refunded().unwrap().amount;
            prop_assert!(credited_refund <= refunded);
            prop_assert!(credited_balance + refunded <= 4900);
        }
    }
}
