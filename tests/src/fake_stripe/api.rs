//! What the fake does for each Stripe endpoint it speaks: customers, attaching test payment
//! methods, PaymentIntents confirmed off-session, refunds.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::server::{param, stripe_error, Form};
use super::{Intent, Ledger};

/// The Stripe test payment methods (SPEC 4, plus authentication): what charging each does.
fn decide(token: &str) -> Result<&'static str, (&'static str, &'static str)> {
    match token {
        "pm_card_visa" => Ok("succeeded"),
        "pm_card_authenticationRequired" => Ok("requires_action"),
        "pm_card_chargeDeclined" => Err(("card_declined", "generic_decline")),
        "pm_card_chargeDeclinedInsufficientFunds" => Err(("card_declined", "insufficient_funds")),
        "pm_card_chargeDeclinedLostCard" => Err(("card_declined", "lost_card")),
        "pm_card_chargeDeclinedStolenCard" => Err(("card_declined", "stolen_card")),
        _ => Err(("resource_missing", "")),
    }
}

fn known_token(token: &str) -> bool {
    !matches!(decide(token), Err(("resource_missing", _)))
}

pub(super) fn execute(ledger: &mut Ledger, path: &str, form: &Form) -> (u16, Value) {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segments.as_slice() {
        ["v1", "customers"] => {
            let id = ledger.id("cus");
            ledger.customers.push(id.clone());
            (
                200,
                json!({"id": id, "object": "customer", "metadata": metadata(form)}),
            )
        }
        ["v1", "payment_methods", token, "attach"] => {
            let Some(customer) =
                param(form, "customer").filter(|c| ledger.customers.iter().any(|k| k == c))
            else {
                return stripe_error(
                    400,
                    "invalid_request_error",
                    Some("resource_missing"),
                    None,
                    "No such customer",
                );
            };
            if !known_token(token) {
                return stripe_error(
                    400,
                    "invalid_request_error",
                    Some("resource_missing"),
                    None,
                    &format!("No such PaymentMethod: '{token}'"),
                );
            }
            let id = ledger.id("pm");
            ledger.attached.insert(id.clone(), (*token).to_owned());
            (
                200,
                json!({"id": id, "object": "payment_method", "type": "card", "customer": customer}),
            )
        }
        ["v1", "payment_intents"] => create_intent(ledger, form),
        ["v1", "refunds"] => refund(ledger, form),
        _ => stripe_error(
            404,
            "invalid_request_error",
            None,
            None,
            "Unrecognized request URL",
        ),
    }
}

fn metadata(form: &Form) -> BTreeMap<String, String> {
    form.iter()
        .filter_map(|(k, v)| {
            let name = k.strip_prefix("metadata[")?.strip_suffix(']')?;
            Some((name.to_owned(), v.clone()))
        })
        .collect()
}

/// The PaymentIntent as Stripe shows it (in answers and in webhook events).
pub fn intent_json(intent: &Intent) -> Value {
    json!({
        "id": intent.id, "object": "payment_intent", "status": intent.status,
        "amount": intent.amount, "currency": intent.currency, "customer": intent.customer,
        "metadata": intent.metadata, "latest_charge": format!("ch_{}", intent.id),
        "amount_refunded": intent.amount_refunded,
    })
}

fn create_intent(ledger: &mut Ledger, form: &Form) -> (u16, Value) {
    let (Some(amount), Some(currency), Some(customer), Some(method)) = (
        param(form, "amount").and_then(|a| a.parse::<i64>().ok()),
        param(form, "currency"),
        param(form, "customer"),
        param(form, "payment_method"),
    ) else {
        return stripe_error(
            400,
            "invalid_request_error",
            Some("parameter_missing"),
            None,
            "amount, currency, customer and payment_method are required",
        );
    };
    if param(form, "confirm") != Some("true") || param(form, "off_session") != Some("true") {
        return stripe_error(
            400,
            "invalid_request_error",
            Some("parameter_invalid"),
            None,
            "the fake only confirms off-session at creation",
        );
    }
    let Some(token) = ledger.attached.get(method).cloned() else {
        return stripe_error(
            400,
            "invalid_request_error",
            Some("resource_missing"),
            None,
            "No such PaymentMethod",
        );
    };
    let mut intent = Intent {
        id: ledger.id("pi"),
        status: String::new(),
        amount,
        currency: currency.to_owned(),
        customer: customer.to_owned(),
        metadata: metadata(form),
        amount_refunded: 0,
    };
    match decide(&token) {
        Ok(status) => {
            intent.status = status.to_owned();
            ledger.intents.insert(intent.id.clone(), intent.clone());
            (200, intent_json(&intent))
        }
        Err((code, decline_code)) => {
            intent.status = "requires_payment_method".to_owned();
            ledger.intents.insert(intent.id.clone(), intent.clone());
            let (status, mut body) = stripe_error(
                402,
                "card_error",
                Some(code),
                Some(decline_code),
                "Your card was declined.",
            );
            body["error"]["payment_intent"] = intent_json(&intent);
            (status, body)
        }
    }
}

fn refund(ledger: &mut Ledger, form: &Form) -> (u16, Value) {
    let Some(intent_id) = param(form, "payment_intent") else {
        return stripe_error(
            400,
            "invalid_request_error",
            Some("parameter_missing"),
            None,
            "payment_intent is required",
        );
    };
    let id = ledger.id("re");
    let Some(intent) = ledger.intents.get_mut(intent_id) else {
        return stripe_error(
            400,
            "invalid_request_error",
            Some("resource_missing"),
            None,
            "No such payment_intent",
        );
    };
    let remaining = intent.amount - intent.amount_refunded;
    let amount = param(form, "amount")
        .and_then(|a| a.parse::<i64>().ok())
        .unwrap_or(remaining);
    if intent.status != "succeeded" || remaining == 0 {
        return stripe_error(
            400,
            "invalid_request_error",
            Some("charge_already_refunded"),
            None,
            "This charge has no money left to refund",
        );
    }
    if amount <= 0 || amount > remaining {
        return stripe_error(
            400,
            "invalid_request_error",
            Some("amount_too_large"),
            None,
            "Refund amount is greater than unrefunded amount on charge",
        );
    }
    intent.amount_refunded += amount;
    let refund = json!({
        "id": id, "object": "refund", "status": "succeeded", "amount": amount,
        "currency": intent.currency, "payment_intent": intent.id, "metadata": metadata(form),
    });
    ledger.refunds.push(refund.clone());
    (200, refund)
}
