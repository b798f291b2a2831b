//! A projector wrapped for tests: it records the positions it is handed, and can be made to
//! fail at one event or to pause in one batch (after writing that batch's rows, before the
//! runtime commits them) until the test resumes it or kills it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use application::event_log::StoredEvent;
use application::EventFailure;
use infrastructure::portable::Tx;
use projections::{ProjectionError, Projector};
use tokio::sync::Notify;

pub struct Instrumented<P> {
    inner: P,
    /// Every position handed to `apply_batch`, in order.
    pub seen: Arc<Mutex<Vec<i64>>>,
    fail_at: Option<i64>,
    /// The 1-based batch to pause in.
    pause_in_batch: Option<usize>,
    batches: AtomicUsize,
    /// Notified when the pause begins.
    pub paused: Arc<Notify>,
    /// Notify to end the pause.
    pub resume: Arc<Notify>,
}

impl<P: Projector> Instrumented<P> {
    pub fn new(inner: P) -> Self {
        Self {
            inner,
            seen: Arc::default(),
            fail_at: None,
            pause_in_batch: None,
            batches: AtomicUsize::new(0),
            paused: Arc::default(),
            resume: Arc::default(),
        }
    }

    /// Fails on the event at `position`, after writing the rows of the events before it.
    pub fn failing_at(mut self, position: i64) -> Self {
        self.fail_at = Some(position);
        self
    }

    pub fn pausing_in_batch(mut self, batch: usize) -> Self {
        self.pause_in_batch = Some(batch);
        self
    }
}

impl<P: Projector> Projector for Instrumented<P> {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    fn listens_to(&self) -> &'static [&'static str] {
        self.inner.listens_to()
    }

    fn tables(&self) -> &'static [&'static str] {
        self.inner.tables()
    }

    async fn apply_batch(
        &self,
        tx: &mut Tx,
        events: &[StoredEvent],
    ) -> Result<(), ProjectionError> {
        self.seen
            .lock()
            .unwrap()
            .extend(events.iter().map(|event| event.position));
        let bad = events.iter().position(|e| Some(e.position) == self.fail_at);
        let (good, from_bad) = events.split_at(bad.unwrap_or(events.len()));
        self.inner.apply_batch(tx, good).await?;
        if let Some(event) = from_bad.first() {
            return Err(EventFailure::at(event, "injected failure").into());
        }
        let batch = self.batches.fetch_add(1, Ordering::SeqCst) + 1;
        if self.pause_in_batch == Some(batch) {
            self.paused.notify_one();
            self.resume.notified().await;
        }
        Ok(())
    }
}
