//! What the event-log contract tests share: made-up events and raw appends, the global log read
//! back whole, billing fixtures for the command bus, an aggregate whose commands append several
//! events, and an event log wrapper that counts what the bus reads.

mod batched;
mod billing;
mod log;
mod probe;

pub use batched::{Batch, Batched};
pub use billing::*;
pub use log::*;
pub use probe::ProbeLog;
