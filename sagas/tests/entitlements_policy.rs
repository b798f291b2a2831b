//! The entitlements policy on a real store, both backends: a reaction re-run after a crash (the
//! same events reacted to twice, as when the checkpoint did not commit) appends nothing new.

use std::sync::Arc;

use application::event_log::{EventLog, LogCursor};
use application::{CommandBus, CommandContext};
use domain::dunning::DunningPolicy;
use domain::entitlements::Entitlements;
use domain::subscription::{Subscription, SubscriptionCommand};
use domain::{AccountId, BillingServices, ManualClock, PlanId, SeatCount};
use infrastructure::load_catalog;
use infrastructure::testing::{Backend, TestDatabase};
use projections::Projector;
use sagas::EntitlementsPolicyWorker;

async fn a_reaction_rerun_after_a_crash_appends_nothing(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let store = Arc::new(db.store().await);
    let catalog = load_catalog(std::path::Path::new("../config/plans.toml")).expect("catalog");
    let start = chrono::DateTime::parse_from_rfc3339("2026-03-01T00:00:00Z")
        .unwrap()
        .to_utc();
    let clock = Arc::new(ManualClock::starting_at(start));
    let services = BillingServices::new(clock.clone(), Arc::new(catalog), DunningPolicy::default());
    let bus = Arc::new(CommandBus::new(store.clone(), clock));
    let context = CommandContext {
        actor: "test".into(),
        correlation_id: "c".into(),
        causation_id: "c".into(),
        idempotency_key: None,
        key: None,
    };
    let subscription = uuid::Uuid::new_v4();
    let trial = SubscriptionCommand::StartTrial {
        subscription_id: subscription,
        account_id: AccountId::parse("acct_policy").unwrap(),
        plan_id: PlanId::parse("pro").unwrap(),
        seats: SeatCount::ONE,
        billing_account: None,
        overage_billing: false,
    };
    bus.execute::<Subscription>(&subscription.to_string(), trial, &services, &context)
        .await
        .expect("the trial starts");

    // On Postgres an event is readable once no older transaction on the server is open (any
    // test database's): read until the trial shows.
    let events: Vec<_> = loop {
        let events: Vec<_> = store
            .read_after(LogCursor::default(), 100)
            .await
            .unwrap()
            .into_iter()
            .map(|(_, event)| event)
            .collect();
        if !events.is_empty() {
            break events;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    };
    let worker = EntitlementsPolicyWorker::new(bus.clone(), services);
    worker.react(&events).await.expect("the first run reacts");
    worker.react(&events).await.expect("the re-run is harmless");

    let entitlements = bus.load::<Entitlements>("acct_policy").await.unwrap();
    assert_eq!(entitlements.version, 1, "enabled exactly once");
    assert_eq!(
        entitlements.aggregate.status(),
        domain::entitlements::EntitlementStatus::Enabled
    );
    let stream = store
        .read_stream("entitlements", "acct_policy", 0, 10)
        .await
        .unwrap();
    assert_eq!(stream.len(), 1);
    assert_eq!(stream[0].metadata.actor, "system:entitlements_policy");
    assert_eq!(
        stream[0].metadata.causation_id,
        events[0].metadata.event_id.to_string(),
        "the command names its causing event"
    );
}

infrastructure::on_both_backends!(a_reaction_rerun_after_a_crash_appends_nothing);
