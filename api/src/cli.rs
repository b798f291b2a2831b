//! The command line: every option has a `LEDGERLINE_*` environment variable and shows in `--help`.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Ledgerline: event-sourced subscription billing.
#[derive(Debug, Parser)]
#[command(name = "ledgerline", version, about, long_about = None)]
pub struct Cli {
    /// Log line format.
    #[arg(long, global = true, env = "LEDGERLINE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP service.
    Serve(ServeArgs),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on. Port 0 picks a free port (the chosen address is logged).
    #[arg(long, env = "LEDGERLINE_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,

    /// The plan catalog file.
    #[arg(long, env = "LEDGERLINE_PLANS", default_value = "config/plans.toml")]
    pub plans: PathBuf,
}
