//! The sandbox payment gateway (SPEC 4), the default: it decides by payment-method token as
//! Stripe's test tokens do, moves no money, and answers a repeated `payment_ref` with its first
//! outcome.
//!
//! It remembers outcomes in memory, for the life of the process: enough for a sandbox (a
//! restarted sandbox "charges" a ref again, and nothing real happens), not for a real processor,
//! which keeps its idempotency records durably on its side. It counts the money it took and gave
//! back (`/metrics`), so a test can hold the log to what the "card" saw. A charge may be refunded
//! in parts, never beyond what it took.

use std::collections::HashMap;
use std::sync::Mutex;

use application::payments::{
    ChargeOutcome, ChargeRequest, GatewayError, MethodCheck, MethodCheckRequest, PaymentGateway,
    RefundOutcome, RefundRequest,
};
use async_trait::async_trait;

/// A charge the sandbox decided (one per `payment_ref`, declines included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxCharge {
    pub request: ChargeRequest,
    pub outcome: ChargeOutcome,
}

/// A refund the sandbox decided (one per `refund_ref`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxRefund {
    pub request: RefundRequest,
    pub outcome: RefundOutcome,
}

#[derive(Debug, Default)]
pub struct SandboxGateway {
    ledger: Mutex<Ledger>,
}

#[derive(Debug, Default)]
struct Ledger {
    /// Every charge decided so far, in order of arrival.
    charges: Vec<SandboxCharge>,
    /// Where each `payment_ref`'s charge sits in `charges`.
    by_ref: HashMap<String, usize>,
    /// Every refund decided so far, by `refund_ref`.
    refunds: HashMap<String, SandboxRefund>,
    /// What went back of each `payment_ref`'s charge so far, so that no more than it took does
    /// (partial refunds add up, as Stripe's do).
    refunded_charges: HashMap<String, i64>,
}

impl SandboxGateway {
    /// Every charge decided so far, in order: exactly one per `payment_ref`.
    pub fn charges(&self) -> Vec<SandboxCharge> {
        self.ledger().charges.clone()
    }

    /// Every refund decided so far: exactly one per `refund_ref`.
    pub fn refunds(&self) -> Vec<SandboxRefund> {
        self.ledger().refunds.values().cloned().collect()
    }

    /// A poisoned lock only means another charge panicked mid-way; the ledger stays consistent
    /// (it changes in one step below).
    fn ledger(&self) -> std::sync::MutexGuard<'_, Ledger> {
        self.ledger
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[async_trait]
impl PaymentGateway for SandboxGateway {
    async fn charge(&self, request: ChargeRequest) -> Result<ChargeOutcome, GatewayError> {
        let mut ledger = self.ledger();
        if let Some(&index) = ledger.by_ref.get(&request.payment_ref) {
            return Ok(ledger.charges[index].outcome.clone());
        }
        let outcome = decide(&request);
        if matches!(outcome, ChargeOutcome::Succeeded { .. }) {
            metrics::counter!("ledgerline_sandbox_charges_total").increment(1);
        }
        let index = ledger.charges.len();
        ledger.by_ref.insert(request.payment_ref.clone(), index);
        ledger.charges.push(SandboxCharge {
            request,
            outcome: outcome.clone(),
        });
        Ok(outcome)
    }

    async fn refund(&self, request: RefundRequest) -> Result<RefundOutcome, GatewayError> {
        let mut ledger = self.ledger();
        if let Some(refund) = ledger.refunds.get(&request.refund_ref) {
            return Ok(refund.outcome.clone());
        }
        let charged = ledger
            .by_ref
            .get(&request.payment_ref)
            .map(|&index| &ledger.charges[index])
            .filter(|charge| matches!(charge.outcome, ChargeOutcome::Succeeded { .. }));
        let already = ledger
            .refunded_charges
            .get(&request.payment_ref)
            .copied()
            .unwrap_or(0);
        let outcome = match charged {
            None => refused("the sandbox took no money with this payment_ref"),
            Some(charge) if charge.request.amount.currency != request.amount.currency => {
                refused("the currency differs from the charge")
            }
            Some(charge) if request.amount.amount > charge.request.amount.amount - already => {
                refused("the charge has less left to refund")
            }
            Some(_) if request.amount.amount <= 0 => refused("nothing to refund"),
            Some(_) => RefundOutcome::Refunded {
                gateway_ref: format!("sandbox_re_{}", request.refund_ref),
            },
        };
        if matches!(outcome, RefundOutcome::Refunded { .. }) {
            metrics::counter!("ledgerline_sandbox_refunds_total").increment(1);
            ledger
                .refunded_charges
                .insert(request.payment_ref.clone(), already + request.amount.amount);
        }
        let refund = SandboxRefund {
            request,
            outcome: outcome.clone(),
        };
        ledger
            .refunds
            .insert(refund.request.refund_ref.clone(), refund);
        Ok(outcome)
    }

    async fn verify_payment_method(
        &self,
        request: MethodCheckRequest,
    ) -> Result<MethodCheck, GatewayError> {
        let token = request.payment_method.as_str();
        if behaviour(token).is_some() {
            return Ok(MethodCheck::Usable);
        }
        let known: Vec<&str> = TEST_TOKENS.iter().map(|(known, _)| *known).collect();
        Ok(MethodCheck::Invalid {
            reason: format!(
                "the sandbox knows no payment method `{token}`; its test tokens are {}",
                known.join(", ")
            ),
        })
    }
}

fn refused(reason: &str) -> RefundOutcome {
    RefundOutcome::Refused {
        reason: reason.to_owned(),
    }
}

/// What charging a token does: `None` succeeds, else the decline's code, reason and hardness.
type Behaviour = Option<(&'static str, &'static str, bool)>;

/// The payment methods the sandbox knows, Stripe's test tokens of SPEC 4, and what charging
/// each does: `pm_card_visa` succeeds, the `chargeDeclined…` family declines with its code.
const TEST_TOKENS: [(&str, Behaviour); 5] = [
    ("pm_card_visa", None),
    (
        "pm_card_chargeDeclined",
        Some(("card_declined", "the card was declined", false)),
    ),
    (
        "pm_card_chargeDeclinedInsufficientFunds",
        Some((
            "insufficient_funds",
            "the card has insufficient funds",
            false,
        )),
    ),
    (
        "pm_card_chargeDeclinedLostCard",
        Some(("lost_card", "the card was reported lost", true)),
    ),
    (
        "pm_card_chargeDeclinedStolenCard",
        Some(("stolen_card", "the card was reported stolen", true)),
    ),
];

/// What a known token does; `None` for one the sandbox does not know.
fn behaviour(token: &str) -> Option<Behaviour> {
    TEST_TOKENS
        .iter()
        .find(|(known, _)| *known == token)
        .map(|(_, behaviour)| *behaviour)
}

/// The outcome of charging `request`; a token the sandbox does not know (kept before methods
/// were checked) declines as `invalid_payment_method`.
fn decide(request: &ChargeRequest) -> ChargeOutcome {
    let declined = |code: &str, reason: &str, hard_decline: bool| ChargeOutcome::Declined {
        code: code.to_owned(),
        reason: reason.to_owned(),
        hard_decline,
    };
    match behaviour(request.payment_method.as_str()) {
        Some(None) => ChargeOutcome::Succeeded {
            gateway_ref: format!("sandbox_ch_{}", request.payment_ref),
        },
        Some(Some((code, reason, hard))) => declined(code, reason, hard),
        None => declined(
            "invalid_payment_method",
            "the sandbox does not know this payment method",
            false,
        ),
    }
}

#[cfg(test)]
mod tests {
    use domain::{AccountId, Currency, Money, PaymentMethodToken};

    use super::*;

    fn request(payment_ref: &str, token: &str, amount: i64) -> ChargeRequest {
        ChargeRequest {
            payment_ref: payment_ref.to_owned(),
            amount: Money::new(amount, Currency::parse("usd").unwrap()),
            payment_method: PaymentMethodToken::parse(token).unwrap(),
            account_id: AccountId::parse("acct_1").unwrap(),
            invoice_id: uuid::Uuid::nil(),
        }
    }

    async fn charge(gateway: &SandboxGateway, token: &str) -> ChargeOutcome {
        gateway
            .charge(request(&format!("ref_{token}"), token, 1900))
            .await
            .unwrap()
    }

    fn decline(code: &str, hard_decline: bool) -> impl Fn(ChargeOutcome) -> bool + '_ {
        move |outcome| {
            matches!(outcome, ChargeOutcome::Declined { code: c, hard_decline: h, .. }
                if c == code && h == hard_decline)
        }
    }

    #[tokio::test]
    async fn visa_succeeds() {
        let outcome = charge(&SandboxGateway::default(), "pm_card_visa").await;
        assert_eq!(
            outcome,
            ChargeOutcome::Succeeded {
                gateway_ref: "sandbox_ch_ref_pm_card_visa".into()
            }
        );
    }

    #[tokio::test]
    async fn each_decline_token_declines_with_its_code() {
        let gateway = SandboxGateway::default();
        let cases = [
            ("pm_card_chargeDeclined", "card_declined", false),
            (
                "pm_card_chargeDeclinedInsufficientFunds",
                "insufficient_funds",
                false,
            ),
            ("pm_card_chargeDeclinedLostCard", "lost_card", true),
            ("pm_card_chargeDeclinedStolenCard", "stolen_card", true),
            ("pm_card_mastercard", "invalid_payment_method", false),
            ("tok_anything", "invalid_payment_method", false),
        ];
        for (token, code, hard) in cases {
            let outcome = charge(&gateway, token).await;
            assert!(decline(code, hard)(outcome.clone()), "{token}: {outcome:?}");
        }
    }

    #[tokio::test]
    async fn only_the_known_test_tokens_are_usable_payment_methods() {
        let gateway = SandboxGateway::default();
        let check = |token: &str| MethodCheckRequest {
            account_id: AccountId::parse("acct_1").unwrap(),
            payment_method: PaymentMethodToken::parse(token).unwrap(),
        };
        for (token, _) in TEST_TOKENS {
            let verdict = gateway.verify_payment_method(check(token)).await.unwrap();
            assert_eq!(verdict, MethodCheck::Usable, "{token}");
        }
        for token in ["tok_visa", "pm_card_mastercard"] {
            let verdict = gateway.verify_payment_method(check(token)).await.unwrap();
            assert!(
                matches!(&verdict, MethodCheck::Invalid { reason } if reason.contains(token)),
                "{token}: {verdict:?}"
            );
        }
        assert!(gateway.charges().is_empty(), "checking charges nothing");
    }

    #[tokio::test]
    async fn a_repeated_ref_answers_the_first_outcome_and_charges_once() {
        let gateway = SandboxGateway::default();
        let first = gateway
            .charge(request("inv:attempt:1", "pm_card_visa", 1900))
            .await
            .unwrap();
        // Same ref, other token and amount: still the first answer, and no second charge.
        let again = gateway
            .charge(request("inv:attempt:1", "pm_card_chargeDeclined", 5))
            .await
            .unwrap();
        assert_eq!(again, first);
        let other = gateway
            .charge(request("inv:attempt:2", "pm_card_chargeDeclined", 1900))
            .await
            .unwrap();
        assert!(decline("card_declined", false)(other));

        let charges = gateway.charges();
        assert_eq!(charges.len(), 2);
        assert_eq!(
            charges[0].request,
            request("inv:attempt:1", "pm_card_visa", 1900)
        );
        assert_eq!(charges[0].outcome, first);
        assert_eq!(charges[1].request.payment_ref, "inv:attempt:2");
    }

    fn refund(refund_ref: &str, payment_ref: &str, amount: i64) -> RefundRequest {
        RefundRequest {
            refund_ref: refund_ref.to_owned(),
            payment_ref: payment_ref.to_owned(),
            amount: Money::new(amount, Currency::parse("usd").unwrap()),
            account_id: AccountId::parse("acct_1").unwrap(),
        }
    }

    #[tokio::test]
    async fn a_charge_is_refunded_at_most_once_in_full_whatever_the_refund_ref() {
        let gateway = SandboxGateway::default();
        gateway
            .charge(request("inv:attempt:1", "pm_card_visa", 1900))
            .await
            .unwrap();
        let first = gateway
            .refund(refund("inv:attempt:1:refund", "inv:attempt:1", 1900))
            .await
            .unwrap();
        assert!(matches!(first, RefundOutcome::Refunded { .. }), "{first:?}");
        let again = gateway
            .refund(refund("inv:attempt:1:refund", "inv:attempt:1", 1900))
            .await
            .unwrap();
        assert_eq!(again, first);
        let other = gateway
            .refund(refund("another", "inv:attempt:1", 1900))
            .await
            .unwrap();
        assert!(matches!(other, RefundOutcome::Refused { .. }), "{other:?}");
        let refunded: Vec<_> = gateway
            .refunds()
            .into_iter()
            .filter(|r| matches!(r.outcome, RefundOutcome::Refunded { .. }))
            .collect();
        assert_eq!(refunded.len(), 1);
    }

    #[tokio::test]
    async fn partial_refunds_add_up_to_the_charge_and_no_further() {
        let gateway = SandboxGateway::default();
        gateway
            .charge(request("inv:attempt:1", "pm_card_visa", 1900))
            .await
            .unwrap();
        for (refund_ref, amount, refunded) in
            [("r1", 1000, true), ("r2", 901, false), ("r3", 900, true)]
        {
            let outcome = gateway
                .refund(refund(refund_ref, "inv:attempt:1", amount))
                .await
                .unwrap();
            assert_eq!(
                matches!(outcome, RefundOutcome::Refunded { .. }),
                refunded,
                "{refund_ref}: {outcome:?}"
            );
        }
    }

    #[tokio::test]
    async fn only_money_taken_can_be_refunded() {
        let gateway = SandboxGateway::default();
        gateway
            .charge(request("inv:attempt:1", "pm_card_chargeDeclined", 1900))
            .await
            .unwrap();
        for (payment_ref, amount) in [("inv:attempt:1", 1900), ("never_charged", 1900)] {
            let outcome = gateway
                .refund(refund(
                    &format!("{payment_ref}:refund"),
                    payment_ref,
                    amount,
                ))
                .await
                .unwrap();
            assert!(
                matches!(outcome, RefundOutcome::Refused { .. }),
                "{outcome:?}"
            );
        }
    }

    #[tokio::test]
    async fn concurrent_charges_of_one_ref_charge_once() {
        let gateway = std::sync::Arc::new(SandboxGateway::default());
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let gateway = gateway.clone();
                tokio::spawn(async move {
                    gateway
                        .charge(request("inv:attempt:1", "pm_card_visa", 1900))
                        .await
                })
            })
            .collect();
        for task in tasks {
            assert!(matches!(
                task.await.unwrap(),
                Ok(ChargeOutcome::Succeeded { .. })
            ));
        }
        assert_eq!(gateway.charges().len(), 1);
    }
}
