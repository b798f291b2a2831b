//! Use case: collect an invoice through the payment gateway, exactly once per attempt, however
//! often it runs and wherever it stops.
//!
//! 1. `AttemptPayment` with the payment method of the invoice's subscription records
//!    `PaymentAttempted` and its `payment_ref`; nothing is charged yet.
//! 2. The gateway charges with `payment_ref` as its idempotency key.
//! 3. `RecordPayment` or `RecordPaymentFailure` records the outcome under the command id
//!    `payment_outcome:<payment_ref>`.
//!
//! A crash after 1 leaves the attempt in flight (the invoice refuses a new one): the next run
//! resumes it with the same `payment_ref`, and the gateway answers with the first outcome instead
//! of charging again. A crash after 3 is a replay: every step answers as the first time. The
//! HTTP route and the dunning retries both call [`attempt_payment`].

use cqrs_es::Aggregate;
use domain::invoice::{Invoice, InvoiceCommand, InvoiceEvent, InvoiceRule};
use domain::subscription::Subscription;
use domain::{BillingServices, DomainError, Money, PaymentMethodToken, RuleViolation};
use uuid::Uuid;

use crate::event_log::{CommandKey, EventLog};
use crate::payments::{ChargeOutcome, ChargeRequest, GatewayError, PaymentGateway};
use crate::{CommandBus, CommandContext, DispatchError, Executed};

/// How a payment attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptOutcome {
    pub payment_ref: String,
    pub attempt: u32,
    pub charge: ChargeOutcome,
    /// The command that recorded the outcome: its record carries the invoice's version and the
    /// position to read the outcome at.
    pub recorded: Executed,
    /// True when `AttemptPayment` had already executed under the context's command id.
    pub replayed: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum AttemptPaymentError {
    /// The invoice refused a command, or the store failed.
    #[error(transparent)]
    Dispatch(#[from] DispatchError<DomainError>),
    /// Nothing to charge: the invoice has no subscription, or its subscription no billing
    /// account (a rule violation: attach one first).
    #[error("{0}")]
    NoPaymentMethod(String),
    /// The outcome is unknown; the attempt stays in flight and the next run resumes it.
    #[error(transparent)]
    Gateway(#[from] GatewayError),
}

/// The attempt the gateway charges: what `PaymentAttempted` recorded.
struct Charge {
    attempt: u32,
    payment_ref: String,
    amount: Money,
    payment_method: PaymentMethodToken,
    /// The `event_id` of `PaymentAttempted`: the cause of the recorded outcome.
    event_id: Uuid,
}

/// Attempts to collect invoice `invoice_id`, or resumes the attempt in flight. `context` is the
/// caller's (its command id makes `AttemptPayment` execute once); the outcome's command id is
/// derived from the `payment_ref`.
pub async fn attempt_payment<L: EventLog>(
    bus: &CommandBus<L>,
    gateway: &dyn PaymentGateway,
    services: &BillingServices,
    invoice_id: Uuid,
    context: &CommandContext,
) -> Result<AttemptOutcome, AttemptPaymentError> {
    let id = invoice_id.to_string();
    let invoice = bus.load::<Invoice>(&id).await?.aggregate;
    if !invoice.exists() {
        return Err(DispatchError::Rejected(DomainError::NotFound {
            aggregate: Invoice::TYPE,
        })
        .into());
    }
    let (charge, replayed) = match invoice.attempt_in_flight() {
        Some(in_flight) => (find_attempt(bus, &id, &in_flight.payment_ref).await?, false),
        None => {
            let payment_method = payment_method(bus, &invoice).await?;
            let command = InvoiceCommand::AttemptPayment { payment_method };
            match bus
                .execute::<Invoice>(&id, command, services, context)
                .await
            {
                Ok(executed) => (attempt_at(bus, &id, &executed).await?, executed.replayed),
                // Another caller started one between our load and our command: resume it.
                Err(DispatchError::Rejected(DomainError::Rule(RuleViolation::Invoice(
                    InvoiceRule::PaymentInFlight { payment_ref },
                )))) => (find_attempt(bus, &id, &payment_ref).await?, false),
                Err(other) => return Err(other.into()),
            }
        }
    };
    settle_charge(bus, gateway, services, &invoice, charge, replayed, context).await
}

/// Resumes the attempt in flight on invoice `invoice_id`, if there is one, and never starts a new
/// one: for a caller that must not charge anew (a cancellation closing the invoice) but must not
/// leave a charge unrecorded either. `None` when no attempt was in flight.
pub async fn resume_attempt<L: EventLog>(
    bus: &CommandBus<L>,
    gateway: &dyn PaymentGateway,
    services: &BillingServices,
    invoice_id: Uuid,
    context: &CommandContext,
) -> Result<Option<AttemptOutcome>, AttemptPaymentError> {
    let id = invoice_id.to_string();
    let invoice = bus.load::<Invoice>(&id).await?.aggregate;
    let Some(in_flight) = invoice.attempt_in_flight() else {
        return Ok(None);
    };
    let charge = find_attempt(bus, &id, &in_flight.payment_ref).await?;
    let outcome = settle_charge(bus, gateway, services, &invoice, charge, false, context).await?;
    Ok(Some(outcome))
}

/// Charges `charge` (idempotent by its `payment_ref`) and records the outcome on `invoice`.
async fn settle_charge<L: EventLog>(
    bus: &CommandBus<L>,
    gateway: &dyn PaymentGateway,
    services: &BillingServices,
    invoice: &Invoice,
    charge: Charge,
    replayed: bool,
    context: &CommandContext,
) -> Result<AttemptOutcome, AttemptPaymentError> {
    let id = invoice
        .invoice_id()
        .ok_or_else(|| corrupt("an issued invoice has no id"))?
        .to_string();
    let account_id = invoice
        .account_id()
        .cloned()
        .ok_or_else(|| corrupt("an issued invoice has no account"))?;
    let outcome = gateway
        .charge(ChargeRequest {
            payment_ref: charge.payment_ref.clone(),
            amount: charge.amount.clone(),
            payment_method: charge.payment_method.clone(),
            account_id,
            invoice_id: invoice
                .invoice_id()
                .ok_or_else(|| corrupt("an issued invoice has no id"))?,
        })
        .await?;
    let recorded = record(bus, services, &id, &charge, &outcome, context).await?;
    Ok(AttemptOutcome {
        payment_ref: charge.payment_ref,
        attempt: charge.attempt,
        charge: outcome,
        recorded,
        replayed,
    })
}

/// The payment method on file for the invoice: its subscription's billing account's.
async fn payment_method<L: EventLog>(
    bus: &CommandBus<L>,
    invoice: &Invoice,
) -> Result<PaymentMethodToken, AttemptPaymentError> {
    let Some(subscription_id) = invoice.subscription_id() else {
        return Err(AttemptPaymentError::NoPaymentMethod(
            "the invoice belongs to no subscription, so no payment method is on file; \
             record payments made outside with record-payment"
                .into(),
        ));
    };
    let subscription = bus
        .load::<Subscription>(&subscription_id.to_string())
        .await?
        .aggregate;
    subscription
        .billing_account()
        .map(|account| account.payment_method.clone())
        .ok_or_else(|| {
            AttemptPaymentError::NoPaymentMethod(format!(
                "subscription {subscription_id} has no billing account: attach one first"
            ))
        })
}

/// The `PaymentAttempted` that `executed` appended (or appended the first time, on a replay).
async fn attempt_at<L: EventLog>(
    bus: &CommandBus<L>,
    id: &str,
    executed: &Executed,
) -> Result<Charge, AttemptPaymentError> {
    let version = executed.record.version;
    bus.read_events::<Invoice>(id, version - 1, 1)
        .await?
        .into_iter()
        .find_map(|(stored, event)| charge_of(stored.metadata.event_id, event))
        .ok_or_else(|| {
            corrupt(format!(
                "event {version} of invoice {id} is no PaymentAttempted"
            ))
        })
}

/// The `PaymentAttempted` with `payment_ref`, read from the invoice's stream (a short one).
async fn find_attempt<L: EventLog>(
    bus: &CommandBus<L>,
    id: &str,
    payment_ref: &str,
) -> Result<Charge, AttemptPaymentError> {
    const PAGE: u32 = 500;
    let mut after = 0;
    loop {
        let page = bus.read_events::<Invoice>(id, after, PAGE).await?;
        let Some((last, _)) = page.last() else {
            return Err(corrupt(format!(
                "invoice {id} has no PaymentAttempted {payment_ref}"
            )));
        };
        after = last.sequence;
        let found = page
            .into_iter()
            .filter_map(|(stored, event)| charge_of(stored.metadata.event_id, event))
            .find(|charge| charge.payment_ref == payment_ref);
        if let Some(charge) = found {
            return Ok(charge);
        }
    }
}

fn charge_of(event_id: Uuid, event: InvoiceEvent) -> Option<Charge> {
    match event {
        InvoiceEvent::PaymentAttempted {
            attempt,
            payment_ref,
            amount,
            payment_method,
            ..
        } => Some(Charge {
            attempt,
            payment_ref,
            amount,
            payment_method,
            event_id,
        }),
        _ => None,
    }
}

/// Records `outcome` once: its command id derives from the `payment_ref`.
async fn record<L: EventLog>(
    bus: &CommandBus<L>,
    services: &BillingServices,
    id: &str,
    charge: &Charge,
    outcome: &ChargeOutcome,
    context: &CommandContext,
) -> Result<Executed, AttemptPaymentError> {
    let command = match outcome {
        ChargeOutcome::Succeeded { .. } => InvoiceCommand::RecordPayment {
            amount: charge.amount.clone(),
            payment_ref: charge.payment_ref.clone(),
        },
        ChargeOutcome::Declined {
            code,
            reason,
            hard_decline,
        } => InvoiceCommand::RecordPaymentFailure {
            reason: reason.clone(),
            code: code.clone(),
            payment_ref: Some(charge.payment_ref.clone()),
            hard_decline: *hard_decline,
        },
    };
    let context = CommandContext {
        actor: context.actor.clone(),
        correlation_id: context.correlation_id.clone(),
        causation_id: charge.event_id.to_string(),
        idempotency_key: None,
        key: Some(CommandKey {
            command_id: format!("payment_outcome:{}", charge.payment_ref),
            // The gateway answers one ref with one outcome, so one fingerprint fits all.
            fingerprint: "payment_outcome".into(),
        }),
    };
    Ok(bus
        .execute::<Invoice>(id, command, services, &context)
        .await?)
}

fn corrupt(reason: impl Into<String>) -> AttemptPaymentError {
    AttemptPaymentError::Dispatch(DispatchError::Corrupt(reason.into()))
}
