//! Read-your-writes: `wait_for` returns once the read models have applied a position, and
//! answers `Stale` when a projection it waits for cannot get there in time.

use std::time::Duration;

use domain::subscription::SubscriptionCommand;
use infrastructure::testing::Backend;
use projections::{
    AccountSummaryProjector, FeatureAccessProjector, ProjectionError, ProjectionStatus,
};

use crate::fixtures::*;

async fn wait_for_returns_once_the_position_is_applied(backend: Backend) {
    let h = Harness::new(backend).await;
    let projections = h.start(options(500));
    let (id, position) = h.start_trial("acct_fresh", "pro", 1).await;
    projections.wait_for(position, PATIENCE).await.unwrap();
    for expected in 2..=6 {
        let position = h
            .subscription(id, SubscriptionCommand::AddSeats { count: seats(1) })
            .await;
        projections.wait_for(position, PATIENCE).await.unwrap();
        // Read right after the wait, with no retry: the write must already be visible.
        let summary = h.summary("acct_fresh").await.unwrap();
        assert_eq!(summary.seats.count, expected);
    }
    projections.wait_for(0, Duration::ZERO).await.unwrap();
    projections.stop().await;
}

async fn wait_for_is_stale_while_a_projection_is_stopped(backend: Backend) {
    let h = Harness::new(backend).await;
    let mut projections = h.start(options(500));
    projections
        .stop_projection(AccountSummaryProjector::NAME)
        .await
        .unwrap();
    let state = projections.state(AccountSummaryProjector::NAME).unwrap();
    assert_eq!(state.status, ProjectionStatus::Stopped);

    let (_, position) = h.start_trial("acct_stale", "pro", 1).await;
    let stale = projections
        .wait_for(position, Duration::from_millis(300))
        .await;
    assert!(
        matches!(stale, Err(ProjectionError::Stale { position: p, .. }) if p == position),
        "{stale:?}"
    );
    assert_eq!(h.summary("acct_stale").await, None);
    // A query that reads only the running projection is served.
    projections
        .wait_for_projections(&[FeatureAccessProjector::NAME], position, PATIENCE)
        .await
        .unwrap();
    let unknown = projections.wait_for(position + 1000, PATIENCE).await;
    assert!(
        matches!(unknown, Err(ProjectionError::UnknownPosition(_))),
        "{unknown:?}"
    );
    projections.stop().await;
}

infrastructure::on_both_backends!(
    wait_for_returns_once_the_position_is_applied,
    wait_for_is_stale_while_a_projection_is_stopped,
);
