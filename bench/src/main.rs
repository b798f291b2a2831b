//! `ledgerline-bench`: runs Ledgerline's benchmarks (issue #7) against the real `ledgerline`
//! binary, measures every figure next to the baseline it is compared with in the same run, prints
//! one table and writes the figures as flat JSON keys. It measures; it never asserts a timing.

mod accounts;
mod bulk_load;
mod client;
mod commands;
mod database;
mod feature_check;
mod figures;
mod lag;
mod load;
mod rebuild;
mod server;
mod sizes;
mod stream_length;

use std::path::PathBuf;
use std::time::Instant;

use clap::{Parser, ValueEnum};

use crate::database::Postgres;
use crate::figures::Figures;
use crate::server::Binary;
use crate::sizes::Sizes;

/// A bench binary reports what went wrong and stops; callers never match on the cause.
pub type Error = Box<dyn std::error::Error + Send + Sync>;
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Benchmarks of the `ledgerline` binary, each against a baseline measured in the same run.
#[derive(Debug, Parser)]
#[command(name = "ledgerline-bench", version, about, long_about = None)]
struct Cli {
    /// Tiny sizes: checks that every benchmark runs and writes its figures, in seconds.
    #[arg(long)]
    smoke: bool,

    /// Run only these benchmarks (repeat the flag for several).
    #[arg(long, value_enum)]
    only: Vec<Benchmark>,

    /// Events loaded before the rebuild, instead of the run's size (1,000,000 in a full run): a
    /// smaller log shows the same ratio sooner.
    #[arg(long)]
    rebuild_events: Option<usize>,

    /// The Postgres server's admin database: every benchmark creates (and drops) its own.
    #[arg(
        long,
        env = "LEDGERLINE_BENCH_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    database_url: String,

    /// Where the figures are written, as one flat JSON object.
    #[arg(long, default_value = "bench-results.json")]
    output: PathBuf,

    /// The `ledgerline` binary to benchmark (a release build for real figures).
    #[arg(long, env = "LEDGERLINE_BENCH_BINARY")]
    binary: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Benchmark {
    /// Command throughput and latency over HTTP against raw single-insert commits.
    Commands,
    /// Command latency by aggregate stream length.
    StreamLength,
    /// Rebuild of every read model against a raw read of the events table (and peak RSS).
    Rebuild,
    /// Commit-to-visible lag of the summary at half the peak command rate.
    Lag,
    /// `GET /v1/accounts/{id}/features/{feature}` over keep-alive.
    FeatureCheck,
    /// Resident memory of an idle server.
    Memory,
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    if let Err(error) = run(cli).await {
        eprintln!("ledgerline-bench: {error}");
        std::process::exit(1);
    }
}

async fn run(cli: Cli) -> Result<()> {
    let mut sizes = if cli.smoke {
        Sizes::smoke()
    } else {
        Sizes::full()
    };
    if let Some(events) = cli.rebuild_events {
        sizes.rebuild_events = events;
    }
    let selected = |benchmark| cli.only.is_empty() || cli.only.contains(&benchmark);
    let binary = Binary::new(cli.binary);
    let postgres = Postgres::new(cli.database_url);
    let mut figures = Figures::default();
    let started = Instant::now();

    if selected(Benchmark::Memory) {
        server::idle_memory(&binary, &postgres, &mut figures).await?;
    }
    // Commands, lag and feature checks share one database of `sizes.accounts` accounts: setting
    // it up is the slowest part, and each of them needs exactly that population.
    if selected(Benchmark::Commands)
        || selected(Benchmark::Lag)
        || selected(Benchmark::FeatureCheck)
    {
        let population = accounts::Population::create(&binary, &postgres, &sizes).await?;
        let mut peak_tps = None;
        if selected(Benchmark::Commands) {
            peak_tps = Some(commands::run(&population, &sizes, &mut figures).await?);
        }
        if selected(Benchmark::Lag) {
            let peak = match peak_tps {
                Some(peak) => peak,
                None => commands::peak_rate(&population, &sizes).await?,
            };
            lag::run(&population, &sizes, peak / 2.0, &mut figures).await?;
        }
        if selected(Benchmark::FeatureCheck) {
            feature_check::run(&population, &sizes, &mut figures).await?;
        }
        population.finish().await;
    }
    if selected(Benchmark::StreamLength) {
        stream_length::run(&binary, &postgres, &sizes, &mut figures).await?;
    }
    if selected(Benchmark::Rebuild) {
        for backend in [database::Backend::Postgres, database::Backend::Sqlite] {
            rebuild::run(&binary, &postgres, backend, &sizes, &mut figures).await?;
        }
    }

    println!(
        "{}",
        figures.table(if cli.smoke { "smoke" } else { "full" }, started.elapsed())
    );
    figures.write(&cli.output)?;
    println!("figures written to {}", cli.output.display());
    Ok(())
}
