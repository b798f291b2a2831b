//! Verification replays the log into fresh read models and names every live row that differs:
//! none on a clean store, and exactly the table, key and column of a row tampered with.

use projections::rebuild::{verify, Mismatch, MismatchKind, ProjectionReport};
use projections::sql::ReadPool;
use projections::{invoices, read_model_projectors};
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
    let invoice = invoices::all_rows(&ReadPool::of(&h.store)).await.unwrap()[0].clone();

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
    let summary = report_of(&report, "account_summary");
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

infrastructure::on_both_backends!(
    a_clean_store_has_no_mismatch,
    a_tampered_row_is_named_by_table_key_and_column,
);

#[test]
fn the_read_model_names_are_those_of_the_projectors() {
    let names: Vec<&str> = read_model_projectors(shipped_catalog())
        .iter()
        .map(|model| model.name())
        .collect();
    assert_eq!(names, projections::READ_MODEL_NAMES);
}
