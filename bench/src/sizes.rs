//! How big each benchmark is: the full run of issue #7, and a smoke run of a few seconds that
//! only proves the harness still works.

use std::time::Duration;

pub struct Sizes {
    /// Accounts the commands, lag and feature checks are spread over.
    pub accounts: usize,
    /// Concurrent clients of the throughput benchmark (and of its raw-append baseline).
    pub concurrency: Vec<usize>,
    /// How long each throughput, lag and feature-check measurement runs.
    pub duration: Duration,
    /// Concurrent clients of the feature-check benchmark.
    pub feature_clients: usize,
    /// Stream lengths of the aggregates whose command latency is compared.
    pub stream_lengths: Vec<usize>,
    /// Commands timed on each of those aggregates.
    pub stream_samples: usize,
    /// Events loaded before a rebuild.
    pub rebuild_events: usize,
}

impl Sizes {
    pub fn full() -> Self {
        Self {
            accounts: 10_000,
            concurrency: vec![1, 16, 64],
            duration: Duration::from_secs(15),
            feature_clients: 16,
            stream_lengths: vec![10, 1_000, 10_000],
            stream_samples: 300,
            rebuild_events: 1_000_000,
        }
    }

    pub fn smoke() -> Self {
        Self {
            accounts: 20,
            concurrency: vec![1, 4],
            duration: Duration::from_millis(300),
            feature_clients: 2,
            stream_lengths: vec![10, 30],
            stream_samples: 5,
            rebuild_events: 2_000,
        }
    }
}
