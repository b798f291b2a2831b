//! Verification (SPEC 6, `POST /v1/admin/audit/verify`, `ledgerline audit verify`): replay the
//! whole log into fresh read models and compare them row by row with the live ones. Each
//! projection's live rows and checkpoint are read in one snapshot, and the replay stops at exactly
//! that checkpoint, so a projection that keeps running meanwhile shows no false mismatch. A
//! projection stopped at an event it cannot apply, or that would stop at one after its checkpoint,
//! is reported `failed`: its rows can only be compared up to there, so it is not verified,
//! whatever that comparison finds.

use infrastructure::Store;
use serde::Serialize;
use serde_json::Value;

use super::read_model::ReadModelProjector;
use super::scratch::Scratch;
use application::event_log::LogCursor;

use super::table::{self, quoted, Rows, TableShape};
use infrastructure::consumers::checkpoint::{self, RecordedStatus};
use infrastructure::consumers::ProjectionError;
use infrastructure::portable::{query, Tx};

/// Examples kept per projection; the counts are always complete.
pub const EXAMPLES_PER_PROJECTION: usize = 20;

/// What verification found.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct VerifyReport {
    /// `failed` when any projection is, else `mismatched` when any is, else `verified`.
    pub status: VerifyStatus,
    /// Mismatched rows or columns over every projection.
    pub mismatches: usize,
    /// Projections that could not be verified (status `failed`).
    pub failed: usize,
    pub projections: Vec<ProjectionReport>,
}

/// The verdict on one projection, or on all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum VerifyStatus {
    /// Every live row equals its replay.
    Verified,
    /// Some rows differ from their replay.
    Mismatched,
    /// Not verified: the projection stopped at an event it cannot apply (or its replay did).
    Failed,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ProjectionReport {
    #[schema(value_type = String)]
    pub name: &'static str,
    pub status: VerifyStatus,
    /// The position the projection was compared at (its checkpoint).
    pub position: i64,
    /// Live rows over all of its tables.
    pub rows: usize,
    pub mismatches: usize,
    pub examples: Vec<Mismatch>,
    /// Why the projection is `failed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The position of the event a failed projection stopped at, when it names one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed_position: Option<i64>,
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
        status: projections
            .iter()
            .map(|p| p.status)
            .max()
            .unwrap_or(VerifyStatus::Verified),
        mismatches: projections.iter().map(|p| p.mismatches).sum(),
        failed: projections
            .iter()
            .filter(|p| p.status == VerifyStatus::Failed)
            .count(),
        projections,
    })
}

async fn verify_one(
    store: &Store,
    model: &ReadModelProjector,
) -> Result<ProjectionReport, ProjectionError> {
    let mut snapshot = Tx::begin_snapshot(store).await?;
    let live = read_live(&mut snapshot, model).await;
    snapshot.rollback().await?;
    let Live { at, status, tables } = live?;
    let mut report = ProjectionReport {
        name: model.name(),
        status: VerifyStatus::Verified,
        position: at.position,
        rows: 0,
        mismatches: 0,
        examples: Vec::new(),
        error: None,
        failed_position: None,
    };
    if let Some(failed) = status.filter(|status| status.status == "failed") {
        report.status = VerifyStatus::Failed;
        report.error = Some(
            failed
                .error
                .unwrap_or_else(|| "failed (no error recorded)".to_owned()),
        );
        report.failed_position = failed.failed_position;
    }
    let mut scratch = Scratch::new(vec![model.fresh()]).await?;
    let replayed = scratch.replay_to(store, at, &|_| {}).await;
    // An event the live projection applied and a fresh one cannot: a fold that differs.
    if !replay_applied(replayed, &mut report, "the replay failed")? {
        return Ok(report);
    }
    for (shape, live_rows) in tables {
        let replayed = scratch.rows(0, &shape).await?;
        report.rows += live_rows.len();
        for mismatch in diff(&shape, &live_rows, &replayed) {
            report.mismatches += 1;
            if report.examples.len() < EXAMPLES_PER_PROJECTION {
                report.examples.push(mismatch);
            }
        }
    }
    if report.status == VerifyStatus::Verified && report.mismatches > 0 {
        report.status = VerifyStatus::Mismatched;
    }
    if report.status != VerifyStatus::Failed {
        // Past the checkpoint: a projection that will stop at an event is not verified either,
        // whatever its status says (stopped, or a worker that died before recording it).
        let head = store.log_head().await?.cursor;
        let ahead = scratch.replay_to(store, head, &|_| {}).await;
        replay_applied(ahead, &mut report, "the projection cannot apply it")?;
    }
    Ok(report)
}

/// Whether a replay applied every event; an event it could not apply makes `report` failed.
fn replay_applied(
    replayed: Result<(), ProjectionError>,
    report: &mut ProjectionReport,
    what: &str,
) -> Result<bool, ProjectionError> {
    let Err(error) = replayed else {
        return Ok(true);
    };
    let Some(position) = error.position() else {
        return Err(error);
    };
    report.status = VerifyStatus::Failed;
    report.failed_position = Some(position);
    report.error = Some(format!("{what}: {error}"));
    Ok(false)
}

/// What one snapshot shows of a projection.
struct Live {
    at: LogCursor,
    status: Option<RecordedStatus>,
    tables: Vec<(TableShape, Rows)>,
}

/// The projection's checkpoint, status and live rows, in one snapshot.
async fn read_live(snapshot: &mut Tx, model: &ReadModelProjector) -> Result<Live, ProjectionError> {
    hold_off_swaps(snapshot, model.tables()).await?;
    let at = checkpoint::load_in(snapshot, model.name(), false).await?;
    let status = checkpoint::recorded_status_in(snapshot, model.name()).await?;
    let mut tables = Vec::with_capacity(model.tables().len());
    for name in model.tables() {
        let shape = table::shape(snapshot, name).await?;
        let rows = shape.rows(snapshot, name).await?;
        tables.push((shape, rows));
    }
    Ok(Live { at, status, tables })
}

/// On Postgres, a snapshot does not cover which table a name resolves to: a rebuild's swap that
/// commits between the snapshot and the read would show the new table with none of the rows its
/// copy committed after the snapshot. So the tables are locked (`ACCESS SHARE`, which only a
/// swap's `ACCESS EXCLUSIVE` waits for) before the snapshot is taken, by the first read: a swap
/// in progress commits first, and none starts until the snapshot ends. Same order as the swap,
/// so the two never deadlock. SQLite's read transaction covers the schema already.
async fn hold_off_swaps(snapshot: &mut Tx, tables: &[&str]) -> Result<(), ProjectionError> {
    if matches!(snapshot, Tx::Postgres(_)) && !tables.is_empty() {
        let list: Vec<String> = tables.iter().map(|name| quoted(name)).collect();
        let lock = format!("LOCK TABLE {} IN ACCESS SHARE MODE", list.join(", "));
        query(&lock).execute(snapshot).await?;
    }
    Ok(())
}

/// Every difference between the live and the replayed rows of one table, by key.
fn diff(shape: &TableShape, live: &Rows, replayed: &Rows) -> Vec<Mismatch> {
    let whole_row = |row: &[infrastructure::portable::Value]| -> Value {
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
