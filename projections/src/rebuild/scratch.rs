//! The replay engine behind rebuilds, verification and `ledgerline replay`: a fresh projector
//! applies the log from position 0 to a private in-memory database with the read-model schema,
//! up to a given cursor, exactly as the live worker would (same batches, same SQL).

use application::event_log::{EventLog, LogCursor, StoredEvent};
use infrastructure::Store;

use super::read_model::FreshProjector;
use super::table::{Rows, TableShape};
use crate::error::ProjectionError;
use crate::runtime::Projector;
use crate::sql::ProjectionTx;

/// Events per replayed batch: the live workers' default.
const BATCH: u32 = 500;

/// Where a replay stands, for progress reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct ReplayProgress {
    /// The position of the last event replayed.
    pub reached: i64,
    /// The position the replay runs to.
    pub target: i64,
}

/// A read model replayed from the log into memory.
pub(crate) struct Scratch {
    store: Store,
    projector: FreshProjector,
    cursor: LogCursor,
}

impl Scratch {
    pub async fn new(projector: FreshProjector) -> Result<Self, ProjectionError> {
        let store = Store::scratch().await?;
        Ok(Self {
            store,
            projector,
            cursor: LogCursor::default(),
        })
    }

    /// The cursor of the last event replayed.
    pub fn cursor(&self) -> LogCursor {
        self.cursor
    }

    /// Applies `log`'s events after the current cursor up to and including `until`.
    pub async fn replay_to(
        &mut self,
        log: &Store,
        until: LogCursor,
        progress: &(dyn Fn(ReplayProgress) + Send + Sync),
    ) -> Result<(), ProjectionError> {
        while self.cursor < until {
            let mut batch = log.read_after(self.cursor, BATCH).await?;
            batch.retain(|(cursor, _)| *cursor <= until);
            let Some(to) = batch.last().map(|(cursor, _)| *cursor) else {
                break;
            };
            let events = listened(&self.projector, batch);
            if !events.is_empty() {
                let mut tx = ProjectionTx::begin(&self.store).await?;
                self.projector.apply_batch(&mut tx, &events).await?;
                tx.commit().await?;
            }
            self.cursor = to;
            progress(ReplayProgress {
                reached: to.position,
                target: until.position,
            });
        }
        Ok(())
    }

    /// Every row of `shape`'s table as replayed.
    pub async fn rows(&self, shape: &TableShape) -> Result<Rows, ProjectionError> {
        let mut tx = ProjectionTx::begin(&self.store).await?;
        let rows = shape.rows(&mut tx, &shape.name).await;
        tx.rollback().await?;
        rows
    }
}

/// The events of `batch` that `projector` listens to, in order.
pub(crate) fn listened<P: Projector>(
    projector: &P,
    batch: Vec<(LogCursor, StoredEvent)>,
) -> Vec<StoredEvent> {
    let listens_to = projector.listens_to();
    batch
        .into_iter()
        .map(|(_, event)| event)
        .filter(|event| listens_to.contains(&event.aggregate_type.as_str()))
        .collect()
}
