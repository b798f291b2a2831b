//! The notification outbox (SPEC 4, 6 and 9.4): every notification a customer is to be told,
//! one row per dedupe key, with its recipient, for `GET /v1/accounts/{account_id}/notifications`
//! and for the email sender (`infrastructure::email`).
//!
//! Listens to: `dunning_case` events (NotificationRecorded: `payment_failed`,
//! `access_suspended`, `payment_recovered`), `subscription` events (TrialWillEnd:
//! `trial_will_end`; TrialStarted and BillingAccountAttached: the recipient) and `invoice` events
//! (InvoicePaid: `invoice_receipt`; InvoiceIssued: what a receipt and a due date name).
//! Keeps: `notifications`, and the facts a notification names: `notification_cases`,
//! `notification_recipients` (the billing email per account) and `notification_invoices`. All of
//! it is written in the checkpoint's transaction, set-based (a few reads, one multi-row write per
//! table): each notification is written exactly once, by its dedupe key.
//! Sends: nothing. Delivery state is not kept here, since a rebuild would then send everything
//! again: it lives in `email_deliveries`, which no rebuild touches.

mod batch;
mod table;

use application::event_log::StoredEvent;
use domain::AccountId;
use serde::Serialize;
use serde_json::Value;

use crate::columns::parse_timestamp;
use crate::event::{DUNNING_CASE, INVOICE, SUBSCRIPTION};
use crate::page::{self, PositionCursor};
use infrastructure::consumers::ProjectionError;
use infrastructure::consumers::Projector;
use infrastructure::email::{DeliveryStatus, EmailDelivery};
use infrastructure::portable::{Pool, Tx};

pub use table::{CaseRow, InvoiceRow, NotificationRow};

#[derive(Debug, Default)]
pub struct NotificationsProjector;

impl NotificationsProjector {
    pub const NAME: &'static str = "notifications";
}

/// The tables this projector owns.
pub const TABLES: [&str; 4] = [
    "notifications",
    "notification_cases",
    "notification_recipients",
    "notification_invoices",
];

impl Projector for NotificationsProjector {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn listens_to(&self) -> &'static [&'static str] {
        &[DUNNING_CASE, SUBSCRIPTION, INVOICE]
    }

    fn tables(&self) -> &'static [&'static str] {
        &TABLES
    }

    async fn apply_batch(
        &self,
        tx: &mut Tx,
        events: &[StoredEvent],
    ) -> Result<(), ProjectionError> {
        batch::apply(tx, events).await
    }
}

/// A notification as clients see it (SPEC 6 and 9.4).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct NotificationView {
    pub id: String,
    pub account_id: String,
    /// `payment_failed`, `access_suspended`, `payment_recovered`, `trial_will_end` or
    /// `invoice_receipt`.
    pub kind: String,
    pub created_at: String,
    /// When the notification was recorded in the outbox. The email's own delivery time is
    /// `email.sent_at`.
    pub sent_at: Option<String>,
    /// The billing email the notification goes to; `null` when the account had none.
    pub recipient: Option<String>,
    pub email: EmailStatusView,
    #[schema(value_type = Object)]
    pub payload: Value,
}

/// The email delivery of a notification (SPEC 9.4).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct EmailStatusView {
    /// `not_configured` (the server sends no email: no `--smtp-url`), `pending` (to be sent, or
    /// being retried), `sent`, `failed` (given up) or `skipped` (no recipient, or too old when
    /// first seen).
    pub status: String,
    /// SMTP attempts so far.
    pub attempts: i64,
    pub last_error: Option<String>,
    pub next_attempt_at: Option<String>,
    pub sent_at: Option<String>,
}

impl EmailStatusView {
    fn of(delivery: Option<&EmailDelivery>, recipient: Option<&str>, email_enabled: bool) -> Self {
        let status = match (delivery, recipient, email_enabled) {
            (Some(delivery), ..) => delivery.status.as_str(),
            (None, _, false) => "not_configured",
            // Not picked up by the sender yet.
            (None, None, true) => DeliveryStatus::Skipped.as_str(),
            (None, Some(_), true) => DeliveryStatus::Pending.as_str(),
        };
        let pending = delivery.filter(|d| d.status == DeliveryStatus::Pending);
        Self {
            status: status.to_owned(),
            attempts: delivery.map_or(0, |d| d.attempts),
            last_error: delivery.and_then(|d| d.last_error.clone()),
            next_attempt_at: pending.map(|d| crate::columns::timestamp(d.next_attempt_at)),
            sent_at: delivery.and_then(|d| d.sent_at.map(crate::columns::timestamp)),
        }
    }
}

impl NotificationView {
    fn from_row(
        row: NotificationRow,
        delivery: Option<&EmailDelivery>,
        email_enabled: bool,
    ) -> Result<Self, ProjectionError> {
        let payload = serde_json::from_str(&row.payload)
            .map_err(|e| ProjectionError::Corrupt(format!("notification {}: {e}", row.id)))?;
        // Read back to refuse a malformed stored time, as every view does.
        parse_timestamp(&row.created_at)?;
        Ok(Self {
            email: EmailStatusView::of(delivery, row.recipient.as_deref(), email_enabled),
            id: row.id,
            account_id: row.account_id,
            kind: row.kind,
            created_at: row.created_at,
            sent_at: row.sent_at,
            recipient: row.recipient,
            payload,
        })
    }
}

/// One page of an account's notifications, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct NotificationPage {
    pub items: Vec<NotificationView>,
    /// Pass it back as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// Up to `limit` of the account's notifications, oldest first, after the one at position `after`,
/// each with its email delivery (one more read, by the page's dedupe keys).
pub async fn page(
    pool: &Pool,
    account_id: &AccountId,
    limit: u32,
    cursor: Option<PositionCursor>,
    email_enabled: bool,
) -> Result<NotificationPage, ProjectionError> {
    let (rows, next_cursor) = page::oldest_first(
        pool,
        table::LIST,
        account_id,
        limit,
        cursor,
        |row: &NotificationRow| row.position,
        Ok,
    )
    .await?;
    let keys: Vec<String> = rows.iter().map(|row| row.dedupe_key.clone()).collect();
    let deliveries = infrastructure::email::deliveries(pool, &keys).await?;
    let items = rows
        .into_iter()
        .map(|row| {
            let delivery = deliveries.get(&row.dedupe_key);
            NotificationView::from_row(row, delivery, email_enabled)
        })
        .collect::<Result<_, _>>()?;
    Ok(NotificationPage { items, next_cursor })
}
