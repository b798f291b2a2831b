//! The Billing Timeline tells each account's story in log order: a full dunning lifecycle that
//! recovers, and another that ends in cancellation. Every entry points at its stored event (id,
//! causing event, recorded time), pages of 3 give each entry once, and no account sees another's.

use std::collections::{BTreeMap, BTreeSet};

use application::event_log::StoredEvent;
use chrono::Duration;
use domain::dunning::DunningCommand;
use domain::entitlements::EntitlementsCommand;
use domain::invoice::InvoiceCommand;
use domain::subscription::{BillingAccount, SubscriptionCommand};
use domain::Clock;
use domain::{Email, PaymentMethodToken};
use infrastructure::testing::Backend;
use projections::timeline::TimelineEntryView;
use projections::PositionCursor;
use uuid::Uuid;

use crate::fixtures::*;

const RECOVERED: &str = "acct_timeline_recovered";
const CANCELLED: &str = "acct_timeline_cancelled";

fn card(token: &str) -> SubscriptionCommand {
    SubscriptionCommand::AttachBillingAccount {
        billing_account: BillingAccount {
            email: Email::parse("billing@example.com").unwrap(),
            payment_method: PaymentMethodToken::parse(token).unwrap(),
        },
    }
}

fn declined() -> InvoiceCommand {
    InvoiceCommand::RecordPaymentFailure {
        reason: "Your card was declined.".into(),
        code: "card_declined".into(),
        payment_ref: None,
        hard_decline: false,
    }
}

fn retry_failed() -> DunningCommand {
    DunningCommand::RecordRetryOutcome {
        succeeded: false,
        failure_reason: Some("insufficient_funds".into()),
    }
}

/// The aggregates of one account's lifecycle: the timeline may show their events only.
struct Lifecycle {
    aggregates: BTreeSet<String>,
    last: i64,
}

/// Trial, activation, a declined invoice, dunning whose four retries fail, suspension at the
/// window's end, a new card, and recovery with everything restored.
async fn recovered_lifecycle(h: &Harness) -> Lifecycle {
    let (sub, _) = h.start_trial(RECOVERED, "starter", 2).await;
    h.enable(RECOVERED, "starter", trial_period(14)).await;
    h.subscription(sub, card("pm_card_chargeDeclined")).await;
    h.subscription(sub, SubscriptionCommand::ActivateSubscription)
        .await;
    let (invoice, _) = h.issue(RECOVERED, Some(sub), "usd", &[1900]).await;
    h.invoice(invoice, declined()).await;
    let (case, _) = h
        .start_dunning(RECOVERED, Some(sub), invoice, 1900, false)
        .await;
    let past_due = SubscriptionCommand::MarkPastDue {
        dunning_case_id: case,
    };
    h.subscription(sub, past_due).await;
    for _ in 0..4 {
        h.clock.advance(Duration::days(2));
        h.dunning(case, retry_failed()).await;
    }
    h.clock.advance(Duration::days(7));
    h.dunning(case, DunningCommand::MarkSuspended).await;
    let window_expires_at = h.clock.now();
    let suspend = EntitlementsCommand::SuspendEntitlements {
        dunning_case_id: case,
        window_expires_at,
    };
    h.entitlements(RECOVERED, suspend).await;
    h.subscription(sub, card("pm_card_visa")).await;
    let pay = InvoiceCommand::RecordPayment {
        amount: money(1900, "usd"),
        payment_ref: "ch_recovered".into(),
    };
    h.invoice(invoice, pay).await;
    h.dunning(case, DunningCommand::Recover).await;
    h.subscription(sub, SubscriptionCommand::Reactivate).await;
    let last = h
        .entitlements(RECOVERED, EntitlementsCommand::RestoreEntitlements)
        .await;
    Lifecycle {
        aggregates: [sub, invoice, case]
            .iter()
            .map(Uuid::to_string)
            .chain([RECOVERED.to_owned()])
            .collect(),
        last,
    }
}

/// A declined invoice left unpaid until the cancellation deadline.
async fn cancelled_lifecycle(h: &Harness) -> Lifecycle {
    let (sub, _) = h.start_trial(CANCELLED, "pro", 3).await;
    h.subscription(sub, card("pm_card_chargeDeclined")).await;
    h.subscription(sub, SubscriptionCommand::ActivateSubscription)
        .await;
    let (invoice, _) = h.issue(CANCELLED, Some(sub), "usd", &[4900]).await;
    h.invoice(invoice, declined()).await;
    let (case, _) = h
        .start_dunning(CANCELLED, Some(sub), invoice, 4900, false)
        .await;
    h.clock.advance(Duration::days(30));
    h.dunning(case, DunningCommand::CancelDunning).await;
    let cancel = SubscriptionCommand::CancelForNonPayment;
    h.subscription(sub, cancel).await;
    let last = h
        .invoice(invoice, InvoiceCommand::MarkUncollectible)
        .await
        .expect("marked uncollectible");
    Lifecycle {
        aggregates: [sub, invoice, case]
            .iter()
            .map(Uuid::to_string)
            .chain([CANCELLED.to_owned()])
            .collect(),
        last,
    }
}

/// The account's whole timeline, read page by page (`limit` per page).
async fn pages(h: &Harness, account_id: &str, limit: u32) -> Vec<Vec<TimelineEntryView>> {
    let models = h.read_models();
    let mut pages = Vec::new();
    let mut cursor = None;
    loop {
        let page = models
            .timeline(&account(account_id), limit, cursor)
            .await
            .unwrap();
        pages.push(page.items);
        match page.next_cursor {
            Some(next) => cursor = Some(PositionCursor::parse(&next).expect("a cursor it issued")),
            None => return pages,
        }
    }
}

fn kinds(entries: &[TimelineEntryView]) -> Vec<&str> {
    entries.iter().map(|entry| entry.kind.as_str()).collect()
}

/// Every entry names its stored event, belongs to `lifecycle` and comes after the one before.
fn assert_entries_match_the_log(
    entries: &[TimelineEntryView],
    log: &BTreeMap<i64, StoredEvent>,
    lifecycle: &Lifecycle,
) {
    for pair in entries.windows(2) {
        assert!(
            pair[0].position < pair[1].position,
            "in log order: {pair:?}"
        );
    }
    for entry in entries {
        let stored = log.get(&entry.position).expect("an entry names an event");
        assert_eq!(entry.event_id, stored.metadata.event_id, "{entry:?}");
        assert_eq!(
            entry.causation_id, stored.metadata.causation_id,
            "{entry:?}"
        );
        assert_eq!(entry.at, stored.metadata.recorded_at, "{entry:?}");
        assert!(
            lifecycle.aggregates.contains(&stored.aggregate_id),
            "{entry:?} is about another account's {}",
            stored.aggregate_type
        );
    }
}

async fn a_recovered_and_a_cancelled_lifecycle_each_read_in_order(backend: Backend) {
    let h = Harness::new(backend).await;
    let projections = h.start(options(500));
    let recovered = recovered_lifecycle(&h).await;
    let cancelled = cancelled_lifecycle(&h).await;
    projections
        .wait_for(recovered.last.max(cancelled.last), PATIENCE)
        .await
        .unwrap();
    // The projection has read up to the last event, so the whole log is readable.
    let log: BTreeMap<i64, StoredEvent> = readable_log(&h.store, 0)
        .await
        .into_iter()
        .map(|(_, event)| (event.position, event))
        .collect();

    let story = pages(&h, RECOVERED, 100).await.concat();
    assert_eq!(
        kinds(&story),
        [
            "trial_started",
            "entitlements_enabled",
            "payment_method_attached",
            "subscription_activated",
            "invoice_issued",
            "payment_failed",
            "dunning_started",
            "subscription_past_due",
            "dunning_retry_failed",
            "dunning_retry_failed",
            "dunning_retry_failed",
            "dunning_retry_failed",
            "dunning_escalated",
            "dunning_suspended",
            "entitlements_suspended",
            "payment_method_attached",
            "payment_succeeded",
            "invoice_paid",
            "dunning_recovered",
            "subscription_reactivated",
            "entitlements_restored",
        ]
    );
    assert_entries_match_the_log(&story, &log, &recovered);
    let failed = &story[5];
    assert_eq!(
        (failed.amount, failed.currency.as_deref()),
        (Some(1900), Some("usd"))
    );
    assert_eq!(failed.details["reason"], "Your card was declined.");
    assert_eq!(failed.details["decline_code"], "card_declined");
    let started = &story[6];
    assert_eq!(started.amount, Some(1900));
    assert_eq!(
        started.details["invoice_id"],
        story[4].details["invoice_id"]
    );
    assert_eq!(story[12].details["reason"], "retries_exhausted");
    assert_eq!(story[0].details["plan_id"], "starter");
    assert_eq!(story[0].details["seats"], 2);
    assert_eq!(
        (story[0].amount, story[0].currency.as_deref()),
        (None, None)
    );

    let ending = pages(&h, CANCELLED, 100).await.concat();
    assert_eq!(
        kinds(&ending),
        [
            "trial_started",
            "payment_method_attached",
            "subscription_activated",
            "invoice_issued",
            "payment_failed",
            "dunning_started",
            "dunning_cancelled",
            "subscription_cancelled",
            "invoice_marked_uncollectible",
        ]
    );
    assert_entries_match_the_log(&ending, &log, &cancelled);
    assert_eq!(ending[6].details["reason"], "dunning_exhausted");
    assert_eq!(ending[8].amount, Some(4900));

    // Pages of 3 hold each entry exactly once, in the same order.
    for (account_id, whole) in [(RECOVERED, &story), (CANCELLED, &ending)] {
        let paged = pages(&h, account_id, 3).await;
        assert!(paged.iter().all(|page| page.len() <= 3 && !page.is_empty()));
        assert_eq!(&paged.concat(), whole);
    }
    assert!(pages(&h, "acct_nobody", 3).await.concat().is_empty());
    projections.stop().await;
}

/// The same log replayed one event per batch builds the same entries: the lookups of invoices and
/// cases hold across batches.
async fn one_event_per_batch_builds_the_same_timeline(backend: Backend) {
    let h = Harness::new(backend).await;
    let projections = h.start(options(1));
    let recovered = recovered_lifecycle(&h).await;
    projections
        .wait_for(recovered.last, PATIENCE)
        .await
        .unwrap();
    let one_by_one = pages(&h, RECOVERED, 100).await.concat();
    projections.stop().await;

    let copy = Harness::new(backend).await;
    let events = readable_log(&h.store, 0).await.len();
    copy_log(&h.store, &copy.store, events).await;
    let replay = copy.start(options(500));
    let copied_head = copy.store.log_head().await.unwrap().position;
    replay.wait_for(copied_head, PATIENCE).await.unwrap();
    let batched = pages(&copy, RECOVERED, 100).await.concat();
    assert_eq!(kinds(&batched), kinds(&one_by_one));
    assert!(!batched.is_empty());
    let ids = |entries: &[TimelineEntryView]| -> Vec<Uuid> {
        entries.iter().map(|entry| entry.event_id).collect()
    };
    assert_eq!(ids(&batched), ids(&one_by_one));
    replay.stop().await;
}

infrastructure::on_both_backends!(
    a_recovered_and_a_cancelled_lifecycle_each_read_in_order,
    one_event_per_batch_builds_the_same_timeline,
);
