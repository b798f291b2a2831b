//! What the tests of a log consumer on a real store need (the sagas', the test clock's): a fresh
//! store on one backend, the shipped catalog, a manual clock at 2026-03-01, services and a
//! command bus, and a way to read the whole log once it is readable.

use std::sync::Arc;

use crate::testing::{Backend, TestDatabase};
use crate::Store;
use application::event_log::{EventLog, LogCursor, StoredEvent};
use application::{CommandBus, CommandContext};
use chrono::{DateTime, Utc};
use domain::dunning::DunningPolicy;
use domain::subscription::{BillingAccount, SubscriptionCommand};
use domain::{
    AccountId, BillingServices, Email, ManualClock, PaymentMethodToken, PlanId, SeatCount,
};
use uuid::Uuid;

pub struct Stack {
    _db: TestDatabase,
    pub store: Arc<Store>,
    pub clock: Arc<ManualClock>,
    pub services: BillingServices,
    pub bus: Arc<CommandBus<Store>>,
}

pub fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-01T00:00:00Z")
        .unwrap()
        .to_utc()
}

/// A trial of `account` on `plan` with one seat, paying with the card token `card` if given.
pub fn trial(
    subscription_id: Uuid,
    account: &str,
    plan: &str,
    card: Option<&str>,
) -> SubscriptionCommand {
    SubscriptionCommand::StartTrial {
        subscription_id,
        account_id: AccountId::parse(account).unwrap(),
        plan_id: PlanId::parse(plan).unwrap(),
        seats: SeatCount::ONE,
        billing_account: card.map(|card| BillingAccount {
            email: Email::parse("billing@example.com").unwrap(),
            payment_method: PaymentMethodToken::parse(card).unwrap(),
        }),
        overage_billing: false,
    }
}

/// A test's own context: no idempotency key, a fixed actor and request.
pub fn context() -> CommandContext {
    CommandContext {
        actor: "test".into(),
        correlation_id: "c".into(),
        causation_id: "c".into(),
        idempotency_key: None,
        key: None,
    }
}

impl Stack {
    pub async fn new(backend: Backend) -> Stack {
        let db = TestDatabase::create(backend).await;
        let store = Arc::new(db.store().await);
        let clock = Arc::new(ManualClock::starting_at(t0()));
        let catalog_path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/plans.toml");
        let catalog = Arc::new(crate::load_catalog(&catalog_path).expect("catalog"));
        let services = BillingServices::new(clock.clone(), catalog, DunningPolicy::default());
        let bus = Arc::new(CommandBus::new(store.clone(), clock.clone()));
        Stack {
            _db: db,
            store,
            clock,
            services,
            bus,
        }
    }

    /// The whole log up to its head. On Postgres a reader sees an event only once no older
    /// transaction (of any test's database in the cluster) is still open: read until it shows.
    pub async fn readable_log(&self) -> Vec<StoredEvent> {
        let head = self.store.log_head().await.unwrap().position;
        loop {
            let events: Vec<StoredEvent> = self
                .store
                .read_after(LogCursor::default(), 1000)
                .await
                .unwrap()
                .into_iter()
                .map(|(_, event)| event)
                .collect();
            // Positions are not in read order on Postgres (the order is by transaction id).
            if events.iter().map(|event| event.position).max().unwrap_or(0) >= head {
                return events;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }
}
