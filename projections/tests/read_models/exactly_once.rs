//! A batch takes effect with its checkpoint or not at all, and an event that cannot be applied
//! stops its projection right there: visibly, durably, and without skipping anything.

use std::time::Duration;

use application::event_log::{EventLog, LogCursor};
use domain::subscription::SubscriptionCommand;
use infrastructure::consumers::{recorded_checkpoint, recorded_status};
use infrastructure::testing::Backend;
use projections::{
    AccountSummaryProjector, FeatureAccessProjector, ProjectionError, ProjectionState,
    ProjectionStatus, Projections,
};

use crate::fixtures::*;
use crate::instrumented::Instrumented;
use projections::Consistency::ReadYourWrites;

/// Waits until `name` has failed; returns its state.
async fn failed(projections: &Projections, name: &str) -> ProjectionState {
    let mut states = projections.watch(name).unwrap();
    let state = tokio::time::timeout(
        PATIENCE,
        states.wait_for(|s| matches!(s.status, ProjectionStatus::Failed { .. })),
    )
    .await
    .expect("the projection fails")
    .unwrap()
    .clone();
    state
}

async fn a_batch_that_fails_midway_commits_neither_rows_nor_checkpoint(backend: Backend) {
    let h = Harness::new(backend).await;
    let (first, _) = h.start_trial("acct_a", "starter", 1).await;
    h.subscription(first, SubscriptionCommand::AddSeats { count: seats(1) })
        .await;
    let (_, bad) = h.start_trial("acct_b", "starter", 1).await;
    let (_, last) = h.start_trial("acct_c", "starter", 1).await;
    // One batch of all four, whatever the server's other transactions.
    readable_log(&h.store, 4).await;
    let name = AccountSummaryProjector::NAME;
    let failing =
        || Instrumented::new(AccountSummaryProjector::new(h.catalog.clone())).failing_at(bad);

    for attempt in 1..=2 {
        let mut projections = Projections::new(h.store.clone(), options(500));
        projections.spawn(failing());
        let state = failed(&projections, name).await;
        let ProjectionStatus::Failed { error, position } = &state.status else {
            unreachable!()
        };
        assert_eq!(*position, bad, "attempt {attempt}");
        assert!(error.contains("injected failure"), "{error}");
        // acct_a's rows were written in the failed transaction, before the bad event.
        for acct in ["acct_a", "acct_b", "acct_c"] {
            let summary = h.summary(acct).await;
            assert_eq!(summary, None, "{acct}, attempt {attempt}");
        }
        assert_eq!(state.checkpoint, LogCursor::default());
        let checkpoint = recorded_checkpoint(&h.store, name).await.unwrap();
        assert_eq!(checkpoint, LogCursor::default());
        let recorded = recorded_status(&h.store, name).await.unwrap().unwrap();
        assert_eq!(recorded.status, "failed");
        assert_eq!(recorded.failed_position, Some(bad));
        assert!(recorded.error.unwrap().contains("injected failure"));
        projections.stop().await;
    }

    // Once the defect is fixed, the same events apply from where the projection stopped.
    let projections = h.start(options(500));
    projections.wait_for(last, PATIENCE).await.unwrap();
    let summary = h.summary("acct_a").await.unwrap();
    assert_eq!(summary.seats.count, 2);
    assert!(h.summary("acct_c").await.is_some());
    let recorded = recorded_status(&h.store, name).await.unwrap().unwrap();
    assert_eq!(
        (recorded.status.as_str(), recorded.error),
        ("running", None)
    );
    projections.stop().await;
}

async fn a_poisoned_event_stops_its_projection_there_and_nothing_after_it_applies(
    backend: Backend,
) {
    let h = Harness::new(backend).await;
    let (first, _) = h.start_trial("acct_a", "starter", 1).await;
    let before = h
        .subscription(first, SubscriptionCommand::AddSeats { count: seats(1) })
        .await;
    let poison = h.append_poison().await;
    h.start_trial("acct_b", "starter", 1).await;
    let last = h.enable("acct_b", "starter", trial_period(14)).await;
    readable_log(&h.store, 5).await;

    // Batches of two: [trial a, seats a] commits, [poison, trial b] fails.
    let projections = h.start(options(2));
    let state = failed(&projections, AccountSummaryProjector::NAME).await;
    let ProjectionStatus::Failed { error, position } = &state.status else {
        unreachable!()
    };
    assert_eq!(*position, poison);
    assert!(error.contains("does not decode"), "{error}");
    let committed = h.store.cursor_of(before).await.unwrap().unwrap();
    assert_eq!(state.checkpoint, committed);
    let summary = h.summary("acct_a").await.unwrap();
    assert_eq!(summary.seats.count, 2);
    assert_eq!(h.summary("acct_b").await, None);
    let recorded = recorded_status(&h.store, AccountSummaryProjector::NAME)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(recorded.failed_position, Some(poison));

    // The feature view does not read subscription events and carries on past the poison.
    let only_features = [FeatureAccessProjector::NAME];
    projections
        .wait_for_projections(&only_features, last, PATIENCE)
        .await
        .unwrap();
    let access = h
        .read_models()
        .features(&account("acct_b"), ReadYourWrites)
        .await
        .unwrap();
    assert!(access.is_some());
    // Reading both models at that position cannot be served.
    let stale = projections.wait_for(last, Duration::from_millis(200)).await;
    assert!(
        matches!(stale, Err(ProjectionError::Stale { .. })),
        "{stale:?}"
    );
    projections.stop().await;
}

infrastructure::on_both_backends!(
    a_batch_that_fails_midway_commits_neither_rows_nor_checkpoint,
    a_poisoned_event_stops_its_projection_there_and_nothing_after_it_applies,
);
