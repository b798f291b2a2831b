//! The production clock: wall-clock UTC, held monotonic so that a step back of the system clock
//! (NTP correction) never moves billing time backwards.

use std::sync::Mutex;

use chrono::{DateTime, Utc};
use domain::Clock;

#[derive(Debug, Default)]
pub struct SystemClock {
    last: Mutex<Option<DateTime<Utc>>>,
}

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        let wall = Utc::now();
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        let now = last.map_or(wall, |previous| previous.max(wall));
        *last = Some(now);
        now
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_goes_backwards() {
        let clock = SystemClock::default();
        let mut previous = clock.now();
        for _ in 0..1000 {
            let now = clock.now();
            assert!(now >= previous);
            previous = now;
        }
    }
}
