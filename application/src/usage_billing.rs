//! Use case: the usage lines of a period's invoice (SPEC 11.1). A rule across two aggregates:
//! the subscription says which paid period closed and at which plan; the account's entitlements
//! know what was used in it and what earlier invoices billed. The entitlements record the bill
//! once per invoice and keep its lines, which are read back from them, so a retried reaction
//! issues the very same invoice.

use domain::entitlements::{Entitlements, EntitlementsCommand};
use domain::invoice::InvoiceLine;
use domain::{AccountId, BillingPeriod, BillingServices, DomainError, PlanId};
use uuid::Uuid;

use crate::event_log::EventLog;
use crate::{CommandBus, CommandContext, DispatchError};

/// The usage to bill on invoice `invoice_id`: that of `period`, which closed on `plan_id`, and
/// the late usage of the periods invoiced before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageBill {
    pub account_id: AccountId,
    pub invoice_id: Uuid,
    pub period: BillingPeriod,
    pub plan_id: PlanId,
}

/// Records `bill` on the account's entitlements (once, whatever the retries) and answers the
/// invoice's usage lines.
pub async fn bill_usage<L: EventLog>(
    bus: &CommandBus<L>,
    services: &BillingServices,
    bill: UsageBill,
    context: &CommandContext,
) -> Result<Vec<InvoiceLine>, DispatchError<DomainError>> {
    let account = bill.account_id.to_string();
    let command = EntitlementsCommand::BillUsage {
        invoice_id: bill.invoice_id,
        period: bill.period,
        plan_id: bill.plan_id,
    };
    bus.execute::<Entitlements>(&account, command, services, context)
        .await?;
    let entitlements = bus.load::<Entitlements>(&account).await?.aggregate;
    match entitlements.usage_lines_of(bill.invoice_id) {
        Some(lines) => Ok(lines.to_vec()),
        // Only a bill so old that four newer ones followed it could be forgotten.
        None => Err(DispatchError::Rejected(DomainError::invalid(
            "invoice_id",
            format!(
                "the usage bill of invoice {} is no longer kept",
                bill.invoice_id
            ),
        ))),
    }
}
