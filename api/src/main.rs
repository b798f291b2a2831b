//! The `ledgerline` binary: parses the command line, sets up telemetry and runs the command.
//! Wiring only; behaviour lives in the modules it calls.

use clap::Parser;

mod audit_cli;
mod auth;
mod cli;
mod clock_advance;
mod connections;
mod document;
mod extract;
mod head_limits;
mod invoicing;
mod keys_cli;
mod metrics;
mod openapi;
mod problem;
mod replay;
mod replay_cli;
mod retention;
mod routes;
mod server;
mod state;
mod strict_json;
mod telemetry;
mod webhooks_cli;

use cli::{AuditCommand, Cli, Command};

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    telemetry::init(cli.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            tracing::error!(%error, "cannot start the async runtime");
            return std::process::ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(async {
        match cli.command {
            Command::Serve(args) => server::run(*args).await.map_err(|e| e.to_string()),
            Command::Migrate(args) => server::migrate(&args.database_url)
                .await
                .map_err(|e| e.to_string()),
            Command::Keys(command) => keys_cli::run(command).await.map_err(|e| e.to_string()),
            Command::Webhooks(command) => {
                webhooks_cli::run(command).await.map_err(|e| e.to_string())
            }
            Command::Replay(args) => replay_cli::replay(args).await,
            Command::Audit(AuditCommand::Stream(args)) => {
                audit_cli::stream(args).await.map_err(|e| e.to_string())
            }
            // Verification has exit codes of its own (mismatches, operational error).
            Command::Audit(AuditCommand::Verify(args)) => {
                return Ok(replay_cli::audit_verify(args).await)
            }
        }
        .map(|()| std::process::ExitCode::SUCCESS)
    });
    match outcome {
        Ok(code) => code,
        Err(error) => {
            // Once, for the person or the supervisor reading stderr; not also as a log line.
            eprintln!("ledgerline: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
