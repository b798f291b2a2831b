//! Policies and the Dunning process manager (SPEC section 4). Each reacts to events of the
//! durable global log and answers with commands whose ids derive from the causing event, so a
//! reaction re-run after a crash appends nothing new.

pub mod entitlements_policy;
pub mod reaction;

pub use reaction::Reaction;
