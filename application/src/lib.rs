//! Ports (traits the infrastructure implements) and use cases that span aggregates: command
//! dispatch with metadata, exactly-once execution and snapshots.

pub mod attempt_payment;
pub mod audit;
pub mod balance_payment;
pub mod claim_index;
pub mod claims;
pub mod command_bus;
pub mod consumer;
pub mod coupon_redemption;
pub mod credit_notes;
pub mod entitlements_suspension;
pub mod event_log;
pub mod invoicing;
pub mod manual_invoice;
pub mod payments;
pub mod plan_change;
pub mod previews;
pub mod refund_invoice;
pub mod refund_overpayment;
pub mod scheduler;
#[cfg(feature = "testing")]
pub mod testing;
pub mod usage_billing;

pub use attempt_payment::{attempt_payment, AttemptOutcome, AttemptPaymentError};
pub use claim_index::ClaimIndex;
pub use command_bus::{CommandBus, CommandContext, DispatchError, Executed, PastState};
pub use consumer::{EventFailure, Policy, ReactionError};
pub use domain::Clock;
pub use entitlements_suspension::suspend_entitlements;
pub use event_log::{EventLog, EventLogError};
pub use manual_invoice::{issue_manual_invoice, ManualInvoice};
pub use payments::{
    ChargeOutcome, ChargeRequest, GatewayError, PaymentGateway, RefundOutcome, RefundRequest,
};
pub use refund_invoice::{refund_invoice, RefundInvoiceError};
pub use refund_overpayment::{refund_overpayment, RefundOverpaymentError};
pub use scheduler::{NewTimer, Scheduler, SchedulerError, Timer, TimerKind};
pub use usage_billing::{bill_usage, UsageBill};
