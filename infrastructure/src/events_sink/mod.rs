//! The message-bus sink (SPEC 9.3): every integration event is also published to NATS
//! JetStream, on subject `ledgerline.events.<type>` (the prefix is configurable) with header `Nats-Msg-Id` = the event id,
//! so JetStream drops a message published twice.
//!
//! Shape: a consumer of the log like every other, with its own checkpoint (`nats_sink`). For a
//! batch it waits until the `integration_events` read model has committed the batch's positions,
//! reads their catalog rows, publishes each and waits for JetStream's acknowledgement; only then
//! does the runtime store its checkpoint. A crash in between publishes the batch again, with the
//! same ids, inside the stream's duplicate window: nothing is skipped and nothing doubles.

mod nats;

pub use nats::{NatsSink, NatsSinkError, NatsSinkOptions};
