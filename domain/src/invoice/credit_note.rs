//! Credit notes (SPEC 11.4) on a paid invoice: a correction that is not a void. A credit note
//! either stands for a refund the gateway made (`refund`: recorded after the refund, and never
//! more than was refunded and not yet credited) or gives the money to the account's credit
//! balance (`credit_balance`: never more than was paid and neither refunded nor credited). So
//! the credit notes of an invoice never exceed what was paid, hence its total.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{InvoiceEvent, InvoiceRule, InvoiceStatus, IssuedInvoice};
use crate::error::DomainError;
use crate::money::Money;
use crate::values::require_text;

/// Where a credit note's money goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CreditNoteOutcome {
    /// Back to the card, by a refund the gateway made before the note was recorded.
    Refund,
    /// To the account's credit balance, which pays its next invoices.
    CreditBalance,
}

/// What a credit note asks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditNote {
    pub credit_note_id: Uuid,
    pub amount: Money,
    /// For people; no rule reads it.
    pub reason: String,
    pub outcome: CreditNoteOutcome,
}

/// What the credit notes of an invoice add up to, by outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Credited {
    pub by_refund: i64,
    pub to_balance: i64,
}

impl IssuedInvoice {
    pub(super) fn issue_credit_note(
        &self,
        note: CreditNote,
        now: DateTime<Utc>,
    ) -> Result<Vec<InvoiceEvent>, DomainError> {
        if self.credit_notes.contains(&note.credit_note_id) {
            return Ok(Vec::new());
        }
        require_text("reason", &note.reason, 500)?;
        self.check_amount(&note.amount)?;
        if !matches!(self.status, InvoiceStatus::Paid | InvoiceStatus::Refunded) {
            return Err(InvoiceRule::InvoiceNotCreditable {
                status: self.status,
            }
            .into());
        }
        let creditable = match note.outcome {
            CreditNoteOutcome::Refund => self.amount_refunded.amount - self.credited.by_refund,
            CreditNoteOutcome::CreditBalance => self.refundable(),
        };
        if note.amount.amount > creditable {
            return Err(InvoiceRule::CreditNoteExceedsCreditable {
                outcome: note.outcome,
                creditable: Money::new(creditable.max(0), self.currency.clone()),
            }
            .into());
        }
        Ok(vec![InvoiceEvent::CreditNoteIssued {
            credit_note_id: note.credit_note_id,
            account_id: self.account_id.clone(),
            amount: note.amount,
            reason: note.reason,
            outcome: note.outcome,
            at: now,
        }])
    }

    /// What was paid and is still the customer's card's to get back: paid, less refunded, less
    /// what credit notes gave to the account's balance. A balance note may take it too.
    pub(super) fn refundable(&self) -> i64 {
        self.amount_paid.amount - self.amount_refunded.amount - self.credited.to_balance
    }

    pub(super) fn record_credit_note(
        &mut self,
        credit_note_id: Uuid,
        amount: &Money,
        outcome: CreditNoteOutcome,
    ) {
        self.credit_notes.insert(credit_note_id);
        match outcome {
            CreditNoteOutcome::Refund => self.credited.by_refund += amount.amount,
            CreditNoteOutcome::CreditBalance => self.credited.to_balance += amount.amount,
        }
    }
}
