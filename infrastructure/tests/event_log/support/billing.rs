//! Billing fixtures for the command-bus tests: the shipped catalog, a clock fixed at the start of
//! March 2026, and the Subscription commands the tests send.

use std::path::Path;
use std::sync::{Arc, LazyLock};

use application::claims::UniqueClaim;
use application::event_log::{CommandKey, EventLog};
use application::{CommandBus, CommandContext, DispatchError, Executed};
use chrono::{DateTime, Utc};
use domain::dunning::DunningPolicy;
use domain::subscription::{BillingAccount, Subscription, SubscriptionCommand};
use domain::{
    AccountId, BillingServices, DomainError, Email, ManualClock, PaymentMethodToken, PlanId,
    SeatCount,
};
use serde::Serialize;

pub type Dispatched = Result<Executed, DispatchError<DomainError>>;

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-01T00:00:00Z")
        .expect("a valid instant")
        .to_utc()
}

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::starting_at(t0()))
}

/// The services every command is handled with: the catalog as shipped in `config/plans.toml`.
pub static SERVICES: LazyLock<BillingServices> = LazyLock::new(|| {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/plans.toml");
    let catalog = infrastructure::load_catalog(&path).expect("the shipped catalog loads");
    BillingServices::new(clock(), Arc::new(catalog), DunningPolicy::default())
});

/// A command bus with the default snapshot interval and retry budget.
pub fn bus<L: EventLog>(log: Arc<L>) -> CommandBus<L> {
    CommandBus::new(log, clock())
}

/// Sends `command` to aggregate `A` with id `aggregate_id`, once per `key` when there is one.
pub async fn send<A, L>(
    bus: &CommandBus<L>,
    aggregate_id: &str,
    command: A::Command,
    key: Option<CommandKey>,
) -> Dispatched
where
    A: UniqueClaim<Services = BillingServices, Error = DomainError>,
    A::Command: Clone + Serialize,
    L: EventLog,
{
    let context = CommandContext {
        actor: "api_key:key_test".into(),
        correlation_id: "corr-test".into(),
        causation_id: "req-test".into(),
        idempotency_key: key.as_ref().map(|k| k.command_id.clone()),
        key,
    };
    bus.execute::<A>(aggregate_id, command, &SERVICES, &context)
        .await
}

/// The command's id with a fingerprint of its content, as the API derives one.
pub fn keyed<C: Serialize>(command_id: &str, command: &C) -> CommandKey {
    CommandKey {
        command_id: command_id.to_owned(),
        fingerprint: serde_json::to_string(command).expect("a command serialises"),
    }
}

/// A new subscription id, as the aggregate id and as the `StartTrial` field.
pub fn new_subscription() -> (String, uuid::Uuid) {
    let id = uuid::Uuid::new_v4();
    (id.to_string(), id)
}

/// A Pro trial (20 seats included) with overage billing and a billing account, so that seats
/// can grow without limit and the subscription can be activated. Each subscription gets an
/// account of its own (an account holds one open subscription at a time).
pub fn start_trial(subscription_id: uuid::Uuid, seats: u32) -> SubscriptionCommand {
    SubscriptionCommand::StartTrial {
        subscription_id,
        account_id: AccountId::parse(&format!("acct_{}", subscription_id.simple()))
            .expect("a valid account id"),
        plan_id: PlanId::parse("pro").expect("a valid plan id"),
        seats: seat_count(seats),
        billing_account: Some(BillingAccount {
            email: Email::parse("billing@example.com").expect("a valid email"),
            payment_method: PaymentMethodToken::parse("pm_card_visa").expect("a valid token"),
        }),
        overage_billing: true,
    }
}

pub fn add_seats(count: u32) -> SubscriptionCommand {
    SubscriptionCommand::AddSeats {
        count: seat_count(count),
    }
}

pub fn remove_seats(count: u32) -> SubscriptionCommand {
    SubscriptionCommand::RemoveSeats {
        count: seat_count(count),
    }
}

fn seat_count(n: u32) -> SeatCount {
    SeatCount::parse(n).expect("a valid seat count")
}

/// Starts a trial of `seats` seats through `bus` and returns the subscription's id.
pub async fn trial<L: EventLog>(bus: &CommandBus<L>, seats: u32) -> String {
    let (id, uuid) = new_subscription();
    send::<Subscription, _>(bus, &id, start_trial(uuid, seats), None)
        .await
        .expect("the trial starts");
    id
}

/// The subscription's seats as the bus loads it.
pub async fn seats<L: EventLog>(bus: &CommandBus<L>, id: &str) -> u32 {
    bus.load::<Subscription>(id)
        .await
        .expect("the subscription loads")
        .aggregate
        .seats()
        .expect("the subscription exists")
        .get()
}
