//! The usage ledger (SPEC 11.1): per billable period, the units recorded of each feature and
//! how many of them invoices have billed, so usage is billed in arrears exactly once, late
//! records included. Only events recorded since usage prices exist feed it (their `period`
//! says where the units belong), so a replay and a snapshot written before agree on it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::catalog::Plan;
use crate::error::DomainError;
use crate::invoice::InvoiceLine;
use crate::period::BillingPeriod;
use crate::values::FeatureKey;

/// How many recent bills keep their lines, so a retried bill can read what the first recorded.
const RECENT_BILLS: usize = 4;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(super) struct UsageLedger {
    /// Oldest first: a few at most, since billed periods before the last bill are dropped.
    periods: Vec<PeriodUsage>,
    /// The latest bills, oldest first: the invoice each was for and its lines.
    recent_bills: Vec<(Uuid, Vec<InvoiceLine>)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct PeriodUsage {
    period: BillingPeriod,
    recorded: BTreeMap<FeatureKey, u64>,
    /// `None` until an invoice billed the period; then the units billed per feature.
    billed: Option<BTreeMap<FeatureKey, u64>>,
}

/// How far the billing of one feature in one period has gone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BilledUsage {
    pub feature: FeatureKey,
    pub period: BillingPeriod,
    /// The units billed in all, this bill included.
    pub quantity: u64,
}

/// What one bill charges: its lines, and how far each feature's billing has gone.
pub(super) struct Bill {
    pub lines: Vec<InvoiceLine>,
    pub billed: Vec<BilledUsage>,
}

impl UsageLedger {
    pub(super) fn record(&mut self, period: BillingPeriod, feature: FeatureKey, quantity: u64) {
        let entry = self.entry(period);
        let units = entry.recorded.entry(feature).or_default();
        *units = units.saturating_add(quantity);
    }

    /// The lines invoice `invoice_id` got, if it was billed recently.
    pub(super) fn lines_of(&self, invoice_id: Uuid) -> Option<&[InvoiceLine]> {
        self.recent_bills
            .iter()
            .find(|(id, _)| *id == invoice_id)
            .map(|(_, lines)| lines.as_slice())
    }

    /// The bill that closes `closing` under `plan`'s usage prices: the closing period's usage,
    /// and the late usage of periods billed before it. A period before `closing` that was never
    /// billed (a trial) is never billed.
    pub(super) fn bill(&self, closing: &BillingPeriod, plan: &Plan) -> Result<Bill, DomainError> {
        let mut bill = Bill {
            lines: Vec::new(),
            billed: Vec::new(),
        };
        let billable = self.periods.iter().filter(|usage| {
            usage.period == *closing || usage.period.start < closing.start && usage.billed.is_some()
        });
        for usage in billable {
            for (feature, price) in &plan.usage_prices {
                let quantity = usage.recorded.get(feature).copied().unwrap_or(0);
                let previously_billed = usage
                    .billed
                    .as_ref()
                    .and_then(|billed| billed.get(feature))
                    .copied()
                    .unwrap_or(0);
                if quantity <= previously_billed {
                    continue;
                }
                bill.lines.push(InvoiceLine::usage(
                    feature,
                    usage.period,
                    price,
                    previously_billed,
                    quantity,
                    &plan.currency,
                )?);
                bill.billed.push(BilledUsage {
                    feature: feature.clone(),
                    period: usage.period,
                    quantity,
                });
            }
        }
        Ok(bill)
    }

    /// Records a bill: the closing period counts as billed from now on (its late usage becomes
    /// adjustments). Late usage is accepted for the period before the current one at most, so
    /// periods older than the one just before the closing period are dropped; that one is kept,
    /// since the account's usage period may not have moved on yet when the bill is recorded.
    pub(super) fn billed(
        &mut self,
        invoice_id: Uuid,
        closing: BillingPeriod,
        billed: Vec<BilledUsage>,
        lines: Vec<InvoiceLine>,
    ) {
        self.entry(closing).billed.get_or_insert_with(BTreeMap::new);
        for usage in billed {
            let entry = self.entry(usage.period);
            let units = entry.billed.get_or_insert_with(BTreeMap::new);
            units.insert(usage.feature, usage.quantity);
        }
        let just_before = (self.periods.iter())
            .map(|usage| usage.period.start)
            .filter(|start| *start < closing.start)
            .max();
        self.periods.retain(|usage| {
            usage.period == closing
                || usage.period.start > closing.start
                || Some(usage.period.start) == just_before
        });
        self.recent_bills.push((invoice_id, lines));
        let excess = self.recent_bills.len().saturating_sub(RECENT_BILLS);
        self.recent_bills.drain(..excess);
    }

    fn entry(&mut self, period: BillingPeriod) -> &mut PeriodUsage {
        let index = match self.periods.iter().position(|usage| usage.period == period) {
            Some(index) => index,
            None => {
                let index = self
                    .periods
                    .partition_point(|usage| usage.period.start <= period.start);
                let usage = PeriodUsage {
                    period,
                    recorded: BTreeMap::new(),
                    billed: None,
                };
                self.periods.insert(index, usage);
                index
            }
        };
        &mut self.periods[index]
    }
}
