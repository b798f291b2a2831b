//! `ProbeLog`: the store seen through a probe, for the command-bus tests. It counts the events
//! each load returned (the rows a command read) and the appends tried; it can hold every
//! bus's first append until all of them have loaded (so that they really decided concurrently);
//! and it can lose the reply of an append that committed, as a crash between commit and reply does.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use application::event_log::{
    Append, AsOf, CommandLoad, CommandRecord, EventLog, EventLogError, LogCursor, StoredEvent,
    StreamPrefix,
};
use cqrs_es::Aggregate;
use infrastructure::Store;
use tokio::sync::Barrier;

pub struct ProbeLog {
    store: Arc<Store>,
    loaded: Mutex<Vec<usize>>,
    appends: AtomicU32,
    first_append_gate: Option<Arc<Barrier>>,
    lose_next_reply: AtomicBool,
}

impl ProbeLog {
    pub fn new(store: Arc<Store>) -> Self {
        Self {
            store,
            loaded: Mutex::new(Vec::new()),
            appends: AtomicU32::new(0),
            first_append_gate: None,
            lose_next_reply: AtomicBool::new(false),
        }
    }

    /// The first append waits at `gate`: give one probe per concurrent bus, and a gate for all.
    pub fn gated(store: Arc<Store>, gate: Arc<Barrier>) -> Self {
        Self {
            first_append_gate: Some(gate),
            ..Self::new(store)
        }
    }

    /// The next append commits but reports a storage failure.
    pub fn lose_next_reply(&self) {
        self.lose_next_reply.store(true, Ordering::SeqCst);
    }

    /// How many events each `load_for_command` and `load_prefix` returned, in call order.
    pub fn events_loaded(&self) -> Vec<usize> {
        self.loaded.lock().expect("not poisoned").clone()
    }

    pub fn appends(&self) -> u32 {
        self.appends.load(Ordering::SeqCst)
    }
}

impl EventLog for ProbeLog {
    async fn load_for_command<A: Aggregate>(
        &self,
        aggregate_id: &str,
        command_id: Option<&str>,
    ) -> Result<CommandLoad, EventLogError> {
        let load = self
            .store
            .load_for_command::<A>(aggregate_id, command_id)
            .await?;
        let events = match &load {
            CommandLoad::Stream(tail) => tail.events.len(),
            CommandLoad::Recorded(_) => 0,
        };
        self.loaded.lock().expect("not poisoned").push(events);
        Ok(load)
    }

    async fn load_prefix(
        &self,
        aggregate_type: &str,
        aggregate_id: &str,
        as_of: AsOf,
    ) -> Result<Option<StreamPrefix>, EventLogError> {
        let prefix = self
            .store
            .load_prefix(aggregate_type, aggregate_id, as_of)
            .await?;
        self.loaded
            .lock()
            .expect("not poisoned")
            .push(prefix.as_ref().map_or(0, |p| p.events.len()));
        Ok(prefix)
    }

    async fn append(&self, append: Append) -> Result<CommandRecord, EventLogError> {
        if self.appends.fetch_add(1, Ordering::SeqCst) == 0 {
            if let Some(gate) = &self.first_append_gate {
                gate.wait().await;
            }
        }
        let record = self.store.append(append).await?;
        if self.lose_next_reply.swap(false, Ordering::SeqCst) {
            return Err(EventLogError::Storage(
                "connection reset after commit".into(),
            ));
        }
        Ok(record)
    }

    async fn find_command(&self, command_id: &str) -> Result<Option<CommandRecord>, EventLogError> {
        self.store.find_command(command_id).await
    }

    async fn read_stream(
        &self,
        aggregate_type: &str,
        aggregate_id: &str,
        after: i64,
        limit: u32,
    ) -> Result<Vec<StoredEvent>, EventLogError> {
        self.store
            .read_stream(aggregate_type, aggregate_id, after, limit)
            .await
    }

    async fn read_after(
        &self,
        cursor: LogCursor,
        limit: u32,
    ) -> Result<Vec<(LogCursor, StoredEvent)>, EventLogError> {
        self.store.read_after(cursor, limit).await
    }

    async fn cursor_of(&self, position: i64) -> Result<Option<LogCursor>, EventLogError> {
        self.store.cursor_of(position).await
    }
}
