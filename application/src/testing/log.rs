//! The event log and its claim index in memory: streams, the global order, command records and
//! claims under one lock, so every append is atomic. It keeps no snapshot: rebuilding from the
//! whole stream gives the same state, which is what snapshots promise.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use cqrs_es::Aggregate;

use crate::event_log::{
    Append, AsOf, CommandLoad, CommandRecord, EventLog, LogCursor, StoredEvent, StreamPrefix,
    StreamTail,
};
use crate::{ClaimIndex, EventLogError};

#[derive(Default)]
pub struct MemoryLog {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Every event, in the global order: the event at index `i` has position `i + 1`.
    events: Vec<StoredEvent>,
    commands: BTreeMap<String, CommandRecord>,
    /// Claim → the id of the aggregate holding it.
    claims: BTreeMap<String, String>,
}

impl State {
    fn stream<'a>(
        &'a self,
        aggregate_type: &'a str,
        aggregate_id: &'a str,
    ) -> impl Iterator<Item = &'a StoredEvent> + 'a {
        self.events.iter().filter(move |event| {
            event.aggregate_type == aggregate_type && event.aggregate_id == aggregate_id
        })
    }
}

impl MemoryLog {
    /// Every event appended so far, in the global order.
    pub fn events(&self) -> Vec<StoredEvent> {
        self.lock().events.clone()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn cursor(position: i64) -> LogCursor {
    LogCursor { tx: 0, position }
}

impl EventLog for MemoryLog {
    async fn load_for_command<A: Aggregate>(
        &self,
        aggregate_id: &str,
        command_id: Option<&str>,
    ) -> Result<CommandLoad, EventLogError> {
        let state = self.lock();
        if let Some(record) = command_id.and_then(|id| state.commands.get(id)) {
            return Ok(CommandLoad::Recorded(record.clone()));
        }
        Ok(CommandLoad::Stream(StreamTail {
            snapshot: None,
            events: state
                .stream(A::TYPE, aggregate_id)
                .map(StoredEvent::serialized)
                .collect(),
        }))
    }

    async fn append(&self, append: Append) -> Result<CommandRecord, EventLogError> {
        let mut state = self.lock();
        let version = state
            .stream(&append.aggregate_type, &append.aggregate_id)
            .count() as i64;
        if version != append.expected_version {
            return Err(EventLogError::Conflict);
        }
        if let Some(key) = &append.command {
            if state.commands.contains_key(&key.command_id) {
                return Err(EventLogError::DuplicateCommand);
            }
        }
        if let Some(claim) = &append.claims.take {
            if state
                .claims
                .get(claim)
                .is_some_and(|holder| *holder != append.aggregate_id)
            {
                return Err(EventLogError::ClaimTaken(claim.clone()));
            }
        }
        if let Some(claim) = &append.claims.release {
            if state.claims.get(claim) == Some(&append.aggregate_id) {
                state.claims.remove(claim);
            }
        }
        if let Some(claim) = append.claims.take {
            state.claims.insert(claim, append.aggregate_id.clone());
        }
        let new_version = version + append.events.len() as i64;
        let mut position = None;
        for (offset, event) in append.events.into_iter().enumerate() {
            let at = state.events.len() as i64 + 1;
            state.events.push(StoredEvent {
                position: at,
                aggregate_type: append.aggregate_type.clone(),
                aggregate_id: append.aggregate_id.clone(),
                sequence: version + offset as i64 + 1,
                event_type: event.event_type,
                event_version: event.event_version,
                payload: event.payload,
                metadata: event.metadata,
            });
            position = Some(at);
        }
        let record = CommandRecord {
            command_id: append
                .command
                .as_ref()
                .map(|key| key.command_id.clone())
                .unwrap_or_default(),
            fingerprint: append
                .command
                .as_ref()
                .map(|key| key.fingerprint.clone())
                .unwrap_or_default(),
            aggregate_type: append.aggregate_type,
            aggregate_id: append.aggregate_id,
            version: new_version,
            position,
        };
        if let Some(key) = append.command {
            state.commands.insert(key.command_id, record.clone());
        }
        Ok(record)
    }

    async fn load_prefix(
        &self,
        aggregate_type: &str,
        aggregate_id: &str,
        as_of: AsOf,
    ) -> Result<Option<StreamPrefix>, EventLogError> {
        let state = self.lock();
        let stream: Vec<StoredEvent> = state
            .stream(aggregate_type, aggregate_id)
            .cloned()
            .collect();
        let events: Vec<StoredEvent> = match as_of {
            AsOf::Version(n) if n < 1 || n > stream.len() as i64 => return Ok(None),
            AsOf::Version(n) => stream.into_iter().take(n as usize).collect(),
            AsOf::RecordedAt(at) => stream
                .into_iter()
                .take_while(|event| event.metadata.recorded_at <= at)
                .collect(),
        };
        Ok((!events.is_empty()).then_some(StreamPrefix {
            snapshot: None,
            events,
        }))
    }

    async fn find_command(&self, command_id: &str) -> Result<Option<CommandRecord>, EventLogError> {
        Ok(self.lock().commands.get(command_id).cloned())
    }

    async fn read_stream(
        &self,
        aggregate_type: &str,
        aggregate_id: &str,
        after: i64,
        limit: u32,
    ) -> Result<Vec<StoredEvent>, EventLogError> {
        let state = self.lock();
        Ok(state
            .stream(aggregate_type, aggregate_id)
            .filter(|event| event.sequence > after)
            .take(limit as usize)
            .cloned()
            .collect())
    }

    async fn read_after(
        &self,
        after: LogCursor,
        limit: u32,
    ) -> Result<Vec<(LogCursor, StoredEvent)>, EventLogError> {
        let state = self.lock();
        let first = usize::try_from(after.position.max(0)).unwrap_or(usize::MAX);
        Ok(state
            .events
            .iter()
            .skip(first)
            .take(limit as usize)
            .map(|event| (cursor(event.position), event.clone()))
            .collect())
    }

    async fn cursor_of(&self, position: i64) -> Result<Option<LogCursor>, EventLogError> {
        let known = position >= 1 && position <= self.lock().events.len() as i64;
        Ok(known.then(|| cursor(position)))
    }
}

impl ClaimIndex for MemoryLog {
    async fn claim_holder(&self, claim: &str) -> Result<Option<String>, EventLogError> {
        Ok(self.lock().claims.get(claim).cloned())
    }

    async fn claim_holders_under(&self, prefix: &str) -> Result<Vec<String>, EventLogError> {
        let state = self.lock();
        Ok(state
            .claims
            .range(prefix.to_owned()..)
            .take_while(|(claim, _)| claim.starts_with(prefix))
            .map(|(_, holder)| holder.clone())
            .collect())
    }
}
