//! Usage in arrears: which period a record belongs to, and what a bill charges (SPEC 11.1). The
//! shipped `pro` plan prices `api_calls` graduated: 50,000 included, the next 25,000 at 0.05
//! minor units, the rest at 0.03.

use super::*;
use crate::invoice::LineKind;

fn invoice(n: u128) -> Uuid {
    Uuid::from_u128(0x1000 + n)
}

/// A day into April, with the usage period moved on from March.
fn in_april() -> BillingServices {
    services_at(april().start + Duration::days(1))
}

fn reset_to(period: BillingPeriod) -> EntitlementsEvent {
    EntitlementsEvent::UsageReset { period, at: t0() }
}

fn record_at(quantity: u64, id: &str, timestamp: DateTime<Utc>) -> EntitlementsCommand {
    EntitlementsCommand::RecordUsage {
        feature: feature("api_calls"),
        quantity,
        usage_id: usage_id(id),
        timestamp: Some(timestamp),
    }
}

fn late(quantity: u64, id: &str, period: BillingPeriod) -> EntitlementsEvent {
    EntitlementsEvent::LateUsageRecorded {
        feature: feature("api_calls"),
        quantity,
        usage_id: usage_id(id),
        period,
        at: t0(),
    }
}

fn bill(invoice_id: Uuid, period: BillingPeriod) -> EntitlementsCommand {
    EntitlementsCommand::BillUsage {
        invoice_id,
        period,
        plan_id: plan("pro"),
    }
}

/// The one `UsageBilled` a command records: its lines and how far billing went.
fn billed(history: Vec<EntitlementsEvent>, command: EntitlementsCommand) -> EntitlementsEvent {
    let mut events = Framework::with(in_april())
        .given(history)
        .when(command)
        .inspect_result()
        .expect("billed");
    assert_eq!(events.len(), 1, "{events:?}");
    events.remove(0)
}

fn lines_and_quantities(event: EntitlementsEvent) -> (Vec<(LineKind, i64)>, Vec<u64>) {
    let EntitlementsEvent::UsageBilled { lines, billed, .. } = event else {
        panic!("expected UsageBilled, got {event:?}");
    };
    (
        lines.iter().map(|l| (l.kind, l.amount.amount)).collect(),
        billed.iter().map(|b| b.quantity).collect(),
    )
}

/// March with 150,000 calls, then April under way.
fn march_used_150k() -> Vec<EntitlementsEvent> {
    vec![
        enabled("pro", march()),
        recorded("api_calls", 150_000, "u1", 150_000, Some(100_000)),
        reset_to(april()),
    ]
}

#[test]
fn the_closed_period_is_billed_with_the_tiers_it_crossed() {
    let event = billed(march_used_150k(), bill(invoice(1), march()));
    // 25,000 × 0.05 + 75,000 × 0.03 = 1,250 + 2,250.
    assert_eq!(
        lines_and_quantities(event),
        (vec![(LineKind::Usage, 3_500)], vec![150_000])
    );
}

#[test]
fn an_invoice_bills_usage_once() {
    let first = billed(march_used_150k(), bill(invoice(1), march()));
    let mut history = march_used_150k();
    history.push(first);
    Framework::with(in_april())
        .given(history)
        .when(bill(invoice(1), march()))
        .then_expect_events(vec![]);
}

#[test]
fn a_record_dated_in_the_previous_period_belongs_to_it_and_not_to_the_current_limits() {
    let history = vec![enabled("pro", march()), reset_to(april())];
    let mut events = Framework::with(in_april())
        .given(history)
        .when(record_at(7, "late-1", march().end - Duration::hours(1)))
        .inspect_result()
        .expect("recorded");
    assert_eq!(events.len(), 1);
    match events.remove(0) {
        EntitlementsEvent::LateUsageRecorded {
            period, quantity, ..
        } => assert_eq!((period, quantity), (march(), 7)),
        other => panic!("expected LateUsageRecorded, got {other:?}"),
    }
    let mut entitlements = Entitlements::default();
    for event in [
        enabled("pro", march()),
        reset_to(april()),
        late(7, "late-1", march()),
    ] {
        entitlements.apply(event);
    }
    assert_eq!(entitlements.usage(&feature("api_calls")), 0);
}

#[test]
fn late_usage_that_arrives_before_the_bill_is_part_of_the_usage_line() {
    let mut history = march_used_150k();
    history.push(late(10_000, "late-1", march()));
    let event = billed(history, bill(invoice(1), march()));
    // 160,000: 25,000 × 0.05 + 85,000 × 0.03 = 1,250 + 2,550.
    assert_eq!(
        lines_and_quantities(event),
        (vec![(LineKind::Usage, 3_800)], vec![160_000])
    );
}

#[test]
fn late_usage_for_an_invoiced_period_is_an_adjustment_on_the_next_bill() {
    let mut history = march_used_150k();
    history.push(billed(march_used_150k(), bill(invoice(1), march())));
    history.push(late(10_000, "late-1", march()));
    let event = billed(history, bill(invoice(2), april()));
    assert_eq!(
        lines_and_quantities(event),
        (vec![(LineKind::UsageAdjustment, 300)], vec![160_000])
    );
}

/// The renewal's bill can be recorded before the account's usage period moves on: a late record
/// for the month before is still billed, as an adjustment on the next bill.
#[test]
fn late_usage_that_arrives_before_the_period_moves_on_is_adjusted_next_time() {
    let may = april().next(BillingInterval::Month).unwrap();
    let mut history = march_used_150k();
    history.push(billed(march_used_150k(), bill(invoice(1), march())));
    let april_bill = billed(history.clone(), bill(invoice(2), april()));
    history.push(april_bill);
    history.push(late(10_000, "late-1", march()));
    history.push(reset_to(may));
    let event = billed(history, bill(invoice(3), may));
    assert_eq!(
        lines_and_quantities(event),
        (vec![(LineKind::UsageAdjustment, 300)], vec![160_000])
    );
}

#[test]
fn a_retried_late_record_is_not_counted_again() {
    Framework::with(in_april())
        .given(vec![
            enabled("pro", march()),
            reset_to(april()),
            late(7, "late-1", march()),
        ])
        .when(record_at(7, "late-1", march().start))
        .then_expect_events(vec![]);
}

#[test]
fn usage_older_than_the_previous_period_or_in_the_future_is_refused() {
    let history = || vec![enabled("pro", march()), reset_to(april())];
    let too_old = march().start - Duration::seconds(1);
    let future = april().start + Duration::days(1) + Duration::minutes(6);
    for timestamp in [too_old, future] {
        let error = Framework::with(in_april())
            .given(history())
            .when(record_at(1, "u1", timestamp))
            .inspect_result()
            .unwrap_err();
        match error {
            DomainError::Invalid(invalid) => assert_eq!(invalid.field, "timestamp"),
            other => panic!("{timestamp}: expected a refused timestamp, got {other:?}"),
        }
    }
    let slightly_ahead = april().start + Duration::days(1) + Duration::minutes(4);
    Framework::with(in_april())
        .given(history())
        .when(record_at(1, "u1", slightly_ahead))
        .inspect_result()
        .expect("a clock a few minutes ahead is tolerated");
}

#[test]
fn trial_usage_is_never_billed() {
    let history = vec![
        enabled("pro", trial()),
        EntitlementsEvent::UsageRecorded {
            feature: feature("api_calls"),
            quantity: 90_000,
            usage_id: usage_id("t1"),
            used: 90_000,
            limit: Some(100_000),
            over_limit: false,
            period: Some(trial()),
            at: t0(),
        },
        enabled("pro", march()),
        reset_to(april()),
    ];
    let event = billed(history, bill(invoice(1), march()));
    assert_eq!(lines_and_quantities(event), (vec![], vec![]));
}

#[test]
fn records_made_before_usage_prices_are_never_billed() {
    let mut history = march_used_150k();
    if let EntitlementsEvent::UsageRecorded { period, .. } = &mut history[1] {
        *period = None;
    }
    let event = billed(history, bill(invoice(1), march()));
    assert_eq!(lines_and_quantities(event), (vec![], vec![]));
}

#[test]
fn a_bill_is_remembered_with_its_lines() {
    let event = billed(march_used_150k(), bill(invoice(1), march()));
    let mut entitlements = Entitlements::default();
    for event in march_used_150k().into_iter().chain([event]) {
        entitlements.apply(event);
    }
    let lines = entitlements.usage_lines_of(invoice(1)).expect("remembered");
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0].amount.amount, 3_500);
    assert!(entitlements.usage_lines_of(invoice(2)).is_none());
}
