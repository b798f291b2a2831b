//! A store of either backend with the sandbox gateway, and the invoices and subscriptions the
//! payment tests charge.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use application::event_log::{CommandKey, StoredEvent};
use application::payments::{
    ChargeOutcome, ChargeRequest, GatewayError, MethodCheck, MethodCheckRequest, PaymentGateway,
    RefundOutcome, RefundRequest,
};
use application::{
    attempt_payment, AttemptOutcome, AttemptPaymentError, CommandBus, CommandContext,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::dunning::DunningPolicy;
use domain::invoice::{
    CollectionMethod, Invoice, InvoiceCommand, InvoiceEvent, InvoiceLine, LineKind,
};
use domain::subscription::{BillingAccount, Subscription, SubscriptionCommand};
use domain::{
    AccountId, BillingServices, Currency, Email, ManualClock, Money, PaymentMethodToken, PlanId,
    SeatCount,
};
use infrastructure::testing::{Backend, TestDatabase};
use infrastructure::{SandboxGateway, Store};
use uuid::Uuid;

pub const ACCOUNT: &str = "acct_pay";

pub fn usd(amount: i64) -> Money {
    Money::new(amount, Currency::parse("usd").unwrap())
}

pub fn context(key: Option<&str>) -> CommandContext {
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

pub fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-01T00:00:00Z")
        .unwrap()
        .to_utc()
}

pub struct Fixture {
    _db: TestDatabase,
    pub store: Arc<Store>,
    pub bus: CommandBus<Store>,
    pub services: BillingServices,
    pub sandbox: Arc<SandboxGateway>,
}

impl Fixture {
    pub async fn new(backend: Backend) -> Self {
        let db = TestDatabase::create(backend).await;
        let store = Arc::new(db.store().await);
        let clock = Arc::new(ManualClock::starting_at(t0()));
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/plans.toml");
        let catalog = Arc::new(infrastructure::load_catalog(&path).unwrap());
        Self {
            bus: CommandBus::new(store.clone(), clock.clone()),
            store,
            services: BillingServices::new(clock, catalog, DunningPolicy::default()),
            sandbox: Arc::new(SandboxGateway::default()),
            _db: db,
        }
    }

    pub async fn subscription(&self, id: Uuid, command: SubscriptionCommand) {
        self.bus
            .execute::<Subscription>(&id.to_string(), command, &self.services, &context(None))
            .await
            .expect("the subscription command is accepted");
    }

    /// A trialing subscription of `ACCOUNT`, paying with `token` when there is one.
    pub async fn subscribe(&self, token: Option<&str>) -> Uuid {
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

    pub async fn attach(&self, subscription: Uuid, token: &str) {
        let billing_account = BillingAccount {
            email: Email::parse("billing@example.com").unwrap(),
            payment_method: PaymentMethodToken::parse(token).unwrap(),
        };
        let attach = SubscriptionCommand::AttachBillingAccount { billing_account };
        self.subscription(subscription, attach).await;
    }

    /// A manual invoice of 2 × 1900 for `ACCOUNT`.
    pub async fn invoice(&self, subscription_id: Option<Uuid>) -> Uuid {
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
                collection: CollectionMethod::Manual,
            },
        )
        .await;
        invoice_id
    }

    pub async fn invoice_command(&self, id: Uuid, command: InvoiceCommand) {
        self.bus
            .execute::<Invoice>(&id.to_string(), command, &self.services, &context(None))
            .await
            .expect("the invoice command is accepted");
    }

    pub async fn attempt(
        &self,
        gateway: &dyn PaymentGateway,
        invoice: Uuid,
        key: Option<&str>,
    ) -> Result<AttemptOutcome, AttemptPaymentError> {
        attempt_payment(&self.bus, gateway, &self.services, invoice, &context(key)).await
    }

    pub async fn load(&self, invoice: Uuid) -> Invoice {
        self.bus
            .load::<Invoice>(&invoice.to_string())
            .await
            .unwrap()
            .aggregate
    }

    pub async fn stream(&self, invoice: Uuid) -> Vec<(StoredEvent, InvoiceEvent)> {
        let id = invoice.to_string();
        self.bus.read_events::<Invoice>(&id, 0, 100).await.unwrap()
    }

    pub async fn events(&self, invoice: Uuid) -> Vec<InvoiceEvent> {
        let stream = self.stream(invoice).await;
        stream.into_iter().map(|(_, event)| event).collect()
    }

    /// How many `PaymentRecorded` the invoice's stream holds.
    pub async fn payments_recorded(&self, invoice: Uuid) -> usize {
        let events = self.events(invoice).await;
        let recorded = |e: &&InvoiceEvent| matches!(e, InvoiceEvent::PaymentRecorded { .. });
        events.iter().filter(recorded).count()
    }
}

/// A gateway that charges the sandbox, then loses the answer of its first call, as a network
/// failure or a crash between the charge and the record would.
pub struct LosesFirstAnswer {
    pub sandbox: Arc<SandboxGateway>,
    pub calls: AtomicUsize,
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

    async fn refund(&self, request: RefundRequest) -> Result<RefundOutcome, GatewayError> {
        self.sandbox.refund(request).await
    }

    async fn verify_payment_method(
        &self,
        request: MethodCheckRequest,
    ) -> Result<MethodCheck, GatewayError> {
        self.sandbox.verify_payment_method(request).await
    }
}
