//! What every read-model test starts from: a fresh database on one backend, the shipped plan
//! catalog, a manual clock, and the real command bus to produce events with.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use application::claims::UniqueClaim;
use application::event_log::{Append, EventLog, EventMetadata, LogCursor, NewEvent, StoredEvent};
use application::{CommandBus, CommandContext, DispatchError};
use chrono::{DateTime, Utc};
use cqrs_es::{Aggregate, DomainEvent};
use domain::dunning::{DunningCase, DunningCommand, DunningPolicy};
use domain::entitlements::{Entitlements, EntitlementsCommand, UsageId};
use domain::invoice::{CollectionMethod, Invoice, InvoiceCommand, InvoiceLine, LineKind};
use domain::subscription::{BillingAccount, Subscription, SubscriptionCommand};
use domain::{
    AccountId, BillingPeriod, BillingServices, Currency, Email, FeatureKey, ManualClock, Money,
    PaymentMethodToken, PlanCatalog, PlanId, SeatCount,
};
use infrastructure::changes::ChangeFeed;
use infrastructure::testing::{Backend, TestDatabase};
use infrastructure::Store;
use projections::{Projections, ReadModelProjector, ReadModels, RuntimeOptions, SummaryView};
use uuid::Uuid;

/// Long enough for a loaded CI machine; a test that waits this long has failed anyway.
pub const PATIENCE: Duration = Duration::from_secs(30);

pub fn at(rfc3339: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(rfc3339).unwrap().to_utc()
}

pub fn t0() -> DateTime<Utc> {
    at("2026-03-01T00:00:00Z")
}

pub fn account(id: &str) -> AccountId {
    AccountId::parse(id).unwrap()
}

pub fn plan(id: &str) -> PlanId {
    PlanId::parse(id).unwrap()
}

pub fn feature(key: &str) -> FeatureKey {
    FeatureKey::parse(key).unwrap()
}

pub fn seats(n: u32) -> SeatCount {
    SeatCount::parse(n).unwrap()
}

pub fn billing_account() -> BillingAccount {
    BillingAccount {
        email: Email::parse("billing@example.com").unwrap(),
        payment_method: PaymentMethodToken::parse("pm_card_visa").unwrap(),
    }
}

/// Quick polling and wake-ups, so that tests do not wait on the production pace.
pub fn options(batch_size: u32) -> RuntimeOptions {
    RuntimeOptions {
        batch_size,
        poll_interval: Duration::from_millis(50),
    }
}

pub fn shipped_catalog() -> Arc<PlanCatalog> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/plans.toml");
    Arc::new(infrastructure::load_catalog(&path).expect("the shipped catalog loads"))
}

/// One test's database, with the means to write events to it.
pub struct Harness {
    pub db: TestDatabase,
    pub store: Arc<Store>,
    pub bus: CommandBus<Store>,
    pub clock: Arc<ManualClock>,
    pub catalog: Arc<PlanCatalog>,
    /// The change notices of this "process", which its read models' caches follow.
    pub changes: Arc<ChangeFeed>,
    services: BillingServices,
}

impl Harness {
    pub async fn new(backend: Backend) -> Self {
        let db = TestDatabase::create(backend).await;
        let store = Arc::new(db.store().await);
        let clock = Arc::new(ManualClock::starting_at(t0()));
        let catalog = shipped_catalog();
        let services =
            BillingServices::new(clock.clone(), catalog.clone(), DunningPolicy::default());
        Self {
            bus: CommandBus::new(store.clone(), clock.clone()),
            changes: Arc::new(ChangeFeed::start(&store)),
            db,
            store,
            clock,
            catalog,
            services,
        }
    }

    /// The runtime with both read models of the crate.
    pub fn start(&self, options: RuntimeOptions) -> Projections {
        projections::start(self.store.clone(), self.catalog.clone(), options)
    }

    pub fn read_models(&self) -> ReadModels {
        ReadModels::new(&self.store, &self.changes, self.catalog.clone())
    }

    /// The account's summary as the query answers it now.
    pub async fn summary(&self, account_id: &str) -> Option<SummaryView> {
        let models = self.read_models();
        models.summary(&account(account_id)).await.unwrap()
    }

    /// Executes a subscription command; returns the position of its last event.
    pub async fn subscription(&self, id: Uuid, command: SubscriptionCommand) -> i64 {
        let executed = self
            .bus
            .execute::<Subscription>(&id.to_string(), command, &self.services, &context())
            .await
            .expect("the subscription command is accepted");
        executed.record.position.expect("the command appended")
    }

    /// Executes an entitlements command; returns the position of its last event.
    pub async fn entitlements(&self, account_id: &str, command: EntitlementsCommand) -> i64 {
        let executed = self
            .bus
            .execute::<Entitlements>(account_id, command, &self.services, &context())
            .await
            .expect("the entitlements command is accepted");
        executed.record.position.expect("the command appended")
    }

    /// Executes an invoice command; returns the position of its last event (`None`: it appended
    /// nothing).
    pub async fn invoice(&self, id: Uuid, command: InvoiceCommand) -> Option<i64> {
        let executed = self
            .bus
            .execute::<Invoice>(&id.to_string(), command, &self.services, &context())
            .await
            .expect("the invoice command is accepted");
        executed.record.position
    }

    /// Issues an invoice of one manual line per amount; returns its id and last position.
    pub async fn issue(
        &self,
        account_id: &str,
        subscription_id: Option<Uuid>,
        currency: &str,
        amounts: &[i64],
    ) -> (Uuid, i64) {
        let id = Uuid::new_v4();
        let lines = amounts
            .iter()
            .enumerate()
            .map(|(n, amount)| {
                InvoiceLine::new(
                    format!("Line {n}"),
                    LineKind::Manual,
                    1,
                    money(*amount, currency),
                )
                .unwrap()
            })
            .collect();
        let command = InvoiceCommand::IssueInvoice {
            invoice_id: id,
            account_id: account(account_id),
            subscription_id,
            currency: Currency::parse(currency).unwrap(),
            lines,
            due_at: None,
            collection: CollectionMethod::Manual,
        };
        let position = self.invoice(id, command).await.expect("issued");
        (id, position)
    }

    /// Starts a trial; returns the subscription id and the event's position.
    pub async fn start_trial(
        &self,
        account_id: &str,
        plan_id: &str,
        seat_count: u32,
    ) -> (Uuid, i64) {
        let id = Uuid::new_v4();
        let position = self
            .subscription(
                id,
                SubscriptionCommand::StartTrial {
                    subscription_id: id,
                    account_id: account(account_id),
                    plan_id: plan(plan_id),
                    seats: seats(seat_count),
                    billing_account: None,
                    overage_billing: false,
                },
            )
            .await;
        (id, position)
    }

    /// Enables `plan_id`'s entitlements for `period`.
    pub async fn enable(&self, account_id: &str, plan_id: &str, period: BillingPeriod) -> i64 {
        let command = EntitlementsCommand::EnableEntitlements {
            account_id: account(account_id),
            plan_id: plan(plan_id),
            period,
        };
        self.entitlements(account_id, command).await
    }

    pub async fn record_usage(&self, account_id: &str, key: &str, quantity: u64) -> i64 {
        let command = EntitlementsCommand::RecordUsage {
            feature: feature(key),
            quantity,
            usage_id: UsageId::parse(&Uuid::new_v4().to_string()).unwrap(),
            timestamp: None,
        };
        self.entitlements(account_id, command).await
    }

    /// Executes a dunning-case command; returns the position of its last event (`None`: it
    /// appended nothing).
    pub async fn dunning(&self, case_id: Uuid, command: DunningCommand) -> Option<i64> {
        let executed = self
            .bus
            .execute::<DunningCase>(&case_id.to_string(), command, &self.services, &context())
            .await
            .expect("the dunning command is accepted");
        executed.record.position
    }

    /// Opens a dunning case for `invoice_id`, as the Dunning process manager does after a
    /// failed payment; returns the case id and the position of its last event.
    pub async fn start_dunning(
        &self,
        account_id: &str,
        subscription_id: Option<Uuid>,
        invoice_id: Uuid,
        amount: i64,
        hard_decline: bool,
    ) -> (Uuid, i64) {
        let id = Uuid::new_v4();
        let command = DunningCommand::StartDunning {
            case_id: id,
            account_id: account(account_id),
            subscription_id,
            invoice_id,
            amount_due: money(amount, "usd"),
            failure_reason: "Your card was declined.".into(),
            failure_code: if hard_decline {
                "lost_card"
            } else {
                "card_declined"
            }
            .into(),
            hard_decline,
        };
        let position = self.dunning(id, command).await.expect("started");
        (id, position)
    }

    /// Appends an event no projector can decode, as a defect or a bad migration would leave.
    pub async fn append_poison(&self) -> i64 {
        let poison = NewEvent {
            event_type: "TrialStarted".into(),
            event_version: "1.0".into(),
            payload: serde_json::json!({"TrialStarted": {"poison": true}}),
            metadata: metadata(),
        };
        self.append_raw("subscription", &Uuid::new_v4().to_string(), vec![poison])
            .await
    }

    /// Appends `events` to a new stream without asking its aggregate: what a log written
    /// before a rule existed holds. Returns the position of the last one.
    pub async fn append_unchecked<E: DomainEvent>(
        &self,
        aggregate_type: &str,
        aggregate_id: &str,
        events: Vec<E>,
    ) -> i64 {
        let events = events
            .into_iter()
            .map(|event| NewEvent {
                event_type: event.event_type(),
                event_version: event.event_version(),
                payload: serde_json::to_value(&event).unwrap(),
                metadata: metadata(),
            })
            .collect();
        self.append_raw(aggregate_type, aggregate_id, events).await
    }

    async fn append_raw(
        &self,
        aggregate_type: &str,
        aggregate_id: &str,
        events: Vec<NewEvent>,
    ) -> i64 {
        let append = Append {
            aggregate_type: aggregate_type.into(),
            aggregate_id: aggregate_id.into(),
            expected_version: 0,
            events,
            snapshot: None,
            command: None,
            claims: Default::default(),
        };
        let record = self.store.append(append).await.expect("append");
        record.position.expect("appended")
    }

    /// Executes `command` when the domain accepts it: the position of its last event, `None`
    /// when it was refused or appended nothing.
    pub async fn try_execute<A>(&self, id: &str, command: A::Command) -> Option<i64>
    where
        A: UniqueClaim + Aggregate<Services = BillingServices>,
        A::Command: Clone + serde::Serialize,
    {
        match self
            .bus
            .execute::<A>(id, command, &self.services, &context())
            .await
        {
            Ok(executed) => executed.record.position,
            Err(DispatchError::Rejected(_) | DispatchError::ClaimTaken(_)) => None,
            Err(other) => panic!("not a refusal: {other}"),
        }
    }
}

/// `count` accounts with something in every read model this log can feed: a trial with extra
/// seats, enabled entitlements with usage, and an invoice, every other one paid. Returns the
/// position of the last event.
pub async fn busy_accounts(h: &Harness, prefix: &str, count: usize) -> i64 {
    let mut last = 0;
    for n in 0..count {
        let acct = format!("{prefix}_{n}");
        let plan_id = ["starter", "pro"][n % 2];
        let (id, _) = h.start_trial(&acct, plan_id, 1).await;
        h.enable(&acct, plan_id, trial_period(14)).await;
        h.subscription(id, SubscriptionCommand::AddSeats { count: seats(2) })
            .await;
        h.record_usage(&acct, "projects", n as u64 + 1).await;
        let (invoice, issued) = h.issue(&acct, Some(id), "USD", &[1000, 250]).await;
        last = issued;
        if n % 2 == 0 {
            let payment = InvoiceCommand::RecordPayment {
                amount: money(1250, "USD"),
                payment_ref: format!("pay_{acct}"),
            };
            last = h.invoice(invoice, payment).await.expect("paid");
        }
    }
    last
}

/// The runtime of every read model, once it has applied `last`.
pub async fn caught_up(h: &Harness, last: i64) -> Projections {
    let projections = h.start(options(7));
    projections.wait_for(last, PATIENCE).await.unwrap();
    projections
}

/// The read model named `name` among those `projections` runs.
pub fn read_model(projections: &Projections, name: &str) -> ReadModelProjector {
    projections
        .read_models()
        .iter()
        .find(|model| model.name() == name)
        .unwrap_or_else(|| panic!("{name} is a read model"))
        .clone()
}

/// Runs `sql` on the live database as an operator (or a defect) would, outside any projector.
pub async fn tamper(store: &Store, sql: &str) {
    let mut tx = infrastructure::portable::Tx::begin(store).await.unwrap();
    let changed = infrastructure::portable::query(sql)
        .execute(&mut tx)
        .await
        .unwrap();
    assert_eq!(changed, 1, "`{sql}` changes one row");
    tx.commit().await.unwrap();
}

pub fn money(amount: i64, currency: &str) -> Money {
    Money::new(amount, Currency::parse(currency).unwrap())
}

/// A trial period from `t0()`: what the policy enables entitlements for at trial start.
pub fn trial_period(days: i64) -> BillingPeriod {
    BillingPeriod {
        start: t0(),
        end: t0() + chrono::Duration::days(days),
    }
}

fn context() -> CommandContext {
    CommandContext {
        actor: "test".into(),
        correlation_id: "test".into(),
        causation_id: "test".into(),
        idempotency_key: None,
        key: None,
    }
}

fn metadata() -> EventMetadata {
    EventMetadata {
        event_id: Uuid::new_v4(),
        recorded_at: t0(),
        actor: "test".into(),
        command: "Test".into(),
        correlation_id: "test".into(),
        causation_id: "test".into(),
        idempotency_key: None,
    }
}

/// The whole log, in order, once `count` events are readable. On Postgres a reader sees an
/// event only once every transaction older than it has ended, in any database of the server
/// (other tests' included): a test that depends on how the log splits into batches waits here.
pub async fn readable_log(store: &Store, count: usize) -> Vec<(LogCursor, StoredEvent)> {
    let read = async {
        loop {
            let log = whole_log(store).await;
            if log.len() >= count {
                return log;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(PATIENCE, read)
        .await
        .expect("the log becomes readable")
}

/// Waits until the event at `position` is readable (see [`readable_log`]).
pub async fn readable_through(store: &Store, position: i64) {
    let read = async {
        while !whole_log(store)
            .await
            .iter()
            .any(|(at, _)| at.position == position)
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(PATIENCE, read)
        .await
        .expect("the event becomes readable")
}

async fn whole_log(store: &Store) -> Vec<(LogCursor, StoredEvent)> {
    let mut events = Vec::new();
    let mut cursor = LogCursor::default();
    loop {
        let batch = store.read_after(cursor, 1000).await.expect("read the log");
        let Some((last, _)) = batch.last() else {
            return events;
        };
        cursor = *last;
        events.extend(batch);
    }
}

/// Appends the first `count` events of `from`'s log to `to`, in the same order.
pub async fn copy_log(from: &Store, to: &Store, count: usize) {
    for (_, event) in readable_log(from, count).await {
        let append = Append {
            aggregate_type: event.aggregate_type,
            aggregate_id: event.aggregate_id,
            expected_version: event.sequence - 1,
            events: vec![NewEvent {
                event_type: event.event_type,
                event_version: event.event_version,
                payload: event.payload,
                metadata: event.metadata,
            }],
            snapshot: None,
            command: None,
            claims: Default::default(),
        };
        to.append(append).await.expect("copy an event");
    }
}
