//! Closed-loop load: N clients each issue one operation after the other for a fixed time; the
//! rate is what completed over the wall time, and every operation's latency is kept.

use std::future::Future;
use std::time::{Duration, Instant};

use crate::Result;

/// Latencies of one measurement, sorted.
pub struct Latencies(Vec<Duration>);

impl Latencies {
    pub fn new(mut samples: Vec<Duration>) -> Self {
        samples.sort_unstable();
        Self(samples)
    }

    /// The `quantile` (0.5 for the median) in milliseconds, by the nearest-rank method.
    pub fn ms(&self, quantile: f64) -> f64 {
        if self.0.is_empty() {
            return f64::NAN;
        }
        let rank = (quantile * self.0.len() as f64).ceil() as usize;
        self.0[rank.clamp(1, self.0.len()) - 1].as_secs_f64() * 1000.0
    }
}

pub struct Outcome {
    pub completed: usize,
    pub errors: usize,
    pub first_error: Option<String>,
    pub elapsed: Duration,
    pub latencies: Latencies,
}

impl Outcome {
    pub fn per_second(&self) -> f64 {
        self.completed as f64 / self.elapsed.as_secs_f64()
    }

    /// Prints the first failure, so a benchmark that mostly fails never looks merely slow.
    pub fn report_errors(&self, what: &str) {
        if let Some(error) = &self.first_error {
            eprintln!("  {what}: {} failed, first: {error}", self.errors);
        }
    }
}

/// Runs `clients` loops of `operation(client, iteration)` for `duration`.
pub async fn closed_loop<F, Fut>(clients: usize, duration: Duration, operation: F) -> Outcome
where
    F: Fn(usize, u64) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<()>> + Send,
{
    let started = Instant::now();
    let deadline = started + duration;
    let tasks: Vec<_> = (0..clients)
        .map(|client| {
            let operation = operation.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let (mut errors, mut first_error) = (0, None);
                let mut iteration = 0;
                while Instant::now() < deadline {
                    let sent = Instant::now();
                    match operation(client, iteration).await {
                        Ok(()) => latencies.push(sent.elapsed()),
                        Err(error) => {
                            errors += 1;
                            first_error.get_or_insert_with(|| error.to_string());
                        }
                    }
                    iteration += 1;
                }
                (latencies, errors, first_error)
            })
        })
        .collect();
    let mut outcome = Outcome {
        completed: 0,
        errors: 0,
        first_error: None,
        elapsed: Duration::ZERO,
        latencies: Latencies::new(Vec::new()),
    };
    let mut all = Vec::new();
    for task in tasks {
        match task.await {
            Ok((latencies, errors, first_error)) => {
                all.extend(latencies);
                outcome.errors += errors;
                outcome.first_error = outcome.first_error.or(first_error);
            }
            Err(error) => {
                outcome.errors += 1;
                outcome.first_error.get_or_insert_with(|| error.to_string());
            }
        }
    }
    outcome.elapsed = started.elapsed();
    outcome.completed = all.len();
    outcome.latencies = Latencies::new(all);
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank_of_the_sorted_samples() {
        let samples = (1..=100).rev().map(Duration::from_millis).collect();
        let latencies = Latencies::new(samples);
        assert_eq!(latencies.ms(0.5), 50.0);
        assert_eq!(latencies.ms(0.99), 99.0);
        assert_eq!(latencies.ms(1.0), 100.0);
        assert!(Latencies::new(Vec::new()).ms(0.5).is_nan());
    }
}
