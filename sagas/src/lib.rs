//! Policies and the Dunning process manager (SPEC section 4). Each reacts to events of the
//! durable global log and answers with commands whose ids derive from the causing event, so a
//! reaction re-run after a crash appends nothing new.

mod dispatch;
pub mod entitlements_policy;
pub mod entitlements_worker;
pub mod reaction;

pub use entitlements_worker::EntitlementsPolicyWorker;
pub use reaction::Reaction;
