//! Policies and the Dunning process manager (SPEC section 4). Each reacts to events of the
//! durable global log and answers with commands whose ids derive from the causing event, so a
//! reaction re-run after a crash appends nothing new. Timers the policies schedule fire through
//! the command bus under ids derived from their dedupe keys, to the same effect.

pub mod billing_policy;
pub mod billing_worker;
mod dispatch;
pub mod dunning;
pub mod entitlements_policy;
pub mod entitlements_worker;
pub mod invoice_numbering_policy;
pub mod invoice_numbering_worker;
pub mod processor_events;
pub mod processor_events_worker;
pub mod reaction;
pub mod timer_firing;
pub mod timers_policy;
pub mod timers_worker;

pub use billing_worker::BillingPolicyWorker;
pub use dunning::DunningWorker;
pub use entitlements_worker::EntitlementsPolicyWorker;
pub use invoice_numbering_worker::InvoiceNumberingWorker;
pub use processor_events_worker::ProcessorEventsWorker;
pub use reaction::Reaction;
pub use timer_firing::{FiringError, TimerFiringWorker, TimerOptions, Timers};
pub use timers_worker::TimersPolicyWorker;
