//! Benchmark 4: projection lag under load. Commands arrive at a fixed rate (half the peak
//! command rate, open loop); after each one is acknowledged, a summary query with its
//! `min_position` returns once the summary has applied it. That wait is the lag from commit
//! to visible (it includes one HTTP round trip of the query, about a tenth of a millisecond).

use std::time::{Duration, Instant};

use serde_json::json;
use tokio::task::JoinSet;

use crate::accounts::{Clients, Population};
use crate::figures::Figures;
use crate::load::Latencies;
use crate::sizes::Sizes;
use crate::Result;

pub async fn run(
    population: &Population,
    sizes: &Sizes,
    rate: f64,
    figures: &mut Figures,
) -> Result<()> {
    println!("lag: commit to visible in the summary at {rate:.0} commands/s");
    let clients = population.clients();
    let mut ticks = tokio::time::interval(Duration::from_secs_f64(1.0 / rate.max(1.0)));
    let deadline = Instant::now() + sizes.duration;
    let mut in_flight = JoinSet::new();
    while Instant::now() < deadline {
        ticks.tick().await;
        in_flight.spawn(command_then_visible(clients.clone()));
    }
    let (mut lags, mut errors, mut first_error) = (Vec::new(), 0, None);
    while let Some(joined) = in_flight.join_next().await {
        match joined.map_err(crate::Error::from).and_then(|lag| lag) {
            Ok(lag) => lags.push(lag),
            Err(error) => {
                errors += 1;
                first_error.get_or_insert(error.to_string());
            }
        }
    }
    if let Some(error) = first_error {
        eprintln!("  lag: {errors} failed, first: {error}");
    }
    let lags = Latencies::new(lags);
    figures.record("lag_rate_cmd_per_s", rate);
    figures.record("lag_p50_ms", lags.ms(0.5));
    figures.record_with("lag_p99_ms", lags.ms(0.99), "target < 50");
    figures.record("lag_errors", errors as f64);
    Ok(())
}

async fn command_then_visible(clients: Clients) -> Result<Duration> {
    let account = clients.random_account();
    let path = format!("/v1/subscriptions/{}/add-seats", account.subscription_id);
    let position = clients.api.command(&path, &json!({"count": 1})).await?;
    let committed = Instant::now();
    let summary = format!(
        "/v1/accounts/{}/summary?min_position={position}",
        account.account_id
    );
    clients.api.get_ok(&summary).await?;
    Ok(committed.elapsed())
}
