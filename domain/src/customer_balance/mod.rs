//! An account's credit balance (SPEC 11.4): money the account holds with us, credited by admins
//! (goodwill), credit notes and downgrades taking effect now, and debited when it pays invoices.
//! One stream per account (its id is the account id), in one currency fixed by its first
//! transaction. The balance never goes below zero.

mod commands;
mod events;
mod rules;

use std::collections::VecDeque;

use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use commands::{CreditSource, CustomerBalanceCommand, MAX_REASON_CHARS};
pub use events::CustomerBalanceEvent;
pub use rules::CustomerBalanceRule;

use crate::values::require_text;
use crate::{AccountId, BillingServices, Currency, DomainError, Money, MAX_AMOUNT};

/// How many of the invoices last paid from the balance it remembers, to pay each only once.
///
/// Why a bounded window rather than every invoice: callers already send `ApplyBalanceToInvoice`
/// exactly once per invoice through its command id (derived from the invoice's issue), so a
/// re-sent command replays without reaching the aggregate. The window catches what command ids
/// cannot: a second, differently caused application to the same invoice (a retried issue path,
/// an operator's re-run). Those come right after the first, in issue order, so the last 32
/// invoices of one account are ample; a list of every invoice ever paid would make each command
/// and each snapshot grow with the account's age.
pub const RECENT_INVOICES: usize = 32;

/// The aggregate: the balance and the recent invoices it paid. It keeps no list of its
/// transactions (the read model does), so its size does not grow with them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerBalance {
    account_id: Option<AccountId>,
    /// `None` before the first transaction, which fixes the currency.
    balance: Option<Money>,
    /// Newest last, at most [`RECENT_INVOICES`].
    recent_invoices: VecDeque<Uuid>,
    updated_at: Option<DateTime<Utc>>,
}

impl CustomerBalance {
    pub fn account_id(&self) -> Option<&AccountId> {
        self.account_id.as_ref()
    }

    /// The balance; `None` for an account never credited (it has no currency yet).
    pub fn balance(&self) -> Option<&Money> {
        self.balance.as_ref()
    }

    /// When the last transaction happened.
    pub fn updated_at(&self) -> Option<DateTime<Utc>> {
        self.updated_at
    }

    /// Whether the balance already paid part of `invoice_id` (among the recent invoices).
    pub fn has_paid(&self, invoice_id: Uuid) -> bool {
        self.recent_invoices.contains(&invoice_id)
    }

    fn decide(
        &self,
        command: CustomerBalanceCommand,
        now: DateTime<Utc>,
    ) -> Result<Vec<CustomerBalanceEvent>, DomainError> {
        use CustomerBalanceCommand as C;
        use CustomerBalanceEvent as E;
        Ok(match command {
            C::AdjustBalance {
                account_id,
                amount,
                reason,
                adjustment_id,
            } => {
                self.check_account(&account_id)?;
                amount.check_bound("amount")?;
                require_text("reason", &reason, MAX_REASON_CHARS)?;
                if amount.is_zero() {
                    return Err(DomainError::invalid("amount", "must not be zero"));
                }
                let balance_after = self.after(&amount)?;
                vec![E::BalanceAdjusted {
                    account_id,
                    adjustment_id,
                    amount,
                    balance_after,
                    reason,
                    at: now,
                }]
            }
            C::CreditBalance {
                account_id,
                amount,
                source,
            } => {
                self.check_account(&account_id)?;
                amount.check_bound("amount")?;
                if amount.amount <= 0 {
                    return Err(DomainError::invalid("amount", "must be more than zero"));
                }
                let balance_after = self.after(&amount)?;
                vec![E::BalanceCredited {
                    account_id,
                    amount,
                    balance_after,
                    source,
                    at: now,
                }]
            }
            C::ApplyBalanceToInvoice {
                account_id,
                invoice_id,
                amount_due,
            } => {
                self.check_account(&account_id)?;
                amount_due.check_bound("amount_due")?;
                if amount_due.is_negative() {
                    return Err(DomainError::invalid("amount_due", "must not be negative"));
                }
                let Some(balance) = self.balance.as_ref().filter(|b| b.amount > 0) else {
                    return Ok(vec![]);
                };
                if self.has_paid(invoice_id) {
                    return Ok(vec![]);
                }
                self.check_currency(&amount_due.currency)?;
                let debit = balance.amount.min(amount_due.amount);
                if debit == 0 {
                    return Ok(vec![]);
                }
                let amount = Money::new(-debit, amount_due.currency);
                let balance_after = self.after(&amount)?;
                vec![E::BalanceApplied {
                    account_id,
                    invoice_id,
                    amount,
                    balance_after,
                    at: now,
                }]
            }
        })
    }

    /// A command names the account of its stream, once the stream has one.
    fn check_account(&self, account_id: &AccountId) -> Result<(), CustomerBalanceRule> {
        match &self.account_id {
            Some(own) if own != account_id => Err(CustomerBalanceRule::WrongAccount {
                balance: own.to_string(),
                command: account_id.to_string(),
            }),
            _ => Ok(()),
        }
    }

    fn check_currency(&self, currency: &Currency) -> Result<(), CustomerBalanceRule> {
        match &self.balance {
            Some(balance) if &balance.currency != currency => {
                Err(CustomerBalanceRule::CurrencyMismatch {
                    balance: balance.currency.clone(),
                    currency: currency.clone(),
                })
            }
            _ => Ok(()),
        }
    }

    /// The balance after a transaction of the signed `amount`: in the balance's currency, never
    /// below zero, never beyond [`MAX_AMOUNT`].
    fn after(&self, amount: &Money) -> Result<Money, DomainError> {
        self.check_currency(&amount.currency)?;
        let balance = self
            .balance
            .clone()
            .unwrap_or_else(|| Money::zero(amount.currency.clone()));
        let after = balance.checked_add(amount)?;
        if after.is_negative() {
            return Err(CustomerBalanceRule::BalanceWouldGoNegative {
                balance,
                amount: amount.clone(),
            }
            .into());
        }
        if after.amount > MAX_AMOUNT {
            return Err(CustomerBalanceRule::BalanceLimitExceeded {
                balance,
                amount: amount.clone(),
                limit: MAX_AMOUNT,
            }
            .into());
        }
        Ok(after)
    }
}

impl Aggregate for CustomerBalance {
    const TYPE: &'static str = "customer_balance";
    type Command = CustomerBalanceCommand;
    type Event = CustomerBalanceEvent;
    type Error = DomainError;
    type Services = BillingServices;

    async fn handle(
        &mut self,
        command: CustomerBalanceCommand,
        services: &BillingServices,
        sink: &EventSink<Self>,
    ) -> Result<(), DomainError> {
        let decided = self.decide(command, services.clock.now());
        crate::decided::write(self, sink, decided).await
    }

    fn apply(&mut self, event: CustomerBalanceEvent) {
        self.account_id = Some(event.account_id().clone());
        self.balance = Some(event.balance_after().clone());
        self.updated_at = Some(event.at());
        if let CustomerBalanceEvent::BalanceApplied { invoice_id, .. } = event {
            self.recent_invoices.push_back(invoice_id);
            if self.recent_invoices.len() > RECENT_INVOICES {
                self.recent_invoices.pop_front();
            }
        }
    }
}

#[cfg(test)]
mod tests;
