//! Benchmark 2: does a command's cost grow with its aggregate's stream? Subscriptions are grown
//! to each length by alternately adding and removing a seat (state that does not grow, so only
//! the stream does), then one client times the same commands on each length, interleaved so
//! that noise falls on every length alike. An aggregate takes at most a tenth of its length in
//! timed commands, so its stream stays within 10 % of the length it stands for.

use std::time::{Duration, Instant};

use futures_util::{stream, StreamExt, TryStreamExt};
use serde_json::json;

use crate::client::Api;
use crate::database::{Backend, Postgres};
use crate::figures::Figures;
use crate::load::Latencies;
use crate::server::Binary;
use crate::sizes::Sizes;
use crate::Result;

/// Aggregates grown at the same time (each one's commands stay sequential).
const GROWING_CLIENTS: usize = 8;

struct Stream {
    subscription_id: String,
    /// Events in the stream so far.
    length: usize,
}

impl Stream {
    /// The next command of the alternation: seats go 1 → 2 → 1 → …
    async fn next_command(&mut self, api: &Api) -> Result<()> {
        let action = if self.length % 2 == 1 {
            "add-seats"
        } else {
            "remove-seats"
        };
        let path = format!("/v1/subscriptions/{}/{action}", self.subscription_id);
        api.command(&path, &json!({"count": 1})).await?;
        self.length += 1;
        Ok(())
    }
}

pub async fn run(
    binary: &Binary,
    postgres: &Postgres,
    sizes: &Sizes,
    figures: &mut Figures,
) -> Result<()> {
    println!("stream length: {:?} events", sizes.stream_lengths);
    let database = postgres.create(Backend::Postgres).await?;
    let server = binary.serve(&database.url)?;
    let mut groups = Vec::new();
    for &length in &sizes.stream_lengths {
        let per_aggregate = (length / 10).max(1);
        let aggregates = sizes.stream_samples.div_ceil(per_aggregate);
        groups.push(grow(&server.api, length, aggregates).await?);
    }
    let mut samples = vec![Vec::new(); groups.len()];
    for round in 0..sizes.stream_samples {
        for (group, streams) in groups.iter_mut().enumerate() {
            let count = streams.len();
            let stream = &mut streams[round % count];
            let sent = Instant::now();
            stream.next_command(&server.api).await?;
            samples[group].push(sent.elapsed());
        }
    }
    server.stop();
    database.drop_now().await;

    let medians: Vec<f64> = samples
        .into_iter()
        .map(|taken: Vec<Duration>| Latencies::new(taken).ms(0.5))
        .collect();
    for (length, median) in sizes.stream_lengths.iter().zip(&medians) {
        figures.record(format!("latency_ms_len{length}"), *median);
    }
    if let (Some(first), Some(last)) = (sizes.stream_lengths.first(), sizes.stream_lengths.last()) {
        let ratio = medians[medians.len() - 1] / medians[0];
        let key = format!("len{last}_vs_len{first}");
        figures.record_with(key, ratio, "target <= 1.2");
    }
    Ok(())
}

/// Starts `count` trials and grows each stream to `length` events.
async fn grow(api: &Api, length: usize, count: usize) -> Result<Vec<Stream>> {
    stream::iter(0..count)
        .map(|_| async move {
            let body = json!({
                "account_id": uuid::Uuid::new_v4().to_string(),
                "plan_id": "pro",
                "seats": 1,
            });
            let reply = api.post_ok("/v1/subscriptions", &body).await?;
            let mut stream = Stream {
                subscription_id: reply["aggregate_id"]
                    .as_str()
                    .ok_or("a started trial answers its aggregate_id")?
                    .to_owned(),
                length: 1,
            };
            while stream.length < length {
                stream.next_command(api).await?;
            }
            Ok::<_, crate::Error>(stream)
        })
        .buffer_unordered(GROWING_CLIENTS)
        .try_collect()
        .await
}
