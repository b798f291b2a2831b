//! The invoice as clients see it: SPEC section 6's "Invoice" resource, built from a stored row or
//! from the aggregate itself (`GET /v1/invoices/{id}` reads the aggregate, always current), so
//! that both answers have one shape and can be compared field for field.

use chrono::{DateTime, Utc};
use domain::invoice::{Invoice, InvoiceLine, InvoiceStatus, LineKind};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::columns::parse_timestamp;
use infrastructure::consumers::ProjectionError;

use super::row::InvoiceRow;
use super::usage_view::UsageLineView;

/// Amounts are minor units of the invoice's `currency`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct InvoiceView {
    pub id: Uuid,
    /// The invoice's gapless number (`LL-000001`), assigned just after it is issued: `null`
    /// until then.
    pub number: Option<String>,
    pub account_id: String,
    pub subscription_id: Option<Uuid>,
    /// `issued`, `past_due`, `paid`, `uncollectible`, `void` or `refunded`.
    pub status: String,
    pub currency: String,
    pub lines: Vec<InvoiceLineView>,
    pub total: i64,
    pub amount_paid: i64,
    pub amount_refunded: i64,
    /// Still to be collected: `total − amount_paid` while `issued` or `past_due`, else 0 (a
    /// paid, refunded, void or uncollectible invoice is owed nothing more).
    pub amount_due: i64,
    /// Every payment attempt on the invoice: through the gateway (the first charge, dunning
    /// retries, retries asked by support), and failures reported from outside. A dunning case's
    /// `retries` lists only its own.
    pub attempts: u32,
    pub issued_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct InvoiceLineView {
    pub description: String,
    #[schema(value_type = String, example = "manual")]
    pub kind: LineKind,
    pub quantity: u32,
    pub unit_amount: i64,
    pub amount: i64,
    /// How a `usage` or `usage_adjustment` line was rated; absent on other kinds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<UsageLineView>,
}

impl From<&InvoiceLine> for InvoiceLineView {
    fn from(line: &InvoiceLine) -> Self {
        Self {
            description: line.description.clone(),
            kind: line.kind,
            quantity: line.quantity,
            unit_amount: line.unit_amount.amount,
            amount: line.amount.amount,
            usage: line.usage.as_ref().map(UsageLineView::from),
        }
    }
}

impl InvoiceView {
    /// The view of an issued invoice; `None` before `InvoiceIssued`.
    pub fn of(invoice: &Invoice) -> Option<Self> {
        let (status, total, paid) = (
            invoice.status()?,
            invoice.total()?.amount,
            invoice.amount_paid()?.amount,
        );
        Some(Self {
            id: invoice.invoice_id()?,
            // Kept on the prefix's numbering stream, not the invoice's: see `with_number`.
            number: None,
            account_id: invoice.account_id()?.to_string(),
            subscription_id: invoice.subscription_id(),
            status: status.as_str().to_owned(),
            currency: invoice.currency()?.to_string(),
            lines: invoice.lines().iter().map(InvoiceLineView::from).collect(),
            total,
            amount_paid: paid,
            amount_refunded: invoice.amount_refunded()?.amount,
            amount_due: amount_due(status, total, paid),
            attempts: invoice.attempts(),
            issued_at: invoice.issued_at()?,
            due_at: invoice.due_at()?,
        })
    }
}

impl InvoiceView {
    /// The view with the number the numbering policy assigned, when it has.
    pub fn with_number(self, number: Option<String>) -> Self {
        Self { number, ..self }
    }
}

impl TryFrom<InvoiceRow> for InvoiceView {
    type Error = ProjectionError;

    fn try_from(row: InvoiceRow) -> Result<Self, Self::Error> {
        let corrupt = |what: &str, e: &dyn std::fmt::Display| {
            ProjectionError::Corrupt(format!("invoice {} {what}: {e}", row.invoice_id))
        };
        let uuid = |text: &str| Uuid::parse_str(text).map_err(|e| corrupt("id", &e));
        let status: InvoiceStatus =
            serde_json::from_value(serde_json::Value::String(row.status.clone()))
                .map_err(|e| corrupt("status", &e))?;
        Ok(Self {
            amount_due: amount_due(status, row.total, row.amount_paid),
            id: uuid(&row.invoice_id)?,
            number: row.number.clone(),
            subscription_id: row.subscription_id.as_deref().map(uuid).transpose()?,
            lines: serde_json::from_str(&row.lines).map_err(|e| corrupt("lines", &e))?,
            attempts: u32::try_from(row.attempts).map_err(|e| corrupt("attempts", &e))?,
            issued_at: parse_timestamp(&row.issued_at)?,
            due_at: parse_timestamp(&row.due_at)?,
            account_id: row.account_id,
            status: row.status,
            currency: row.currency,
            total: row.total,
            amount_paid: row.amount_paid,
            amount_refunded: row.amount_refunded,
        })
    }
}

/// One page of an account's invoices, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct InvoicePage {
    pub items: Vec<InvoiceView>,
    /// Pass it back as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// What is still to be collected on an invoice in `status`.
fn amount_due(status: InvoiceStatus, total: i64, amount_paid: i64) -> i64 {
    if status.is_open() {
        (total - amount_paid).max(0)
    } else {
        0
    }
}
