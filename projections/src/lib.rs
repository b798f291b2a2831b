//! Read models and their checkpointed projectors (SPEC section 5): a runtime that follows the
//! global event log with exactly-once effect, and the plumbing read models share.

mod columns;
pub mod error;
pub mod event;
pub mod runtime;
pub mod sql;

pub use error::ProjectionError;
pub use runtime::{ProjectionState, ProjectionStatus, Projections, Projector, RuntimeOptions};
