//! What a Stripe answer means for a charge (SPEC 10.1): `succeeded` is paid; `requires_action`
//! is the soft failure `authentication_required`; a card error declines with its
//! `decline_code`, hard for the codes that say the card must never be tried again.

use application::payments::ChargeOutcome;
use serde::Deserialize;

use super::client::StripeError;

pub use application::payments::HARD_DECLINE_CODES;

pub const AUTHENTICATION_REQUIRED: &str = "authentication_required";

/// A PaymentIntent, the fields the gateway reads.
#[derive(Debug, Clone, Deserialize)]
pub struct PaymentIntent {
    pub id: String,
    pub status: String,
    #[serde(default)]
    pub last_payment_error: Option<StripeError>,
}

/// A charge's outcome from the PaymentIntent Stripe answered with; `None` when the intent is
/// still undecided (`processing`), so that the attempt stays in flight and is asked again.
pub fn from_payment_intent(intent: &PaymentIntent) -> Option<ChargeOutcome> {
    match intent.status.as_str() {
        "succeeded" => Some(ChargeOutcome::Succeeded {
            gateway_ref: intent.id.clone(),
        }),
        "requires_action" | "requires_confirmation" => Some(authentication_required()),
        "requires_payment_method" | "canceled" => Some(match &intent.last_payment_error {
            Some(error) => from_card_error(error),
            None => declined("card_declined", "stripe declined the payment", false),
        }),
        _ => None,
    }
}

/// A decline from Stripe's card error: its `decline_code`, else its `code`.
pub fn from_card_error(error: &StripeError) -> ChargeOutcome {
    let code = error
        .decline_code
        .as_deref()
        .or(error.code.as_deref())
        .unwrap_or("card_declined");
    if code == AUTHENTICATION_REQUIRED || error.code.as_deref() == Some(AUTHENTICATION_REQUIRED) {
        return authentication_required();
    }
    let reason = error
        .message
        .clone()
        .unwrap_or_else(|| format!("stripe declined the card ({code})"));
    declined(code, &reason, HARD_DECLINE_CODES.contains(&code))
}

/// An off-session charge the bank wants the customer to authenticate: soft (the customer can
/// authenticate, or change the card), and the customer is told.
pub fn authentication_required() -> ChargeOutcome {
    declined(
        AUTHENTICATION_REQUIRED,
        "the bank requires the customer to authenticate this payment",
        false,
    )
}

pub fn declined(code: &str, reason: &str, hard_decline: bool) -> ChargeOutcome {
    ChargeOutcome::Declined {
        code: code.to_owned(),
        reason: reason.to_owned(),
        hard_decline,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card_error(code: &str, decline_code: Option<&str>) -> StripeError {
        StripeError {
            kind: "card_error".into(),
            code: Some(code.into()),
            decline_code: decline_code.map(str::to_owned),
            message: Some("Your card was declined.".into()),
            payment_intent: None,
        }
    }

    fn is_decline(outcome: &ChargeOutcome, code: &str, hard: bool) -> bool {
        matches!(outcome, ChargeOutcome::Declined { code: c, hard_decline: h, .. } if c == code && *h == hard)
    }

    #[test]
    fn the_five_hard_codes_are_hard_and_the_rest_soft() {
        for code in HARD_DECLINE_CODES {
            let outcome = from_card_error(&card_error("card_declined", Some(code)));
            assert!(is_decline(&outcome, code, true), "{code}: {outcome:?}");
        }
        for code in [
            "insufficient_funds",
            "generic_decline",
            "do_not_honor",
            "expired_card",
        ] {
            let outcome = from_card_error(&card_error("card_declined", Some(code)));
            assert!(is_decline(&outcome, code, false), "{code}: {outcome:?}");
        }
    }

    #[test]
    fn a_card_error_without_decline_code_uses_its_code() {
        let outcome = from_card_error(&card_error("expired_card", None));
        assert!(is_decline(&outcome, "expired_card", false), "{outcome:?}");
    }

    #[test]
    fn authentication_is_a_soft_failure_however_stripe_says_it() {
        let error = card_error("authentication_required", Some("authentication_required"));
        assert!(is_decline(
            &from_card_error(&error),
            AUTHENTICATION_REQUIRED,
            false
        ));
        let intent = PaymentIntent {
            id: "pi_1".into(),
            status: "requires_action".into(),
            last_payment_error: None,
        };
        let outcome = from_payment_intent(&intent).unwrap();
        assert!(
            is_decline(&outcome, AUTHENTICATION_REQUIRED, false),
            "{outcome:?}"
        );
    }

    #[test]
    fn succeeded_is_paid_with_the_intent_id_and_processing_is_undecided() {
        let mut intent = PaymentIntent {
            id: "pi_1".into(),
            status: "succeeded".into(),
            last_payment_error: None,
        };
        assert_eq!(
            from_payment_intent(&intent),
            Some(ChargeOutcome::Succeeded {
                gateway_ref: "pi_1".into()
            })
        );
        intent.status = "processing".into();
        assert_eq!(from_payment_intent(&intent), None);
        intent.status = "requires_payment_method".into();
        intent.last_payment_error = Some(card_error("card_declined", Some("stolen_card")));
        let outcome = from_payment_intent(&intent).unwrap();
        assert!(is_decline(&outcome, "stolen_card", true), "{outcome:?}");
    }
}
