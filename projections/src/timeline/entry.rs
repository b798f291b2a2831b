//! What each event says on an account's timeline: a stable snake_case `kind`, the amount it is
//! about (if any) and the details a support agent needs. Events that tell nothing about billing
//! (usage, commitments, payment attempts whose outcome has its own event) have no entry.

use domain::customer_balance::CustomerBalanceEvent;
use domain::dunning::DunningEvent;
use domain::entitlements::EntitlementsEvent;
use domain::invoice::InvoiceEvent;
use domain::subscription::{CancellationReason, SubscriptionEvent};
use domain::Money;
use serde_json::{json, Value};

/// One timeline entry, before the event's position, ids and time are added.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Entry {
    pub kind: &'static str,
    pub amount: Option<Money>,
    pub details: Value,
}

impl Entry {
    fn new(kind: &'static str, details: Value) -> Self {
        Self {
            kind,
            amount: None,
            details,
        }
    }

    fn with_amount(kind: &'static str, amount: &Money, details: Value) -> Self {
        Self {
            kind,
            amount: Some(amount.clone()),
            details,
        }
    }
}

pub(super) fn subscription(subscription_id: &str, event: &SubscriptionEvent) -> Option<Entry> {
    use SubscriptionEvent as E;
    let id = subscription_id;
    Some(match event {
        E::TrialStarted {
            plan_id,
            seats,
            trial_ends_at,
            ..
        } => Entry::new(
            "trial_started",
            json!({"subscription_id": id, "plan_id": plan_id, "seats": seats,
                   "trial_ends_at": trial_ends_at}),
        ),
        E::BillingAccountAttached {
            billing_account,
            retry_open_invoice,
            ..
        } => Entry::new(
            "payment_method_attached",
            json!({"subscription_id": id, "payment_method": billing_account.payment_method,
                   "retry_open_invoice": retry_open_invoice}),
        ),
        E::SubscriptionActivated {
            plan_id,
            period,
            seats,
            ..
        } => Entry::new(
            "subscription_activated",
            json!({"subscription_id": id, "plan_id": plan_id, "seats": seats, "period": period}),
        ),
        E::SeatsAdded { count, seats, .. } => Entry::new(
            "seats_added",
            json!({"subscription_id": id, "count": count, "seats": seats}),
        ),
        E::SeatsRemoved { count, seats, .. } => Entry::new(
            "seats_removed",
            json!({"subscription_id": id, "count": count, "seats": seats}),
        ),
        E::OverageBillingSet { enabled, .. } => Entry::new(
            "overage_billing_set",
            json!({"subscription_id": id, "enabled": enabled}),
        ),
        E::PlanChanged {
            from_plan,
            to_plan,
            credit,
            ..
        } => Entry::new(
            "plan_changed",
            json!({"subscription_id": id, "from_plan": from_plan, "to_plan": to_plan,
                   "credit": credit.as_ref().map(|credit| credit.amount)}),
        ),
        E::PlanChangeScheduled {
            from_plan,
            to_plan,
            effective_at,
            ..
        } => Entry::new(
            "plan_change_scheduled",
            json!({"subscription_id": id, "from_plan": from_plan, "to_plan": to_plan,
                   "effective_at": effective_at}),
        ),
        E::CancellationScheduled {
            comment,
            effective_at,
            ..
        } => Entry::new(
            "cancellation_scheduled",
            json!({"subscription_id": id, "reason": CancellationReason::Requested,
                   "comment": comment, "effective_at": effective_at}),
        ),
        E::SubscriptionCancelled {
            reason,
            comment,
            ended_at,
            ..
        } => Entry::new(
            "subscription_cancelled",
            json!({"subscription_id": id, "reason": reason, "comment": comment,
                   "ended_at": ended_at}),
        ),
        E::PeriodRenewed {
            period,
            plan_id,
            seats,
            ..
        } => Entry::new(
            "subscription_renewed",
            json!({"subscription_id": id, "plan_id": plan_id, "seats": seats, "period": period}),
        ),
        E::SubscriptionMarkedPastDue {
            dunning_case_id, ..
        } => Entry::new(
            "subscription_past_due",
            json!({"subscription_id": id, "dunning_case_id": dunning_case_id}),
        ),
        E::SubscriptionReactivated {
            dunning_case_id, ..
        } => Entry::new(
            "subscription_reactivated",
            json!({"subscription_id": id, "dunning_case_id": dunning_case_id}),
        ),
        E::TrialWillEnd { trial_ends_at, .. } => Entry::new(
            "trial_will_end",
            json!({"subscription_id": id, "trial_ends_at": trial_ends_at}),
        ),
        E::DiscountApplied { discount, .. } => Entry::new(
            "discount_applied",
            json!({"subscription_id": id, "coupon_id": discount.discount.coupon_id,
                   "reduction": discount.discount.reduction, "duration": discount.duration}),
        ),
        E::DiscountRemoved { coupon_id, .. } => Entry::new(
            "discount_removed",
            json!({"subscription_id": id, "coupon_id": coupon_id}),
        ),
        E::DiscountEnded { coupon_id, .. } => Entry::new(
            "discount_ended",
            json!({"subscription_id": id, "coupon_id": coupon_id}),
        ),
    })
}

pub(super) fn entitlements(event: &EntitlementsEvent) -> Option<Entry> {
    use EntitlementsEvent as E;
    Some(match event {
        E::EntitlementsEnabled {
            plan_id, features, ..
        } => Entry::new(
            "entitlements_enabled",
            json!({"plan_id": plan_id, "features": features}),
        ),
        E::EntitlementsRecalculated {
            plan_id,
            features,
            removed_features,
            ..
        } => Entry::new(
            "entitlements_recalculated",
            json!({"plan_id": plan_id, "features": features,
                   "removed_features": removed_features}),
        ),
        E::EntitlementsSuspended {
            dunning_case_id, ..
        } => Entry::new(
            "entitlements_suspended",
            json!({"dunning_case_id": dunning_case_id}),
        ),
        E::EntitlementsRestored { .. } => Entry::new("entitlements_restored", json!({})),
        E::EntitlementsRevoked { reason, .. } => {
            Entry::new("entitlements_revoked", json!({"reason": reason}))
        }
        E::LateUsageRecorded {
            feature,
            quantity,
            period,
            ..
        } => Entry::new(
            "late_usage_recorded",
            json!({"feature": feature, "quantity": quantity,
                   "period_start": period.start, "period_end": period.end}),
        ),
        // A bill with no line (no usage) tells a reader nothing.
        E::UsageBilled {
            invoice_id, lines, ..
        } => {
            let currency = &lines.first()?.amount.currency;
            let total = Money::sum(currency, lines.iter().map(|line| &line.amount)).ok()?;
            let lines: Vec<Value> = lines
                .iter()
                .map(|line| {
                    json!({"kind": line.kind, "description": line.description,
                           "amount": line.amount.amount})
                })
                .collect();
            Entry::with_amount(
                "usage_billed",
                &total,
                json!({"invoice_id": invoice_id, "lines": lines}),
            )
        }
        E::UsageRecorded { .. }
        | E::UsageReset { .. }
        | E::CommitmentAdded { .. }
        | E::CommitmentReleased { .. } => return None,
    })
}

pub(super) fn invoice(invoice_id: &str, event: &InvoiceEvent) -> Option<Entry> {
    use InvoiceEvent as E;
    let id = invoice_id;
    Some(match event {
        E::InvoiceIssued {
            subscription_id,
            lines,
            total,
            due_at,
            ..
        } => Entry::with_amount(
            "invoice_issued",
            total,
            json!({"invoice_id": id, "subscription_id": subscription_id,
                   "lines": lines.len(), "due_at": due_at}),
        ),
        E::PaymentAttempted { .. } => return None,
        E::PaymentRecorded {
            amount,
            payment_ref,
            amount_paid,
            ..
        } => Entry::with_amount(
            "payment_succeeded",
            amount,
            json!({"invoice_id": id, "payment_ref": payment_ref,
                   "amount_paid": amount_paid.amount}),
        ),
        E::PaymentFailed {
            attempt,
            reason,
            decline_code,
            payment_ref,
            hard_decline,
            amount_due,
            ..
        } => Entry::with_amount(
            "payment_failed",
            amount_due,
            json!({"invoice_id": id, "attempt": attempt, "reason": reason,
                   "decline_code": decline_code,
                   "payment_ref": payment_ref, "hard_decline": hard_decline}),
        ),
        E::InvoicePaid { amount_paid, .. } => {
            Entry::with_amount("invoice_paid", amount_paid, json!({"invoice_id": id}))
        }
        E::InvoiceRefunded {
            amount,
            amount_refunded,
            fully_refunded,
            reason,
            ..
        } => Entry::with_amount(
            "invoice_refunded",
            amount,
            json!({"invoice_id": id, "reason": reason, "amount_refunded": amount_refunded.amount,
                   "fully_refunded": fully_refunded}),
        ),
        E::CreditNoteIssued {
            credit_note_id,
            amount,
            reason,
            outcome,
            ..
        } => Entry::with_amount(
            "credit_note_issued",
            amount,
            json!({"invoice_id": id, "credit_note_id": credit_note_id, "reason": reason,
                   "outcome": outcome}),
        ),
        E::InvoiceVoided { .. } => Entry::new("invoice_voided", json!({"invoice_id": id})),
        E::InvoiceMarkedUncollectible { amount_due, .. } => Entry::with_amount(
            "invoice_marked_uncollectible",
            amount_due,
            json!({"invoice_id": id}),
        ),
        E::OverpaymentReceived {
            payment_ref,
            amount,
            ..
        } => Entry::with_amount(
            "overpayment_received",
            amount,
            json!({"invoice_id": id, "payment_ref": payment_ref}),
        ),
        E::OverpaymentRefunded {
            payment_ref,
            amount,
            refund_ref,
            ..
        } => Entry::with_amount(
            "overpayment_refunded",
            amount,
            json!({"invoice_id": id, "payment_ref": payment_ref, "refund_ref": refund_ref}),
        ),
        E::OverpaymentRefundFailed {
            payment_ref,
            amount,
            reason,
            ..
        } => Entry::with_amount(
            "overpayment_refund_failed",
            amount,
            json!({"invoice_id": id, "payment_ref": payment_ref, "reason": reason}),
        ),
        E::DisputeOpened {
            dispute_id,
            amount,
            reason,
            ..
        } => Entry::with_amount(
            "dispute_opened",
            amount,
            json!({"invoice_id": id, "dispute_id": dispute_id, "reason": reason}),
        ),
    })
}

pub(super) fn dunning(case_id: &str, event: &DunningEvent) -> Entry {
    use DunningEvent as E;
    let id = case_id;
    match event {
        E::DunningStarted {
            subscription_id,
            invoice_id,
            amount_due,
            failure_reason,
            failure_code,
            window_expires_at,
            cancel_at,
            retry_schedule,
            ..
        } => Entry::with_amount(
            "dunning_started",
            amount_due,
            json!({"dunning_case_id": id, "subscription_id": subscription_id,
                   "invoice_id": invoice_id, "reason": failure_reason, "code": failure_code,
                   "window_expires_at": window_expires_at, "cancel_at": cancel_at,
                   "retry_schedule": retry_schedule}),
        ),
        E::RetryScheduled { retry_at, .. } => Entry::new(
            "dunning_retry_scheduled",
            json!({"dunning_case_id": id, "retry_at": retry_at}),
        ),
        E::RetryOutcomeRecorded {
            attempt,
            succeeded,
            failure_reason,
            ..
        } => Entry::new(
            if *succeeded {
                "dunning_retry_succeeded"
            } else {
                "dunning_retry_failed"
            },
            json!({"dunning_case_id": id, "attempt": attempt, "reason": failure_reason}),
        ),
        E::NotificationRecorded { kind, .. } => Entry::new(
            "dunning_notification_sent",
            json!({"dunning_case_id": id, "notification": kind}),
        ),
        E::DunningEscalated { reason, .. } => Entry::new(
            "dunning_escalated",
            json!({"dunning_case_id": id, "reason": reason}),
        ),
        E::DunningSuspended { .. } => {
            Entry::new("dunning_suspended", json!({"dunning_case_id": id}))
        }
        E::DunningRecovered { .. } => {
            Entry::new("dunning_recovered", json!({"dunning_case_id": id}))
        }
        E::DunningCancelled { reason, .. } => Entry::new(
            "dunning_cancelled",
            json!({"dunning_case_id": id, "reason": reason}),
        ),
        E::DunningCaseAssigned { agent, .. } => Entry::new(
            "dunning_case_assigned",
            json!({"dunning_case_id": id, "agent": agent}),
        ),
        E::DunningNoteAdded { text, author, .. } => Entry::new(
            "dunning_note_added",
            json!({"dunning_case_id": id, "text": text, "author": author}),
        ),
        E::DunningWindowExtended {
            window_expires_at,
            previous,
            ..
        } => Entry::new(
            "dunning_window_extended",
            json!({"dunning_case_id": id, "window_expires_at": window_expires_at,
                   "previous": previous}),
        ),
        E::DunningResolved { resolution, .. } => Entry::new(
            "dunning_resolved",
            json!({"dunning_case_id": id, "resolution": resolution}),
        ),
        E::DunningClosed { reason, .. } => Entry::new(
            "dunning_closed",
            json!({"dunning_case_id": id, "reason": reason}),
        ),
    }
}

/// A movement of the account's credit balance: the signed amount, and the balance it left.
pub(super) fn customer_balance(event: &CustomerBalanceEvent) -> Entry {
    use CustomerBalanceEvent as E;
    let balance_after = event.balance_after().amount;
    let (kind, details) = match event {
        E::BalanceAdjusted {
            adjustment_id,
            reason,
            ..
        } => (
            "balance_adjusted",
            json!({"adjustment_id": adjustment_id, "reason": reason,
                   "balance_after": balance_after}),
        ),
        E::BalanceCredited { source, .. } => (
            "balance_credited",
            json!({"source": source, "balance_after": balance_after}),
        ),
        E::BalanceApplied { invoice_id, .. } => (
            "balance_applied",
            json!({"invoice_id": invoice_id, "balance_after": balance_after}),
        ),
    };
    Entry::with_amount(kind, event.amount(), details)
}
