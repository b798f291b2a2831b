//! Metering decisions: recording usage (now, or late for the period before the current one),
//! starting a new usage period, and billing a closed period's usage in arrears (SPEC 11.1).

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use super::decide::{check_period, plan_of, Decision};
use super::{check_quantity, EntitlementsEvent, EntitlementsRule, EntitlementsState, UsageId};
use crate::catalog::PlanCatalog;
use crate::error::DomainError;
use crate::period::BillingPeriod;
use crate::values::{FeatureKey, PlanId};

/// How far ahead of the clock a usage `timestamp` may be: the product's clocks drift a little.
const CLOCK_SKEW: Duration = Duration::minutes(5);

impl EntitlementsState {
    pub(super) fn record_usage(
        &self,
        feature: FeatureKey,
        quantity: u64,
        usage_id: UsageId,
        timestamp: Option<DateTime<Utc>>,
        at: DateTime<Utc>,
    ) -> Decision {
        let quantity = check_quantity(quantity)?;
        let happened = timestamp.unwrap_or(at);
        if happened > at + CLOCK_SKEW {
            return Err(DomainError::invalid(
                "timestamp",
                format!("{happened} is in the future (now is {at})"),
            ));
        }
        // A retry of a record already counted succeeds without counting again, whatever has
        // happened to the account since.
        if self.seen_usage_ids.contains(&usage_id) {
            return Ok(vec![]);
        }
        // Usage already happened: it is recorded while suspended too (the read side flags it).
        self.ensure_not_revoked()?;
        self.ensure_granted(&feature)?;
        if happened < self.period.start {
            return self.late_usage(feature, quantity, usage_id, happened, at);
        }
        let used = self.used(&feature).saturating_add(quantity);
        let limit = self.limit_of(&feature);
        Ok(vec![EntitlementsEvent::UsageRecorded {
            over_limit: limit.is_some_and(|limit| used > limit),
            feature,
            quantity,
            usage_id,
            used,
            limit,
            period: Some(self.period),
            at,
        }])
    }

    /// Usage that happened before the current period: kept for the period before it, refused
    /// further back (that period's invoice and its adjustment are long issued).
    fn late_usage(
        &self,
        feature: FeatureKey,
        quantity: u64,
        usage_id: UsageId,
        happened: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> Decision {
        match self.previous_period {
            Some(period) if period.start <= happened => {
                Ok(vec![EntitlementsEvent::LateUsageRecorded {
                    feature,
                    quantity,
                    usage_id,
                    period,
                    at,
                }])
            }
            previous => Err(DomainError::invalid(
                "timestamp",
                format!(
                    "{happened} is before the period before the current one (which starts {}): \
                     usage may be recorded for the current period or, late, for the one before it",
                    previous.map_or(self.period.start, |period| period.start)
                ),
            )),
        }
    }

    pub(super) fn reset_usage(&self, period: BillingPeriod, at: DateTime<Utc>) -> Decision {
        check_period(&period)?;
        self.ensure_not_revoked()?;
        if period == self.period {
            return Ok(vec![]);
        }
        if period.start < self.period.start {
            return Err(EntitlementsRule::PeriodBeforeCurrent {
                current_start: self.period.start,
                requested_start: period.start,
            }
            .into());
        }
        Ok(vec![EntitlementsEvent::UsageReset { period, at }])
    }

    /// Allowed in any standing: a revoked account still owes its last period's usage.
    pub(super) fn bill_usage(
        &self,
        invoice_id: Uuid,
        period: BillingPeriod,
        plan_id: &PlanId,
        catalog: &PlanCatalog,
        at: DateTime<Utc>,
    ) -> Decision {
        check_period(&period)?;
        if self.ledger.lines_of(invoice_id).is_some() {
            return Ok(vec![]);
        }
        let bill = self.ledger.bill(&period, plan_of(catalog, plan_id)?)?;
        Ok(vec![EntitlementsEvent::UsageBilled {
            invoice_id,
            period,
            billed: bill.billed,
            lines: bill.lines,
            at,
        }])
    }
}
