//! Rebuilding and verifying read models (SPEC 5 and 6): replay the log from position 0 with a
//! fresh projector into a scratch database, then either copy the rows into shadow tables and
//! swap them in atomically (rebuild), or compare them row by row with the live ones (verify).

mod copy;
mod read_model;
mod scratch;
mod swap;
mod table;
mod verify;

pub use read_model::{FreshProjector, ReadModelProjector};
pub use scratch::ReplayProgress;
pub use swap::{shadow_name, PreparedRebuild, Rebuild};
pub use verify::{
    verify, Mismatch, MismatchKind, ProjectionReport, VerifyReport, VerifyStatus,
    EXAMPLES_PER_PROJECTION,
};
