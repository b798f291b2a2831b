//! Verification replays the log into fresh read models and names every live row that differs:
//! none on a clean store, and exactly the table, key and column of a row tampered with.

use infrastructure::consumers::ProjectionStatus;
use infrastructure::portable::{self, Tx};
use infrastructure::testing::Backend;
use projections::rebuild::{verify, Mismatch, MismatchKind, ProjectionReport, Rebuild};
use projections::{invoices, read_model_projectors, AccountInvoicesProjector, VerifyStatus};
use serde_json::json;

use crate::fixtures::*;

fn report_of<'a>(report: &'a projections::VerifyReport, name: &str) -> &'a ProjectionReport {
    report
        .projections
        .iter()
        .find(|projection| projection.name == name)
        .unwrap_or_else(|| panic!("{name} is verified"))
}

async fn a_clean_store_has_no_mismatch(backend: infrastructure::testing::Backend) {
    let h = Harness::new(backend).await;
    let last = busy_accounts(&h, "acct", 4).await;
    let projections = h.start(options(5));
    projections.wait_for(last, PATIENCE).await.unwrap();

    let models = read_model_projectors(h.catalog.clone());
    let report = verify(&h.store, &models).await.unwrap();

    assert_eq!(report.mismatches, 0, "{report:#?}");
    assert_eq!((report.status, report.failed), (VerifyStatus::Verified, 0));
    let names: Vec<&str> = report.projections.iter().map(|p| p.name).collect();
    let expected: Vec<&str> = models.iter().map(|model| model.name()).collect();
    assert_eq!(names, expected);
    // Two summary tables: 4 accounts, 4 invoices.
    assert_eq!(report_of(&report, "account_summary").rows, 8);
    assert_eq!(report_of(&report, "account_invoices").position, last);
    projections.stop().await;
}

async fn a_tampered_row_is_named_by_table_key_and_column(
    backend: infrastructure::testing::Backend,
) {
    let h = Harness::new(backend).await;
    let last = busy_accounts(&h, "acct", 3).await;
    let projections = h.start(options(5));
    projections.wait_for(last, PATIENCE).await.unwrap();
    projections.stop().await;
    let invoice = invoices::all_rows(&h.store.reader()).await.unwrap()[0].clone();

    tamper(
        &h.store,
        "UPDATE account_summaries SET seat_count = 42 WHERE account_id = 'acct_1'",
    )
    .await;
    tamper(
        &h.store,
        &format!(
            "DELETE FROM account_invoices WHERE invoice_id = '{}'",
            invoice.invoice_id
        ),
    )
    .await;
    tamper(
        &h.store,
        "INSERT INTO feature_access (account_id, feature, in_plan, limit_units, used)
         VALUES ('acct_bogus', 'projects', true, 5, 1)",
    )
    .await;

    let models = read_model_projectors(h.catalog.clone());
    let report = verify(&h.store, &models).await.unwrap();

    assert_eq!(report.mismatches, 3, "{report:#?}");
    assert_eq!(report.status, VerifyStatus::Mismatched);
    let summary = report_of(&report, "account_summary");
    assert_eq!(summary.status, VerifyStatus::Mismatched);
    assert_eq!(
        summary.examples,
        vec![Mismatch {
            table: "account_summaries".into(),
            key: "acct_1".into(),
            column: Some("seat_count".into()),
            live: json!(42),
            replayed: json!(3),
            kind: MismatchKind::Different,
        }]
    );
    let invoices = report_of(&report, "account_invoices");
    assert_eq!(invoices.mismatches, 1);
    let missing = &invoices.examples[0];
    assert_eq!(
        (missing.table.as_str(), missing.key.as_str(), missing.kind),
        (
            "account_invoices",
            invoice.invoice_id.as_str(),
            MismatchKind::Missing
        )
    );
    assert_eq!(missing.live, json!(null));
    assert_eq!(missing.replayed["total"], json!(invoice.total));
    let access = report_of(&report, "feature_access");
    let unexpected = &access.examples[0];
    assert_eq!(
        (
            unexpected.table.as_str(),
            unexpected.key.as_str(),
            unexpected.kind
        ),
        (
            "feature_access",
            "acct_bogus/projects",
            MismatchKind::Unexpected
        )
    );
    assert_eq!(unexpected.live["in_plan"], json!(true));
    assert_eq!(report_of(&report, "notifications").mismatches, 0);
}

/// The probe's finding: a projection stopped at an event it cannot apply compared clean up to
/// where it stopped, and verification answered 0 mismatches. It must say "failed" instead.
async fn a_stopped_projection_is_reported_failed_never_clean(backend: Backend) {
    let h = Harness::new(backend).await;
    busy_accounts(&h, "acct", 2).await;
    let poison = h.append_poison().await;
    let projections = h.start(options(5));
    let mut summary_state = projections.watch("account_summary").unwrap();
    tokio::time::timeout(
        PATIENCE,
        summary_state.wait_for(|s| matches!(s.status, ProjectionStatus::Failed { .. })),
    )
    .await
    .expect("the summary stops at the poison")
    .unwrap();

    let models = read_model_projectors(h.catalog.clone());
    let report = verify(&h.store, &models).await.unwrap();

    assert_eq!(report.status, VerifyStatus::Failed, "{report:#?}");
    assert_eq!(report.mismatches, 0, "what it did apply is right");
    let summary = report_of(&report, "account_summary");
    assert_eq!(summary.status, VerifyStatus::Failed);
    assert_eq!(summary.failed_position, Some(poison));
    let error = summary.error.as_deref().unwrap_or_default();
    assert!(error.contains("does not decode"), "{error}");
    // The invoices list does not read subscription events: it passed the poison.
    assert_eq!(
        report_of(&report, "account_invoices").status,
        VerifyStatus::Verified
    );
    assert!(report.failed >= 1);
    let wire = serde_json::to_value(&report).unwrap();
    assert_eq!(wire["status"], "failed");
    projections.stop().await;
}

/// A projection stopped (here by a shutdown) before an event it will not be able to apply is not
/// verified either: a replay past its checkpoint finds the event. One that can go on is verified.
async fn a_stopped_projection_that_would_fail_is_reported_failed(backend: Backend) {
    let h = Harness::new(backend).await;
    let last = busy_accounts(&h, "acct", 2).await;
    caught_up(&h, last).await.stop().await;
    let models = read_model_projectors(h.catalog.clone());
    let (_, issued) = h.issue("acct_0", None, "usd", &[500]).await;
    readable_through(&h.store, issued).await;
    let behind = verify(&h.store, &models).await.unwrap();
    assert_eq!(behind.status, VerifyStatus::Verified, "{behind:#?}");

    let poison = h.append_poison().await;
    readable_through(&h.store, poison).await;
    let report = verify(&h.store, &models).await.unwrap();

    assert_eq!(report.status, VerifyStatus::Failed, "{report:#?}");
    let summary = report_of(&report, "account_summary");
    assert_eq!(
        (summary.status, summary.failed_position, summary.position),
        (VerifyStatus::Failed, Some(poison), last)
    );
    let error = summary.error.as_deref().unwrap_or_default();
    assert!(error.contains("does not decode"), "{error}");
    assert_eq!(
        report_of(&report, "account_invoices").status,
        VerifyStatus::Verified
    );
}

infrastructure::on_both_backends!(
    a_clean_store_has_no_mismatch,
    a_tampered_row_is_named_by_table_key_and_column,
    a_stopped_projection_is_reported_failed_never_clean,
    a_stopped_projection_that_would_fail_is_reported_failed,
);

#[derive(sqlx::FromRow)]
struct Waiting {
    waiting: i64,
}

/// Backends of this database waiting for a lock (Postgres).
async fn waiting_for_locks(store: &infrastructure::Store) -> i64 {
    let sql = "SELECT count(*) AS waiting FROM pg_stat_activity
                WHERE datname = current_database() AND wait_event_type = 'Lock'";
    let rows: Vec<Waiting> = portable::query(sql)
        .fetch_all_as(store.reader())
        .await
        .unwrap();
    rows[0].waiting
}

/// L2 of the probe: a swap that commits after verification took its snapshot, but before it read
/// the table, showed the new table with none of its rows (48 false mismatches). The swap here is
/// made by hand, to hold it open until verification is waiting.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_verification_waits_for_a_swap_in_progress_and_sees_its_rows() {
    let h = Harness::new(Backend::Postgres).await;
    let last = busy_accounts(&h, "acct", 4).await;
    caught_up(&h, last).await.stop().await;

    let mut swap = Tx::begin(&h.store).await.unwrap();
    portable::query("LOCK TABLE account_invoices IN ACCESS EXCLUSIVE MODE")
        .execute(&mut swap)
        .await
        .unwrap();
    let models: Vec<_> = read_model_projectors(h.catalog.clone())
        .into_iter()
        .filter(|model| model.name() == AccountInvoicesProjector::NAME)
        .collect();
    let store = h.store.clone();
    let verifying = tokio::spawn(async move { verify(&store, &models).await.unwrap() });
    tokio::time::timeout(PATIENCE, async {
        while waiting_for_locks(&h.store).await == 0 {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("verification waits for the swap");
    for step in [
        "ALTER TABLE account_invoices RENAME TO account_invoices__old",
        "CREATE TABLE account_invoices (LIKE account_invoices__old INCLUDING ALL)",
        "INSERT INTO account_invoices SELECT * FROM account_invoices__old",
        "DROP TABLE account_invoices__old",
    ] {
        portable::query(step).execute(&mut swap).await.unwrap();
    }
    swap.commit().await.unwrap();

    let report = verifying.await.unwrap();
    assert_eq!(report.mismatches, 0, "{report:#?}");
    assert_eq!(report_of(&report, "account_invoices").rows, 4);
}

/// The probe's loop: verification while rebuilds run finds no mismatch.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_verification_during_rebuilds_finds_no_mismatch() {
    let h = Harness::new(Backend::Postgres).await;
    let last = busy_accounts(&h, "acct", 12).await;
    let projections = caught_up(&h, last).await;
    let model = read_model(&projections, AccountInvoicesProjector::NAME);
    let store = h.store.clone();
    let rebuilding = {
        let model = model.clone();
        tokio::spawn(async move {
            for _ in 0..15 {
                Rebuild::claim(store.clone(), model.clone())
                    .await
                    .unwrap()
                    .run(&|_| {})
                    .await
                    .unwrap();
            }
        })
    };
    let mut verified = 0;
    while !rebuilding.is_finished() {
        let report = verify(&h.store, std::slice::from_ref(&model))
            .await
            .unwrap();
        assert_eq!(
            report.mismatches, 0,
            "after {verified} clean ones: {report:#?}"
        );
        verified += 1;
    }
    rebuilding.await.unwrap();
    assert!(verified > 0);
    projections.stop().await;
}

#[test]
fn the_read_model_names_are_those_of_the_projectors() {
    let names: Vec<&str> = read_model_projectors(shipped_catalog())
        .iter()
        .map(|model| model.name())
        .collect();
    assert_eq!(names, projections::READ_MODEL_NAMES);
}
