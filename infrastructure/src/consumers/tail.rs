//! The newest stretch of the global log, read once for every worker of the process. Every append
//! wakes every active worker, and each used to read the same new events with a query of its
//! own; now the first to ask reads them and the others are served from memory.
//!
//! The stretch is what `read_after` returned, batch after batch, from one starting cursor: a
//! gap-free segment of the log in reading order (the log's own guarantee is that no event can
//! later appear before a cursor already read past). A worker whose cursor falls inside it gets
//! exactly what `read_after` would give it; a worker behind it (catching up, after a rebuild)
//! reads the database itself.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::Store;
use application::event_log::{EventLog, EventLogError, LogCursor, StoredEvent};
use tokio::sync::{watch, Mutex};

/// Events kept in memory; older ones are dropped first.
const KEPT: usize = 5_000;

/// A read at the segment's end that found nothing new is answered again, without reading, for
/// workers woken by no later notification, this long. Events can become readable without a
/// notification of their own (an older transaction ending frees them), which the workers'
/// polling finds; a read older than this is repeated.
const RECENT_READ: Duration = Duration::from_millis(50);

pub(crate) struct SharedTail {
    store: Arc<Store>,
    /// Moves on every notification that may mean new events (the workers' wake-up signal).
    notified: watch::Receiver<i64>,
    segment: Mutex<Segment>,
}

#[derive(Default)]
struct Segment {
    /// The cursor the segment starts after; `None` before the first read.
    start: Option<LogCursor>,
    /// The events after `start`, in order, each with its cursor.
    events: VecDeque<(LogCursor, StoredEvent)>,
    /// The notification count seen just before the last read at the end, and when it was.
    last_read: Option<(i64, Instant)>,
}

impl Segment {
    fn end(&self) -> Option<LogCursor> {
        self.events.back().map(|(cursor, _)| *cursor).or(self.start)
    }

    /// The events after `cursor`, if the segment covers it.
    fn after(&self, cursor: LogCursor, limit: u32) -> Option<Vec<(LogCursor, StoredEvent)>> {
        let start = self.start?;
        if cursor < start || Some(cursor) > self.end() {
            return None;
        }
        let first = self.events.partition_point(|(at, _)| *at <= cursor);
        // The cursor must be the segment's start or one of its events' own cursors.
        if first == 0 && cursor != start || first > 0 && self.events[first - 1].0 != cursor {
            return None;
        }
        Some(
            self.events
                .range(first..)
                .take(limit as usize)
                .cloned()
                .collect(),
        )
    }

    fn extend(&mut self, from: LogCursor, read: &[(LogCursor, StoredEvent)]) {
        if self.end() != Some(from) {
            // Not contiguous with what is kept: start a new segment here.
            self.start = Some(from);
            self.events.clear();
        }
        self.events.extend(read.iter().cloned());
        while self.events.len() > KEPT {
            if let Some((dropped, _)) = self.events.pop_front() {
                self.start = Some(dropped);
            }
        }
    }
}

impl SharedTail {
    pub(crate) fn new(store: Arc<Store>, notified: watch::Receiver<i64>) -> Self {
        Self {
            store,
            notified,
            segment: Mutex::default(),
        }
    }

    /// What [`EventLog::read_after`] would return.
    pub(crate) async fn read_after(
        &self,
        cursor: LogCursor,
        limit: u32,
    ) -> Result<Vec<(LogCursor, StoredEvent)>, EventLogError> {
        let mut segment = self.segment.lock().await;
        if let Some(kept) = segment.after(cursor, limit) {
            if !kept.is_empty() {
                return Ok(kept);
            }
        }
        if segment.end().is_some_and(|end| cursor < end) {
            // Behind the segment's end and not served by it (catching up): a read of its own,
            // not holding the others up.
            drop(segment);
            return self.store.read_after(cursor, limit).await;
        }
        // At (or past) the segment's end: read on from there. While one worker reads, the
        // others wait for the lock and then find the new events kept. Woken by the same
        // notification, they find nothing new either, without a read each.
        let notified = *self.notified.borrow();
        let at_end = segment.end() == Some(cursor);
        if at_end
            && segment
                .last_read
                .is_some_and(|(count, at)| count == notified && at.elapsed() < RECENT_READ)
        {
            return Ok(Vec::new());
        }
        segment.last_read = Some((notified, Instant::now()));
        let read = self.store.read_after(cursor, limit).await?;
        segment.extend(cursor, &read);
        Ok(read)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use application::event_log::EventMetadata;
    use serde_json::json;

    fn event(position: i64) -> (LogCursor, StoredEvent) {
        let cursor = LogCursor { tx: 0, position };
        let event = StoredEvent {
            position,
            aggregate_type: "subscription".into(),
            aggregate_id: "s".into(),
            sequence: position,
            event_type: "SeatsAdded".into(),
            event_version: "1.0".into(),
            payload: json!({}),
            metadata: EventMetadata {
                event_id: uuid::Uuid::nil(),
                recorded_at: chrono::DateTime::UNIX_EPOCH,
                actor: "system:test".into(),
                command: "AddSeats".into(),
                correlation_id: "c".into(),
                causation_id: "c".into(),
                idempotency_key: None,
            },
        };
        (cursor, event)
    }

    fn at(position: i64) -> LogCursor {
        LogCursor { tx: 0, position }
    }

    fn positions(read: Option<Vec<(LogCursor, StoredEvent)>>) -> Option<Vec<i64>> {
        read.map(|events| events.iter().map(|(c, _)| c.position).collect())
    }

    #[test]
    fn a_cursor_inside_the_segment_gets_what_follows_it() {
        let mut segment = Segment::default();
        segment.extend(at(10), &[event(11), event(13), event(14)]);
        assert_eq!(positions(segment.after(at(10), 10)), Some(vec![11, 13, 14]));
        assert_eq!(positions(segment.after(at(11), 1)), Some(vec![13]));
        assert_eq!(positions(segment.after(at(14), 10)), Some(vec![]));
    }

    #[test]
    fn a_cursor_outside_the_segment_or_between_its_events_is_not_served() {
        let mut segment = Segment::default();
        assert_eq!(positions(segment.after(at(0), 10)), None);
        segment.extend(at(10), &[event(11), event(13)]);
        assert_eq!(positions(segment.after(at(9), 10)), None, "behind it");
        assert_eq!(
            positions(segment.after(at(12), 10)),
            None,
            "no event has it"
        );
        assert_eq!(positions(segment.after(at(20), 10)), None, "ahead of it");
    }

    #[test]
    fn reads_from_its_end_extend_it_and_others_start_it_over() {
        let mut segment = Segment::default();
        segment.extend(at(10), &[event(11)]);
        segment.extend(at(11), &[event(12)]);
        assert_eq!(positions(segment.after(at(10), 10)), Some(vec![11, 12]));
        segment.extend(at(40), &[event(41)]);
        assert_eq!(positions(segment.after(at(10), 10)), None);
        assert_eq!(positions(segment.after(at(40), 10)), Some(vec![41]));
    }

    #[test]
    fn the_oldest_events_are_dropped_beyond_what_is_kept() {
        let mut segment = Segment::default();
        let read: Vec<_> = (1..=KEPT as i64 + 2).map(event).collect();
        segment.extend(at(0), &read);
        assert_eq!(positions(segment.after(at(0), 1)), None);
        assert_eq!(positions(segment.after(at(2), 1)), Some(vec![3]));
    }
}
