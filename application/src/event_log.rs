//! The event log port: an append-only store of aggregate streams with a global order, command
//! de-duplication and snapshots. The adapters (Postgres, SQLite) live in `infrastructure`; the
//! contract test suite there holds both to every promise written here.

use std::future::Future;

use chrono::{DateTime, Utc};
use cqrs_es::persist::SerializedEvent;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::claims::ClaimChange;

/// Who and what caused an event; stored with every event (SPEC section 2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventMetadata {
    pub event_id: Uuid,
    pub recorded_at: DateTime<Utc>,
    /// The API key id, or `system:<component>`.
    pub actor: String,
    /// The command's name, e.g. `AddSeats`.
    pub command: String,
    pub correlation_id: String,
    /// The request id, or the `event_id` of the event that caused this one.
    pub causation_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
}

/// An event ready to append, already serialised.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub event_type: String,
    pub event_version: String,
    pub payload: Value,
    pub metadata: EventMetadata,
}

/// An event as stored, with its place in its stream and in the global log.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    /// Unique and strictly increasing in the order readers of the global log see events.
    pub position: i64,
    pub aggregate_type: String,
    pub aggregate_id: String,
    /// 1-based place in the aggregate's stream.
    pub sequence: i64,
    pub event_type: String,
    pub event_version: String,
    pub payload: Value,
    pub metadata: EventMetadata,
}

impl StoredEvent {
    /// The event as cqrs-es's upcasters and `CommandBus::decode` take it (metadata left out).
    pub fn serialized(&self) -> SerializedEvent {
        SerializedEvent::new(
            self.aggregate_id.clone(),
            self.sequence as usize,
            self.aggregate_type.clone(),
            self.event_type.clone(),
            self.event_version.clone(),
            self.payload.clone(),
            Value::Null,
        )
    }
}

/// The serialised state of an aggregate after `version` events.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub version: i64,
    pub payload: Value,
}

/// What is needed to rebuild an aggregate: the latest snapshot and the events after it, in the
/// shape cqrs-es's upcasters take (`metadata` is left `Null`: rebuilding does not read it).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StreamTail {
    pub snapshot: Option<Snapshot>,
    pub events: Vec<SerializedEvent>,
}

/// What a command reads before it is handled.
#[derive(Debug, Clone, PartialEq)]
pub enum CommandLoad {
    /// The command id was executed before: its record, to replay. The stream is not read.
    Recorded(CommandRecord),
    /// The command id is new (or there is none): the stream to rebuild the aggregate from.
    Stream(StreamTail),
}

/// A point in a stream's past: which prefix of its events to rebuild the aggregate from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AsOf {
    /// The first `n` events (`sequence <= n`).
    Version(i64),
    /// The longest prefix of the stream whose events were all recorded at or before this
    /// instant (`metadata.recorded_at`, compared to the nanosecond). It ends just before the
    /// first event recorded later, even if an event after that one carries an earlier time.
    RecordedAt(DateTime<Utc>),
}

/// What is needed to rebuild an aggregate as it was at the end of a prefix of its stream: a kept
/// snapshot from before the prefix's last event, and every event after the snapshot up to that
/// last event, with positions and metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamPrefix {
    pub snapshot: Option<Snapshot>,
    /// Never empty; the last one ends the prefix.
    pub events: Vec<StoredEvent>,
}

/// A command's identity for exactly-once execution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandKey {
    /// From the `Idempotency-Key` (scoped by the caller) or derived from the causing event.
    pub command_id: String,
    /// A digest of the command's content: the same id with another content is refused.
    pub fingerprint: String,
}

impl CommandKey {
    /// The prefix of every command id that comes from a client's `Idempotency-Key`. Only those
    /// records expire (`docs/event-log.md`, "Idempotency retention"): the ids policies derive
    /// from events never start with it, and must never expire.
    pub const REQUEST_PREFIX: &'static str = "key:";

    /// The command id of a client request: its `Idempotency-Key`, scoped by the API key that
    /// sent it, so two clients cannot collide.
    pub fn request_command_id(api_key_id: &str, idempotency_key: &str) -> String {
        format!("{}{api_key_id}:{idempotency_key}", Self::REQUEST_PREFIX)
    }
}

/// The recorded result of an executed command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandRecord {
    pub command_id: String,
    pub fingerprint: String,
    pub aggregate_type: String,
    pub aggregate_id: String,
    /// The aggregate's version after the command.
    pub version: i64,
    /// The global position of the command's last event; `None` when it appended nothing.
    pub position: Option<i64>,
}

/// One atomic append to one stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Append {
    pub aggregate_type: String,
    pub aggregate_id: String,
    /// The stream's version the events were decided on; the append fails if it moved.
    pub expected_version: i64,
    pub events: Vec<NewEvent>,
    /// A snapshot of the state after these events, when the store should keep one.
    pub snapshot: Option<Snapshot>,
    pub command: Option<CommandKey>,
    /// A cross-aggregate uniqueness claim this append takes or releases.
    pub claims: ClaimChange,
}

#[derive(Debug, thiserror::Error)]
pub enum EventLogError {
    /// Another writer appended to the stream since `expected_version`.
    #[error("the stream was changed concurrently")]
    Conflict,
    /// The command id was recorded by a concurrent or earlier execution.
    #[error("the command was already executed")]
    DuplicateCommand,
    /// Another aggregate holds the uniqueness claim this append wanted to take.
    #[error("the claim `{0}` is held by another aggregate")]
    ClaimTaken(String),
    /// The store is unreachable or failed; the cause is for the log, not for the client.
    #[error("event store failure: {0}")]
    Storage(String),
}

/// Where a reader of the global log stands. Opaque to readers; only the store interprets it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct LogCursor {
    /// The transaction order key of the last event read (0 on SQLite, whose writes are serial).
    pub tx: i64,
    pub position: i64,
}

/// The event log.
///
/// Contract, for every implementation:
/// - `append` is atomic: all events, the snapshot, the command record and the claim change, or
///   nothing. It MUST return `Conflict` when the stream's version is not `expected_version`,
///   `DuplicateCommand` when `command.command_id` is already recorded, and `ClaimTaken` when
///   another aggregate holds `claims.take`.
/// - Positions are unique. `read_after` returns events in one total order that never changes:
///   an event that commits late is never placed before a cursor a reader has already passed.
/// - `load_for_command` reads in one round trip (one statement, so one consistent view): when
///   `command_id` is given and recorded, it MUST return that record as `Recorded`, exactly as
///   `find_command` would, whichever stream it names; otherwise `Stream` with the newest snapshot
///   and every event after it, in sequence order. `load_stream` is the same read without a
///   command id.
/// - Every snapshot an append carries is kept, not only the newest, in the same transaction.
///   `load_prefix` returns the prefix `as_of` names (see [`AsOf`]), or `None` when it is empty
///   (the stream did not exist yet at that point, or `Version(n)` with `n < 1`) or when
///   `Version(n)` lies beyond the stream. Its snapshot is the newest kept one whose version is
///   below the prefix's last sequence (`None` if there is none), and its events are every event
///   after that snapshot up to that last sequence, in order: so the events it reads are bounded
///   by the snapshot interval, however long the stream, and rebuilding from it equals replaying
///   the prefix from the start.
///
/// Methods are generic where the cqrs-es repositories are (they key streams by `A::TYPE`), so the
/// port is used through a concrete type, not `dyn`.
pub trait EventLog: Send + Sync + 'static {
    /// Everything a command needs before `handle` (see the contract above).
    fn load_for_command<A: Aggregate>(
        &self,
        aggregate_id: &str,
        command_id: Option<&str>,
    ) -> impl Future<Output = Result<CommandLoad, EventLogError>> + Send;

    /// The stream to rebuild aggregate `A` from, for reads that are not commands.
    fn load_stream<A: Aggregate>(
        &self,
        aggregate_id: &str,
    ) -> impl Future<Output = Result<StreamTail, EventLogError>> + Send {
        async move {
            match self.load_for_command::<A>(aggregate_id, None).await? {
                CommandLoad::Stream(tail) => Ok(tail),
                CommandLoad::Recorded(record) => Err(EventLogError::Storage(format!(
                    "a load without a command id returned the record of `{}`",
                    record.command_id
                ))),
            }
        }
    }

    fn append(
        &self,
        append: Append,
    ) -> impl Future<Output = Result<CommandRecord, EventLogError>> + Send;

    /// A prefix of one stream, for rebuilding an aggregate as it was (see the contract above).
    fn load_prefix(
        &self,
        aggregate_type: &str,
        aggregate_id: &str,
        as_of: AsOf,
    ) -> impl Future<Output = Result<Option<StreamPrefix>, EventLogError>> + Send;

    fn find_command(
        &self,
        command_id: &str,
    ) -> impl Future<Output = Result<Option<CommandRecord>, EventLogError>> + Send;

    /// Up to `limit` events of one stream after sequence `after`, in sequence order, with
    /// positions and metadata (for audit).
    fn read_stream(
        &self,
        aggregate_type: &str,
        aggregate_id: &str,
        after: i64,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<StoredEvent>, EventLogError>> + Send;

    /// Up to `limit` events after `cursor`, in global order, each with the cursor that follows it.
    fn read_after(
        &self,
        cursor: LogCursor,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<(LogCursor, StoredEvent)>, EventLogError>> + Send;

    /// The cursor of the event at `position`; `None` if no committed event has that position.
    fn cursor_of(
        &self,
        position: i64,
    ) -> impl Future<Output = Result<Option<LogCursor>, EventLogError>> + Send;
}
