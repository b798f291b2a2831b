//! Runs the Dunning process manager on the global log. Listens to invoice, subscription and
//! dunning-case events; keeps no state besides its checkpoint (an account's open case is found
//! through the claim it holds); writes commands and timers, both idempotent by their causes.
//!
//! - PaymentFailed → StartDunning (case id: UUID v5 of the event id); when the account already
//!   has an open case, the failure is recorded on it instead (and a hard decline escalates it);
//! - DisputeOpened → as a hard decline with code `dispute`: a case opened escalated, or the
//!   open case escalated;
//! - InvoicePaid of the open case's invoice → Recover;
//! - BillingAccountAttached with `retry_open_invoice` → a retry timer due at once;
//! - SubscriptionCancelled of the open case's subscription → CloseCase (`subscription_cancelled`);
//! - the case's own events → [`case_events::react`].

use std::sync::Arc;

use application::claims::open_dunning_case_claim;
use application::event_log::{EventLog, StoredEvent};
use application::scheduler::Scheduler;
use application::{ClaimIndex, CommandBus, DispatchError, EventLogError};
use application::{Policy, ReactionError};
use chrono::{DateTime, Utc};
use cqrs_es::Aggregate;
use domain::dunning::{CaseClosure, DunningCase, DunningCommand};
use domain::entitlements::Entitlements;
use domain::invoice::{Invoice, InvoiceEvent};
use domain::subscription::{Subscription, SubscriptionEvent};
use domain::{AccountId, BillingServices, DomainError};
use uuid::Uuid;

use super::case_events;
use super::orders::{reaction, Order};
use super::{timers, POLICY};
use crate::dispatch::{decode, execute, execute_claiming};

/// The process manager on the ports: the event log `L` (whose claim index finds an account's
/// open case) and the scheduler `S`.
pub struct DunningWorker<L, S> {
    bus: Arc<CommandBus<L>>,
    services: BillingServices,
    claims: Arc<L>,
    timers: Arc<S>,
}

impl<L: EventLog + ClaimIndex, S: Scheduler> DunningWorker<L, S> {
    pub fn new(
        bus: Arc<CommandBus<L>>,
        services: BillingServices,
        claims: Arc<L>,
        timers: Arc<S>,
    ) -> Self {
        Self {
            bus,
            services,
            claims,
            timers,
        }
    }

    async fn on_invoice(&self, cause: &StoredEvent) -> Result<(), ReactionError> {
        let event_id = cause.metadata.event_id;
        let (paid, failure) = match decode::<Invoice, _>(&self.bus, cause)? {
            InvoiceEvent::InvoicePaid { .. } => (true, None),
            InvoiceEvent::PaymentFailed {
                reason,
                decline_code,
                hard_decline,
                amount_due,
                ..
            } => (
                false,
                Some((reason, decline_code, hard_decline, amount_due)),
            ),
            InvoiceEvent::DisputeOpened {
                dispute_id, amount, ..
            } => {
                // A chargeback: support must look at it now. It opens the account's case
                // escalated, as a hard decline does, or escalates the open one.
                let failure = (
                    format!("the payment is disputed ({dispute_id})"),
                    "dispute".to_owned(),
                    true,
                    amount,
                );
                (false, Some(failure))
            }
            _ => return Ok(()),
        };
        let invoice = self.load::<Invoice>(cause, &cause.aggregate_id).await?;
        let (Some(account_id), Some(invoice_id)) = (invoice.account_id(), invoice.invoice_id())
        else {
            return Ok(());
        };
        if paid {
            if let Some((case_id, case)) = self.open_case(cause, account_id).await? {
                if case.invoice_id() == Some(invoice_id) {
                    let recover = reaction("recover", event_id, case_id, DunningCommand::Recover);
                    self.send(cause, Order::Dunning(recover)).await?;
                }
            }
            return Ok(());
        }
        let Some((failure_reason, failure_code, hard_decline, amount_due)) = failure else {
            return Ok(());
        };
        let case_id = Uuid::new_v5(&Uuid::NAMESPACE_OID, event_id.as_bytes());
        let start = reaction(
            "start",
            event_id,
            case_id.to_string(),
            DunningCommand::StartDunning {
                case_id,
                account_id: account_id.clone(),
                subscription_id: invoice.subscription_id(),
                invoice_id,
                amount_due,
                failure_reason: failure_reason.clone(),
                failure_code: failure_code.clone(),
                hard_decline,
            },
        );
        let step = format!("{POLICY}.start");
        let started =
            execute_claiming::<DunningCase, _>(&self.bus, &self.services, &step, cause, start)
                .await?;
        if started.is_none() {
            return Ok(());
        }
        // The account is in dunning already: the failure is one more attempt of its open case.
        let Some((open_id, _)) = self.open_case(cause, account_id).await? else {
            return Err(EventLogError::Storage(
                "the account's open case closed meanwhile; retrying".into(),
            )
            .into());
        };
        let outcome = DunningCommand::RecordRetryOutcome {
            succeeded: false,
            failure_reason: Some(failure_reason),
        };
        let record = reaction("record_failure", event_id, open_id.clone(), outcome);
        self.send(cause, Order::Dunning(record)).await?;
        if hard_decline {
            let escalate = DunningCommand::Escalate {
                reason: format!("hard_decline: {failure_code}"),
            };
            let escalate = reaction("escalate", event_id, open_id, escalate);
            self.send(cause, Order::Dunning(escalate)).await?;
        }
        Ok(())
    }

    async fn on_subscription(&self, cause: &StoredEvent) -> Result<(), ReactionError> {
        match decode::<Subscription, _>(&self.bus, cause)? {
            SubscriptionEvent::BillingAccountAttached {
                account_id,
                retry_open_invoice: true,
                at,
                ..
            } => self.retry_now(cause, &account_id, at).await,
            SubscriptionEvent::SubscriptionCancelled { account_id, .. } => {
                self.close_for_cancellation(cause, &account_id).await
            }
            _ => Ok(()),
        }
    }

    /// A new payment method: the open case's invoice is retried at once.
    async fn retry_now(
        &self,
        cause: &StoredEvent,
        account_id: &AccountId,
        at: DateTime<Utc>,
    ) -> Result<(), ReactionError> {
        if let Some((case_id, case)) = self.open_case(cause, account_id).await? {
            let Some(id) = case.case_id() else {
                return Ok(());
            };
            tracing::debug!(case_id, "a new payment method: retrying the case's invoice");
            let timer = timers::immediate_retry(id, cause.metadata.event_id, at);
            self.timers
                .schedule(timer)
                .await
                .map_err(|error| ReactionError::scheduling(cause, error))?;
        }
        Ok(())
    }

    /// The subscription of the account's open case was cancelled: the case closes, so nothing
    /// is suspended, cancelled or told to the customer on its behalf any more. (A cancellation
    /// the case itself caused finds it already closed.)
    async fn close_for_cancellation(
        &self,
        cause: &StoredEvent,
        account_id: &AccountId,
    ) -> Result<(), ReactionError> {
        let Some((case_id, case)) = self.open_case(cause, account_id).await? else {
            return Ok(());
        };
        if case.subscription_id().map(|id| id.to_string()).as_deref()
            != Some(cause.aggregate_id.as_str())
        {
            return Ok(());
        }
        let close = DunningCommand::CloseCase {
            reason: CaseClosure::SubscriptionCancelled,
        };
        let close = reaction("close_case", cause.metadata.event_id, case_id, close);
        self.send(cause, Order::Dunning(close)).await
    }

    async fn on_case(&self, cause: &StoredEvent) -> Result<(), ReactionError> {
        let event = decode::<DunningCase, _>(&self.bus, cause)?;
        let case = self.load::<DunningCase>(cause, &cause.aggregate_id).await?;
        let response = case_events::react(cause.metadata.event_id, &case, &event);
        for order in response.orders {
            self.send(cause, order).await?;
        }
        for timer in response.timers {
            self.timers
                .schedule(timer)
                .await
                .map_err(|error| ReactionError::scheduling(cause, error))?;
        }
        if response.withdraw_timers {
            self.timers
                .cancel(&cause.aggregate_id)
                .await
                .map_err(|error| ReactionError::scheduling(cause, error))?;
        }
        Ok(())
    }

    async fn send(&self, cause: &StoredEvent, order: Order) -> Result<(), ReactionError> {
        let (bus, services) = (&self.bus, &self.services);
        let step = order.step().to_owned();
        match order {
            Order::Subscription(r) => {
                execute::<Subscription, _>(bus, services, &step, cause, r).await
            }
            Order::Entitlements(r) => {
                execute::<Entitlements, _>(bus, services, &step, cause, r).await
            }
            Order::Invoice(r) => execute::<Invoice, _>(bus, services, &step, cause, r).await,
            Order::Dunning(r) => execute::<DunningCase, _>(bus, services, &step, cause, r).await,
        }
    }

    /// The account's open case and its id, found through the claim it holds.
    async fn open_case(
        &self,
        cause: &StoredEvent,
        account_id: &AccountId,
    ) -> Result<Option<(String, DunningCase)>, ReactionError> {
        let claim = open_dunning_case_claim(account_id.as_str());
        let Some(case_id) = self.claims.claim_holder(&claim).await? else {
            return Ok(None);
        };
        let case = self.load::<DunningCase>(cause, &case_id).await?;
        Ok(case.is_open().then_some((case_id, case)))
    }

    async fn load<A: Aggregate<Error = DomainError>>(
        &self,
        cause: &StoredEvent,
        id: &str,
    ) -> Result<A, ReactionError> {
        match self.bus.load::<A>(id).await {
            Ok(loaded) => Ok(loaded.aggregate),
            Err(DispatchError::Storage(error)) => Err(error.into()),
            Err(other) => Err(ReactionError::at(
                cause,
                format!("{} {id} does not load: {other}", A::TYPE),
            )),
        }
    }
}

impl<L: EventLog + ClaimIndex, S: Scheduler> Policy for DunningWorker<L, S> {
    fn name(&self) -> &'static str {
        POLICY
    }

    fn listens_to(&self) -> &'static [&'static str] {
        &[Invoice::TYPE, Subscription::TYPE, DunningCase::TYPE]
    }

    async fn react(&self, events: &[StoredEvent]) -> Result<(), ReactionError> {
        for cause in events {
            match cause.aggregate_type.as_str() {
                Invoice::TYPE => self.on_invoice(cause).await?,
                Subscription::TYPE => self.on_subscription(cause).await?,
                DunningCase::TYPE => self.on_case(cause).await?,
                _ => {}
            }
        }
        Ok(())
    }
}
