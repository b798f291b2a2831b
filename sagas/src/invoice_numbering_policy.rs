//! Policy: every issued invoice gets the next gapless number of the configured prefix
//! (SPEC 11.5). Numbers are given only to issued invoices and never taken back, so a voided
//! invoice keeps its number and the sequence has no holes.
//!
//! Listens to: invoice events (`InvoiceIssued`). Keeps: no state of its own. Writes:
//! `AssignInvoiceNumber` on the prefix's `InvoiceNumbering` stream, under a command id that
//! names the invoice, so that an invoice is numbered once however often the reaction re-runs.

use domain::invoice::InvoiceEvent;
use domain::invoice_numbering::{InvoiceNumbering, InvoiceNumberingCommand};
use domain::InvoicePrefix;
use uuid::Uuid;

use crate::reaction::Reaction;

pub const POLICY: &str = "invoice_numbering_policy";

/// The number assignment `event` calls for, if any; `caused_by` is the event's id.
pub fn react(
    caused_by: Uuid,
    event: &InvoiceEvent,
    prefix: &InvoicePrefix,
) -> Option<Reaction<InvoiceNumberingCommand>> {
    let InvoiceEvent::InvoiceIssued { invoice_id, .. } = event else {
        return None;
    };
    let command = InvoiceNumberingCommand::AssignInvoiceNumber {
        prefix: prefix.clone(),
        invoice_id: *invoice_id,
    };
    Some(Reaction {
        aggregate_id: InvoiceNumbering::stream_id(prefix),
        command,
        // Keyed by the invoice rather than the event: one invoice, one number, whoever asks.
        command_id: format!("{POLICY}:{invoice_id}"),
        caused_by,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::invoice::{CollectionMethod, InvoiceLine, LineKind};
    use domain::{AccountId, Currency, Money};
    use infrastructure::test_stack::t0;

    fn issued(invoice_id: Uuid) -> InvoiceEvent {
        let usd = Currency::parse("usd").unwrap();
        let line = InvoiceLine::new("Setup", LineKind::Manual, 1, Money::new(500, usd.clone()));
        InvoiceEvent::InvoiceIssued {
            invoice_id,
            account_id: AccountId::parse("acct_1").unwrap(),
            subscription_id: None,
            currency: usd.clone(),
            lines: vec![line.unwrap()],
            total: Money::new(500, usd),
            issued_at: t0(),
            due_at: t0(),
            collection: CollectionMethod::Manual,
        }
    }

    fn prefix() -> InvoicePrefix {
        InvoicePrefix::parse("LL").unwrap()
    }

    #[test]
    fn an_issued_invoice_is_numbered_on_the_prefix_stream_once_per_invoice() {
        let invoice = Uuid::new_v4();
        let cause = Uuid::new_v4();
        let reaction = react(cause, &issued(invoice), &prefix()).expect("a reaction");
        assert_eq!(reaction.aggregate_id, "LL");
        assert_eq!(
            reaction.command_id,
            format!("invoice_numbering_policy:{invoice}")
        );
        assert_eq!(reaction.caused_by, cause);
        let again = react(Uuid::new_v4(), &issued(invoice), &prefix()).unwrap();
        assert_eq!(again.command_id, reaction.command_id);
        assert_eq!(
            reaction.command,
            InvoiceNumberingCommand::AssignInvoiceNumber {
                prefix: prefix(),
                invoice_id: invoice
            }
        );
    }

    #[test]
    fn other_invoice_events_get_no_number() {
        let voided = InvoiceEvent::InvoiceVoided { at: t0() };
        assert!(react(Uuid::new_v4(), &voided, &prefix()).is_none());
    }
}
