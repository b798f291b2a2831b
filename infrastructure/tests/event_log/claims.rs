//! Cross-aggregate uniqueness (SPEC 3.2, 3.5): an account holds at most one open subscription.
//! The claim is taken in the append that opens the subscription and released in the one that
//! cancels it, so two racing trials for one account cannot both commit.

use std::sync::Arc;

use application::DispatchError;
use domain::subscription::{Subscription, SubscriptionCommand};
use domain::AccountId;
use infrastructure::testing::Backend;
use tokio::task::JoinSet;

use crate::support::{bus, new_subscription, open, send, start_trial};

fn trial_for(account: &str) -> (String, SubscriptionCommand) {
    let (id, uuid) = new_subscription();
    let mut command = start_trial(uuid, 1);
    if let SubscriptionCommand::StartTrial { account_id, .. } = &mut command {
        *account_id = AccountId::parse(account).expect("a valid account id");
    }
    (id, command)
}

async fn an_account_holds_one_open_subscription_until_it_is_cancelled(backend: Backend) {
    let (_db, store) = open(backend).await;
    let bus = bus(Arc::new(store));
    let (first, command) = trial_for("acct_claims");
    send::<Subscription, _>(&bus, &first, command, None)
        .await
        .expect("the first trial starts");

    let (second, command) = trial_for("acct_claims");
    let refused = send::<Subscription, _>(&bus, &second, command.clone(), None).await;
    assert!(
        matches!(&refused, Err(DispatchError::ClaimTaken(claim)) if claim == "open_subscription:acct_claims"),
        "{refused:?}"
    );
    assert_eq!(bus.load::<Subscription>(&second).await.unwrap().version, 0);

    let cancel = SubscriptionCommand::CancelSubscription {
        at_period_end: false,
        comment: Some("moving on".into()),
    };
    send::<Subscription, _>(&bus, &first, cancel, None)
        .await
        .expect("the first subscription is cancelled");
    send::<Subscription, _>(&bus, &second, command, None)
        .await
        .expect("after the cancellation the account may start again");
}

async fn racing_trials_for_one_account_commit_once(backend: Backend) {
    let (_db, store) = open(backend).await;
    let bus = Arc::new(bus(Arc::new(store)));
    let mut racers = JoinSet::new();
    for _ in 0..8 {
        let bus = bus.clone();
        racers.spawn(async move {
            let (id, command) = trial_for("acct_race");
            send::<Subscription, _>(&bus, &id, command, None).await
        });
    }
    let outcomes = racers.join_all().await;
    let started = outcomes.iter().filter(|o| o.is_ok()).count();
    let refused = outcomes
        .iter()
        .filter(|o| matches!(o, Err(DispatchError::ClaimTaken(_))))
        .count();
    assert_eq!((started, refused), (1, 7), "{outcomes:?}");
}

infrastructure::on_both_backends!(
    an_account_holds_one_open_subscription_until_it_is_cancelled,
    racing_trials_for_one_account_commit_once,
);
