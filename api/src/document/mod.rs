//! The invoice as a printable document (SPEC 11.5): the facts it prints are gathered once, as
//! text, from the invoice, its payments and the seller's configuration; `html` and `pdf` only
//! lay them out, so both formats always say the same thing.

mod html;
mod pdf;

use chrono::{DateTime, Utc};
use domain::invoice::{InvoiceEvent, LineKind};
use infrastructure::email::format_amount;
use projections::invoices::InvoiceLineView;
use projections::InvoiceView;

pub use html::render_html;
pub use pdf::render_pdf;

/// Who issues the invoices, printed at the top of every document (`--seller-*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seller {
    pub name: String,
    /// Printed one line each.
    pub address: Vec<String>,
    pub email: Option<String>,
    /// A VAT or other tax registration number, printed when given.
    pub tax_id: Option<String>,
}

/// One line of the invoice, amounts formatted (`19.00 USD`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentLine {
    pub description: String,
    pub quantity: String,
    pub unit_amount: String,
    pub amount: String,
}

/// Money that moved for the invoice: a payment, or a refund of one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentPayment {
    pub date: String,
    /// `Payment` or `Refund`.
    pub kind: &'static str,
    /// The payment's reference, or the refund's reason.
    pub detail: String,
    pub amount: String,
}

/// Everything a document prints, as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceDocument {
    pub seller: Seller,
    pub account_id: String,
    pub customer_email: Option<String>,
    /// The invoice number, or a note that it is being assigned (it follows the issue by
    /// milliseconds).
    pub number: String,
    pub invoice_id: String,
    pub status: String,
    pub issued_on: String,
    pub due_on: String,
    pub lines: Vec<DocumentLine>,
    /// The charges, before discounts.
    pub subtotal: String,
    /// Each coupon's `discount` line, taken off the subtotal.
    pub discounts: Vec<DocumentLine>,
    /// Always zero: Ledgerline does not compute tax.
    pub tax: String,
    pub total: String,
    pub amount_paid: String,
    pub amount_refunded: String,
    pub amount_due: String,
    pub payments: Vec<DocumentPayment>,
}

/// What the document prints while the numbering policy has not numbered the invoice yet.
pub const NUMBER_PENDING: &str = "(number being assigned)";

impl InvoiceDocument {
    /// The document of `invoice`, whose stream holds `events`, issued by `seller` to the
    /// customer with `customer_email` (the subscription's billing email, if any).
    pub fn new(
        invoice: &InvoiceView,
        events: &[InvoiceEvent],
        seller: Seller,
        customer_email: Option<String>,
    ) -> Self {
        let money = |amount: i64| format_amount(amount, &invoice.currency);
        // Discounts print under the subtotal of the charges they reduce, as the totals do.
        let (discounts, charges): (Vec<_>, Vec<_>) = invoice
            .lines
            .iter()
            .partition(|line| line.kind == LineKind::Discount);
        let subtotal = charges.iter().map(|line| line.amount).sum::<i64>();
        let print = |line: &&InvoiceLineView| DocumentLine {
            description: line.description.clone(),
            quantity: line.quantity.to_string(),
            unit_amount: money(line.unit_amount),
            amount: money(line.amount),
        };
        let lines = charges.iter().map(print).collect();
        let discounts = discounts.iter().map(print).collect();
        Self {
            seller,
            account_id: invoice.account_id.clone(),
            customer_email,
            number: invoice
                .number
                .clone()
                .unwrap_or_else(|| NUMBER_PENDING.to_owned()),
            invoice_id: invoice.id.to_string(),
            status: invoice.status.replace('_', " "),
            issued_on: date(invoice.issued_at),
            due_on: date(invoice.due_at),
            lines,
            subtotal: money(subtotal),
            discounts,
            tax: money(0),
            total: money(invoice.total),
            amount_paid: money(invoice.amount_paid),
            amount_refunded: money(invoice.amount_refunded),
            amount_due: money(invoice.amount_due),
            payments: events.iter().filter_map(payment).collect(),
        }
    }
}

/// The payment or refund `event` records, if it records one.
fn payment(event: &InvoiceEvent) -> Option<DocumentPayment> {
    let (at, kind, detail, amount) = match event {
        InvoiceEvent::PaymentRecorded {
            amount,
            payment_ref,
            at,
            ..
        } => (at, "Payment", payment_ref, amount),
        InvoiceEvent::InvoiceRefunded {
            amount, reason, at, ..
        } => (at, "Refund", reason, amount),
        _ => return None,
    };
    Some(DocumentPayment {
        date: date(*at),
        kind,
        detail: detail.clone(),
        amount: format_amount(amount.amount, amount.currency.as_str()),
    })
}

fn date(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d").to_string()
}

#[cfg(test)]
pub(crate) mod tests;
