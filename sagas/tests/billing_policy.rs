//! The billing policy on a real store, both backends: an activation is invoiced and the invoice
//! charged once; a cancellation voids the open invoice, or writes it off when dunning gave up; a
//! reaction re-run after a crash (the same events reacted to again, as when the checkpoint did
//! not commit) appends nothing new.

use std::sync::Arc;

use application::event_log::StoredEvent;
use application::payments::{ChargeRequest, PaymentGateway, RefundOutcome};
use application::Policy;
use domain::invoice::{Invoice, InvoiceCommand, InvoiceStatus, OverpaymentRefund};
use domain::subscription::{Subscription, SubscriptionCommand};
use domain::{AccountId, Currency, Money, PaymentMethodToken};
use infrastructure::testing::Backend;
use infrastructure::{SandboxGateway, Store};
use sagas::billing_policy::invoice_id;
use sagas::BillingPolicyWorker;

use infrastructure::test_stack::{context, trial, Stack};

struct World {
    stack: Stack,
    gateway: Arc<SandboxGateway>,
    worker: BillingPolicyWorker<Store>,
}

impl std::ops::Deref for World {
    type Target = Stack;
    fn deref(&self) -> &Stack {
        &self.stack
    }
}

async fn world(backend: Backend) -> World {
    let stack = Stack::new(backend).await;
    let gateway = Arc::new(SandboxGateway::default());
    let worker = BillingPolicyWorker::new(
        stack.bus.clone(),
        stack.store.clone(),
        stack.services.clone(),
        gateway.clone(),
    );
    World {
        stack,
        gateway,
        worker,
    }
}

impl World {
    async fn command(&self, subscription: uuid::Uuid, command: SubscriptionCommand) {
        self.bus
            .execute::<Subscription>(
                &subscription.to_string(),
                command,
                &self.services,
                &context(),
            )
            .await
            .expect("the command executes");
    }

    /// A subscription to starter, paying with `card`, activated at once.
    async fn activated(&self, card: &str) -> uuid::Uuid {
        let subscription = uuid::Uuid::new_v4();
        let trial = trial(subscription, "acct_billing", "starter", Some(card));
        self.command(subscription, trial).await;
        self.command(subscription, SubscriptionCommand::ActivateSubscription)
            .await;
        subscription
    }

    async fn log(&self) -> Vec<StoredEvent> {
        self.readable_log().await
    }

    /// Reacts to the whole log until it stops growing, as the runtime would batch after batch.
    async fn settle(&self) -> usize {
        loop {
            let before = self.log().await;
            self.worker.react(&before).await.expect("the policy reacts");
            if self.log().await.len() == before.len() {
                return before.len();
            }
        }
    }

    /// Reacts to `log` again, as after a crash before the checkpoint: the log keeps its length
    /// `settled`.
    async fn rerun_appends_nothing(&self, log: &[StoredEvent], settled: usize) {
        self.worker
            .react(log)
            .await
            .expect("the re-run is harmless");
        assert_eq!(
            self.log().await.len(),
            settled,
            "the re-run appends nothing"
        );
    }

    async fn invoice_of(&self, activation: &StoredEvent) -> Invoice {
        let id = invoice_id(activation.metadata.event_id).to_string();
        self.bus.load::<Invoice>(&id).await.unwrap().aggregate
    }
}

fn activation(log: &[StoredEvent]) -> &StoredEvent {
    log.iter()
        .find(|event| event.event_type == "SubscriptionActivated")
        .expect("activated")
}

async fn an_activation_is_invoiced_and_charged_once(backend: Backend) {
    let world = world(backend).await;
    world.activated("pm_card_visa").await;
    let settled = world.settle().await;
    let log = world.log().await;
    let invoice = world.invoice_of(activation(&log)).await;
    assert_eq!(invoice.status(), Some(InvoiceStatus::Paid));
    assert_eq!(invoice.total().map(|total| total.amount), Some(1900));
    assert_eq!(world.gateway.charges().len(), 1, "charged once");

    world.rerun_appends_nothing(&log, settled).await;
    assert_eq!(world.gateway.charges().len(), 1, "and charges nothing");
    let issued = log
        .iter()
        .find(|event| event.event_type == "InvoiceIssued")
        .unwrap();
    assert_eq!(issued.metadata.actor, "system:billing_policy");
    assert_eq!(
        issued.metadata.causation_id,
        activation(&log).metadata.event_id.to_string(),
        "the invoice names its causing event"
    );
}

/// A declined activation invoice, then `cancel`: the invoice ends `closed`.
async fn a_cancellation_closes_the_open_invoice(
    backend: Backend,
    cancel: SubscriptionCommand,
    closed: InvoiceStatus,
) {
    let world = world(backend).await;
    let subscription = world.activated("pm_card_chargeDeclined").await;
    world.settle().await;
    let log = world.log().await;
    assert_eq!(
        world.invoice_of(activation(&log)).await.status(),
        Some(InvoiceStatus::PastDue),
        "a decline leaves the invoice open"
    );
    world.command(subscription, cancel).await;
    let settled = world.settle().await;
    let log = world.log().await;
    assert_eq!(
        world.invoice_of(activation(&log)).await.status(),
        Some(closed)
    );
    world.rerun_appends_nothing(&log, settled).await;
}

/// Whatever a client writes as its reason, even the system's words, its cancellation voids.
async fn a_cancellation_voids_the_open_invoice(backend: Backend) {
    let cancel = SubscriptionCommand::CancelSubscription {
        at_period_end: false,
        comment: Some("dunning_exhausted".into()),
    };
    a_cancellation_closes_the_open_invoice(backend, cancel, InvoiceStatus::Void).await;
}

async fn exhausted_dunning_writes_the_open_invoice_off(backend: Backend) {
    let cancel = SubscriptionCommand::CancelForNonPayment;
    let uncollectible = InvoiceStatus::Uncollectible;
    a_cancellation_closes_the_open_invoice(backend, cancel, uncollectible).await;
}

/// A charge the invoice did not owe (the gateway took more than was due for the attempt in
/// flight) is recorded as an overpayment, and the policy gives it back once, however often it
/// reacts.
async fn an_overpayment_is_refunded_once(backend: Backend) {
    let world = world(backend).await;
    world.activated("pm_card_chargeDeclined").await;
    world.settle().await;
    let log = world.log().await;
    let invoice = world.invoice_of(activation(&log)).await;
    let id = invoice.invoice_id().unwrap().to_string();
    let visa = PaymentMethodToken::parse("pm_card_visa").unwrap();
    let send = |command: InvoiceCommand| {
        let bus = world.bus.clone();
        let (id, services) = (id.clone(), world.services.clone());
        async move {
            bus.execute::<Invoice>(&id, command, &services, &context())
                .await
                .expect("the invoice command is accepted")
        }
    };
    send(InvoiceCommand::AttemptPayment {
        payment_method: visa.clone(),
    })
    .await;
    let in_flight = world.bus.load::<Invoice>(&id).await.unwrap().aggregate;
    let payment_ref = in_flight.attempt_in_flight().unwrap().payment_ref.clone();
    let taken = Money::new(1901, Currency::parse("usd").unwrap());
    world
        .gateway
        .charge(ChargeRequest {
            payment_ref: payment_ref.clone(),
            amount: taken.clone(),
            payment_method: visa,
            account_id: AccountId::parse("acct_billing").unwrap(),
            invoice_id: in_flight.invoice_id().unwrap(),
        })
        .await
        .unwrap();
    send(InvoiceCommand::RecordPayment {
        amount: taken.clone(),
        payment_ref: payment_ref.clone(),
    })
    .await;

    let settled = world.settle().await;
    let refunds = world.gateway.refunds();
    assert_eq!(refunds.len(), 1, "{refunds:?}");
    assert_eq!(refunds[0].request.amount, taken);
    assert!(matches!(refunds[0].outcome, RefundOutcome::Refunded { .. }));
    let refunded = world.bus.load::<Invoice>(&id).await.unwrap().aggregate;
    assert_eq!(
        refunded.overpayment(&payment_ref).map(|o| o.refund),
        Some(OverpaymentRefund::Refunded)
    );
    assert_eq!(
        refunded.status(),
        Some(InvoiceStatus::PastDue),
        "still owed"
    );
    let log = world.log().await;
    world.rerun_appends_nothing(&log, settled).await;
    assert_eq!(world.gateway.refunds().len(), 1, "and refunds nothing");
}

/// A cancellation that finds a charge in flight on an open invoice settles the charge first
/// (charging nothing new), then closes the invoice: no charge is left unrecorded and no invoice
/// of a cancelled subscription is left open.
async fn a_cancellation_settles_a_charge_in_flight_then_voids(backend: Backend) {
    let world = world(backend).await;
    let subscription = world.activated("pm_card_chargeDeclined").await;
    world.settle().await;
    let log = world.log().await;
    let id = world
        .invoice_of(activation(&log))
        .await
        .invoice_id()
        .unwrap()
        .to_string();
    let attempt = InvoiceCommand::AttemptPayment {
        payment_method: PaymentMethodToken::parse("pm_card_chargeDeclined").unwrap(),
    };
    world
        .bus
        .execute::<Invoice>(&id, attempt, &world.services, &context())
        .await
        .unwrap();
    let charges_before = world.gateway.charges().len();
    let cancel = SubscriptionCommand::CancelSubscription {
        at_period_end: false,
        comment: Some("customer_request".into()),
    };
    world.command(subscription, cancel).await;
    world.settle().await;
    let closed = world.bus.load::<Invoice>(&id).await.unwrap().aggregate;
    assert_eq!(closed.attempt_in_flight(), None);
    assert_eq!(closed.status(), Some(InvoiceStatus::Void));
    assert_eq!(
        world.gateway.charges().len(),
        charges_before + 1,
        "the attempt in flight was charged once, and nothing else"
    );
}

infrastructure::on_both_backends!(
    a_cancellation_settles_a_charge_in_flight_then_voids,
    an_activation_is_invoiced_and_charged_once,
    a_cancellation_voids_the_open_invoice,
    exhausted_dunning_writes_the_open_invoice_off,
    an_overpayment_is_refunded_once,
);
