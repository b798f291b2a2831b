//! Time comes from an injected clock, never from `Utc::now()` in domain or saga code, so that
//! tests and the test clock can move it.

use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

/// The source of "now" for every rule that depends on time.
///
/// Implementations MUST be monotonic: `now()` never returns an instant earlier than one it
/// returned before.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
}

/// A clock that only moves when told to, forward only. Used by tests and by the test clock.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<DateTime<Utc>>,
}

impl ManualClock {
    pub fn starting_at(now: DateTime<Utc>) -> Self {
        Self {
            now: Mutex::new(now),
        }
    }

    /// Moves the clock to `to` if that is later than now; returns the resulting time.
    pub fn advance_to(&self, to: DateTime<Utc>) -> DateTime<Utc> {
        let mut now = self
            .now
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if to > *now {
            *now = to;
        }
        *now
    }

    /// Moves the clock forward by `by` (negative durations are ignored).
    pub fn advance(&self, by: Duration) -> DateTime<Utc> {
        let target = self.now() + by.max(Duration::zero());
        self.advance_to(target)
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self
            .now
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_only_moves_forward() {
        let start = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .to_utc();
        let clock = ManualClock::starting_at(start);
        assert_eq!(
            clock.advance(Duration::hours(1)),
            start + Duration::hours(1)
        );
        assert_eq!(clock.advance_to(start), start + Duration::hours(1));
        assert_eq!(
            clock.advance(Duration::hours(-5)),
            start + Duration::hours(1)
        );
    }
}
