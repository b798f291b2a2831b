//! A reaction: a command a policy issues because of one event, with the id that makes it
//! execute at most once.

use uuid::Uuid;

#[derive(Debug, Clone, PartialEq)]
pub struct Reaction<C> {
    /// The aggregate the command goes to.
    pub aggregate_id: String,
    pub command: C,
    /// `<policy>:<causing event id>`: the same cause never yields the command twice.
    pub command_id: String,
    /// The causing event, recorded as the command's causation.
    pub caused_by: Uuid,
}

impl<C> Reaction<C> {
    pub fn new(policy: &str, caused_by: Uuid, aggregate_id: impl Into<String>, command: C) -> Self {
        Self {
            aggregate_id: aggregate_id.into(),
            command,
            command_id: format!("{policy}:{caused_by}"),
            caused_by,
        }
    }
}
