//! The one error type of the domain crate: every way a command or a value can be refused.
//! The HTTP edge maps each class to a status and a stable code (SPEC section 6).

use crate::coupon::CouponRule;
use crate::customer_balance::CustomerBalanceRule;
use crate::dunning::DunningRule;
use crate::entitlements::EntitlementsRule;
use crate::invoice::InvoiceRule;
use crate::money::MoneyError;
use crate::subscription::SubscriptionRule;

/// A value that did not parse: which field, and why (422 `validation_failed`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct ValidationError {
    pub field: String,
    pub reason: String,
}

impl ValidationError {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// A business rule that refused a command (409 `rule_violation`). Each aggregate owns its rules.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleViolation {
    #[error(transparent)]
    Subscription(#[from] SubscriptionRule),
    #[error(transparent)]
    Entitlements(#[from] EntitlementsRule),
    #[error(transparent)]
    Invoice(#[from] InvoiceRule),
    #[error(transparent)]
    Dunning(#[from] DunningRule),
    #[error(transparent)]
    Coupon(#[from] CouponRule),
    #[error(transparent)]
    CustomerBalance(#[from] CustomerBalanceRule),
}

impl RuleViolation {
    /// The stable snake_case name of the rule, e.g. `seat_limit_exceeded`.
    pub fn code(&self) -> &'static str {
        match self {
            RuleViolation::Subscription(rule) => rule.code(),
            RuleViolation::Entitlements(rule) => rule.code(),
            RuleViolation::Invoice(rule) => rule.code(),
            RuleViolation::Dunning(rule) => rule.code(),
            RuleViolation::Coupon(rule) => rule.code(),
            RuleViolation::CustomerBalance(rule) => rule.code(),
        }
    }
}

/// How the edge should treat an error; see [`DomainError::class`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Malformed or out-of-range input: 422.
    Validation,
    /// A business rule refused the command: 409.
    Rule,
    /// The addressed aggregate does not exist: 404.
    NotFound,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    #[error("invalid {0}")]
    Invalid(#[from] ValidationError),
    #[error("{0}")]
    Money(#[from] MoneyError),
    #[error("{0}")]
    Rule(#[from] RuleViolation),
    #[error("{aggregate} not found")]
    NotFound { aggregate: &'static str },
}

impl DomainError {
    pub fn class(&self) -> ErrorClass {
        match self {
            DomainError::Invalid(_) | DomainError::Money(_) => ErrorClass::Validation,
            DomainError::Rule(_) => ErrorClass::Rule,
            DomainError::NotFound { .. } => ErrorClass::NotFound,
        }
    }

    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        ValidationError::new(field, reason).into()
    }
}

impl From<SubscriptionRule> for DomainError {
    fn from(rule: SubscriptionRule) -> Self {
        DomainError::Rule(rule.into())
    }
}

impl From<EntitlementsRule> for DomainError {
    fn from(rule: EntitlementsRule) -> Self {
        DomainError::Rule(rule.into())
    }
}

impl From<InvoiceRule> for DomainError {
    fn from(rule: InvoiceRule) -> Self {
        DomainError::Rule(rule.into())
    }
}

impl From<DunningRule> for DomainError {
    fn from(rule: DunningRule) -> Self {
        DomainError::Rule(rule.into())
    }
}

impl From<CouponRule> for DomainError {
    fn from(rule: CouponRule) -> Self {
        DomainError::Rule(rule.into())
    }
}

impl From<CustomerBalanceRule> for DomainError {
    fn from(rule: CustomerBalanceRule) -> Self {
        DomainError::Rule(rule.into())
    }
}

pub type Result<T, E = DomainError> = std::result::Result<T, E>;
