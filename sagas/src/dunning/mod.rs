//! The Dunning process manager (SPEC 3.5 and 4): it reacts to failed and paid invoices, to a new
//! payment method and to the case's own events, and answers with commands and timers whose ids
//! derive from their causes, so a re-run after a crash acts once.
//!
//! - [`orders`]: the commands one reaction sends, to whichever aggregate;
//! - [`case_events`]: pure reactions to the case's own events (past due, notifications, timers,
//!   suspension, recovery, cancellation);
//! - [`timers`]: the timers a case needs, named by dedupe keys;
//! - [`worker`]: runs it on the global log, with the few look-ups a reaction needs;
//! - [`retry`]: a retry timer firing: collect the case's invoice through the gateway.

pub mod case_events;
pub mod orders;
pub mod retry;
pub mod timers;
pub mod worker;

pub use worker::DunningWorker;

/// The name of the process manager: its projection checkpoint and the prefix of its command ids.
pub const POLICY: &str = "dunning_saga";
