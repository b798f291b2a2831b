//! The PaymentGateway port: how Ledgerline asks a payment processor to charge a payment method.
//! The sandbox gateway implements it in `infrastructure`; a real processor would too.

use async_trait::async_trait;
use domain::{AccountId, Money, PaymentMethodToken};
use uuid::Uuid;

/// One charge to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChargeRequest {
    /// The idempotency key: the invoice's `{invoice_id}:attempt:{n}` from `PaymentAttempted`.
    pub payment_ref: String,
    pub amount: Money,
    pub payment_method: PaymentMethodToken,
    pub account_id: AccountId,
    /// The invoice the charge collects (a processor may keep it with the charge).
    pub invoice_id: Uuid,
}

/// The decline codes after which the same card must never be tried again (SPEC 10.1): a hard
/// decline escalates the dunning case at once.
pub const HARD_DECLINE_CODES: [&str; 5] = [
    "lost_card",
    "stolen_card",
    "pickup_card",
    "fraudulent",
    "restricted_card",
];

/// What the processor answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChargeOutcome {
    /// The money was taken; `gateway_ref` is the processor's own id for the charge.
    Succeeded { gateway_ref: String },
    /// No money was taken. `code` is the decline code (`card_declined`, `insufficient_funds`, …);
    /// a hard decline (lost or stolen card) must not be retried with the same payment method.
    Declined {
        code: String,
        reason: String,
        hard_decline: bool,
    },
}

/// One refund to make: give back what the charge `payment_ref` took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRequest {
    /// The idempotency key of the refund, distinct from the charge's.
    pub refund_ref: String,
    /// The charge to refund.
    pub payment_ref: String,
    pub amount: Money,
    pub account_id: AccountId,
}

/// What the processor answered to a refund.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundOutcome {
    /// The money went back; `gateway_ref` is the processor's id for the refund.
    Refunded { gateway_ref: String },
    /// The processor will not refund it (the charge is unknown, disputed, already refunded…).
    Refused { reason: String },
}

/// A payment method about to be kept on an account's billing account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MethodCheckRequest {
    pub account_id: AccountId,
    pub payment_method: PaymentMethodToken,
}

/// What the processor says of a payment method before Ledgerline keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MethodCheck {
    /// It can be charged later (a charge may still decline it, as a lost card's does).
    Usable,
    /// It can never be charged: unknown to the processor, or refused by it.
    Invalid { reason: String },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GatewayError {
    /// The processor could not be reached, or its answer was lost: whether the charge happened
    /// is unknown. Charging again with the same `payment_ref` finds out without charging twice.
    #[error("the payment gateway is unreachable: {0}")]
    Unreachable(String),
}

/// A payment processor.
///
/// Contract, for every implementation:
/// - `charge` is idempotent by `payment_ref`: a request with a `payment_ref` seen before MUST
///   return the outcome of the first request with that ref and MUST NOT charge again, whatever
///   the rest of the request says (a ref names one attempt, whose amount never changes).
/// - `refund` is idempotent by `refund_ref` in the same way: a repeated `refund_ref` MUST
///   return the first outcome and MUST NOT give money back twice.
/// - A definite answer is `Ok`, a decline or a refusal included; `Err(Unreachable)` only when the
///   outcome is unknown, so that the caller retries with the same reference.
/// - `verify_payment_method` moves no money. It answers `Invalid` only for a method that can
///   never be charged; a method that exists but will decline (a lost or stolen card) is
///   `Usable`, and declines at charge, as Stripe does.
#[async_trait]
pub trait PaymentGateway: Send + Sync + 'static {
    async fn charge(&self, request: ChargeRequest) -> Result<ChargeOutcome, GatewayError>;

    async fn refund(&self, request: RefundRequest) -> Result<RefundOutcome, GatewayError>;

    async fn verify_payment_method(
        &self,
        request: MethodCheckRequest,
    ) -> Result<MethodCheck, GatewayError>;
}
