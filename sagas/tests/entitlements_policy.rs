//! The entitlements policy on a real store, both backends: a reaction re-run after a crash (the
//! same events reacted to twice, as when the checkpoint did not commit) appends nothing new.

use application::event_log::EventLog;
use application::Policy;
use domain::entitlements::Entitlements;
use domain::subscription::{Subscription, SubscriptionCommand};
use domain::{AccountId, PlanId, SeatCount};
use infrastructure::testing::Backend;
use sagas::EntitlementsPolicyWorker;

use infrastructure::test_stack::{context, Stack};

async fn a_reaction_rerun_after_a_crash_appends_nothing(backend: Backend) {
    let stack = Stack::new(backend).await;
    let (store, bus, services) = (&stack.store, &stack.bus, &stack.services);
    let subscription = uuid::Uuid::new_v4();
    let trial = SubscriptionCommand::StartTrial {
        subscription_id: subscription,
        account_id: AccountId::parse("acct_policy").unwrap(),
        plan_id: PlanId::parse("pro").unwrap(),
        seats: SeatCount::ONE,
        billing_account: None,
        overage_billing: false,
    };
    bus.execute::<Subscription>(&subscription.to_string(), trial, services, &context())
        .await
        .expect("the trial starts");

    let events = stack.readable_log().await;
    let worker = EntitlementsPolicyWorker::new(bus.clone(), services.clone());
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
