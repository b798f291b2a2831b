//! Command dispatch on top of cqrs-es aggregates: read the command's record or else the snapshot
//! plus tail in one round trip, `handle`, append with metadata in one atomic write, retry on
//! concurrency conflicts, and execute each command id at most once. Loading an aggregate as it
//! was at a point of its past is in `past`.
//!
//! cqrs-es's own `CqrsFramework` is not used: it cannot share a transaction with the command
//! record, does not report the global position, and its 0.5 snapshot store applies a command's
//! events twice. Snapshots here are taken from the state `handle` left behind, which already
//! holds the new events (cqrs-es's `EventSink::write` applies them), and nothing is re-applied.

use std::sync::Arc;
use std::time::Duration;

use cqrs_es::event_sink::EventSink;
use cqrs_es::persist::SerializedEvent;
use cqrs_es::{Aggregate, DomainEvent};
use domain::Clock;
use rand::Rng;
use uuid::Uuid;

use crate::claims::{ClaimChange, UniqueClaim};
use crate::event_log::{
    Append, CommandKey, CommandLoad, CommandRecord, EventLog, EventLogError, EventMetadata,
    NewEvent, Snapshot, StoredEvent, StreamTail,
};

mod dry_run;
mod past;

pub use past::PastState;

/// Who sent a command and why; becomes the metadata of every event it appends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandContext {
    pub actor: String,
    pub correlation_id: String,
    pub causation_id: String,
    pub idempotency_key: Option<String>,
    /// Present when the command must execute at most once.
    pub key: Option<CommandKey>,
}

impl CommandContext {
    /// The context of one step of a use case that sends several commands for one request or
    /// one reaction: the same metadata, and the command id with `:{name}` appended, so that each
    /// step executes once, and expires with the request's record when the request has one.
    pub fn step(&self, name: &str) -> Self {
        Self {
            key: self.key.as_ref().map(|key| CommandKey {
                command_id: format!("{}:{name}", key.command_id),
                fingerprint: key.fingerprint.clone(),
            }),
            ..self.clone()
        }
    }
}

/// The result of a dispatched command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Executed {
    pub record: CommandRecord,
    /// True when the command id had already executed and nothing new was appended.
    pub replayed: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum DispatchError<E: std::error::Error> {
    /// The aggregate refused the command.
    #[error(transparent)]
    Rejected(E),
    /// The command id was used before for a different command.
    #[error("the idempotency key was already used for a different request")]
    KeyReused,
    /// Another aggregate holds a uniqueness claim the command needed (a rule violation).
    #[error("{}", crate::claims::describe(.0))]
    ClaimTaken(String),
    /// Concurrent writers kept changing the stream; retries are exhausted.
    #[error("the aggregate kept changing concurrently; retry the command")]
    Conflict,
    /// A stored event or snapshot no longer deserialises: a defect, never the caller's fault.
    #[error("stored data cannot be read: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Storage(EventLogError),
}

/// The longest pause before the first retry of a conflicting command; it doubles each retry.
const RETRY_PAUSE_BASE: Duration = Duration::from_millis(10);

pub struct CommandBus<L> {
    log: Arc<L>,
    clock: Arc<dyn Clock>,
    snapshot_every: i64,
    max_attempts: u32,
}

/// A loaded aggregate and the version it was rebuilt at.
pub struct Loaded<A> {
    pub aggregate: A,
    pub version: i64,
}

impl<L: EventLog> CommandBus<L> {
    /// Snapshot every 100 events, and try a conflicting command up to 5 times in all, pausing a
    /// random while before each retry.
    pub fn new(log: Arc<L>, clock: Arc<dyn Clock>) -> Self {
        Self {
            log,
            clock,
            snapshot_every: 100,
            max_attempts: 5,
        }
    }

    pub fn with_snapshot_every(mut self, events: i64) -> Self {
        self.snapshot_every = events.max(1);
        self
    }

    /// Executes `command` against aggregate `A` with id `aggregate_id`.
    pub async fn execute<A>(
        &self,
        aggregate_id: &str,
        command: A::Command,
        services: &A::Services,
        context: &CommandContext,
    ) -> Result<Executed, DispatchError<A::Error>>
    where
        A: UniqueClaim,
        A::Command: Clone + serde::Serialize,
    {
        let (executed, _) = self
            .execute_keeping::<A>(aggregate_id, command, services, context)
            .await?;
        Ok(executed)
    }

    /// [`Self::execute`], answering also the aggregate as the command left it, for a caller
    /// that shows it with no second read; `None` when the command was a replay (it did not run).
    pub async fn execute_keeping<A>(
        &self,
        aggregate_id: &str,
        command: A::Command,
        services: &A::Services,
        context: &CommandContext,
    ) -> Result<(Executed, Option<A>), DispatchError<A::Error>>
    where
        A: UniqueClaim,
        A::Command: Clone + serde::Serialize,
    {
        let command_id = context.key.as_ref().map(|key| key.command_id.as_str());
        for attempt in 1..=self.max_attempts {
            // The command record is read with the stream, in the same round trip.
            let tail = match self
                .log
                .load_for_command::<A>(aggregate_id, command_id)
                .await
                .map_err(storage)?
            {
                CommandLoad::Recorded(record) => {
                    return replay::<A>(record, recorded_key(context)?, aggregate_id)
                        .map(|executed| (executed, None))
                }
                CommandLoad::Stream(tail) => tail,
            };
            let Loaded {
                mut aggregate,
                version,
            } = self.rebuild::<A>(tail)?;
            let claim_before = aggregate.unique_claim();
            let sink = EventSink::default();
            aggregate
                .handle(command.clone(), services, &sink)
                .await
                .map_err(DispatchError::Rejected)?;
            let events = sink.collect().await;
            let new_version = version + events.len() as i64;
            let snapshot = (version / self.snapshot_every != new_version / self.snapshot_every)
                .then(|| serde_json::to_value(&aggregate))
                .transpose()
                .map_err(|e| DispatchError::Corrupt(e.to_string()))?
                .map(|payload| Snapshot {
                    version: new_version,
                    payload,
                });
            let append = Append {
                aggregate_type: A::TYPE.to_owned(),
                aggregate_id: aggregate_id.to_owned(),
                expected_version: version,
                events: self.new_events(&events, &command_name(&command), context)?,
                snapshot,
                command: context.key.clone(),
                claims: ClaimChange::between(claim_before, aggregate.unique_claim()),
            };
            match self.log.append(append).await {
                Ok(record) => {
                    let executed = Executed {
                        record,
                        replayed: false,
                    };
                    return Ok((executed, Some(aggregate)));
                }
                Err(EventLogError::Conflict) if attempt < self.max_attempts => {
                    tokio::time::sleep(retry_pause(attempt)).await;
                }
                Err(EventLogError::Conflict) => break,
                Err(EventLogError::DuplicateCommand) => {
                    let key = recorded_key(context)?;
                    let record = self
                        .log
                        .find_command(&key.command_id)
                        .await
                        .map_err(storage)?
                        .ok_or(DispatchError::Conflict)?;
                    return replay::<A>(record, key, aggregate_id).map(|executed| (executed, None));
                }
                Err(EventLogError::ClaimTaken(claim)) => {
                    return Err(DispatchError::ClaimTaken(claim))
                }
                Err(other) => return Err(DispatchError::Storage(other)),
            }
        }
        Err(DispatchError::Conflict)
    }

    /// Rebuilds aggregate `A` from its newest snapshot and the events after it.
    pub async fn load<A: Aggregate>(
        &self,
        aggregate_id: &str,
    ) -> Result<Loaded<A>, DispatchError<A::Error>> {
        let tail = self
            .log
            .load_stream::<A>(aggregate_id)
            .await
            .map_err(storage)?;
        self.rebuild::<A>(tail)
    }

    /// Folds the events of `tail` onto its snapshot.
    fn rebuild<A: Aggregate>(
        &self,
        tail: StreamTail,
    ) -> Result<Loaded<A>, DispatchError<A::Error>> {
        let (mut aggregate, mut version) = restore::<A>(tail.snapshot)?;
        for stored in tail.events {
            version = stored.sequence as i64;
            aggregate.apply(self.decode::<A>(stored)?);
        }
        Ok(Loaded { aggregate, version })
    }

    /// Deserialises a stored event, upcasting older versions first (`domain::upcasting`).
    pub fn decode<A: Aggregate>(
        &self,
        serialized: SerializedEvent,
    ) -> Result<A::Event, DispatchError<A::Error>> {
        let upcast = domain::upcasting::upcast(serialized);
        serde_json::from_value(upcast.payload).map_err(|e| {
            DispatchError::Corrupt(format!(
                "{} {} v{}: {e}",
                upcast.aggregate_type, upcast.event_type, upcast.event_version
            ))
        })
    }

    /// Up to `limit` events of aggregate `A`'s stream after sequence `after`, decoded, each with
    /// how it was stored: for use cases that act on what a command appended.
    pub async fn read_events<A: Aggregate>(
        &self,
        aggregate_id: &str,
        after: i64,
        limit: u32,
    ) -> Result<Vec<(StoredEvent, A::Event)>, DispatchError<A::Error>> {
        let stored = self
            .log
            .read_stream(A::TYPE, aggregate_id, after, limit)
            .await
            .map_err(storage)?;
        stored
            .into_iter()
            .map(|event| {
                let decoded = self.decode::<A>(event.serialized())?;
                Ok((event, decoded))
            })
            .collect()
    }

    fn new_events<E: DomainEvent, Err: std::error::Error>(
        &self,
        events: &[E],
        command: &str,
        context: &CommandContext,
    ) -> Result<Vec<NewEvent>, DispatchError<Err>> {
        let recorded_at = self.clock.now();
        events
            .iter()
            .map(|event| {
                Ok(NewEvent {
                    event_type: event.event_type(),
                    event_version: event.event_version(),
                    payload: serde_json::to_value(event)
                        .map_err(|e| DispatchError::Corrupt(e.to_string()))?,
                    metadata: EventMetadata {
                        event_id: Uuid::new_v4(),
                        recorded_at,
                        actor: context.actor.clone(),
                        command: command.to_owned(),
                        correlation_id: context.correlation_id.clone(),
                        causation_id: context.causation_id.clone(),
                        idempotency_key: context.idempotency_key.clone(),
                    },
                })
            })
            .collect()
    }
}

/// The aggregate a snapshot holds and its version; the initial state without one.
fn restore<A: Aggregate>(snapshot: Option<Snapshot>) -> Result<(A, i64), DispatchError<A::Error>> {
    match snapshot {
        Some(snapshot) => Ok((
            serde_json::from_value::<A>(snapshot.payload)
                .map_err(|e| DispatchError::Corrupt(format!("snapshot: {e}")))?,
            snapshot.version,
        )),
        None => Ok((A::default(), 0)),
    }
}

/// The name a command is recorded under in event metadata (`AddSeats`): the variant name,
/// which is the external tag serde gives every command enum.
pub fn command_name<C: serde::Serialize>(command: &C) -> String {
    match serde_json::to_value(command) {
        Ok(serde_json::Value::String(unit)) => unit,
        Ok(serde_json::Value::Object(tagged)) if tagged.len() == 1 => {
            tagged.keys().next().cloned().unwrap_or_default()
        }
        _ => "unknown".to_owned(),
    }
}

/// A random pause after failed attempt `attempt` (1-based) of a conflicting command: up to
/// 10 ms, then up to 20, 40, 80 ("full jitter"). Without it, commands racing on one aggregate
/// reload and append again in lockstep and each round lets only one of them through. Measured
/// with 12 racing `AddSeats` (the contract suite's optimistic test): on SQLite exactly 5
/// succeeded (one per attempt) without pauses, 10 to 12 with them; on Postgres 7–9, then 11–12.
fn retry_pause(attempt: u32) -> Duration {
    let ceiling = RETRY_PAUSE_BASE * 2u32.pow(attempt.saturating_sub(1).min(8));
    ceiling.mul_f64(rand::thread_rng().gen::<f64>())
}

/// The key of a command the store reported as already recorded; only a command with a key can be.
fn recorded_key<E: std::error::Error>(
    context: &CommandContext,
) -> Result<&CommandKey, DispatchError<E>> {
    context.key.as_ref().ok_or_else(|| {
        DispatchError::Storage(EventLogError::Storage(
            "a recorded command reported for a command without id".into(),
        ))
    })
}

fn storage<E: std::error::Error>(error: EventLogError) -> DispatchError<E> {
    DispatchError::Storage(error)
}

/// The recorded result of `key`, if it was recorded for this very command: the same content
/// sent to the same aggregate. A fingerprint digests the command's content only, so the same
/// `{"count": 1}` sent to another subscription under a reused key must not answer with the
/// first subscription's result.
fn replay<A: Aggregate>(
    record: CommandRecord,
    key: &CommandKey,
    aggregate_id: &str,
) -> Result<Executed, DispatchError<A::Error>> {
    let same_aggregate = record.aggregate_type == A::TYPE && record.aggregate_id == aggregate_id;
    if same_aggregate && record.fingerprint == key.fingerprint {
        Ok(Executed {
            record,
            replayed: true,
        })
    } else {
        Err(DispatchError::KeyReused)
    }
}
