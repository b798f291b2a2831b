//! What a subscription charges: the lines of a period's invoice (shared by activation and
//! renewal, so both bill the same way) and the prorated lines of mid-period changes.

use chrono::{DateTime, Utc};

use crate::catalog::Plan;
use crate::error::DomainError;
use crate::invoice::{InvoiceLine, LineKind};
use crate::money::Money;
use crate::period::BillingPeriod;
use crate::values::SeatCount;

/// The seats beyond what the plan's base price covers.
pub(super) fn overage_seats(plan: &Plan, seats: SeatCount) -> u32 {
    seats.get().saturating_sub(plan.seat_limit)
}

/// A period's invoice: the plan's base price, the overage seats at the full per-period price,
/// then every pending prorated item accrued during the previous period.
pub(super) fn period_invoice_lines(
    plan: &Plan,
    period: &BillingPeriod,
    seats: SeatCount,
    pending: &[InvoiceLine],
) -> Result<Vec<InvoiceLine>, DomainError> {
    let span = span(period.start, period.end);
    let mut lines = vec![InvoiceLine::new(
        format!("{} plan, {span}", plan.name),
        LineKind::Base,
        1,
        plan.base_price.clone(),
    )?];
    let overage = overage_seats(plan, seats);
    if overage > 0 {
        lines.push(InvoiceLine::new(
            format!(
                "Seats beyond {} on the {} plan, {span}",
                plan.seat_limit, plan.name
            ),
            LineKind::Overage,
            overage,
            plan.overage_seat_price.clone(),
        )?);
    }
    lines.extend(pending.iter().cloned());
    Ok(lines)
}

/// The prorated charge for `added` overage seats for the rest of `period` from `now`, or `None`
/// when nothing is left to charge.
pub(super) fn seat_proration_item(
    plan: &Plan,
    period: &BillingPeriod,
    added: u32,
    now: DateTime<Utc>,
) -> Result<Option<InvoiceLine>, DomainError> {
    let unit_amount = period.prorate_remaining(&plan.overage_seat_price, now)?;
    if added == 0 || unit_amount.amount <= 0 {
        return Ok(None);
    }
    let line = InvoiceLine::new(
        format!(
            "Seats beyond {} on the {} plan, prorated {}",
            plan.seat_limit,
            plan.name,
            span(now, period.end)
        ),
        LineKind::Proration,
        added,
        unit_amount,
    )?;
    Ok(Some(line))
}

/// The upgrade charge for the rest of `period`: the base price difference, prorated once (one
/// rounding, SPEC's formula applied to the difference). Empty when the difference is not positive.
pub(super) fn upgrade_proration_lines(
    from: &Plan,
    to: &Plan,
    period: &BillingPeriod,
    now: DateTime<Utc>,
) -> Result<Vec<InvoiceLine>, DomainError> {
    let difference = to.base_price.checked_sub(&from.base_price)?;
    let charge = period.prorate_remaining(&difference, now)?;
    if charge.amount <= 0 {
        return Ok(Vec::new());
    }
    let line = InvoiceLine::new(
        format!(
            "Upgrade from {} to {}, prorated {}",
            from.name,
            to.name,
            span(now, period.end)
        ),
        LineKind::Proration,
        1,
        charge,
    )?;
    Ok(vec![line])
}

/// What a downgrade now gives back: the base price difference for the rest of `period`,
/// prorated once as an upgrade's charge is; `None` when the difference is not positive.
pub(super) fn downgrade_credit(
    from: &Plan,
    to: &Plan,
    period: &BillingPeriod,
    now: DateTime<Utc>,
) -> Result<Option<Money>, DomainError> {
    let difference = from.base_price.checked_sub(&to.base_price)?;
    let credit = period.prorate_remaining(&difference, now)?;
    Ok((credit.amount > 0).then_some(credit))
}

fn span(from: DateTime<Utc>, to: DateTime<Utc>) -> String {
    format!("{} – {}", from.format("%Y-%m-%d"), to.format("%Y-%m-%d"))
}
