//! One account's summary row and how each event changes it. The fold mirrors what the
//! Subscription and Entitlements aggregates' `apply` do to the same fields, written straight in
//! column form so that applying an event needs no parsing.

use domain::entitlements::{EntitlementStatus, EntitlementsEvent};
use domain::subscription::{ActiveDiscount, SubscriptionEvent, SubscriptionStatus};
use domain::{PlanCatalog, PlanId, SeatCount};

use crate::columns::{entitlement_status, feature_list, timestamp};
use crate::event::BillingEvent;

/// The `account_summaries` row of one account.
///
/// `balance_due_*` and `overpaid_*` are set after the fold, from the account's invoices (see
/// `balance`).
/// `in_dunning` and `dunning_case_id` are set after the fold too, from the DunningCase events
/// (see `dunning`): the case's own events are the authority on whether it is open, not
/// `SubscriptionMarkedPastDue`.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SummaryRow {
    pub account_id: String,
    pub subscription_id: Option<String>,
    pub plan_id: Option<String>,
    /// `none` until the account's first trial starts.
    pub status: String,
    pub currency: Option<String>,
    pub trial_ends_at: Option<String>,
    /// Null while trialing: the first paid period starts at activation.
    pub current_period_start: Option<String>,
    pub current_period_end: Option<String>,
    pub seat_count: Option<i64>,
    /// The plan's seat limit; null if the plan is no longer in the catalog.
    pub seat_limit: Option<i64>,
    pub overage_billing: bool,
    pub cancel_at_period_end: bool,
    pub scheduled_plan_id: Option<String>,
    pub scheduled_effective_at: Option<String>,
    pub entitlement_status: String,
    /// JSON array of the granted feature keys.
    pub entitlement_features: String,
    pub balance_due_amount: i64,
    pub balance_due_currency: Option<String>,
    /// In the balance's currency: overpayments received and not refunded, and those refunded.
    pub overpaid_held_amount: i64,
    pub overpaid_refunded_amount: i64,
    pub in_dunning: bool,
    pub dunning_case_id: Option<String>,
    /// The subscription's discount in force, as the domain serialises an `ActiveDiscount`
    /// (JSON); null when none.
    pub discount: Option<String>,
}

impl SummaryRow {
    /// The row of an account no event has touched yet.
    pub fn new(account_id: &str) -> Self {
        Self {
            account_id: account_id.to_owned(),
            subscription_id: None,
            plan_id: None,
            status: SubscriptionStatus::None.as_str().to_owned(),
            currency: None,
            trial_ends_at: None,
            current_period_start: None,
            current_period_end: None,
            seat_count: None,
            seat_limit: None,
            overage_billing: false,
            cancel_at_period_end: false,
            scheduled_plan_id: None,
            scheduled_effective_at: None,
            entitlement_status: entitlement_status(EntitlementStatus::None).to_owned(),
            entitlement_features: "[]".to_owned(),
            balance_due_amount: 0,
            balance_due_currency: None,
            overpaid_held_amount: 0,
            overpaid_refunded_amount: 0,
            in_dunning: false,
            dunning_case_id: None,
            discount: None,
        }
    }

    pub fn apply(&mut self, event: &BillingEvent, catalog: &PlanCatalog) {
        match event {
            BillingEvent::Subscription {
                subscription_id,
                event,
            } => self.apply_subscription(subscription_id, event, catalog),
            BillingEvent::Entitlements { event, .. } => self.apply_entitlements(event),
            BillingEvent::Other => {}
        }
    }

    fn apply_subscription(
        &mut self,
        subscription_id: &str,
        event: &SubscriptionEvent,
        catalog: &PlanCatalog,
    ) {
        use SubscriptionEvent as E;
        if let E::TrialStarted {
            plan_id,
            currency,
            seats,
            overage_billing,
            trial_ends_at,
            ..
        } = event
        {
            // A new subscription for the account (the previous one, if any, was cancelled).
            *self = Self {
                subscription_id: Some(subscription_id.to_owned()),
                status: SubscriptionStatus::Trialing.as_str().to_owned(),
                currency: Some(currency.to_string()),
                trial_ends_at: Some(timestamp(*trial_ends_at)),
                seat_count: Some(seat_count(*seats)),
                overage_billing: *overage_billing,
                ..self.without_subscription()
            };
            self.set_plan(plan_id, catalog);
            return;
        }
        // Events of an earlier subscription of the account no longer describe it.
        if self.subscription_id.as_deref() != Some(subscription_id) {
            return;
        }
        match event {
            E::TrialStarted { .. } | E::BillingAccountAttached { .. } | E::TrialWillEnd { .. } => {}
            E::SubscriptionActivated {
                plan_id,
                period,
                seats,
                discount,
                ..
            }
            | E::PeriodRenewed {
                plan_id,
                period,
                seats,
                discount,
                ..
            } => {
                if matches!(event, E::SubscriptionActivated { .. }) {
                    self.set_status(SubscriptionStatus::Active);
                }
                if discount.is_some() {
                    self.update_discount(|active| active.periods_discounted += 1);
                }
                self.set_plan(plan_id, catalog);
                self.current_period_start = Some(timestamp(period.start));
                self.current_period_end = Some(timestamp(period.end));
                self.seat_count = Some(seat_count(*seats));
            }
            E::SeatsAdded { seats, .. } | E::SeatsRemoved { seats, .. } => {
                self.seat_count = Some(seat_count(*seats))
            }
            E::OverageBillingSet { enabled, .. } => self.overage_billing = *enabled,
            E::PlanChanged { to_plan, .. } => {
                self.set_plan(to_plan, catalog);
                self.clear_scheduled_change();
            }
            E::PlanChangeScheduled {
                to_plan,
                effective_at,
                ..
            } => {
                self.scheduled_plan_id = Some(to_plan.to_string());
                self.scheduled_effective_at = Some(timestamp(*effective_at));
            }
            E::CancellationScheduled { .. } => self.cancel_at_period_end = true,
            E::SubscriptionCancelled { .. } => {
                self.set_status(SubscriptionStatus::Cancelled);
                self.clear_scheduled_change();
                self.discount = None;
            }
            E::DiscountApplied { discount, at, .. } => {
                let active = ActiveDiscount {
                    terms: discount.clone(),
                    applied_at: *at,
                    periods_discounted: 0,
                };
                self.discount = serde_json::to_string(&active).ok();
            }
            E::DiscountRemoved { .. } | E::DiscountEnded { .. } => self.discount = None,
            E::SubscriptionMarkedPastDue { .. } => self.set_status(SubscriptionStatus::PastDue),
            E::SubscriptionReactivated { .. } => self.set_status(SubscriptionStatus::Active),
        }
    }

    fn apply_entitlements(&mut self, event: &EntitlementsEvent) {
        use EntitlementsEvent as E;
        let status = match event {
            E::EntitlementsEnabled { features, .. } => {
                self.entitlement_features = feature_list(features);
                EntitlementStatus::Enabled
            }
            // As in the aggregate, nothing but enabling counts before entitlements exist.
            _ if self.entitlement_status == entitlement_status(EntitlementStatus::None) => return,
            E::EntitlementsRecalculated { features, .. } => {
                self.entitlement_features = feature_list(features);
                return;
            }
            E::EntitlementsSuspended { .. } => EntitlementStatus::Suspended,
            E::EntitlementsRestored { .. } => EntitlementStatus::Enabled,
            E::EntitlementsRevoked { .. } => EntitlementStatus::Revoked,
            E::UsageRecorded { .. }
            | E::LateUsageRecorded { .. }
            | E::UsageBilled { .. }
            | E::UsageReset { .. }
            | E::CommitmentAdded { .. }
            | E::CommitmentReleased { .. } => return,
        };
        self.entitlement_status = entitlement_status(status).to_owned();
    }

    /// This row with every subscription field back at its empty value; the account's own
    /// fields (entitlements, balance, dunning) kept.
    fn without_subscription(&self) -> Self {
        Self {
            entitlement_status: self.entitlement_status.clone(),
            entitlement_features: self.entitlement_features.clone(),
            balance_due_amount: self.balance_due_amount,
            balance_due_currency: self.balance_due_currency.clone(),
            overpaid_held_amount: self.overpaid_held_amount,
            overpaid_refunded_amount: self.overpaid_refunded_amount,
            in_dunning: self.in_dunning,
            dunning_case_id: self.dunning_case_id.clone(),
            ..Self::new(&self.account_id)
        }
    }

    fn set_status(&mut self, status: SubscriptionStatus) {
        self.status = status.as_str().to_owned();
    }

    fn set_plan(&mut self, plan_id: &PlanId, catalog: &PlanCatalog) {
        self.plan_id = Some(plan_id.to_string());
        self.seat_limit = catalog.get(plan_id).map(|plan| i64::from(plan.seat_limit));
    }

    /// Changes the discount in force as the Subscription aggregate's `apply` does.
    fn update_discount(&mut self, change: impl FnOnce(&mut ActiveDiscount)) {
        let stored = self
            .discount
            .as_deref()
            .map(serde_json::from_str::<ActiveDiscount>);
        if let Some(Ok(mut active)) = stored {
            change(&mut active);
            self.discount = serde_json::to_string(&active).ok();
        }
    }

    fn clear_scheduled_change(&mut self) {
        self.scheduled_plan_id = None;
        self.scheduled_effective_at = None;
    }
}

fn seat_count(seats: SeatCount) -> i64 {
    i64::from(seats.get())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use chrono::{DateTime, Utc};
    use domain::{AccountId, Currency};
    use uuid::Uuid;

    use super::*;

    fn catalog() -> PlanCatalog {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/plans.toml");
        infrastructure::load_catalog(&path).unwrap()
    }

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-03-01T00:00:00Z")
            .unwrap()
            .to_utc()
    }

    fn account() -> AccountId {
        AccountId::parse("acct_1").unwrap()
    }

    fn trial(plan_id: &str) -> SubscriptionEvent {
        SubscriptionEvent::TrialStarted {
            subscription_id: Uuid::nil(),
            account_id: account(),
            plan_id: PlanId::parse(plan_id).unwrap(),
            currency: Currency::parse("usd").unwrap(),
            seats: SeatCount::ONE,
            overage_billing: false,
            billing_account: None,
            trial_ends_at: t0(),
            at: t0(),
        }
    }

    fn of(subscription_id: &str, event: SubscriptionEvent) -> BillingEvent {
        BillingEvent::Subscription {
            subscription_id: subscription_id.into(),
            event,
        }
    }

    #[test]
    fn an_earlier_subscription_s_events_no_longer_change_the_row() {
        let catalog = catalog();
        let mut row = SummaryRow::new("acct_1");
        row.apply(&of("sub_old", trial("starter")), &catalog);
        row.apply(&of("sub_new", trial("pro")), &catalog);
        let late = SubscriptionEvent::OverageBillingSet {
            account_id: account(),
            enabled: true,
            at: t0(),
        };
        row.apply(&of("sub_old", late.clone()), &catalog);
        assert_eq!(row.subscription_id.as_deref(), Some("sub_new"));
        assert!(!row.overage_billing);
        row.apply(&of("sub_new", late), &catalog);
        assert!(row.overage_billing);
    }

    #[test]
    fn a_plan_missing_from_the_catalog_has_no_seat_limit() {
        let mut row = SummaryRow::new("acct_1");
        row.apply(&of("sub", trial("legacy")), &catalog());
        assert_eq!(row.plan_id.as_deref(), Some("legacy"));
        assert_eq!(row.seat_limit, None);
        row.apply(&of("sub", trial("pro")), &catalog());
        assert_eq!(row.seat_limit, Some(20));
    }

    #[test]
    fn entitlement_changes_before_the_first_enabling_are_ignored_as_the_aggregate_does() {
        let mut row = SummaryRow::new("acct_1");
        let restored = EntitlementsEvent::EntitlementsRestored { at: t0() };
        let entitlements = BillingEvent::Entitlements {
            account_id: "acct_1".into(),
            event: restored,
        };
        row.apply(&entitlements, &catalog());
        assert_eq!(row, SummaryRow::new("acct_1"));
    }
}
