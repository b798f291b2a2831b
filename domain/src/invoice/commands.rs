//! What can be asked of an invoice, and how each request is decided: validated in full against
//! the current state, then answered with the events to record (none for an idempotent replay).

use chrono::{DateTime, Utc};
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::DomainError;
use crate::invoice::{
    CollectionMethod, CreditNote, Invoice, InvoiceEvent, InvoiceLine, InvoiceRule, InvoiceStatus,
    IssuedInvoice, OverpaymentRefund,
};
use crate::money::{Currency, Money, MoneyError};
use crate::values::require_text;
use crate::values::{AccountId, PaymentMethodToken};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum InvoiceCommand {
    IssueInvoice {
        invoice_id: Uuid,
        account_id: AccountId,
        subscription_id: Option<Uuid>,
        currency: Currency,
        lines: Vec<InvoiceLine>,
        /// Defaults to the issue time.
        due_at: Option<DateTime<Utc>>,
        collection: CollectionMethod,
    },
    /// Records the intent to charge the amount due; the application charges after it commits.
    AttemptPayment {
        payment_method: PaymentMethodToken,
    },
    /// Idempotent per `payment_ref`.
    RecordPayment {
        amount: Money,
        payment_ref: String,
    },
    /// Idempotent per `payment_ref` when one is given.
    RecordPaymentFailure {
        reason: String,
        code: String,
        payment_ref: Option<String>,
        hard_decline: bool,
    },
    RefundInvoice {
        amount: Money,
        reason: String,
    },
    /// Idempotent per credit note id.
    IssueCreditNote {
        note: CreditNote,
    },
    /// The processor reports a dispute of a payment on this invoice. Idempotent per dispute_id.
    RecordDispute {
        dispute_id: String,
        amount: Money,
        reason: String,
    },
    /// What the gateway did with the refund of the overpayment `payment_ref` made. Idempotent.
    RecordOverpaymentRefund {
        payment_ref: String,
        outcome: OverpaymentRefundOutcome,
    },
    VoidInvoice,
    MarkUncollectible,
}

/// How the gateway answered the refund of an overpayment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum OverpaymentRefundOutcome {
    Refunded { refund_ref: String },
    Failed { reason: String },
}

type Decision = Result<Vec<InvoiceEvent>, DomainError>;

impl Invoice {
    /// The events `command` produces at `now`, or why it is refused. Pure: changes nothing.
    pub(super) fn decide(&self, command: InvoiceCommand, now: DateTime<Utc>) -> Decision {
        let Some(invoice) = &self.issued else {
            return issue(command, now);
        };
        match command {
            InvoiceCommand::IssueInvoice { .. } => Err(InvoiceRule::AlreadyIssued.into()),
            InvoiceCommand::AttemptPayment { payment_method } => {
                invoice.attempt_payment(payment_method, now)
            }
            InvoiceCommand::RecordPayment {
                amount,
                payment_ref,
            } => invoice.record_payment(amount, payment_ref, now),
            InvoiceCommand::RecordPaymentFailure {
                reason,
                code,
                payment_ref,
                hard_decline,
            } => invoice.record_failure(reason, code, payment_ref, hard_decline, now),
            InvoiceCommand::RefundInvoice { amount, reason } => invoice.refund(amount, reason, now),
            InvoiceCommand::IssueCreditNote { note } => invoice.issue_credit_note(note, now),
            InvoiceCommand::RecordDispute {
                dispute_id,
                amount,
                reason,
            } => invoice.record_dispute(dispute_id, amount, reason, now),
            InvoiceCommand::RecordOverpaymentRefund {
                payment_ref,
                outcome,
            } => invoice.record_overpayment_refund(payment_ref, outcome, now),
            InvoiceCommand::VoidInvoice => invoice.void(now),
            InvoiceCommand::MarkUncollectible => invoice.mark_uncollectible(now),
        }
    }
}

/// A command to an invoice that was never issued: only `IssueInvoice` finds it.
fn issue(command: InvoiceCommand, now: DateTime<Utc>) -> Decision {
    let InvoiceCommand::IssueInvoice {
        invoice_id,
        account_id,
        subscription_id,
        currency,
        lines,
        due_at,
        collection,
    } = command
    else {
        return Err(DomainError::NotFound {
            aggregate: Invoice::TYPE,
        });
    };
    if lines.is_empty() {
        return Err(DomainError::invalid(
            "lines",
            "an invoice needs at least one line",
        ));
    }
    // Lines arrive deserialised, so their invariants are checked again here.
    for (index, line) in lines.iter().enumerate() {
        let rebuilt = line.rebuilt()?;
        if rebuilt.amount != line.amount || rebuilt.quantity != line.quantity {
            return Err(DomainError::invalid(
                format!("lines[{index}].amount"),
                "must equal quantity × unit_amount",
            ));
        }
    }
    // Refuses a line in another currency than the invoice's, and a total beyond the bound.
    let total = Money::sum(&currency, lines.iter().map(|line| &line.amount))?;
    total.check_bound("total")?;
    if total.is_negative() {
        return Err(DomainError::invalid(
            "lines",
            "discounts may not take more off than the other lines charge",
        ));
    }
    let due_at = due_at.unwrap_or(now);
    if due_at < now {
        return Err(DomainError::invalid(
            "due_at",
            "must not be before the issue time",
        ));
    }
    let paid_at_issue = total.is_zero().then(|| InvoiceEvent::InvoicePaid {
        amount_paid: total.clone(),
        at: now,
    });
    let issued = InvoiceEvent::InvoiceIssued {
        invoice_id,
        account_id,
        subscription_id,
        currency,
        lines,
        total,
        issued_at: now,
        due_at,
        collection,
    };
    Ok(std::iter::once(issued).chain(paid_at_issue).collect())
}

impl IssuedInvoice {
    /// The amount still due, when the invoice takes payments.
    fn payable_amount(&self) -> Result<Money, DomainError> {
        let due = self.amount_due()?;
        if self.status.is_open() && due.amount > 0 {
            Ok(due)
        } else {
            Err(InvoiceRule::InvoiceNotPayable {
                status: self.status,
            }
            .into())
        }
    }

    fn ensure_no_attempt_in_flight(&self) -> Result<(), DomainError> {
        match self.attempt_in_flight() {
            Some(attempt) => Err(InvoiceRule::PaymentInFlight {
                payment_ref: attempt.payment_ref.clone(),
            }
            .into()),
            None => Ok(()),
        }
    }

    /// A positive amount within the bound, in the invoice's currency.
    pub(super) fn check_amount(&self, amount: &Money) -> Result<(), DomainError> {
        amount.check_bound("amount")?;
        if amount.currency != self.currency {
            return Err(MoneyError::CurrencyMismatch {
                left: self.currency.clone(),
                right: amount.currency.clone(),
            }
            .into());
        }
        if amount.amount <= 0 {
            return Err(DomainError::invalid("amount", "must be greater than zero"));
        }
        Ok(())
    }

    fn attempt_payment(&self, payment_method: PaymentMethodToken, now: DateTime<Utc>) -> Decision {
        let amount = self.payable_amount()?;
        self.ensure_no_attempt_in_flight()?;
        let attempt = self.next_attempt()?;
        Ok(vec![InvoiceEvent::PaymentAttempted {
            attempt,
            payment_ref: format!("{}:attempt:{attempt}", self.invoice_id),
            amount,
            payment_method,
            at: now,
        }])
    }

    /// A payment with `payment_ref`. The outcome of the gateway attempt in flight is always
    /// recorded, whatever happened to the invoice meanwhile: money the invoice no longer owes
    /// becomes an overpayment, to be refunded. Any other payment waits for that outcome.
    fn record_payment(&self, amount: Money, payment_ref: String, now: DateTime<Utc>) -> Decision {
        require_text("payment_ref", &payment_ref, 255)?;
        self.check_amount(&amount)?;
        if self.recorded_refs.contains(&payment_ref) {
            return Ok(vec![]);
        }
        let settles_attempt = match self.attempt_in_flight() {
            Some(in_flight) if in_flight.payment_ref != payment_ref => {
                return Err(InvoiceRule::PaymentInFlight {
                    payment_ref: in_flight.payment_ref.clone(),
                }
                .into())
            }
            in_flight => in_flight.is_some(),
        };
        let owed = self
            .payable_amount()
            .ok()
            .filter(|due| due.amount >= amount.amount);
        let Some(amount_due) = owed else {
            if settles_attempt {
                return Ok(vec![InvoiceEvent::OverpaymentReceived {
                    payment_ref,
                    amount,
                    at: now,
                }]);
            }
            let amount_due = self.payable_amount()?;
            return Err(InvoiceRule::Overpayment { amount_due, amount }.into());
        };
        let remaining = amount_due.checked_sub(&amount)?;
        let amount_paid = self.amount_paid.checked_add(&amount)?;
        let mut events = vec![InvoiceEvent::PaymentRecorded {
            amount,
            payment_ref,
            amount_paid: amount_paid.clone(),
            at: now,
        }];
        if remaining.is_zero() {
            events.push(InvoiceEvent::InvoicePaid {
                amount_paid,
                at: now,
            });
        }
        Ok(events)
    }

    fn record_dispute(
        &self,
        dispute_id: String,
        amount: Money,
        reason: String,
        now: DateTime<Utc>,
    ) -> Decision {
        require_text("dispute_id", &dispute_id, 255)?;
        require_text("reason", &reason, 500)?;
        self.check_amount(&amount)?;
        if self.disputes.contains(&dispute_id) {
            return Ok(vec![]);
        }
        Ok(vec![InvoiceEvent::DisputeOpened {
            dispute_id,
            amount,
            reason,
            at: now,
        }])
    }

    fn record_overpayment_refund(
        &self,
        payment_ref: String,
        outcome: OverpaymentRefundOutcome,
        now: DateTime<Utc>,
    ) -> Decision {
        let Some(overpayment) = self.overpayments.get(&payment_ref) else {
            return Err(InvoiceRule::NoSuchOverpayment { payment_ref }.into());
        };
        if overpayment.refund != OverpaymentRefund::Pending {
            return Ok(vec![]);
        }
        let amount = overpayment.amount.clone();
        Ok(vec![match outcome {
            OverpaymentRefundOutcome::Refunded { refund_ref } => {
                require_text("refund_ref", &refund_ref, 255)?;
                InvoiceEvent::OverpaymentRefunded {
                    payment_ref,
                    amount,
                    refund_ref,
                    at: now,
                }
            }
            OverpaymentRefundOutcome::Failed { reason } => {
                require_text("reason", &reason, 500)?;
                InvoiceEvent::OverpaymentRefundFailed {
                    payment_ref,
                    amount,
                    reason,
                    at: now,
                }
            }
        }])
    }

    fn record_failure(
        &self,
        reason: String,
        code: String,
        payment_ref: Option<String>,
        hard_decline: bool,
        now: DateTime<Utc>,
    ) -> Decision {
        require_text("reason", &reason, 500)?;
        require_text("code", &code, 64)?;
        if !code.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(DomainError::invalid(
                "code",
                "must be printable ASCII without spaces",
            ));
        }
        if let Some(payment_ref) = &payment_ref {
            require_text("payment_ref", payment_ref, 255)?;
            if self.recorded_refs.contains(payment_ref) {
                return Ok(vec![]);
            }
        }
        let amount_due = self.payable_amount()?;
        // The failure of our own gateway attempt keeps its number; a failure reported from
        // outside (another processor) is an attempt of its own.
        let attempt = match self.attempt_in_flight() {
            Some(in_flight) if payment_ref.as_deref() == Some(in_flight.payment_ref.as_str()) => {
                in_flight.attempt
            }
            _ => self.next_attempt()?,
        };
        Ok(vec![InvoiceEvent::PaymentFailed {
            attempt,
            reason,
            decline_code: code,
            payment_ref,
            hard_decline,
            amount_due,
            at: now,
        }])
    }

    fn refund(&self, amount: Money, reason: String, now: DateTime<Utc>) -> Decision {
        require_text("reason", &reason, 500)?;
        self.check_amount(&amount)?;
        if !matches!(self.status, InvoiceStatus::Paid | InvoiceStatus::Refunded) {
            return Err(InvoiceRule::InvoiceNotRefundable {
                status: self.status,
            }
            .into());
        }
        // Money a credit note gave to the account's balance is not the card's any more.
        let refundable = Money::new(self.refundable(), self.currency.clone());
        if amount.amount > refundable.amount {
            return Err(InvoiceRule::RefundExceedsRefundable { refundable }.into());
        }
        let amount_refunded = self.amount_refunded.checked_add(&amount)?;
        Ok(vec![InvoiceEvent::InvoiceRefunded {
            fully_refunded: amount_refunded == self.amount_paid,
            amount,
            amount_refunded,
            reason,
            at: now,
        }])
    }

    fn void(&self, now: DateTime<Utc>) -> Decision {
        match self.status {
            InvoiceStatus::Paid | InvoiceStatus::Refunded => {
                return Err(InvoiceRule::PaidInvoiceCannotBeVoided.into())
            }
            InvoiceStatus::Void | InvoiceStatus::Uncollectible => {
                return Err(InvoiceRule::InvoiceAlreadyClosed {
                    status: self.status,
                }
                .into())
            }
            InvoiceStatus::Issued | InvoiceStatus::PastDue => {}
        }
        // Voiding says the invoice was never owed: money already taken would be stranded.
        if !self.amount_paid.is_zero() {
            return Err(InvoiceRule::PartiallyPaidInvoiceCannotBeVoided {
                amount_paid: self.amount_paid.clone(),
            }
            .into());
        }
        self.ensure_no_attempt_in_flight()?;
        Ok(vec![InvoiceEvent::InvoiceVoided { at: now }])
    }

    fn mark_uncollectible(&self, now: DateTime<Utc>) -> Decision {
        if !self.status.is_open() {
            return Err(InvoiceRule::InvoiceAlreadyClosed {
                status: self.status,
            }
            .into());
        }
        self.ensure_no_attempt_in_flight()?;
        Ok(vec![InvoiceEvent::InvoiceMarkedUncollectible {
            amount_due: self.amount_due()?,
            at: now,
        }])
    }

    fn next_attempt(&self) -> Result<u32, DomainError> {
        self.attempts
            .checked_add(1)
            .ok_or_else(|| DomainError::invalid("attempt", "too many payment attempts"))
    }
}
