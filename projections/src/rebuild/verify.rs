//! Verification (SPEC 6, `POST /v1/admin/audit/verify`, `ledgerline audit verify`): replay the
//! whole log into fresh read models and compare them row by row with the live ones. Each
//! projection's live rows and checkpoint are read in one snapshot, and the replay stops at exactly
//! that checkpoint, so a projection that keeps running meanwhile shows no false mismatch.

use infrastructure::Store;
use serde::Serialize;
use serde_json::Value;

use super::read_model::ReadModelProjector;
use super::scratch::Scratch;
use super::table::{self, Rows, TableShape};
use crate::error::ProjectionError;
use crate::runtime::checkpoint;
use crate::sql::ProjectionTx;

/// Examples kept per projection; the counts are always complete.
pub const EXAMPLES_PER_PROJECTION: usize = 20;

/// What verification found.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct VerifyReport {
    /// Mismatched rows or columns over every projection.
    pub mismatches: usize,
    pub projections: Vec<ProjectionReport>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ProjectionReport {
    #[schema(value_type = String)]
    pub name: &'static str,
    /// The position the projection was compared at (its checkpoint).
    pub position: i64,
    /// Live rows over all of its tables.
    pub rows: usize,
    pub mismatches: usize,
    pub examples: Vec<Mismatch>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MismatchKind {
    /// The replay has the row, the live table does not.
    Missing,
    /// The live table has a row the replay does not.
    Unexpected,
    /// Both have the row; a column differs.
    Different,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Mismatch {
    pub table: String,
    /// The primary key's values, joined with `/` when it has several columns.
    pub key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// The live row (or column value); null when missing.
    #[schema(value_type = Object)]
    pub live: Value,
    /// The replayed row (or column value); null when unexpected.
    #[schema(value_type = Object)]
    pub replayed: Value,
    pub kind: MismatchKind,
}

/// Verifies every read model of `models` against the log of `store`.
pub async fn verify(
    store: &Store,
    models: &[ReadModelProjector],
) -> Result<VerifyReport, ProjectionError> {
    let mut projections = Vec::with_capacity(models.len());
    for model in models {
        projections.push(verify_one(store, model).await?);
    }
    Ok(VerifyReport {
        mismatches: projections.iter().map(|p| p.mismatches).sum(),
        projections,
    })
}

async fn verify_one(
    store: &Store,
    model: &ReadModelProjector,
) -> Result<ProjectionReport, ProjectionError> {
    let mut snapshot = ProjectionTx::begin_snapshot(store).await?;
    let live = read_live(&mut snapshot, model).await;
    snapshot.rollback().await?;
    let (at, live) = live?;
    let mut scratch = Scratch::new(vec![model.fresh()]).await?;
    scratch.replay_to(store, at, &|_| {}).await?;
    let mut report = ProjectionReport {
        name: model.name(),
        position: at.position,
        rows: 0,
        mismatches: 0,
        examples: Vec::new(),
    };
    for (shape, live_rows) in live {
        let replayed = scratch.rows(0, &shape).await?;
        report.rows += live_rows.len();
        for mismatch in diff(&shape, &live_rows, &replayed) {
            report.mismatches += 1;
            if report.examples.len() < EXAMPLES_PER_PROJECTION {
                report.examples.push(mismatch);
            }
        }
    }
    Ok(report)
}

/// The projection's checkpoint and live rows, in one snapshot.
async fn read_live(
    snapshot: &mut ProjectionTx,
    model: &ReadModelProjector,
) -> Result<(application::event_log::LogCursor, Vec<(TableShape, Rows)>), ProjectionError> {
    let at = checkpoint::load_in(snapshot, model.name(), false).await?;
    let mut tables = Vec::with_capacity(model.tables().len());
    for name in model.tables() {
        let shape = table::shape(snapshot, name).await?;
        let rows = shape.rows(snapshot, name).await?;
        tables.push((shape, rows));
    }
    Ok((at, tables))
}

/// Every difference between the live and the replayed rows of one table, by key.
fn diff(shape: &TableShape, live: &Rows, replayed: &Rows) -> Vec<Mismatch> {
    let whole_row = |row: &[crate::sql::Param]| -> Value {
        shape
            .columns
            .iter()
            .zip(row)
            .map(|((name, _), value)| (name.clone(), value.to_json()))
            .collect::<serde_json::Map<_, _>>()
            .into()
    };
    let mismatch = |key: &[String], column: Option<String>, live, replayed, kind| Mismatch {
        table: shape.name.clone(),
        key: key.join("/"),
        column,
        live,
        replayed,
        kind,
    };
    let mut found = Vec::new();
    for (key, live_row) in live {
        match replayed.get(key) {
            None => found.push(mismatch(
                key,
                None,
                whole_row(live_row),
                Value::Null,
                MismatchKind::Unexpected,
            )),
            Some(replayed_row) => {
                for (index, (live_value, replayed_value)) in
                    live_row.iter().zip(replayed_row).enumerate()
                {
                    if live_value != replayed_value {
                        found.push(mismatch(
                            key,
                            Some(shape.column_name(index).to_owned()),
                            live_value.to_json(),
                            replayed_value.to_json(),
                            MismatchKind::Different,
                        ));
                    }
                }
            }
        }
    }
    for (key, replayed_row) in replayed {
        if !live.contains_key(key) {
            found.push(mismatch(
                key,
                None,
                Value::Null,
                whole_row(replayed_row),
                MismatchKind::Missing,
            ));
        }
    }
    found
}
