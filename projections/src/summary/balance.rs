//! The summary's balance due: what the account still owes on its invoices, in its subscription's
//! currency.
//!
//! Invoice events name the account only at issue, and a balance sums invoices a batch may not
//! touch, so the summary keeps its own per-invoice amounts in `account_summary_invoices`, written
//! in its own transactions (the invoices read model's table runs at another checkpoint).

use std::collections::{BTreeMap, BTreeSet};

use domain::invoice::InvoiceEvent;

use crate::error::ProjectionError;
use crate::event::InvoiceChange;
use crate::sql::{Param, ProjectionTx};

const COLUMNS: &str = "invoice_id, account_id, currency, amount_due";

/// One invoice's share of its account's balance.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub(super) struct InvoiceDue {
    pub invoice_id: String,
    pub account_id: String,
    pub currency: String,
    /// Minor units still to collect; 0 once paid, void or uncollectible.
    pub amount_due: i64,
}

impl InvoiceDue {
    fn apply(&mut self, event: &InvoiceEvent) -> Result<(), String> {
        use InvoiceEvent as E;
        match event {
            E::PaymentRecorded { amount, .. } => {
                self.amount_due = self
                    .amount_due
                    .checked_sub(amount.amount)
                    .ok_or("the amount due overflows")?;
            }
            E::PaymentFailed { amount_due, .. } => self.amount_due = amount_due.amount,
            E::InvoicePaid { .. }
            | E::InvoiceVoided { .. }
            | E::InvoiceMarkedUncollectible { .. } => self.amount_due = 0,
            E::InvoiceIssued { .. }
            | E::PaymentAttempted { .. }
            | E::InvoiceRefunded { .. }
            | E::OverpaymentReceived { .. }
            | E::OverpaymentRefunded { .. }
            | E::OverpaymentRefundFailed { .. } => {}
        }
        Ok(())
    }
}

/// Folds `changes` into the invoices' amounts due and saves those that changed; answers the
/// accounts whose balance they may change.
pub(super) async fn record(
    tx: &mut ProjectionTx,
    changes: &[InvoiceChange<'_>],
) -> Result<BTreeSet<String>, ProjectionError> {
    if changes.is_empty() {
        return Ok(BTreeSet::new());
    }
    let keys: Vec<String> = InvoiceChange::invoices(changes).into_iter().collect();
    let select = format!("SELECT {COLUMNS} FROM account_summary_invoices WHERE invoice_id IN");
    let stored: BTreeMap<String, InvoiceDue> = tx
        .fetch_in::<InvoiceDue>(&select, &keys)
        .await?
        .into_iter()
        .map(|due| (due.invoice_id.clone(), due))
        .collect();
    let mut folded = stored.clone();
    for change in changes {
        if let InvoiceEvent::InvoiceIssued {
            account_id,
            currency,
            total,
            ..
        } = &change.event
        {
            let due = InvoiceDue {
                invoice_id: change.invoice_id.clone(),
                account_id: account_id.to_string(),
                currency: currency.to_string(),
                amount_due: total.amount,
            };
            if folded.insert(change.invoice_id.clone(), due).is_some() {
                return Err(change.error("the invoice was already issued"));
            }
            continue;
        }
        folded
            .get_mut(&change.invoice_id)
            .ok_or_else(|| change.error("no InvoiceIssued precedes it"))?
            .apply(&change.event)
            .map_err(|reason| change.error(reason))?;
    }
    let accounts = folded.values().map(|due| due.account_id.clone()).collect();
    let changed: Vec<Vec<Param>> = folded
        .into_values()
        .filter(|due| stored.get(&due.invoice_id) != Some(due))
        .map(|due| {
            vec![
                due.invoice_id.into(),
                due.account_id.into(),
                due.currency.into(),
                due.amount_due.into(),
            ]
        })
        .collect();
    if !changed.is_empty() {
        let insert = format!("INSERT INTO account_summary_invoices ({COLUMNS})");
        let on_conflict = "ON CONFLICT (invoice_id) DO UPDATE SET amount_due = excluded.amount_due";
        tx.upsert(&insert, on_conflict, changed).await?;
    }
    Ok(accounts)
}

/// Every invoice of `accounts`, by account (as written so far in this transaction).
pub(super) async fn invoices_of(
    tx: &mut ProjectionTx,
    accounts: &BTreeSet<String>,
) -> Result<BTreeMap<String, Vec<InvoiceDue>>, sqlx::Error> {
    let keys: Vec<String> = accounts.iter().cloned().collect();
    let select = format!("SELECT {COLUMNS} FROM account_summary_invoices WHERE account_id IN");
    let mut by_account: BTreeMap<String, Vec<InvoiceDue>> = BTreeMap::new();
    for due in tx.fetch_in::<InvoiceDue>(&select, &keys).await? {
        by_account
            .entry(due.account_id.clone())
            .or_default()
            .push(due);
    }
    Ok(by_account)
}

/// The balance due: the sum of the amounts due in the subscription's currency or, for an account
/// without a subscription, in the first (alphabetically) of its invoices' currencies. A function
/// of the account's state alone, so any split of the log into batches gives the same balance.
/// Amounts in other currencies cannot be added to it and are left out.
pub(super) fn balance(
    subscription_currency: Option<&str>,
    invoices: &[InvoiceDue],
) -> Result<(i64, Option<String>), String> {
    let currency = subscription_currency
        .map(str::to_owned)
        .or_else(|| invoices.iter().map(|due| due.currency.clone()).min());
    let amount = invoices
        .iter()
        .filter(|due| Some(&due.currency) == currency.as_ref())
        .try_fold(0i64, |sum, due| sum.checked_add(due.amount_due))
        .ok_or("the balance due overflows")?;
    Ok((amount, currency))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn due(currency: &str, amount_due: i64) -> InvoiceDue {
        InvoiceDue {
            invoice_id: format!("inv_{currency}_{amount_due}"),
            account_id: "acct_1".into(),
            currency: currency.into(),
            amount_due,
        }
    }

    #[test]
    fn the_balance_sums_the_subscription_currency_only() {
        let invoices = [
            due("usd", 1900),
            due("eur", 500),
            due("usd", 100),
            due("usd", 0),
        ];
        assert_eq!(
            balance(Some("usd"), &invoices),
            Ok((2000, Some("usd".into())))
        );
        assert_eq!(balance(Some("gbp"), &invoices), Ok((0, Some("gbp".into()))));
    }

    #[test]
    fn without_a_subscription_the_first_invoice_currency_counts() {
        let invoices = [due("usd", 1900), due("eur", 500)];
        assert_eq!(balance(None, &invoices), Ok((500, Some("eur".into()))));
        assert_eq!(balance(None, &[]), Ok((0, None)));
    }

    #[test]
    fn an_overflowing_balance_is_an_error_not_a_wrap() {
        let invoices = [due("usd", i64::MAX), due("usd", 1)];
        assert!(balance(Some("usd"), &invoices).is_err());
    }
}
