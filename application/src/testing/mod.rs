//! In-memory implementations of the ports a saga needs (the event log with its claim index, and
//! the scheduler), so that policies and process managers are tested with no database. Behind
//! the `testing` feature: production code never links them.

mod log;
mod scheduler;

pub use log::MemoryLog;
pub use scheduler::MemoryScheduler;
