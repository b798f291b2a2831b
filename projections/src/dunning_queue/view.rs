//! The work queue as clients see it: one item per case needing support, with what is computed
//! at query time from the service clock (days in dunning, the next scheduled action), the sort
//! orders and the opaque page cursor.

use chrono::{DateTime, Utc};
use domain::dunning::DunningStage;
use serde::Serialize;
use uuid::Uuid;

use crate::columns::parse_timestamp;
use crate::page;
use infrastructure::consumers::ProjectionError;

use super::row::{stage_name, QueueRow};

/// How the queue is ordered; ties by case id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QueueSort {
    /// Amount due, largest first.
    Amount,
    /// Oldest case first.
    #[default]
    Age,
}

impl QueueSort {
    pub fn name(self) -> &'static str {
        match self {
            QueueSort::Amount => "amount",
            QueueSort::Age => "age",
        }
    }

    /// A sort by its query-string name; `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        [QueueSort::Amount, QueueSort::Age]
            .into_iter()
            .find(|sort| sort.name() == text)
    }

    fn key(self, row: &QueueRow) -> i64 {
        match self {
            QueueSort::Amount => row.amount_due,
            QueueSort::Age => row.started_micros,
        }
    }
}

/// Where a page of the queue starts: after the case with this sort key and id. Its text names the
/// sort, so a cursor of one order is refused for the other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueCursor {
    pub(super) sort: QueueSort,
    pub(super) key: i64,
    pub(super) case_id: Uuid,
}

impl QueueCursor {
    fn after(sort: QueueSort, row: &QueueRow) -> Result<Self, ProjectionError> {
        Ok(Self {
            sort,
            key: sort.key(row),
            case_id: case_uuid(row, &row.case_id)?,
        })
    }

    /// A cursor this API issued for `sort` (`next_cursor`); `None` for anything else.
    pub fn parse(text: &str, sort: QueueSort) -> Option<Self> {
        let mut parts = text.splitn(3, '.');
        let named = QueueSort::parse(parts.next()?)?;
        let key = parts.next()?.parse().ok()?;
        let case_id = parts.next()?.parse().ok()?;
        (named == sort).then_some(Self { sort, key, case_id })
    }
}

impl std::fmt::Display for QueueCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.sort.name(), self.key, self.case_id)
    }
}

/// What happens next to a case if nobody acts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct NextAction {
    /// `retry`, `suspension` (the window expires) or `cancellation`.
    pub kind: &'static str,
    pub at: DateTime<Utc>,
}

/// One case of the Dunning Work Queue. `amount_due` is in minor units of `currency`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct QueueItemView {
    pub case_id: Uuid,
    pub account_id: String,
    pub subscription_id: Option<Uuid>,
    pub invoice_id: Uuid,
    pub amount_due: i64,
    pub currency: String,
    /// `escalated` or `suspended`.
    pub stage: String,
    pub started_at: DateTime<Utc>,
    /// Whole days from `started_at` to now.
    pub days_in_dunning: i64,
    pub last_failure_reason: String,
    pub next_action: Option<NextAction>,
    pub assigned_agent: Option<String>,
    pub window_expires_at: DateTime<Utc>,
    pub cancel_at: DateTime<Utc>,
}

impl QueueItemView {
    pub(super) fn of(row: QueueRow, now: DateTime<Utc>) -> Result<Self, ProjectionError> {
        let uuid = |text: &str| case_uuid(&row, text);
        let started_at = parse_timestamp(&row.started_at)?;
        let window_expires_at = parse_timestamp(&row.window_expires_at)?;
        let cancel_at = parse_timestamp(&row.cancel_at)?;
        let next_retry = row.schedule()?.into_iter().find(|at| *at >= now);
        let suspended = stage_name(DunningStage::Suspended);
        let suspension = (row.stage != suspended).then_some(window_expires_at);
        let next_action = [
            next_retry.map(|at| NextAction { kind: "retry", at }),
            suspension.map(|at| NextAction {
                kind: "suspension",
                at,
            }),
            Some(NextAction {
                kind: "cancellation",
                at: cancel_at,
            }),
        ]
        .into_iter()
        .flatten()
        .min_by_key(|action| action.at);
        Ok(Self {
            case_id: uuid(&row.case_id)?,
            subscription_id: row.subscription_id.as_deref().map(uuid).transpose()?,
            invoice_id: uuid(&row.invoice_id)?,
            days_in_dunning: (now - started_at).num_days().max(0),
            account_id: row.account_id,
            amount_due: row.amount_due,
            currency: row.currency,
            stage: row.stage,
            started_at,
            last_failure_reason: row.last_failure_reason,
            next_action,
            assigned_agent: row.assigned_agent,
            window_expires_at,
            cancel_at,
        })
    }
}

/// An id column of `row`, read back.
fn case_uuid(row: &QueueRow, text: &str) -> Result<Uuid, ProjectionError> {
    text.parse().map_err(|e| {
        ProjectionError::Corrupt(format!("queue case {}: id `{text}`: {e}", row.case_id))
    })
}

/// One page of the queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct QueuePage {
    pub items: Vec<QueueItemView>,
    /// Pass it back as `cursor` (with the same `sort`) for the next page; `null` on the last.
    pub next_cursor: Option<String>,
}

/// The page of the first `limit` of `rows` (fetched with `page::rows_to_fetch`), as of `now`.
pub(super) fn page_of(
    rows: Vec<QueueRow>,
    limit: u32,
    sort: QueueSort,
    now: DateTime<Utc>,
) -> Result<QueuePage, ProjectionError> {
    let (items, next_cursor) = page::split(
        rows,
        limit,
        |row| Ok(QueueCursor::after(sort, row)?.to_string()),
        |row| QueueItemView::of(row, now),
    )?;
    Ok(QueuePage { items, next_cursor })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_read_back_only_for_their_own_sort() {
        let cursor = QueueCursor {
            sort: QueueSort::Amount,
            key: 4900,
            case_id: Uuid::nil(),
        };
        let text = cursor.to_string();
        assert_eq!(QueueCursor::parse(&text, QueueSort::Amount), Some(cursor));
        assert_eq!(QueueCursor::parse(&text, QueueSort::Age), None);
        for foreign in [
            "",
            "42",
            "amount.x.y",
            "amount.1.not-a-uuid",
            "size.1.00000000-0000-0000-0000-000000000000",
        ] {
            assert_eq!(
                QueueCursor::parse(foreign, QueueSort::Amount),
                None,
                "{foreign}"
            );
        }
    }
}
