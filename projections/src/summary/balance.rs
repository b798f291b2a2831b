//! The summary's balance due: what the account still owes on its invoices, in its subscription's
//! currency; and the overpayments a gateway took beyond what was owed, held or given back.
//!
//! Invoice events name the account only at issue, and a balance sums invoices a batch may not
//! touch, so the summary keeps its own per-invoice amounts in `account_summary_invoices`, written
//! in its own transactions (the invoices read model's table runs at another checkpoint).
//!
//! The arithmetic never fails: an account may have any number of invoices, so their sum is taken
//! in `i128` and a balance beyond the `bigint` column is stored at its limit (see projections.md).

use std::collections::{BTreeMap, BTreeSet};

use domain::invoice::InvoiceEvent;

use crate::event::InvoiceChange;
use infrastructure::consumers::ProjectionError;
use infrastructure::portable::{Tx, Value};

const COLUMNS: &str =
    "invoice_id, account_id, currency, amount_due, overpaid_held, overpaid_refunded";

/// One invoice's share of its account's balance.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub(super) struct InvoiceDue {
    pub invoice_id: String,
    pub account_id: String,
    pub currency: String,
    /// Minor units still to collect; 0 once paid, void or uncollectible.
    pub amount_due: i64,
    /// Overpayments received and not (yet) refunded: pending, or refused by the gateway.
    pub overpaid_held: i64,
    /// Overpayments refunded through the gateway.
    pub overpaid_refunded: i64,
}

impl InvoiceDue {
    fn apply(&mut self, event: &InvoiceEvent) {
        use InvoiceEvent as E;
        match event {
            // Saturates rather than fails: the domain keeps both far inside the range, and a
            // history written before its bound must not stop the summary for every account.
            E::PaymentRecorded { amount, .. } => {
                self.amount_due = self.amount_due.saturating_sub(amount.amount)
            }
            E::PaymentFailed { amount_due, .. } => self.amount_due = amount_due.amount,
            E::InvoicePaid { .. }
            | E::InvoiceVoided { .. }
            | E::InvoiceMarkedUncollectible { .. } => self.amount_due = 0,
            E::OverpaymentReceived { amount, .. } => {
                self.overpaid_held = self.overpaid_held.saturating_add(amount.amount)
            }
            E::OverpaymentRefunded { amount, .. } => {
                self.overpaid_held = self.overpaid_held.saturating_sub(amount.amount);
                self.overpaid_refunded = self.overpaid_refunded.saturating_add(amount.amount);
            }
            E::InvoiceIssued { .. }
            | E::PaymentAttempted { .. }
            | E::InvoiceRefunded { .. }
            | E::OverpaymentRefundFailed { .. }
            | E::DisputeOpened { .. }
            | E::CreditNoteIssued { .. } => {}
        }
    }
}

/// Folds `changes` into the invoices' amounts due and saves those that changed; answers the
/// accounts whose balance they may change.
pub(super) async fn record(
    tx: &mut Tx,
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
                overpaid_held: 0,
                overpaid_refunded: 0,
            };
            if folded.insert(change.invoice_id.clone(), due).is_some() {
                return Err(change.error("the invoice was already issued"));
            }
            continue;
        }
        folded
            .get_mut(&change.invoice_id)
            .ok_or_else(|| change.error("no InvoiceIssued precedes it"))?
            .apply(&change.event);
    }
    let accounts = folded.values().map(|due| due.account_id.clone()).collect();
    let changed: Vec<Vec<Value<'static>>> = folded
        .into_values()
        .filter(|due| stored.get(&due.invoice_id) != Some(due))
        .map(|due| {
            vec![
                due.invoice_id.into(),
                due.account_id.into(),
                due.currency.into(),
                due.amount_due.into(),
                due.overpaid_held.into(),
                due.overpaid_refunded.into(),
            ]
        })
        .collect();
    if !changed.is_empty() {
        let insert = format!("INSERT INTO account_summary_invoices ({COLUMNS})");
        let on_conflict =
            "ON CONFLICT (invoice_id) DO UPDATE SET amount_due = excluded.amount_due, \
            overpaid_held = excluded.overpaid_held, overpaid_refunded = excluded.overpaid_refunded";
        tx.upsert(&insert, on_conflict, changed).await?;
    }
    Ok(accounts)
}

/// Every invoice of `accounts`, by account (as written so far in this transaction).
pub(super) async fn invoices_of(
    tx: &mut Tx,
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

/// What an account's invoices add up to, in one currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Totals {
    pub currency: Option<String>,
    pub balance_due: i64,
    pub overpaid_held: i64,
    pub overpaid_refunded: i64,
}

/// The totals in the subscription's currency or, for an account without a subscription, in the
/// first (alphabetically) of its invoices' currencies. A function of the account's state alone,
/// so any split of the log into batches gives the same totals. Amounts in other currencies
/// cannot be added and are left out. Summed in `i128`, which no count of `i64` amounts a log can
/// hold overflows; a sum beyond `i64` is stored at the nearest `i64` limit instead of stopping
/// the projection.
pub(super) fn totals(subscription_currency: Option<&str>, invoices: &[InvoiceDue]) -> Totals {
    let currency = subscription_currency
        .map(str::to_owned)
        .or_else(|| invoices.iter().map(|due| due.currency.clone()).min());
    let sum = |amount: fn(&InvoiceDue) -> i64| {
        let sum: i128 = invoices
            .iter()
            .filter(|due| Some(&due.currency) == currency.as_ref())
            .map(|due| i128::from(amount(due)))
            .sum();
        i64::try_from(sum).unwrap_or(if sum > 0 { i64::MAX } else { i64::MIN })
    };
    Totals {
        balance_due: sum(|due| due.amount_due),
        overpaid_held: sum(|due| due.overpaid_held),
        overpaid_refunded: sum(|due| due.overpaid_refunded),
        currency,
    }
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
            overpaid_held: 0,
            overpaid_refunded: 0,
        }
    }

    /// The balance and currency of `totals`.
    fn balance(currency: Option<&str>, invoices: &[InvoiceDue]) -> (i64, Option<String>) {
        let totals = totals(currency, invoices);
        (totals.balance_due, totals.currency)
    }

    #[test]
    fn the_balance_sums_the_subscription_currency_only() {
        let invoices = [
            due("usd", 1900),
            due("eur", 500),
            due("usd", 100),
            due("usd", 0),
        ];
        assert_eq!(balance(Some("usd"), &invoices), (2000, Some("usd".into())));
        assert_eq!(balance(Some("gbp"), &invoices), (0, Some("gbp".into())));
    }

    #[test]
    fn without_a_subscription_the_first_invoice_currency_counts() {
        let invoices = [due("usd", 1900), due("eur", 500)];
        assert_eq!(balance(None, &invoices), (500, Some("eur".into())));
        assert_eq!(balance(None, &[]), (0, None));
    }

    #[test]
    fn a_balance_beyond_the_column_is_stored_at_its_limit_never_wrapped() {
        // The probe's two manual invoices of 2^62 each: 2^63 does not fit an i64.
        let probe = [due("usd", 1 << 62), due("usd", 1 << 62)];
        assert_eq!(balance(Some("usd"), &probe).0, i64::MAX);
        let credits = [due("usd", i64::MIN), due("usd", -1)];
        assert_eq!(balance(Some("usd"), &credits).0, i64::MIN);
        // Exact as long as the sum fits, whatever the partial sums do.
        let back_in_range = [due("usd", i64::MAX), due("usd", 1), due("usd", -2)];
        assert_eq!(balance(Some("usd"), &back_in_range).0, i64::MAX - 1);
    }

    #[test]
    fn a_payment_beyond_what_is_due_saturates_instead_of_failing() {
        let mut invoice = due("usd", i64::MIN + 1);
        let payment = InvoiceEvent::PaymentRecorded {
            amount: domain::Money::new(2, domain::Currency::parse("usd").unwrap()),
            payment_ref: "wire_1".into(),
            amount_paid: domain::Money::new(2, domain::Currency::parse("usd").unwrap()),
            at: chrono::DateTime::UNIX_EPOCH,
        };
        invoice.apply(&payment);
        assert_eq!(invoice.amount_due, i64::MIN);
    }

    fn usd(amount: i64) -> domain::Money {
        domain::Money::new(amount, domain::Currency::parse("usd").unwrap())
    }

    #[test]
    fn an_overpayment_is_held_until_it_is_refunded() {
        let mut invoice = due("usd", 0);
        let at = chrono::DateTime::UNIX_EPOCH;
        let payment_ref = "inv:attempt:1".to_owned();
        invoice.apply(&InvoiceEvent::OverpaymentReceived {
            payment_ref: payment_ref.clone(),
            amount: usd(4900),
            at,
        });
        let held = totals(Some("usd"), std::slice::from_ref(&invoice));
        assert_eq!((held.overpaid_held, held.overpaid_refunded), (4900, 0));
        invoice.apply(&InvoiceEvent::OverpaymentRefunded {
            payment_ref,
            amount: usd(4900),
            refund_ref: "re_1".into(),
            at,
        });
        let refunded = totals(Some("usd"), &[invoice]);
        assert_eq!(
            (
                refunded.overpaid_held,
                refunded.overpaid_refunded,
                refunded.balance_due
            ),
            (0, 4900, 0)
        );
    }
}
