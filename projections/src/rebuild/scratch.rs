//! The replay engine behind rebuilds, verification and `ledgerline replay`: fresh projectors
//! apply the log from position 0 to private in-memory databases with the read-model schema, up
//! to a given cursor. The log is read once for all of them, and each applies every batch in a
//! task of its own, while the next batch is read.

use std::sync::Arc;

use application::event_log::{EventLog, LogCursor, StoredEvent};
use infrastructure::Store;

use super::read_model::FreshProjector;
use super::table::{Rows, TableShape};
use infrastructure::consumers::ProjectionError;
use infrastructure::consumers::Projector;
use infrastructure::portable::{Tx, Value};

/// Events per replayed batch. A scratch database is private, and any split of the log into
/// batches gives the same rows (the [`Projector`] contract): the size only trades memory for
/// fewer statements and commits.
const BATCH: u32 = 10_000;

/// Where a replay stands, for progress reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct ReplayProgress {
    /// The position of the last event replayed.
    pub reached: i64,
    /// The position the replay runs to.
    pub target: i64,
}

/// One read model replayed into a database of its own.
struct ScratchModel {
    store: Arc<Store>,
    projector: Arc<FreshProjector>,
}

/// Read models replayed from the log into memory, together.
pub(crate) struct Scratch {
    models: Vec<ScratchModel>,
    cursor: LogCursor,
}

impl Scratch {
    pub async fn new(projectors: Vec<FreshProjector>) -> Result<Self, ProjectionError> {
        let mut models = Vec::with_capacity(projectors.len());
        for projector in projectors {
            models.push(ScratchModel {
                store: Arc::new(Store::scratch().await?),
                projector: Arc::new(projector),
            });
        }
        Ok(Self {
            models,
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
        let mut batch = read_batch(log, self.cursor, until).await?;
        while let Some(to) = batch.last().map(|(cursor, _)| *cursor) {
            let events: Vec<StoredEvent> = batch.into_iter().map(|(_, event)| event).collect();
            let applying = self.apply(Arc::new(events));
            let reading = read_batch(log, to, until);
            let (applied, read) = tokio::join!(applying, reading);
            applied?;
            batch = read?;
            self.cursor = to;
            progress(ReplayProgress {
                reached: to.position,
                target: until.position,
            });
        }
        Ok(())
    }

    /// Applies `events` to every model, each in a task of its own so that they use every core.
    async fn apply(&self, events: Arc<Vec<StoredEvent>>) -> Result<(), ProjectionError> {
        let tasks: Vec<_> = self
            .models
            .iter()
            .map(|model| {
                let (store, projector) = (model.store.clone(), model.projector.clone());
                let events = events.clone();
                tokio::spawn(async move {
                    let listened = listened_among(projector.as_ref(), &events);
                    if listened.is_empty() {
                        return Ok(());
                    }
                    let mut tx = Tx::begin(&store).await?;
                    projector.apply_batch(&mut tx, &listened).await?;
                    tx.commit().await?;
                    Ok::<_, ProjectionError>(())
                })
            })
            .collect();
        for task in tasks {
            task.await
                .map_err(|error| ProjectionError::Corrupt(format!("replay task: {error}")))??;
        }
        Ok(())
    }

    /// Every row of `shape`'s table as model `model` (its index in [`Scratch::new`]) replayed
    /// it, by primary key.
    pub async fn rows(&self, model: usize, shape: &TableShape) -> Result<Rows, ProjectionError> {
        let mut tx = Tx::begin(&self.models[model].store).await?;
        let rows = shape.rows(&mut tx, &shape.name).await;
        tx.rollback().await?;
        rows
    }

    /// Every row of `shape`'s table as model `model` replayed it, in storage order, in chunks
    /// of up to `chunk` rows handed to `sink`: copying never holds the whole table.
    pub async fn copy_rows<F, Fut>(
        &self,
        model: usize,
        shape: &TableShape,
        chunk: usize,
        mut sink: F,
    ) -> Result<(), ProjectionError>
    where
        F: FnMut(Vec<Vec<Value<'static>>>) -> Fut,
        Fut: std::future::Future<Output = Result<(), ProjectionError>>,
    {
        let mut after = i64::MIN;
        loop {
            let mut tx = Tx::begin(&self.models[model].store).await?;
            let page = shape.rows_after_rowid(&mut tx, after, chunk).await;
            tx.rollback().await?;
            let (last, rows) = page?;
            let Some(last) = last else {
                return Ok(());
            };
            after = last;
            sink(rows).await?;
        }
    }
}

async fn read_batch(
    log: &Store,
    after: LogCursor,
    until: LogCursor,
) -> Result<Vec<(LogCursor, StoredEvent)>, ProjectionError> {
    if after >= until {
        return Ok(Vec::new());
    }
    let mut batch = log.read_after(after, BATCH).await?;
    batch.retain(|(cursor, _)| *cursor <= until);
    Ok(batch)
}

/// The events among `events` that `projector` listens to, in order: borrowed whole when it
/// listens to all of them (the summary and the timeline do), else copied.
fn listened_among<'a, P: Projector>(
    projector: &P,
    events: &'a [StoredEvent],
) -> std::borrow::Cow<'a, [StoredEvent]> {
    let listens_to = projector.listens_to();
    let heard = |event: &StoredEvent| listens_to.contains(&event.aggregate_type.as_str());
    if events.iter().all(heard) {
        std::borrow::Cow::Borrowed(events)
    } else {
        events
            .iter()
            .filter(|event| heard(event))
            .cloned()
            .collect()
    }
}
