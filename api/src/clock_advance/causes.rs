//! What a test-clock advance must wait for while clients keep sending commands: the events it
//! caused (the timers it fired and their reactions) and the reactions to events that were in the
//! log when it started, not the commands clients send meanwhile, whose stream never pauses.

use std::collections::HashMap;

use application::event_log::{EventLog, LogCursor, StoredEvent};
use application::EventLogError;
use infrastructure::Store;

/// Events read so far from the point where the advance started to settle.
pub(super) struct AdvanceCauses {
    cursor: LogCursor,
    /// By event id: whether the advance waits for what that event causes.
    read: HashMap<String, bool>,
}

/// How many events one read of the log takes.
const BATCH: u32 = 1000;

impl AdvanceCauses {
    pub(super) fn after(start: LogCursor) -> Self {
        Self {
            cursor: start,
            read: HashMap::new(),
        }
    }

    /// Reads the log up to `head` (never past it: an event read here is one the projections
    /// have processed); true when it found an event the advance waits for.
    pub(super) async fn read_to(
        &mut self,
        store: &Store,
        head: LogCursor,
    ) -> Result<bool, EventLogError> {
        let mut found = false;
        while self.cursor < head {
            let batch = store.read_after(self.cursor, BATCH).await?;
            let mut moved = false;
            for (cursor, event) in batch.into_iter().take_while(|(cursor, _)| *cursor <= head) {
                let waited_for = self.waited_for(&event);
                found |= waited_for;
                self.read
                    .insert(event.metadata.event_id.to_string(), waited_for);
                self.cursor = cursor;
                moved = true;
            }
            if !moved {
                break;
            }
        }
        Ok(found)
    }

    /// A reaction (a `system:` actor) to a timer, to an event older than the start, or to a
    /// reaction the advance waits for. A cause not read here is older than the start: a cause
    /// commits before its reaction is decided, so it comes first in the log.
    fn waited_for(&self, event: &StoredEvent) -> bool {
        let metadata = &event.metadata;
        metadata.actor.starts_with("system:")
            && (metadata.causation_id.starts_with("timer:")
                || self
                    .read
                    .get(&metadata.causation_id)
                    .copied()
                    .unwrap_or(true))
    }
}
