//! Runs the billing policy on the global log: listens to subscription and invoice events, keeps
//! no state besides its checkpoint, issues and closes invoices, pays the ones it issued from the
//! account's credit balance, charges the rest and refunds overpayments.

use std::sync::Arc;

use application::attempt_payment::{attempt_payment, resume_attempt, AttemptPaymentError};
use application::balance_payment::pay_from_balance;
use application::claims::open_invoices_claim_prefix;
use application::event_log::{EventLog, StoredEvent};
use application::payments::{GatewayError, PaymentGateway};
use application::refund_overpayment::{refund_overpayment, RefundOverpaymentError};
use application::{bill_usage, ClaimIndex, CommandBus, EventLogError};
use application::{Policy, ReactionError};
use cqrs_es::Aggregate;
use domain::customer_balance::CustomerBalance;
use domain::invoice::{Invoice, InvoiceLine};
use domain::subscription::{Subscription, SubscriptionEvent};
use domain::BillingServices;
use uuid::Uuid;

use crate::billing_policy::{
    close, closing_for, collection_for, credit_note_credit_for, downgrade_credit_for, invoice_for,
    invoice_id, overpayment_to_refund, usage_bill_command_id, usage_bill_for, POLICY,
};
use crate::dispatch::{context, decode, execute, settle};

/// The billing policy on the ports: the event log `L`, whose claim index finds open invoices.
pub struct BillingPolicyWorker<L> {
    bus: Arc<CommandBus<L>>,
    claims: Arc<L>,
    services: BillingServices,
    gateway: Arc<dyn PaymentGateway>,
}

impl<L: EventLog + ClaimIndex> BillingPolicyWorker<L> {
    pub fn new(
        bus: Arc<CommandBus<L>>,
        claims: Arc<L>,
        services: BillingServices,
        gateway: Arc<dyn PaymentGateway>,
    ) -> Self {
        Self {
            bus,
            claims,
            services,
            gateway,
        }
    }

    async fn on_subscription(&self, cause: &StoredEvent) -> Result<(), ReactionError> {
        let event = decode::<Subscription, _>(&self.bus, cause)?;
        let event_id = cause.metadata.event_id;
        let subscription_id = Uuid::parse_str(&cause.aggregate_id)
            .map_err(|error| ReactionError::at(cause, error.to_string()))?;
        // A cancellation closes the open invoices before its final invoice is issued, and a
        // retried one leaves that final invoice alone.
        if let Some(closing) = closing_for(&event) {
            let open = self.open_invoices(cause, subscription_id).await?;
            for open_id in open.into_iter().filter(|id| *id != invoice_id(event_id)) {
                // A charge in flight is settled first: the invoice cannot close before it.
                self.resume_in_flight(cause, open_id).await?;
                let reaction = close(event_id, open_id, closing.clone());
                execute::<Invoice, _>(&self.bus, &self.services, POLICY, cause, reaction).await?;
            }
        }
        let usage = self.usage_lines(cause, &event).await?;
        if let Some(reaction) = invoice_for(event_id, subscription_id, &event, usage) {
            execute::<Invoice, _>(&self.bus, &self.services, POLICY, cause, reaction).await?;
        }
        if let Some(reaction) = downgrade_credit_for(event_id, subscription_id, &event) {
            let services = &self.services;
            execute::<CustomerBalance, _>(&self.bus, services, POLICY, cause, reaction).await?;
        }
        Ok(())
    }

    /// The usage lines the invoice `event` calls for carries: billed once on the account's
    /// entitlements, and read back from them on a retry. A bill the domain refuses (a plan gone
    /// from the catalog) is logged, and the invoice goes out without usage.
    async fn usage_lines(
        &self,
        cause: &StoredEvent,
        event: &SubscriptionEvent,
    ) -> Result<Vec<InvoiceLine>, ReactionError> {
        let event_id = cause.metadata.event_id;
        let Some(bill) = usage_bill_for(event_id, event, &self.services.catalog) else {
            return Ok(Vec::new());
        };
        let command_id = usage_bill_command_id(event_id);
        let context = context(POLICY, cause, &command_id);
        match bill_usage(&self.bus, &self.services, bill, &context).await {
            Ok(lines) => Ok(lines),
            outcome => settle(POLICY, cause, &command_id, outcome).map(|()| Vec::new()),
        }
    }

    /// The open invoices of the subscription of `cause`, manual ones included, from the claims
    /// they hold while open: committed with the invoices' own events, so no read model lagging
    /// behind the log can hide one.
    async fn open_invoices(
        &self,
        cause: &StoredEvent,
        subscription_id: Uuid,
    ) -> Result<Vec<Uuid>, ReactionError> {
        let prefix = open_invoices_claim_prefix(subscription_id);
        self.claims
            .claim_holders_under(&prefix)
            .await?
            .iter()
            .map(|id| {
                Uuid::parse_str(id).map_err(|error| ReactionError::at(cause, error.to_string()))
            })
            .collect()
    }

    async fn on_invoice(&self, cause: &StoredEvent) -> Result<(), ReactionError> {
        let event = decode::<Invoice, _>(&self.bus, cause)?;
        let event_id = cause.metadata.event_id;
        if let Some(payment_ref) = overpayment_to_refund(&event) {
            return self.refund(cause, payment_ref).await;
        }
        let invoice_id = Uuid::parse_str(&cause.aggregate_id)
            .map_err(|error| ReactionError::at(cause, error.to_string()))?;
        if let Some(reaction) = credit_note_credit_for(event_id, invoice_id, &event) {
            let services = &self.services;
            return execute::<CustomerBalance, _>(&self.bus, services, POLICY, cause, reaction)
                .await;
        }
        let Some(collection) = collection_for(event_id, &event) else {
            return Ok(());
        };
        let context = context(POLICY, cause, &collection.command_id);
        // The balance pays first (SPEC 11.4); an invoice it covers never reaches the gateway.
        let from_balance = pay_from_balance(
            &self.bus,
            &self.services,
            &collection.account_id,
            collection.invoice_id,
            &context,
        )
        .await;
        match from_balance {
            Ok(false) => return Ok(()),
            Ok(true) => {}
            // A refusal (a balance in another currency) is logged, and the card pays it all.
            Err(error) => settle(POLICY, cause, &collection.command_id, Err::<(), _>(error))?,
        }
        let attempt = attempt_payment(
            &self.bus,
            self.gateway.as_ref(),
            &self.services,
            collection.invoice_id,
            &context,
        )
        .await;
        match attempt {
            // A decline is an outcome like a payment: the dunning saga reacts to PaymentFailed.
            Ok(_) => Ok(()),
            Err(AttemptPaymentError::Dispatch(error)) => {
                settle(POLICY, cause, &collection.command_id, Err::<(), _>(error))
            }
            Err(AttemptPaymentError::NoPaymentMethod(reason)) => {
                tracing::warn!(
                    policy = POLICY,
                    position = cause.position,
                    invoice_id = %collection.invoice_id,
                    reason,
                    "the invoice was not charged"
                );
                Ok(())
            }
            // The outcome is unknown: the batch is retried and resumes the attempt in flight.
            Err(AttemptPaymentError::Gateway(error)) => Err(retry_later(error)),
        }
    }

    /// Records the outcome of the attempt in flight on `invoice_id`, if any, without starting
    /// one.
    async fn resume_in_flight(
        &self,
        cause: &StoredEvent,
        invoice_id: Uuid,
    ) -> Result<(), ReactionError> {
        let command_id = format!("{POLICY}:{}:{invoice_id}", cause.metadata.event_id);
        let context = context(POLICY, cause, &command_id);
        let gateway = self.gateway.as_ref();
        match resume_attempt(&self.bus, gateway, &self.services, invoice_id, &context).await {
            Ok(_) => Ok(()),
            Err(AttemptPaymentError::Dispatch(error)) => {
                settle(POLICY, cause, &command_id, Err::<(), _>(error))
            }
            Err(AttemptPaymentError::NoPaymentMethod(_)) => Ok(()),
            Err(AttemptPaymentError::Gateway(error)) => Err(retry_later(error)),
        }
    }

    /// Gives back the overpayment `payment_ref` made on the invoice of `cause`.
    async fn refund(&self, cause: &StoredEvent, payment_ref: &str) -> Result<(), ReactionError> {
        let invoice_id = Uuid::parse_str(&cause.aggregate_id)
            .map_err(|error| ReactionError::at(cause, error.to_string()))?;
        let command_id = format!("{POLICY}:{}", cause.metadata.event_id);
        let context = context(POLICY, cause, &command_id);
        let refunded = refund_overpayment(
            &self.bus,
            self.gateway.as_ref(),
            &self.services,
            invoice_id,
            payment_ref,
            &context,
        )
        .await;
        match refunded {
            Ok(()) => Ok(()),
            Err(RefundOverpaymentError::Dispatch(error)) => {
                settle(POLICY, cause, &command_id, Err::<(), _>(error))
            }
            // The outcome is unknown: the batch is retried and asks again with the same key.
            Err(RefundOverpaymentError::Gateway(error)) => Err(retry_later(error)),
        }
    }
}

/// The gateway's answer was lost: the batch is retried, and asks again with the same key.
fn retry_later(error: GatewayError) -> ReactionError {
    EventLogError::Storage(error.to_string()).into()
}

impl<L: EventLog + ClaimIndex> Policy for BillingPolicyWorker<L> {
    fn name(&self) -> &'static str {
        POLICY
    }

    fn listens_to(&self) -> &'static [&'static str] {
        &[Subscription::TYPE, Invoice::TYPE]
    }

    async fn react(&self, events: &[StoredEvent]) -> Result<(), ReactionError> {
        for cause in events {
            if cause.aggregate_type == Subscription::TYPE {
                self.on_subscription(cause).await?;
            } else if cause.aggregate_type == Invoice::TYPE {
                self.on_invoice(cause).await?;
            }
        }
        Ok(())
    }
}
