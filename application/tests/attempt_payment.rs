//! The attempt-payment use case on the real stores of both backends, charging the sandbox
//! gateway: outcomes land on the invoice, and a crash anywhere between the attempt and its record
//! resumes with the same `payment_ref` and charges once.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use application::event_log::{CommandKey, StoredEvent};
use application::payments::{ChargeOutcome, ChargeRequest, GatewayError, PaymentGateway};
use application::{
    attempt_payment, AttemptOutcome, AttemptPaymentError, CommandBus, CommandContext, DispatchError,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::dunning::DunningPolicy;
use domain::invoice::{
    Invoice, InvoiceCommand, InvoiceEvent, InvoiceLine, InvoiceStatus, LineKind,
};
use domain::subscription::{BillingAccount, Subscription, SubscriptionCommand};
use domain::{
    AccountId, BillingServices, Currency, DomainError, Email, ManualClock, Money,
    PaymentMethodToken, PlanId, SeatCount,
};
use infrastructure::testing::{Backend, TestDatabase};
use infrastructure::{SandboxGateway, Store};
use uuid::Uuid;

const ACCOUNT: &str = "acct_pay";

fn usd(amount: i64) -> Money {
    Money::new(amount, Currency::parse("usd").unwrap())
}

fn context(key: Option<&str>) -> CommandContext {
    CommandContext {
        actor: "test".into(),
        correlation_id: "corr".into(),
        causation_id: "req".into(),
        idempotency_key: key.map(str::to_owned),
        key: key.map(|key| CommandKey {
            command_id: key.to_owned(),
            fingerprint: "attempt".into(),
        }),
    }
}

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-01T00:00:00Z")
        .unwrap()
        .to_utc()
}

struct Fixture {
    _db: TestDatabase,
    bus: CommandBus<Store>,
    services: BillingServices,
    sandbox: Arc<SandboxGateway>,
}

impl Fixture {
    async fn new(backend: Backend) -> Self {
        let db = TestDatabase::create(backend).await;
        let store = Arc::new(db.store().await);
        let clock = Arc::new(ManualClock::starting_at(t0()));
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/plans.toml");
        let catalog = Arc::new(infrastructure::load_catalog(&path).unwrap());
        Self {
            bus: CommandBus::new(store, clock.clone()),
            services: BillingServices::new(clock, catalog, DunningPolicy::default()),
            sandbox: Arc::new(SandboxGateway::default()),
            _db: db,
        }
    }

    async fn subscription(&self, id: Uuid, command: SubscriptionCommand) {
        self.bus
            .execute::<Subscription>(&id.to_string(), command, &self.services, &context(None))
            .await
            .expect("the subscription command is accepted");
    }

    /// A trialing subscription of `ACCOUNT`, paying with `token` when there is one.
    async fn subscribe(&self, token: Option<&str>) -> Uuid {
        let id = Uuid::new_v4();
        let billing_account = token.map(|token| BillingAccount {
            email: Email::parse("billing@example.com").unwrap(),
            payment_method: PaymentMethodToken::parse(token).unwrap(),
        });
        let start = SubscriptionCommand::StartTrial {
            subscription_id: id,
            account_id: AccountId::parse(ACCOUNT).unwrap(),
            plan_id: PlanId::parse("starter").unwrap(),
            seats: SeatCount::ONE,
            billing_account,
            overage_billing: false,
        };
        self.subscription(id, start).await;
        id
    }

    async fn attach(&self, subscription: Uuid, token: &str) {
        let billing_account = BillingAccount {
            email: Email::parse("billing@example.com").unwrap(),
            payment_method: PaymentMethodToken::parse(token).unwrap(),
        };
        let attach = SubscriptionCommand::AttachBillingAccount { billing_account };
        self.subscription(subscription, attach).await;
    }

    /// A manual invoice of 2 × 1900 for `ACCOUNT`.
    async fn invoice(&self, subscription_id: Option<Uuid>) -> Uuid {
        let invoice_id = Uuid::new_v4();
        self.invoice_command(
            invoice_id,
            InvoiceCommand::IssueInvoice {
                invoice_id,
                account_id: AccountId::parse(ACCOUNT).unwrap(),
                subscription_id,
                currency: Currency::parse("usd").unwrap(),
                lines: vec![InvoiceLine::new("Setup", LineKind::Manual, 2, usd(1900)).unwrap()],
                due_at: None,
            },
        )
        .await;
        invoice_id
    }

    async fn invoice_command(&self, id: Uuid, command: InvoiceCommand) {
        self.bus
            .execute::<Invoice>(&id.to_string(), command, &self.services, &context(None))
            .await
            .expect("the invoice command is accepted");
    }

    async fn attempt(
        &self,
        gateway: &dyn PaymentGateway,
        invoice: Uuid,
        key: Option<&str>,
    ) -> Result<AttemptOutcome, AttemptPaymentError> {
        attempt_payment(&self.bus, gateway, &self.services, invoice, &context(key)).await
    }

    async fn load(&self, invoice: Uuid) -> Invoice {
        self.bus
            .load::<Invoice>(&invoice.to_string())
            .await
            .unwrap()
            .aggregate
    }

    async fn stream(&self, invoice: Uuid) -> Vec<(StoredEvent, InvoiceEvent)> {
        let id = invoice.to_string();
        self.bus.read_events::<Invoice>(&id, 0, 100).await.unwrap()
    }

    async fn events(&self, invoice: Uuid) -> Vec<InvoiceEvent> {
        let stream = self.stream(invoice).await;
        stream.into_iter().map(|(_, event)| event).collect()
    }

    /// How many `PaymentRecorded` the invoice's stream holds.
    async fn payments_recorded(&self, invoice: Uuid) -> usize {
        let events = self.events(invoice).await;
        let recorded = |e: &&InvoiceEvent| matches!(e, InvoiceEvent::PaymentRecorded { .. });
        events.iter().filter(recorded).count()
    }
}

/// A gateway that charges the sandbox, then loses the answer of its first call, as a network
/// failure or a crash between the charge and the record would.
struct LosesFirstAnswer {
    sandbox: Arc<SandboxGateway>,
    calls: AtomicUsize,
}

#[async_trait]
impl PaymentGateway for LosesFirstAnswer {
    async fn charge(&self, request: ChargeRequest) -> Result<ChargeOutcome, GatewayError> {
        let outcome = self.sandbox.charge(request).await?;
        match self.calls.fetch_add(1, Ordering::SeqCst) {
            0 => Err(GatewayError::Unreachable("the answer was lost".into())),
            _ => Ok(outcome),
        }
    }
}

async fn a_good_card_pays_the_invoice(backend: Backend) {
    let f = Fixture::new(backend).await;
    let subscription = f.subscribe(Some("pm_card_visa")).await;
    let invoice = f.invoice(Some(subscription)).await;

    let outcome = f.attempt(f.sandbox.as_ref(), invoice, None).await.unwrap();
    assert_eq!(outcome.payment_ref, format!("{invoice}:attempt:1"));
    assert_eq!(outcome.attempt, 1);
    assert!(matches!(outcome.charge, ChargeOutcome::Succeeded { .. }));
    assert!(!outcome.replayed);
    assert_eq!(outcome.recorded.record.version, 4);
    assert!(outcome.recorded.record.position.is_some());

    let paid = f.load(invoice).await;
    assert_eq!(paid.status(), Some(InvoiceStatus::Paid));
    assert_eq!(paid.amount_paid(), Some(&usd(3800)));
    assert_eq!(paid.attempts(), 1);
    let charges = f.sandbox.charges();
    assert_eq!(charges.len(), 1);
    assert_eq!(charges[0].request.amount, usd(3800));
    assert_eq!(charges[0].request.account_id.as_str(), ACCOUNT);

    // The recorded payment names the attempt that caused it.
    let stream = f.stream(invoice).await;
    let types: Vec<&str> = stream.iter().map(|(s, _)| s.event_type.as_str()).collect();
    assert_eq!(
        types,
        [
            "InvoiceIssued",
            "PaymentAttempted",
            "PaymentRecorded",
            "InvoicePaid"
        ]
    );
    assert_eq!(
        stream[2].0.metadata.causation_id,
        stream[1].0.metadata.event_id.to_string()
    );
}

async fn a_decline_leaves_the_invoice_past_due_until_a_good_card_pays(backend: Backend) {
    let f = Fixture::new(backend).await;
    let subscription = f.subscribe(Some("pm_card_chargeDeclined")).await;
    let invoice = f.invoice(Some(subscription)).await;

    let outcome = f.attempt(f.sandbox.as_ref(), invoice, None).await.unwrap();
    assert!(matches!(
        &outcome.charge,
        ChargeOutcome::Declined { code, hard_decline: false, .. } if code == "card_declined"
    ));
    let declined = f.load(invoice).await;
    assert_eq!(declined.status(), Some(InvoiceStatus::PastDue));
    assert_eq!(declined.attempts(), 1);
    assert_eq!(declined.attempt_in_flight(), None);
    let failure = f.events(invoice).await.pop().unwrap();
    assert!(matches!(
        failure,
        InvoiceEvent::PaymentFailed { attempt: 1, decline_code, hard_decline: false, payment_ref: Some(r), .. }
            if decline_code == "card_declined" && r == outcome.payment_ref
    ));

    f.attach(subscription, "pm_card_visa").await;
    let retried = f.attempt(f.sandbox.as_ref(), invoice, None).await.unwrap();
    assert_eq!(retried.payment_ref, format!("{invoice}:attempt:2"));
    assert!(matches!(retried.charge, ChargeOutcome::Succeeded { .. }));
    let paid = f.load(invoice).await;
    assert_eq!(paid.status(), Some(InvoiceStatus::Paid));
    assert_eq!(paid.attempts(), 2);
}

async fn a_lost_card_is_a_hard_decline(backend: Backend) {
    let f = Fixture::new(backend).await;
    let subscription = f.subscribe(Some("pm_card_chargeDeclinedLostCard")).await;
    let invoice = f.invoice(Some(subscription)).await;

    f.attempt(f.sandbox.as_ref(), invoice, None).await.unwrap();
    let failure = f.events(invoice).await.pop().unwrap();
    assert!(matches!(
        failure,
        InvoiceEvent::PaymentFailed { decline_code, hard_decline: true, .. } if decline_code == "lost_card"
    ));
    assert_eq!(f.load(invoice).await.status(), Some(InvoiceStatus::PastDue));
}

/// The gateway charged, and its answer never arrived: the next run charges the same ref again,
/// which the gateway answers from memory.
async fn a_lost_answer_is_resumed_with_the_same_ref_and_charged_once(backend: Backend) {
    let f = Fixture::new(backend).await;
    let subscription = f.subscribe(Some("pm_card_visa")).await;
    let invoice = f.invoice(Some(subscription)).await;
    let gateway = LosesFirstAnswer {
        sandbox: f.sandbox.clone(),
        calls: AtomicUsize::new(0),
    };

    let lost = f.attempt(&gateway, invoice, Some("first")).await;
    assert!(
        matches!(lost, Err(AttemptPaymentError::Gateway(_))),
        "{lost:?}"
    );
    let payment_ref = format!("{invoice}:attempt:1");
    let in_flight = f.load(invoice).await;
    assert_eq!(in_flight.status(), Some(InvoiceStatus::Issued));
    assert_eq!(
        in_flight
            .attempt_in_flight()
            .map(|a| a.payment_ref.as_str()),
        Some(payment_ref.as_str())
    );

    // Another caller (a retry, the dunning saga) resumes it rather than starting attempt 2.
    let resumed = f.attempt(&gateway, invoice, Some("second")).await.unwrap();
    assert_eq!(resumed.payment_ref, payment_ref);
    assert_eq!(gateway.calls.load(Ordering::SeqCst), 2);
    assert_eq!(f.sandbox.charges().len(), 1, "one charge for one ref");
    assert_eq!(f.payments_recorded(invoice).await, 1);
    let paid = f.load(invoice).await;
    assert_eq!(paid.status(), Some(InvoiceStatus::Paid));
    assert_eq!(paid.attempts(), 1);
}

/// The process died after the charge and before the record: the attempt and the charge happened
/// (done here step by step), the record did not.
async fn a_crash_between_charge_and_record_records_once(backend: Backend) {
    let f = Fixture::new(backend).await;
    let subscription = f.subscribe(Some("pm_card_visa")).await;
    let invoice = f.invoice(Some(subscription)).await;
    let attempt = InvoiceCommand::AttemptPayment {
        payment_method: PaymentMethodToken::parse("pm_card_visa").unwrap(),
    };
    f.invoice_command(invoice, attempt).await;
    let payment_ref = format!("{invoice}:attempt:1");
    let charged = f.sandbox.charge(ChargeRequest {
        payment_ref: payment_ref.clone(),
        amount: usd(3800),
        payment_method: PaymentMethodToken::parse("pm_card_visa").unwrap(),
        account_id: AccountId::parse(ACCOUNT).unwrap(),
    });
    charged.await.unwrap();

    let resumed = f.attempt(f.sandbox.as_ref(), invoice, None).await.unwrap();
    assert_eq!(resumed.payment_ref, payment_ref);
    // Run again after the record (a crash before the caller heard back): nothing new.
    let again = f.attempt(f.sandbox.as_ref(), invoice, None).await;
    assert!(
        matches!(
            again,
            Err(AttemptPaymentError::Dispatch(DispatchError::Rejected(
                DomainError::Rule(_)
            )))
        ),
        "a paid invoice takes no new attempt: {again:?}"
    );
    assert_eq!(f.sandbox.charges().len(), 1);
    assert_eq!(f.payments_recorded(invoice).await, 1);
    assert_eq!(f.load(invoice).await.status(), Some(InvoiceStatus::Paid));
}

/// The same command id run twice (a client retrying with its Idempotency-Key, a saga re-reacting):
/// the second run answers as the first and appends nothing.
async fn a_rerun_with_the_same_command_id_replays_every_step(backend: Backend) {
    let f = Fixture::new(backend).await;
    let subscription = f
        .subscribe(Some("pm_card_chargeDeclinedInsufficientFunds"))
        .await;
    let invoice = f.invoice(Some(subscription)).await;

    let first = f
        .attempt(f.sandbox.as_ref(), invoice, Some("key"))
        .await
        .unwrap();
    let events = f.events(invoice).await.len();
    let second = f
        .attempt(f.sandbox.as_ref(), invoice, Some("key"))
        .await
        .unwrap();
    assert!(!first.replayed && second.replayed);
    assert_eq!(second.payment_ref, first.payment_ref);
    assert_eq!(second.charge, first.charge);
    assert_eq!(second.recorded.record, first.recorded.record);
    assert_eq!(f.events(invoice).await.len(), events);
    assert_eq!(f.load(invoice).await.attempts(), 1);
    assert_eq!(f.sandbox.charges().len(), 1);
}

async fn without_a_payment_method_nothing_is_attempted(backend: Backend) {
    let f = Fixture::new(backend).await;
    let manual = f.invoice(None).await;
    let result = f.attempt(f.sandbox.as_ref(), manual, None).await;
    assert!(matches!(
        result,
        Err(AttemptPaymentError::NoPaymentMethod(_))
    ));

    let subscription = f.subscribe(None).await;
    let invoice = f.invoice(Some(subscription)).await;
    let result = f.attempt(f.sandbox.as_ref(), invoice, None).await;
    assert!(matches!(
        result,
        Err(AttemptPaymentError::NoPaymentMethod(_))
    ));
    assert_eq!(f.events(invoice).await.len(), 1, "only InvoiceIssued");

    let unknown = f.attempt(f.sandbox.as_ref(), Uuid::new_v4(), None).await;
    assert!(matches!(
        unknown,
        Err(AttemptPaymentError::Dispatch(DispatchError::Rejected(
            DomainError::NotFound { .. }
        )))
    ));
    assert!(f.sandbox.charges().is_empty());
}

infrastructure::on_both_backends!(
    a_good_card_pays_the_invoice,
    a_decline_leaves_the_invoice_past_due_until_a_good_card_pays,
    a_lost_card_is_a_hard_decline,
    a_lost_answer_is_resumed_with_the_same_ref_and_charged_once,
    a_crash_between_charge_and_record_records_once,
    a_rerun_with_the_same_command_id_replays_every_step,
    without_a_payment_method_nothing_is_attempted,
);
