//! Benchmark 1: command throughput over HTTP on Postgres at each concurrency, against the raw
//! append rate of the same database: single-event insert transactions into a table shaped like
//! `events`, one connection per client, as pgbench would run them.

use std::sync::Arc;

use sqlx::postgres::PgPoolOptions;

use crate::accounts::{mixed_command, Population};
use crate::figures::Figures;
use crate::load::{closed_loop, Outcome};
use crate::sizes::Sizes;
use crate::Result;

const RAW_TABLE: &str = "CREATE TABLE bench_raw_events (LIKE events INCLUDING ALL)";
const RAW_INSERT: &str = "INSERT INTO bench_raw_events
    (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
    VALUES ('subscription', $1, 1, $2, $3, $4::jsonb, $5::jsonb)";

/// A real event of the mix, inserted over and over by the raw-append baseline.
struct SampleEvent {
    event_type: String,
    event_version: String,
    payload: String,
    metadata: String,
}

/// Runs every concurrency level and returns the peak command rate.
pub async fn run(population: &Population, sizes: &Sizes, figures: &mut Figures) -> Result<f64> {
    println!("commands: throughput over HTTP against raw appends");
    let sample = Arc::new(sample_event(population).await?);
    let mut peak: f64 = 0.0;
    for &clients in &sizes.concurrency {
        let commands = command_load(population, sizes, clients).await;
        commands.report_errors("commands");
        let raw = raw_appends(population, sizes, clients, &sample).await?;
        raw.report_errors("raw appends");
        let (cmd_tps, raw_tps) = (commands.per_second(), raw.per_second());
        peak = peak.max(cmd_tps);
        figures.record(format!("cmd_tps_c{clients}"), cmd_tps);
        figures.record(format!("raw_append_tps_c{clients}"), raw_tps);
        let note = if clients == 16 { "target >= 0.6" } else { "" };
        figures.record_with(format!("cmd_vs_raw_c{clients}"), cmd_tps / raw_tps, note);
        figures.record(format!("cmd_p50_ms_c{clients}"), commands.latencies.ms(0.5));
        figures.record(
            format!("cmd_p99_ms_c{clients}"),
            commands.latencies.ms(0.99),
        );
        figures.record(
            format!("raw_append_p99_ms_c{clients}"),
            raw.latencies.ms(0.99),
        );
        figures.record(format!("cmd_errors_c{clients}"), commands.errors as f64);
    }
    Ok(peak)
}

/// The peak command rate, for a lag benchmark run without the throughput one.
pub async fn peak_rate(population: &Population, sizes: &Sizes) -> Result<f64> {
    let clients = sizes.concurrency.iter().copied().max().unwrap_or(1);
    let outcome = command_load(population, sizes, clients).await;
    outcome.report_errors("commands");
    Ok(outcome.per_second())
}

async fn command_load(population: &Population, sizes: &Sizes, clients: usize) -> Outcome {
    let simulated = population.clients();
    closed_loop(clients, sizes.duration, move |_, iteration| {
        let simulated = simulated.clone();
        async move {
            let account = simulated.random_account();
            mixed_command(&simulated.api, account, iteration).await?;
            Ok(())
        }
    })
    .await
}

async fn raw_appends(
    population: &Population,
    sizes: &Sizes,
    clients: usize,
    sample: &Arc<SampleEvent>,
) -> Result<Outcome> {
    let pool = PgPoolOptions::new()
        .max_connections(clients as u32)
        .min_connections(clients as u32)
        .test_before_acquire(false)
        .connect(&population.database.url)
        .await?;
    let shared = Arc::new((pool.clone(), Arc::clone(sample)));
    let outcome = closed_loop(clients, sizes.duration, move |_, _| {
        let shared = Arc::clone(&shared);
        async move {
            let (pool, sample) = &*shared;
            sqlx::query(RAW_INSERT)
                .bind(uuid::Uuid::new_v4().to_string())
                .bind(&sample.event_type)
                .bind(&sample.event_version)
                .bind(&sample.payload)
                .bind(&sample.metadata)
                .execute(pool)
                .await?;
            Ok(())
        }
    })
    .await;
    pool.close().await;
    Ok(outcome)
}

/// Creates the raw table and picks the last event the setup wrote as its sample.
async fn sample_event(population: &Population) -> Result<SampleEvent> {
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .connect(&population.database.url)
        .await?;
    sqlx::query(RAW_TABLE).execute(&pool).await?;
    let (event_type, event_version, payload, metadata) = sqlx::query_as(
        "SELECT event_type, event_version, payload::text, metadata::text FROM events
          WHERE aggregate_type = 'subscription' ORDER BY position DESC LIMIT 1",
    )
    .fetch_one(&pool)
    .await?;
    pool.close().await;
    Ok(SampleEvent {
        event_type,
        event_version,
        payload,
        metadata,
    })
}
