//! The per-process cache of the Feature Access View: an answer read without a position comes from
//! memory, yet follows every committed change of the account, announced by the projector's
//! batches and by a rebuild, in this process and (on Postgres) in another one on the database.

use std::sync::Arc;
use std::time::Instant;

use infrastructure::changes::ChangeFeed;
use infrastructure::testing::Backend;
use projections::rebuild::Rebuild;
use projections::Consistency::{Eventual, ReadYourWrites};
use projections::{FeatureAccessProjector, ReadModels};

use crate::fixtures::*;

/// Reads `key` without a position until it shows `used` units, or fails after [`PATIENCE`]: a
/// cache that missed a change would show the old count for ever.
async fn eventually_used(models: &ReadModels, acct: &str, key: &str, used: u64) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let view = models
            .feature(&account(acct), &feature(key), Eventual)
            .await
            .unwrap()
            .expect("entitlements enabled");
        if view.used == used {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{acct} {key}: still {} used, expected {used}",
            view.used
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

async fn until_listening(changes: &ChangeFeed) {
    let deadline = Instant::now() + PATIENCE;
    while !changes.listening() {
        assert!(Instant::now() < deadline, "the change feed never listened");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

async fn a_cached_answer_follows_committed_usage(backend: Backend) {
    let h = Harness::new(backend).await;
    until_listening(&h.changes).await;
    let projections = h.start(options(500));
    let models = h.read_models();
    let acct = "acct_cached";
    h.start_trial(acct, "starter", 1).await;
    let enabled = h.enable(acct, "starter", trial_period(14)).await;
    projections.wait_for(enabled, PATIENCE).await.unwrap();
    // Read twice: the first fills the cache, the second is served from it.
    eventually_used(&models, acct, "projects", 0).await;
    eventually_used(&models, acct, "projects", 0).await;

    let recorded = h.record_usage(acct, "projects", 3).await;
    projections.wait_for(recorded, PATIENCE).await.unwrap();
    let fresh = models
        .feature(&account(acct), &feature("projects"), ReadYourWrites)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(fresh.used, 3, "a read-your-writes read sees the table");
    eventually_used(&models, acct, "projects", 3).await;
    let listed = models
        .features(&account(acct), Eventual)
        .await
        .unwrap()
        .unwrap();
    assert!(listed
        .iter()
        .any(|view| view.feature == "projects" && view.used == 3));

    if backend == Backend::Postgres {
        // Another process on the same database hears the projector's notices too.
        let other_store = Arc::new(h.db.store().await);
        let other_changes = ChangeFeed::start(&other_store);
        until_listening(&other_changes).await;
        let other = ReadModels::new(&other_store, &other_changes, shipped_catalog());
        eventually_used(&other, acct, "projects", 3).await;
        let recorded = h.record_usage(acct, "projects", 2).await;
        projections.wait_for(recorded, PATIENCE).await.unwrap();
        eventually_used(&other, acct, "projects", 5).await;
    }
    projections.stop().await;
}

async fn a_rebuild_empties_the_cache(backend: Backend) {
    let h = Harness::new(backend).await;
    until_listening(&h.changes).await;
    let projections = h.start(options(500));
    let models = h.read_models();
    let acct = "acct_rebuilt";
    h.start_trial(acct, "starter", 1).await;
    h.enable(acct, "starter", trial_period(14)).await;
    let recorded = h.record_usage(acct, "projects", 4).await;
    projections.wait_for(recorded, PATIENCE).await.unwrap();

    // A row changed behind the projector's back announces nothing: the cache takes it in.
    tamper(
        &h.store,
        &format!("UPDATE feature_access SET used = 999 WHERE account_id = '{acct}' AND feature = 'projects'"),
    )
    .await;
    eventually_used(&models, acct, "projects", 999).await;

    let model = read_model(&projections, FeatureAccessProjector::NAME);
    Rebuild::claim(h.store.clone(), model)
        .await
        .unwrap()
        .run(&|_| {})
        .await
        .unwrap();
    eventually_used(&models, acct, "projects", 4).await;
    projections.stop().await;
}

infrastructure::on_both_backends!(
    a_cached_answer_follows_committed_usage,
    a_rebuild_empties_the_cache,
);
