//! A retry timer firing: collect the case's invoice through the payment gateway, under the
//! timer's command id (so the attempt is made once) and with the gateway's idempotency by
//! `payment_ref` (so a crash mid-charge never charges twice). The outcome reaches the case as
//! events: PaymentFailed is recorded on the open case, InvoicePaid recovers it.

use application::event_log::EventLog;
use application::scheduler::Timer;
use application::{
    attempt_payment, AttemptPaymentError, CommandBus, CommandContext, DispatchError, PaymentGateway,
};
use cqrs_es::Aggregate;
use domain::dunning::{DunningCase, DunningRule};
use domain::{BillingServices, DomainError};

/// Attempts the payment of `timer`'s case's invoice. A closed case, or an invoice with nothing
/// to collect, answers a refusal: the timer has nothing left to do.
pub async fn fire<L: EventLog>(
    bus: &CommandBus<L>,
    gateway: &dyn PaymentGateway,
    services: &BillingServices,
    timer: &Timer,
    context: &CommandContext,
) -> Result<(), DispatchError<DomainError>> {
    let case = bus
        .load::<DunningCase>(&timer.aggregate_id)
        .await?
        .aggregate;
    let (Some(invoice_id), Some(status)) = (case.invoice_id(), case.status()) else {
        return Err(DispatchError::Rejected(DomainError::NotFound {
            aggregate: DunningCase::TYPE,
        }));
    };
    if !case.is_open() {
        return Err(DispatchError::Rejected(
            DunningRule::CaseClosed { status }.into(),
        ));
    }
    match attempt_payment(bus, gateway, services, invoice_id, context).await {
        Ok(outcome) => {
            tracing::info!(
                timer = timer.dedupe_key,
                payment_ref = outcome.payment_ref,
                charge = ?outcome.charge,
                "dunning retry attempted"
            );
            Ok(())
        }
        Err(AttemptPaymentError::Dispatch(error)) => Err(error),
        Err(AttemptPaymentError::NoPaymentMethod(reason)) => Err(DispatchError::Rejected(
            DomainError::invalid("payment_method", reason),
        )),
        // The charge's outcome is unknown: fire again later, which resumes the same attempt.
        Err(AttemptPaymentError::Gateway(error)) => Err(DispatchError::Storage(
            application::EventLogError::Storage(error.to_string()),
        )),
    }
}
