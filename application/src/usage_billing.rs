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

impl UsageBill {
    /// The account whose entitlements bill it, and the command that bills it there: what the
    /// billing policy executes, and what the upcoming-invoice preview decides without recording.
    pub fn into_command(self) -> (AccountId, EntitlementsCommand) {
        let command = EntitlementsCommand::BillUsage {
            invoice_id: self.invoice_id,
            period: self.period,
            plan_id: self.plan_id,
        };
        (self.account_id, command)
    }
}

/// Records `bill` on the account's entitlements (once, whatever the retries) and answers the
/// invoice's usage lines.
pub async fn bill_usage<L: EventLog>(
    bus: &CommandBus<L>,
    services: &BillingServices,
    bill: UsageBill,
    context: &CommandContext,
) -> Result<Vec<InvoiceLine>, DispatchError<DomainError>> {
    let invoice_id = bill.invoice_id;
    let (account, command) = bill.into_command();
    let (_, left) = bus
        .execute_keeping::<Entitlements>(account.as_str(), command, services, context)
        .await?;
    // The aggregate the bill left; read back only when this was a retry of a recorded bill.
    let entitlements = match left {
        Some(entitlements) => entitlements,
        None => bus.load::<Entitlements>(account.as_str()).await?.aggregate,
    };
    match entitlements.usage_lines_of(invoice_id) {
        Some(lines) => Ok(lines.to_vec()),
        // Only a bill so old that four newer ones followed it could be forgotten.
        None => Err(DispatchError::Rejected(DomainError::invalid(
            "invoice_id",
            format!("the usage bill of invoice {invoice_id} is no longer kept"),
        ))),
    }
}
