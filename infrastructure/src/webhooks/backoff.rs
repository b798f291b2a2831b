//! The retry schedule of a delivery: about 5 s, 30 s, 2 min, 10 min, 30 min, 1 h, then every
//! 3 h, each spread by ±20 % so that receivers that came back are not hit by every endpoint's
//! retries at once; after three days of failures the delivery is given up.

use chrono::{DateTime, Duration, Utc};
use rand::Rng;

/// How long a delivery is retried, counted from when it was queued.
pub fn give_up_after() -> Duration {
    Duration::days(3)
}

const STEPS_SECONDS: [i64; 6] = [5, 30, 2 * 60, 10 * 60, 30 * 60, 60 * 60];
const THEN_EVERY_SECONDS: i64 = 3 * 60 * 60;

/// The nominal wait after the `failures`-th failed attempt (1 for the first).
pub fn nominal_delay(failures: u32) -> Duration {
    let index = failures.saturating_sub(1) as usize;
    Duration::seconds(
        STEPS_SECONDS
            .get(index)
            .copied()
            .unwrap_or(THEN_EVERY_SECONDS),
    )
}

/// The wait after the `failures`-th failure, with its jitter: within ±20 % of the nominal one.
pub fn delay(failures: u32) -> Duration {
    let nominal = nominal_delay(failures).num_milliseconds();
    let spread = rand::thread_rng().gen_range(0.8..=1.2);
    Duration::milliseconds((nominal as f64 * spread) as i64)
}

/// What to do after a failed attempt: retry at a time, or give up (three days after `queued_at`).
pub fn next_attempt(
    queued_at: DateTime<Utc>,
    failures: u32,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    (now < queued_at + give_up_after()).then(|| now + delay(failures))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_grows_then_repeats_every_three_hours() {
        let seconds: Vec<i64> = (1..=9).map(|n| nominal_delay(n).num_seconds()).collect();
        assert_eq!(
            seconds,
            [5, 30, 120, 600, 1800, 3600, 10_800, 10_800, 10_800]
        );
    }

    #[test]
    fn jitter_stays_within_a_fifth_of_the_nominal_delay() {
        for failures in 1..=8 {
            let nominal = nominal_delay(failures).num_milliseconds();
            for _ in 0..200 {
                let jittered = delay(failures).num_milliseconds();
                assert!(jittered >= nominal * 8 / 10 && jittered <= nominal * 12 / 10);
            }
        }
    }

    #[test]
    fn retries_stop_three_days_after_queueing() {
        let queued = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .to_utc();
        let before = queued + Duration::days(3) - Duration::seconds(1);
        let next = next_attempt(queued, 7, before).expect("still retried");
        assert!(next > before);
        assert_eq!(next_attempt(queued, 20, queued + Duration::days(3)), None);
    }

    #[test]
    fn a_delivery_failing_all_along_is_tried_about_thirty_times_in_three_days() {
        let queued = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .to_utc();
        let (mut now, mut failures) = (queued, 0);
        while let Some(next) = next_attempt(queued, failures + 1, now) {
            failures += 1;
            now = next;
        }
        // 6 growing steps (≈ 1 h 43 min) then every 3 h for the rest of 72 h: about 24 more.
        assert!((25..=36).contains(&failures), "{failures} attempts");
    }
}
