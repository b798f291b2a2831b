//! Every policy and the Dunning process manager against the in-memory ports
//! (`application::testing`): no database, only the event log, its claim index and the scheduler
//! the sagas are written against. The database-backed tests beside this one prove the wiring.

mod ports;

use std::sync::Arc;

use application::claims::open_dunning_case_claim;
use application::scheduler::TimerKind;
use application::{ClaimIndex, CommandContext};
use chrono::Duration;
use domain::dunning::{DunningCase, DunningCommand, DunningStatus};
use domain::entitlements::{EntitlementStatus, Entitlements, EntitlementsCommand, UsageId};
use domain::invoice::{Invoice, InvoiceStatus, LineKind};
use domain::subscription::{Subscription, SubscriptionCommand, SubscriptionStatus};
use infrastructure::test_stack::trial;
use ports::{t0, Ports, ACCOUNT};
use sagas::billing_policy::invoice_id;
use sagas::{EntitlementsPolicyWorker, TimerOptions, Timers, TimersPolicyWorker};
use uuid::Uuid;

#[tokio::test]
async fn entitlements_follow_a_trial_once() {
    let ports = Ports::new();
    let id = Uuid::new_v4();
    ports
        .subscription(id, trial(id, ACCOUNT, "pro", None))
        .await;
    let worker = EntitlementsPolicyWorker::new(ports.bus.clone(), ports.services.clone());
    let log = ports.log.events();
    Ports::react(&worker, &log).await;
    Ports::react(&worker, &log).await;

    let entitlements = ports.bus.load::<Entitlements>(ACCOUNT).await.unwrap();
    assert_eq!(entitlements.version, 1, "enabled exactly once");
    assert_eq!(entitlements.aggregate.status(), EntitlementStatus::Enabled);
    let enabled = ports.log.events().pop().unwrap();
    assert_eq!(enabled.metadata.actor, "system:entitlements_policy");
    assert_eq!(
        enabled.metadata.causation_id,
        log[0].metadata.event_id.to_string()
    );
}

#[tokio::test]
async fn a_trial_schedules_its_warning_and_expiry_once() {
    let ports = Ports::new();
    let id = Uuid::new_v4();
    ports
        .subscription(id, trial(id, ACCOUNT, "starter", None))
        .await;
    let worker = TimersPolicyWorker::new(ports.bus.clone(), ports.scheduler.clone());
    let log = ports.log.events();
    Ports::react(&worker, &log).await;
    Ports::react(&worker, &log).await;

    let pending = ports.scheduler.pending();
    assert_eq!(pending.len(), 2, "each scheduled once: {pending:?}");
    let trial_end = ports.load::<Subscription>(&id.to_string()).await;
    let trial_end = trial_end.trial_ends_at().unwrap();
    let due_of = |kind| {
        let timer = pending.iter().find(|t| t.kind == kind).expect("scheduled");
        assert_eq!(timer.aggregate_id, id.to_string());
        timer.due_at
    };
    assert_eq!(due_of(TimerKind::ExpireTrial), trial_end);
    assert_eq!(
        due_of(TimerKind::TrialWillEnd),
        trial_end - chrono::Duration::days(3)
    );
}

/// A trial without a billing account is warned three days ahead, then ends when its expiry timer
/// fires: scheduled through `Timers` (as the server wires it), fired by the clock, and fired again
/// by a worker whose claim ran out without appending twice.
#[tokio::test]
async fn a_due_timer_fires_its_command_once() {
    let ports = Ports::new();
    let timers = Arc::new(Timers::new(
        ports.scheduler.clone(),
        ports.bus.clone(),
        ports.services.clone(),
        ports.gateway.clone(),
        TimerOptions::default(),
    ));
    let id = Uuid::new_v4();
    ports
        .subscription(id, trial(id, ACCOUNT, "starter", None))
        .await;
    let policy = TimersPolicyWorker::new(ports.bus.clone(), timers.clone());
    Ports::react(&policy, &ports.log.events()).await;
    assert_eq!(timers.fire_due_now().await.unwrap(), 0, "not due yet");

    let trial_end = ports.load::<Subscription>(&id.to_string()).await;
    let trial_end = trial_end.trial_ends_at().unwrap();
    ports
        .clock
        .advance_to(trial_end - chrono::Duration::days(3));
    assert_eq!(timers.fire_due_now().await.unwrap(), 1, "the warning");
    let warned = ports.log.events();
    assert_eq!(warned.last().unwrap().event_type, "TrialWillEnd");

    ports.clock.advance_to(trial_end);
    let due = ports.scheduler.pending();
    assert_eq!(timers.fire_due_now().await.unwrap(), 1);
    let cancelled = ports.load::<Subscription>(&id.to_string()).await;
    assert_eq!(cancelled.status(), SubscriptionStatus::Cancelled);
    let fired = ports.log.events();
    let last = fired.last().unwrap();
    assert_eq!(last.event_type, "SubscriptionCancelled");
    assert_eq!(last.metadata.actor, "system:scheduler");

    timers.fire(&due[0]).await.unwrap();
    assert_eq!(
        ports.log.events().len(),
        fired.len(),
        "fired again, appends nothing"
    );
    assert_eq!(timers.fire_due_now().await.unwrap(), 0, "completed");
    assert!(ports.scheduler.pending().is_empty());
}

#[tokio::test]
async fn an_activation_is_invoiced_and_charged_once() {
    let ports = Ports::new();
    ports.activated("pm_card_visa").await;
    let (billing, dunning) = (ports.billing(), ports.dunning());
    let settled = ports.settle(&billing, &dunning).await;
    let log = ports.log.events();
    let activation = log
        .iter()
        .find(|event| event.event_type == "SubscriptionActivated")
        .unwrap();
    let invoice_id = invoice_id(activation.metadata.event_id).to_string();
    let invoice = ports.load::<Invoice>(&invoice_id).await;
    assert_eq!(invoice.status(), Some(InvoiceStatus::Paid));
    assert_eq!(ports.gateway.charges().len(), 1, "charged once");

    Ports::react(&billing, &log).await;
    assert_eq!(
        ports.log.events().len(),
        settled,
        "the re-run appends nothing"
    );
    assert_eq!(ports.gateway.charges().len(), 1, "and charges nothing");
}

/// A renewal of a plan that prices usage bills the month that closed on the renewal invoice,
/// once: the bill lives on the account's entitlements, so a re-run issues the same invoice.
#[tokio::test]
async fn a_renewal_bills_the_closed_months_usage_once() {
    let ports = Ports::new();
    let id = ports.activated("pm_card_visa").await;
    let entitlements = EntitlementsPolicyWorker::new(ports.bus.clone(), ports.services.clone());
    Ports::react(&entitlements, &ports.log.events()).await;
    let usage = EntitlementsCommand::RecordUsage {
        feature: domain::FeatureKey::parse("api_calls").unwrap(),
        quantity: 9_000,
        usage_id: UsageId::parse("u1").unwrap(),
        timestamp: None,
    };
    ports.execute::<Entitlements>(ACCOUNT, usage).await;
    let (billing, dunning) = (ports.billing(), ports.dunning());
    ports.settle(&billing, &dunning).await;

    let period = ports.load::<Subscription>(&id.to_string()).await;
    ports.clock.advance_to(period.current_period().unwrap().end);
    ports
        .subscription(id, SubscriptionCommand::RenewPeriod)
        .await;
    let settled = ports.settle(&billing, &dunning).await;
    let log = ports.log.events();
    let renewal = log
        .iter()
        .find(|e| e.event_type == "PeriodRenewed")
        .unwrap();
    let invoice = ports
        .load::<Invoice>(&invoice_id(renewal.metadata.event_id).to_string())
        .await;
    let lines: Vec<(LineKind, i64)> = invoice
        .lines()
        .iter()
        .map(|line| (line.kind, line.amount.amount))
        .collect();
    // starter: 5,000 calls included, then 0.1 minor units each.
    assert_eq!(lines, vec![(LineKind::Base, 1_900), (LineKind::Usage, 400)]);
    assert_eq!(invoice.status(), Some(InvoiceStatus::Paid));

    Ports::react(&billing, &log).await;
    assert_eq!(
        ports.log.events().len(),
        settled,
        "the re-run appends nothing"
    );
    let bills = log.iter().filter(|e| e.event_type == "UsageBilled").count();
    assert_eq!(bills, 1);
}

/// A declined activation opens a case (past due, timers), and a case that runs out cancels the
/// subscription and writes its invoice off.
#[tokio::test]
async fn a_declined_invoice_goes_through_dunning_to_the_end() {
    let ports = Ports::new();
    let subscription = ports.activated("pm_card_chargeDeclined").await;
    let (billing, dunning) = (ports.billing(), ports.dunning());
    let settled = ports.settle(&billing, &dunning).await;

    let claim = open_dunning_case_claim(ACCOUNT);
    let case_id = ports
        .log
        .claim_holder(&claim)
        .await
        .unwrap()
        .expect("a case");
    let case = ports.load::<DunningCase>(&case_id).await;
    assert_eq!(case.status(), Some(DunningStatus::Open));
    let past_due = ports.load::<Subscription>(&subscription.to_string()).await;
    assert_eq!(past_due.status(), SubscriptionStatus::PastDue);
    let kinds: Vec<TimerKind> = ports.scheduler.pending().iter().map(|t| t.kind).collect();
    assert_eq!(
        kinds,
        [
            [TimerKind::DunningRetry; 4].as_slice(),
            &[
                TimerKind::DunningWindowExpiry,
                TimerKind::DunningCancellation
            ]
        ]
        .concat()
    );
    Ports::react(&dunning, &ports.log.events()).await;
    assert_eq!(
        ports.log.events().len(),
        settled,
        "the re-run appends nothing"
    );

    // The deadline, as its timer would send it.
    ports.clock.advance_to(t0() + Duration::days(30));
    let context = CommandContext {
        actor: "system:scheduler".into(),
        correlation_id: "timer".into(),
        causation_id: "timer".into(),
        idempotency_key: None,
        key: None,
    };
    let cancel = DunningCommand::CancelDunning;
    ports
        .bus
        .execute::<DunningCase>(&case_id, cancel, &ports.services, &context)
        .await
        .expect("the deadline cancels the case");
    ports.settle(&billing, &dunning).await;

    let cancelled = ports.load::<Subscription>(&subscription.to_string()).await;
    assert_eq!(cancelled.status(), SubscriptionStatus::Cancelled);
    let invoice_id = ports
        .load::<DunningCase>(&case_id)
        .await
        .invoice_id()
        .unwrap();
    let invoice = ports.load::<Invoice>(&invoice_id.to_string()).await;
    assert_eq!(invoice.status(), Some(InvoiceStatus::Uncollectible));
    assert_eq!(ports.log.claim_holder(&claim).await.unwrap(), None);
}
