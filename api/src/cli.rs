//! The command line: every option has an environment variable and shows in `--help`.

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
    /// Run the HTTP service (migrates the database first).
    Serve(ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate(DatabaseArgs),
    /// Create, list and revoke API keys.
    #[command(subcommand)]
    Keys(KeysCommand),
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a key and print its secret (shown once, stored only as a digest).
    Create {
        #[command(flatten)]
        database: DatabaseArgs,
        /// admin, service, support or account.
        #[arg(long)]
        role: String,
        /// The account an `account` key is bound to.
        #[arg(long)]
        account: Option<String>,
    },
    /// List keys (never their secrets).
    List {
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Revoke a key by its id: it is refused at once by every server.
    Revoke {
        #[command(flatten)]
        database: DatabaseArgs,
        key_id: String,
    },
}

#[derive(Debug, Args)]
pub struct DatabaseArgs {
    /// Where events are stored: `sqlite://FILE` (embedded, the default) or `postgres://…`.
    #[arg(long, env = "DATABASE_URL", default_value = infrastructure::DEFAULT_DATABASE_URL)]
    pub database_url: String,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,

    /// Address to listen on. Port 0 picks a free port (the chosen address is logged).
    #[arg(long, env = "LEDGERLINE_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,

    /// The plan catalog file.
    #[arg(long, env = "LEDGERLINE_PLANS", default_value = "config/plans.toml")]
    pub plans: PathBuf,

    /// An admin API key installed at start (keep it secret; it is never logged).
    #[arg(long, env = "LEDGERLINE_ADMIN_KEY", hide_env_values = true)]
    pub admin_key: Option<String>,

    /// Serve the test clock (/v1/test-clock): time starts now and moves only when told to.
    /// Never in production.
    #[arg(long, env = "LEDGERLINE_TEST_CLOCK")]
    pub test_clock: bool,
}
