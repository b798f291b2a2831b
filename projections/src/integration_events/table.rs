//! The catalog's tables: the events themselves, kept forever, and each resource's remembered
//! state and last rendering.

use infrastructure::portable::{self, placeholders, Pool, Tx, Value};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct EventRow {
    pub position: i64,
    pub id: String,
    pub kind: String,
    pub account_id: String,
    pub created_at: String,
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ResourceRow {
    pub aggregate_id: String,
    pub aggregate_type: String,
    pub state: String,
    pub object: Option<String>,
}

const EVENT_COLUMNS: &str = "position, id, type AS kind, account_id, created_at, body";
const RESOURCE_COLUMNS: &str = "aggregate_id, aggregate_type, state, object";

/// The stored resources among `ids`, of any aggregate type (an account's entitlements may share
/// a subscription's id).
pub(super) async fn resources(
    tx: &mut Tx,
    ids: &[String],
) -> Result<Vec<ResourceRow>, sqlx::Error> {
    let select =
        format!("SELECT {RESOURCE_COLUMNS} FROM integration_event_resources WHERE aggregate_id IN");
    tx.fetch_in(&select, ids).await
}

/// Writes `rows` over what is stored for the same resources.
pub(super) async fn save_resources(tx: &mut Tx, rows: Vec<ResourceRow>) -> Result<(), sqlx::Error> {
    let rows = rows.into_iter().map(ResourceRow::params).collect();
    tx.upsert(
        &format!("INSERT INTO integration_event_resources ({RESOURCE_COLUMNS})"),
        "ON CONFLICT (aggregate_type, aggregate_id) DO UPDATE SET state = excluded.state, \
         object = excluded.object",
        rows,
    )
    .await
}

/// Appends `rows` to the catalog; a position written before stays as it is.
pub(super) async fn insert_events(tx: &mut Tx, rows: Vec<EventRow>) -> Result<(), sqlx::Error> {
    let rows = rows.into_iter().map(EventRow::params).collect();
    tx.upsert(
        "INSERT INTO integration_events (position, id, type, account_id, created_at, body)",
        "ON CONFLICT (position) DO NOTHING",
        rows,
    )
    .await
}

/// Up to `rows` events after `after` in log order, of `account_id` and of `kinds` when given.
pub(super) async fn after(
    pool: &Pool,
    after: i64,
    rows: i64,
    account_id: Option<&str>,
    kinds: &[&str],
) -> Result<Vec<EventRow>, sqlx::Error> {
    let mut sql = format!("SELECT {EVENT_COLUMNS} FROM integration_events WHERE position > $1");
    let mut params: Vec<Value<'_>> = vec![after.into()];
    if let Some(account_id) = account_id {
        params.push(account_id.into());
        sql.push_str(&format!(" AND account_id = ${}", params.len()));
    }
    if !kinds.is_empty() {
        sql.push_str(&format!(
            " AND type IN ({})",
            placeholders(params.len() + 1, kinds.len())
        ));
        params.extend(kinds.iter().map(|kind| Value::from(*kind)));
    }
    params.push(rows.into());
    sql.push_str(&format!(" ORDER BY position LIMIT ${}", params.len()));
    portable::query(&sql)
        .bind_all(params)
        .fetch_all_as(pool)
        .await
}

impl EventRow {
    fn params(self) -> Vec<Value<'static>> {
        vec![
            self.position.into(),
            self.id.into(),
            self.kind.into(),
            self.account_id.into(),
            self.created_at.into(),
            self.body.into(),
        ]
    }
}

impl ResourceRow {
    fn params(self) -> Vec<Value<'static>> {
        vec![
            self.aggregate_id.into(),
            self.aggregate_type.into(),
            self.state.into(),
            self.object.into(),
        ]
    }
}
