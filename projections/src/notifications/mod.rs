//! The notification outbox (SPEC 4 and 6): every notification the dunning process manager
//! recorded, one row per dedupe key, for `GET /v1/accounts/{account_id}/notifications`.
//!
//! Listens to: `dunning_case` events.
//! Keeps: `notification_cases` (from DunningStarted: what a notification says about its case)
//! and `notifications` (from NotificationRecorded), inserted with `ON CONFLICT DO NOTHING` on the
//! dedupe key, in the checkpoint's transaction: each notification is written exactly once. A
//! batch is written set-based: one read, one multi-row insert per table.
//! Sends: nothing. The default sender only records: a row is marked sent when written.

mod table;

use std::collections::{BTreeMap, BTreeSet};

use application::event_log::StoredEvent;
use chrono::{DateTime, Utc};
use domain::dunning::{DunningEvent, NotificationKind};
use domain::AccountId;
use serde::Serialize;
use serde_json::{json, Value};

use crate::columns::{parse_timestamp, timestamp};
use crate::event::{event_error, payload, DUNNING_CASE};
use crate::page::{self, PositionCursor};
use infrastructure::consumers::ProjectionError;
use infrastructure::consumers::Projector;
use infrastructure::portable::{Pool, Tx};

pub use table::{CaseRow, NotificationRow};

#[derive(Debug, Default)]
pub struct NotificationsProjector;

impl NotificationsProjector {
    pub const NAME: &'static str = "notifications";
}

/// The tables this projector owns.
pub const TABLES: [&str; 2] = ["notifications", "notification_cases"];

impl Projector for NotificationsProjector {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn listens_to(&self) -> &'static [&'static str] {
        &[DUNNING_CASE]
    }

    fn tables(&self) -> &'static [&'static str] {
        &TABLES
    }

    /// Set-based, like the other read models: one read of the cases the batch's notifications
    /// name and did not start, then one multi-row insert per table.
    async fn apply_batch(
        &self,
        tx: &mut Tx,
        events: &[StoredEvent],
    ) -> Result<(), ProjectionError> {
        let mut started = BTreeMap::new();
        let mut recorded = Vec::new();
        for stored in events {
            match payload::<DunningEvent>(stored)? {
                DunningEvent::DunningStarted {
                    case_id,
                    account_id,
                    subscription_id,
                    invoice_id,
                    amount_due,
                    ..
                } => {
                    let row = CaseRow {
                        case_id: case_id.to_string(),
                        account_id: account_id.to_string(),
                        subscription_id: subscription_id.map(|id| id.to_string()),
                        invoice_id: invoice_id.to_string(),
                        amount_due: amount_due.amount,
                        currency: amount_due.currency.to_string(),
                    };
                    started.entry(row.case_id.clone()).or_insert(row);
                }
                DunningEvent::NotificationRecorded {
                    kind,
                    dedupe_key,
                    at,
                } => recorded.push((stored, kind, dedupe_key, at)),
                _ => {}
            }
        }
        let elsewhere: BTreeSet<String> = recorded
            .iter()
            .map(|(stored, ..)| stored.aggregate_id.clone())
            .filter(|case_id| !started.contains_key(case_id))
            .collect();
        let elsewhere: Vec<String> = elsewhere.into_iter().collect();
        let mut stored_cases = BTreeMap::new();
        for case in table::cases(tx, &elsewhere).await? {
            stored_cases.insert(case.case_id.clone(), case);
        }
        let mut written = BTreeSet::new();
        let mut notifications = Vec::new();
        for (stored, kind, dedupe_key, at) in recorded {
            let case = started
                .get(&stored.aggregate_id)
                .or_else(|| stored_cases.get(&stored.aggregate_id))
                .ok_or_else(|| event_error(stored, "no DunningStarted precedes it".into()))?;
            // The first of a dedupe key wins, in the batch as against the table.
            if written.insert(dedupe_key.clone()) {
                notifications.push(notification(stored, case, kind, dedupe_key, at)?);
            }
        }
        table::save_cases(tx, started.into_values().collect()).await?;
        table::insert_notifications(tx, notifications).await?;
        Ok(())
    }
}

/// The row of the notification `stored` records about `case`.
fn notification(
    stored: &StoredEvent,
    case: &CaseRow,
    kind: NotificationKind,
    dedupe_key: String,
    at: DateTime<Utc>,
) -> Result<NotificationRow, ProjectionError> {
    let kind = serde_json::to_value(kind)
        .ok()
        .and_then(|kind| kind.as_str().map(str::to_owned))
        .ok_or_else(|| event_error(stored, "the kind has no name".into()))?;
    let payload = json!({
        "dunning_case_id": case.case_id,
        "subscription_id": case.subscription_id,
        "invoice_id": case.invoice_id,
        "amount_due": {"amount": case.amount_due, "currency": case.currency},
    });
    Ok(NotificationRow {
        id: stored.metadata.event_id.to_string(),
        account_id: case.account_id.clone(),
        kind,
        dedupe_key,
        payload: payload.to_string(),
        created_at: timestamp(at),
        sent_at: Some(timestamp(at)),
        position: stored.position,
    })
}

/// A notification as clients see it (SPEC 6).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct NotificationView {
    pub id: String,
    pub account_id: String,
    pub kind: String,
    pub created_at: String,
    pub sent_at: Option<String>,
    #[schema(value_type = Object)]
    pub payload: Value,
}

impl TryFrom<NotificationRow> for NotificationView {
    type Error = ProjectionError;

    fn try_from(row: NotificationRow) -> Result<Self, Self::Error> {
        let payload = serde_json::from_str(&row.payload)
            .map_err(|e| ProjectionError::Corrupt(format!("notification {}: {e}", row.id)))?;
        // Read back to refuse a malformed stored time, as every view does.
        parse_timestamp(&row.created_at)?;
        Ok(Self {
            id: row.id,
            account_id: row.account_id,
            kind: row.kind,
            created_at: row.created_at,
            sent_at: row.sent_at,
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

/// Up to `limit` of the account's notifications, oldest first, after the one at position `after`.
pub async fn page(
    pool: &Pool,
    account_id: &AccountId,
    limit: u32,
    cursor: Option<PositionCursor>,
) -> Result<NotificationPage, ProjectionError> {
    let (items, next_cursor) = page::oldest_first(
        pool,
        table::LIST,
        account_id,
        limit,
        cursor,
        |row: &NotificationRow| row.position,
        NotificationView::try_from,
    )
    .await?;
    Ok(NotificationPage { items, next_cursor })
}
