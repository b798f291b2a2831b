//! Rebuilds: a read model replayed into shadow tables and swapped in ends with the rows it had,
//! keeps its index names, stays exact while events keep arriving, and queries read the old
//! tables until the swap.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use infrastructure::consumers::recorded_checkpoint;
use infrastructure::consumers::ProjectionError;
use infrastructure::portable;
use infrastructure::testing::Backend;
use infrastructure::Store;
use projections::feature_access::{AccessAccountRow, FeatureRow};
use projections::invoices::InvoiceRow;
use projections::rebuild::{shadow_name, Rebuild};
use projections::summary::SummaryRow;
use projections::{feature_access, invoices, summary};

use crate::fixtures::*;

/// Every row of the read models that have an `all_rows`, read the way their queries read them.
#[derive(Debug, PartialEq)]
struct AllRows {
    summaries: Vec<SummaryRow>,
    access: (Vec<AccessAccountRow>, Vec<FeatureRow>),
    invoices: Vec<InvoiceRow>,
}

async fn all_rows(store: &Store) -> AllRows {
    let pool = store.reader();
    AllRows {
        summaries: summary::all_rows(&pool).await.unwrap(),
        access: feature_access::all_rows(&pool).await.unwrap(),
        invoices: invoices::all_rows(&pool).await.unwrap(),
    }
}

#[derive(sqlx::FromRow)]
struct Named {
    name: String,
}

/// The names of every table and index in the database, which migrations may refer to.
async fn schema_names(store: &Store) -> Vec<String> {
    let sql = match store {
        Store::Postgres(_) => {
            "SELECT tablename::text AS name FROM pg_tables WHERE schemaname = current_schema()
             UNION ALL
             SELECT indexname::text FROM pg_indexes WHERE schemaname = current_schema()"
        }
        Store::Sqlite(_) => "SELECT name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'",
    };
    let rows: Vec<Named> = portable::query(sql)
        .fetch_all_as(store.reader())
        .await
        .unwrap();
    let mut names: Vec<String> = rows.into_iter().map(|row| row.name).collect();
    names.sort();
    names
}

async fn a_rebuild_gives_every_read_model_the_rows_it_had(backend: Backend) {
    let h = Harness::new(backend).await;
    let last = busy_accounts(&h, "acct", 6).await;
    let projections = caught_up(&h, last).await;
    let before = all_rows(&h.store).await;
    let names_before = schema_names(&h.store).await;
    assert_eq!(before.summaries.len(), 6);
    assert_eq!(before.invoices.len(), 6);

    for model in projections.read_models() {
        let rebuilt = Rebuild::claim(h.store.clone(), model.clone())
            .await
            .unwrap()
            .run(&|_| {})
            .await
            .unwrap();
        assert_eq!(
            rebuilt.position,
            last,
            "{} rebuilt to the head",
            model.name()
        );
    }

    assert_eq!(all_rows(&h.store).await, before);
    assert_eq!(
        schema_names(&h.store).await,
        names_before,
        "no shadow left over, every index under its migration's name"
    );
    // The live workers carry on from the swapped checkpoint.
    let next = h.start_trial("acct_late", "starter", 1).await.1;
    projections.wait_for(next, PATIENCE).await.unwrap();
    assert!(h.summary("acct_late").await.is_some());
    projections.stop().await;
}

async fn a_rebuild_while_events_keep_arriving_ends_equal_to_a_full_replay(backend: Backend) {
    let h = Arc::new(Harness::new(backend).await);
    let last = busy_accounts(&h, "acct", 4).await;
    let projections = caught_up(&h, last).await;

    let writing = Arc::new(AtomicBool::new(true));
    let writer = {
        let (h, writing) = (h.clone(), writing.clone());
        tokio::spawn(async move {
            let mut round = 0;
            while writing.load(Ordering::SeqCst) {
                busy_accounts(&h, &format!("live{round}"), 1).await;
                round += 1;
            }
            round
        })
    };
    for (n, model) in projections.read_models().iter().enumerate() {
        let rebuild = Rebuild::claim(h.store.clone(), model.clone())
            .await
            .unwrap()
            .prepare(&|_| {})
            .await
            .unwrap();
        // Whatever the writer managed meanwhile, the live worker is now surely past the
        // replay's head: the swap has events to catch up on.
        let ahead = busy_accounts(&h, &format!("ahead{n}"), 1).await;
        projections.wait_for(ahead, PATIENCE).await.unwrap();
        // The live worker stores its checkpoint (it may run ahead of it over events it ignores).
        let live = recorded_checkpoint(&h.store, model.name()).await.unwrap();
        let swapped = rebuild.swap().await.unwrap();
        assert!(
            swapped.position >= live.position,
            "{} never goes back in time",
            model.name()
        );
    }
    writing.store(false, Ordering::SeqCst);
    let rounds = writer.await.unwrap();
    let head = h.store.log_head().await.unwrap();
    projections.wait_for(head.position, PATIENCE).await.unwrap();
    let rebuilt = projections.read_models().len();
    projections.stop().await;

    let live = all_rows(&h.store).await;
    let accounts = 4 + rebuilt + rounds;
    assert_eq!(live.summaries.len(), accounts, "every account written");
    // The full replay reads this very log: a copy into a fresh Postgres database would give the
    // events new positions in reading order, and position-valued columns (an invoice's
    // `issued_position`) would differ whenever concurrent writers committed out of position order.
    let models = projections::read_model_projectors(h.catalog.clone());
    let report = projections::rebuild::verify(&h.store, &models)
        .await
        .unwrap();
    assert_eq!(report.mismatches, 0, "{report:#?}");
}

async fn queries_read_the_old_tables_until_the_swap(backend: Backend) {
    let h = Harness::new(backend).await;
    let last = busy_accounts(&h, "acct", 2).await;
    let projections = caught_up(&h, last).await;
    tamper(
        &h.store,
        "UPDATE account_summaries SET seat_count = 99 WHERE account_id = 'acct_0'",
    )
    .await;
    let model = projections.read_models()[0].clone();
    assert_eq!(model.name(), "account_summary");

    let rebuild = Rebuild::claim(h.store.clone(), model.clone())
        .await
        .unwrap()
        .prepare(&|_| {})
        .await
        .unwrap();
    let shadow = shadow_name("account_summaries");
    assert!(schema_names(&h.store).await.contains(&shadow));
    let during = h.summary("acct_0").await.unwrap();
    assert_eq!(during.seats.count, 99, "still the old table");
    assert!(matches!(
        Rebuild::claim(h.store.clone(), model).await,
        Err(ProjectionError::RebuildRunning(_))
    ));

    rebuild.swap().await.unwrap();
    let after = h.summary("acct_0").await.unwrap();
    assert_eq!(after.seats.count, 3, "the replayed row");
    assert!(!schema_names(&h.store).await.contains(&shadow));
    projections.stop().await;
}

infrastructure::on_both_backends!(
    a_rebuild_gives_every_read_model_the_rows_it_had,
    a_rebuild_while_events_keep_arriving_ends_equal_to_a_full_replay,
    queries_read_the_old_tables_until_the_swap,
);
