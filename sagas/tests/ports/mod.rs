//! The in-memory ports (`application::testing`) the saga tests run on: no database, only the
//! event log, its claim index and the scheduler the sagas are written against, with a manual
//! clock, the shipped catalog and the sandbox gateway.

#![allow(dead_code)] // each test file uses a different part of this module

use std::sync::Arc;

use application::claims::UniqueClaim;
use application::event_log::StoredEvent;
use application::testing::{MemoryLog, MemoryScheduler};
use application::{CommandBus, CommandContext, DispatchError, Executed, Policy};
use chrono::{DateTime, Utc};
use domain::dunning::DunningPolicy;
use domain::subscription::{Subscription, SubscriptionCommand};
use domain::{BillingServices, ManualClock};
use infrastructure::test_stack::trial;
use infrastructure::SandboxGateway;
use sagas::{BillingPolicyWorker, DunningWorker};
use uuid::Uuid;

pub const ACCOUNT: &str = "acct_memory";

pub fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-01T00:00:00Z")
        .unwrap()
        .to_utc()
}

/// The ports, a clock, the shipped catalog and the sandbox gateway.
pub struct Ports {
    pub log: Arc<MemoryLog>,
    pub scheduler: Arc<MemoryScheduler>,
    pub clock: Arc<ManualClock>,
    pub services: BillingServices,
    pub bus: Arc<CommandBus<MemoryLog>>,
    pub gateway: Arc<SandboxGateway>,
}

impl Ports {
    pub fn new() -> Self {
        let log = Arc::new(MemoryLog::default());
        let clock = Arc::new(ManualClock::starting_at(t0()));
        let catalog_path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/plans.toml");
        let catalog = Arc::new(infrastructure::load_catalog(&catalog_path).expect("catalog"));
        Ports {
            bus: Arc::new(CommandBus::new(log.clone(), clock.clone())),
            services: BillingServices::new(clock.clone(), catalog, DunningPolicy::default()),
            scheduler: Arc::default(),
            gateway: Arc::default(),
            clock,
            log,
        }
    }

    pub fn billing(&self) -> BillingPolicyWorker<MemoryLog> {
        let gateway = self.gateway.clone();
        BillingPolicyWorker::new(
            self.bus.clone(),
            self.log.clone(),
            self.services.clone(),
            gateway,
        )
    }

    pub fn dunning(&self) -> DunningWorker<MemoryLog, MemoryScheduler> {
        let (bus, services) = (self.bus.clone(), self.services.clone());
        DunningWorker::new(bus, services, self.log.clone(), self.scheduler.clone())
    }

    pub async fn subscription(&self, id: Uuid, command: SubscriptionCommand) {
        self.execute::<Subscription>(&id.to_string(), command).await;
    }

    pub async fn execute<A>(&self, id: &str, command: A::Command)
    where
        A: UniqueClaim<Services = BillingServices>,
        A::Command: Clone + serde::Serialize,
        A::Error: std::fmt::Debug,
    {
        self.try_execute::<A>(id, command)
            .await
            .expect("the command executes");
    }

    /// Executes `command`, as a client would: the domain may refuse it.
    pub async fn try_execute<A>(
        &self,
        id: &str,
        command: A::Command,
    ) -> Result<Executed, DispatchError<A::Error>>
    where
        A: UniqueClaim<Services = BillingServices>,
        A::Command: Clone + serde::Serialize,
    {
        let context = CommandContext {
            actor: "test".into(),
            correlation_id: "c".into(),
            causation_id: "c".into(),
            idempotency_key: None,
            key: None,
        };
        self.bus
            .execute::<A>(id, command, &self.services, &context)
            .await
    }

    /// A subscription of `ACCOUNT` to starter, paying with `card`, activated at once.
    pub async fn activated(&self, card: &str) -> Uuid {
        let id = Uuid::new_v4();
        self.subscription(id, trial(id, ACCOUNT, "starter", Some(card)))
            .await;
        self.subscription(id, SubscriptionCommand::ActivateSubscription)
            .await;
        id
    }

    /// Reacts with `policy` to the events of `log` it listens to, as the runtime hands them.
    pub async fn react<P: Policy>(policy: &P, log: &[StoredEvent]) {
        let heard: Vec<StoredEvent> = log
            .iter()
            .filter(|event| policy.listens_to().contains(&event.aggregate_type.as_str()))
            .cloned()
            .collect();
        policy.react(&heard).await.expect("the policy reacts");
    }

    /// Billing and dunning react to the whole log until it stops growing; its length then.
    pub async fn settle(&self, billing: &impl Policy, dunning: &impl Policy) -> usize {
        loop {
            let before = self.log.events();
            Self::react(billing, &before).await;
            Self::react(dunning, &before).await;
            if self.log.events().len() == before.len() {
                return before.len();
            }
        }
    }

    pub async fn load<A: cqrs_es::Aggregate<Error = domain::DomainError>>(&self, id: &str) -> A {
        self.bus.load::<A>(id).await.unwrap().aggregate
    }
}
