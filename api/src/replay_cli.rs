//! `ledgerline replay` and `ledgerline audit verify`: the read-model rebuild and verification of
//! the admin endpoints, offline against `DATABASE_URL`, for operators and scripts.

use std::process::ExitCode;
use std::sync::Arc;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use infrastructure::{load_catalog, Store};
use projections::rebuild::{verify, Rebuild};
use projections::{ReadModelProjector, ReplayProgress, VerifyReport, VerifyStatus};

use crate::cli::{ReadModelArgs, ReplayArgs};

/// Exit code of `audit verify` when a read model differs from its replay.
const MISMATCHES: u8 = 1;
/// Exit code of `audit verify` when it could not verify (database, catalog, a projection stopped
/// at an event it cannot apply).
const UNVERIFIED: u8 = 2;

async fn open(args: &ReadModelArgs) -> Result<(Arc<Store>, Vec<ReadModelProjector>), String> {
    let catalog = Arc::new(load_catalog(&args.plans).map_err(|e| e.to_string())?);
    let store = Store::open(&args.database.database_url)
        .await
        .map_err(|e| e.to_string())?;
    Ok((Arc::new(store), projections::read_model_projectors(catalog)))
}

/// Rebuilds the chosen read models together: one replay of the log feeds all of them, then each
/// is swapped in on its own.
pub async fn replay(args: ReplayArgs) -> Result<(), String> {
    let (store, mut models) = open(&args.read_models).await?;
    if let Some(name) = &args.projection {
        let known: Vec<&str> = models.iter().map(ReadModelProjector::name).collect();
        models.retain(|model| model.name() == name);
        if models.is_empty() {
            return Err(format!(
                "no read model is named `{name}` (read models: {})",
                known.join(", ")
            ));
        }
    }
    let mut rebuilds = Vec::with_capacity(models.len());
    for model in models {
        rebuilds.push(
            Rebuild::claim(store.clone(), model)
                .await
                .map_err(|e| e.to_string())?,
        );
    }
    let bar = progress_bar(if rebuilds.len() == 1 {
        "read model"
    } else {
        "read models"
    });
    let report = |progress: ReplayProgress| {
        bar.set_length(progress.target.max(0) as u64);
        bar.set_position(progress.reached.max(0) as u64);
    };
    let prepared = Rebuild::prepare_all(rebuilds, &report)
        .await
        .map_err(|e| format!("rebuilding: {e}"))?;
    bar.finish_and_clear();
    for rebuild in prepared {
        let name = rebuild.name();
        let rebuilt = rebuild
            .swap()
            .await
            .map_err(|e| format!("rebuilding {name}: {e}"))?;
        println!("{name}: rebuilt up to position {}", rebuilt.position);
    }
    Ok(())
}

/// Events per second and an ETA on stderr; indicatif draws nothing when stderr is not a
/// terminal, so scripts and logs get the summary lines only.
fn progress_bar(name: &'static str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template(
        "{prefix:>18} [{bar:30}] {pos}/{len} events, {per_sec}, ETA {eta}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style.progress_chars("=> "));
    bar.set_prefix(name);
    bar
}

/// Runs an `audit` subcommand; the exit code says how it went.
pub async fn audit_verify(args: ReadModelArgs) -> ExitCode {
    match verify_read_models(&args).await {
        Ok(report) => {
            print_report(&report);
            match report.status {
                VerifyStatus::Verified => ExitCode::SUCCESS,
                VerifyStatus::Mismatched => ExitCode::from(MISMATCHES),
                VerifyStatus::Failed => ExitCode::from(UNVERIFIED),
            }
        }
        Err(error) => {
            tracing::error!("{error}");
            eprintln!("ledgerline: {error}");
            ExitCode::from(UNVERIFIED)
        }
    }
}

async fn verify_read_models(args: &ReadModelArgs) -> Result<VerifyReport, String> {
    let (store, models) = open(args).await?;
    verify(&store, &models).await.map_err(|e| e.to_string())
}

fn print_report(report: &VerifyReport) {
    for projection in &report.projections {
        let verdict = match projection.status {
            VerifyStatus::Verified => "ok".to_owned(),
            VerifyStatus::Mismatched => format!("{} MISMATCHES", projection.mismatches),
            VerifyStatus::Failed => format!(
                "FAILED at position {}, not verified: {}",
                projection
                    .failed_position
                    .map_or_else(|| "?".to_owned(), |position| position.to_string()),
                projection.error.as_deref().unwrap_or("stopped")
            ),
        };
        println!(
            "{}: {} rows at position {}: {verdict}",
            projection.name, projection.rows, projection.position
        );
        for example in &projection.examples {
            let column = example
                .column
                .as_deref()
                .map_or(String::new(), |column| format!(".{column}"));
            println!(
                "  {:?} {} [{}]{column}: live {} / replayed {}",
                example.kind, example.table, example.key, example.live, example.replayed
            );
        }
    }
    if report.failed > 0 {
        println!(
            "{} mismatches; {} FAILED, not verified",
            report.mismatches, report.failed
        );
    } else {
        println!("{} mismatches", report.mismatches);
    }
}
