//! The processor-event policy (SPEC 10.2): what a Stripe event received on
//! `POST /v1/webhooks/stripe` does to the invoice its metadata names. Each command's id derives
//! from the Stripe object's id, so an event delivered twice, or two events about one object, act
//! once; what it did is recorded on the processor event (`ProcessorEventActedOn`).
//!
//! - `payment_intent.succeeded` → RecordPayment, unless the invoice is already paid (our own
//!   attempt recorded it first): under the attempt's `ledgerline_payment_ref` (which settles an
//!   attempt in flight), or `stripe:<pi id>` when there is none or it recorded a failure.
//! - `payment_intent.payment_failed` → RecordPaymentFailure with Stripe's decline code, under the
//!   attempt's ref (a no-op when the attempt recorded it first: the invoice deduplicates by
//!   payment_ref) or `stripe:<pi id>:failed`, so that a later success of the same PaymentIntent
//!   is still recorded.
//! - `charge.refunded` → RefundInvoice for each refund made in Stripe's dashboard (not by
//!   Ledgerline), once per refund id.
//! - `charge.dispute.created` → DisputeOpened on the invoice (timeline; the dunning process
//!   manager escalates the account's case, opening one if needed), once per dispute id.
//! - any other type, or an event naming no invoice of ours → recorded, not acted on.

use application::payments::HARD_DECLINE_CODES;
use domain::invoice::{Invoice, InvoiceCommand, InvoiceStatus};
use domain::processor_event::ReceivedEvent;
use domain::{Currency, Money};
use serde_json::Value;
use uuid::Uuid;

pub const POLICY: &str = "processor_events";

/// What one received event asks of its invoice.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// The invoice commands, each with the id that makes it run once.
    pub commands: Vec<(Uuid, InvoiceCommand, String)>,
    /// What the event caused, as `GET /v1/processor-events` would show it.
    pub effect: String,
}

/// The invoice the event's object names (`metadata.ledgerline_invoice_id`), if any.
pub fn invoice_of(event: &ReceivedEvent) -> Option<Uuid> {
    if event.invoice_id.is_some() {
        return event.invoice_id;
    }
    let object: Value = serde_json::from_str(&event.object).ok()?;
    object["metadata"]["ledgerline_invoice_id"]
        .as_str()
        .and_then(|id| Uuid::parse_str(id).ok())
}

/// Decides what `event` does to `invoice` (the one [`invoice_of`] names, as it is now).
pub fn decide(event: &ReceivedEvent, invoice: Option<&Invoice>) -> Decision {
    let ignored = |why: &str| Decision {
        commands: Vec::new(),
        effect: format!("ignored: {why}"),
    };
    let acting = matches!(
        event.event_type.as_str(),
        "payment_intent.succeeded"
            | "payment_intent.payment_failed"
            | "charge.refunded"
            | "charge.dispute.created"
    );
    if !acting {
        return ignored("not an event type Ledgerline acts on");
    }
    let Ok(object) = serde_json::from_str::<Value>(&event.object) else {
        return ignored("its object is not JSON");
    };
    let (Some(invoice), Some(intent_id)) = (invoice, object["id"].as_str()) else {
        return ignored("it names no invoice of Ledgerline's");
    };
    let Some(invoice_id) = invoice.invoice_id() else {
        return ignored("it names no invoice of Ledgerline's");
    };
    if event.event_type == "charge.refunded" {
        return refunds(&object, invoice_id);
    }
    if event.event_type == "charge.dispute.created" {
        return dispute(&object, intent_id, invoice_id);
    }
    let attempt_ref = object["metadata"]["ledgerline_payment_ref"]
        .as_str()
        .map(str::to_owned);
    if event.event_type == "payment_intent.succeeded" {
        if matches!(
            invoice.status(),
            Some(InvoiceStatus::Paid | InvoiceStatus::Refunded)
        ) {
            return ignored("the invoice is already paid");
        }
        let (Some(amount), Some(currency)) = (
            object["amount"].as_i64(),
            object["currency"]
                .as_str()
                .and_then(|c| Currency::parse(c).ok()),
        ) else {
            return ignored("the PaymentIntent has no amount or currency");
        };
        let payment_ref = match attempt_ref {
            Some(attempt_ref) if !invoice.has_recorded(&attempt_ref) => attempt_ref,
            _ => format!("stripe:{intent_id}"),
        };
        return Decision {
            commands: vec![(
                invoice_id,
                InvoiceCommand::RecordPayment {
                    amount: Money::new(amount, currency),
                    payment_ref,
                },
                format!("{POLICY}:{intent_id}:succeeded"),
            )],
            effect: format!("payment_recorded on invoice {invoice_id}"),
        };
    }
    let error = &object["last_payment_error"];
    let code = error["decline_code"]
        .as_str()
        .or(error["code"].as_str())
        .unwrap_or("card_declined")
        .to_owned();
    let reason = error["message"]
        .as_str()
        .unwrap_or("Stripe reported the payment failed")
        .to_owned();
    Decision {
        commands: vec![(
            invoice_id,
            InvoiceCommand::RecordPaymentFailure {
                reason,
                hard_decline: HARD_DECLINE_CODES.contains(&code.as_str()),
                code,
                payment_ref: Some(
                    attempt_ref.unwrap_or_else(|| format!("stripe:{intent_id}:failed")),
                ),
            },
            format!("{POLICY}:{intent_id}:payment_failed"),
        )],
        effect: format!("payment_failure_recorded on invoice {invoice_id}"),
    }
}

/// `charge.refunded`: each refund of the charge that Ledgerline did not make itself (made in
/// Stripe's dashboard) is recorded on the invoice once, by the refund's id. Ledgerline's own
/// refunds carry `metadata.ledgerline_refund_ref`; their use case records them.
fn refunds(charge: &Value, invoice_id: Uuid) -> Decision {
    let currency = charge["currency"]
        .as_str()
        .and_then(|c| Currency::parse(c).ok());
    let listed = charge["refunds"]["data"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let commands: Vec<_> = listed
        .iter()
        .filter(|refund| refund["metadata"]["ledgerline_refund_ref"].is_null())
        .filter(|refund| refund["status"].as_str().unwrap_or("succeeded") == "succeeded")
        .filter_map(|refund| {
            let (id, amount, currency) = (
                refund["id"].as_str()?,
                refund["amount"].as_i64()?,
                currency.clone()?,
            );
            Some((
                invoice_id,
                InvoiceCommand::RefundInvoice {
                    amount: Money::new(amount, currency),
                    reason: format!("refunded in Stripe ({id})"),
                },
                format!("{POLICY}:{id}:refund"),
            ))
        })
        .collect();
    let effect = if commands.is_empty() {
        "ignored: no refund made outside Ledgerline".to_owned()
    } else {
        format!(
            "{} refund(s) recorded on invoice {invoice_id}",
            commands.len()
        )
    };
    Decision { commands, effect }
}

/// `charge.dispute.created`: a `DisputeOpened` on the invoice, once per dispute id; the
/// dunning process manager escalates the account's case (opening one if needed).
fn dispute(dispute: &Value, dispute_id: &str, invoice_id: Uuid) -> Decision {
    let (Some(amount), Some(currency)) = (
        dispute["amount"].as_i64(),
        dispute["currency"]
            .as_str()
            .and_then(|c| Currency::parse(c).ok()),
    ) else {
        return Decision {
            commands: Vec::new(),
            effect: "ignored: the dispute has no amount or currency".into(),
        };
    };
    let reason = dispute["reason"].as_str().unwrap_or("unknown").to_owned();
    Decision {
        commands: vec![(
            invoice_id,
            InvoiceCommand::RecordDispute {
                dispute_id: dispute_id.to_owned(),
                amount: Money::new(amount, currency),
                reason,
            },
            format!("{POLICY}:{dispute_id}:dispute"),
        )],
        effect: format!("dispute_opened on invoice {invoice_id}"),
    }
}

/// The invoice's stream id, for the worker.
pub fn invoice_stream(invoice_id: Uuid) -> String {
    invoice_id.to_string()
}

#[cfg(test)]
mod tests;
