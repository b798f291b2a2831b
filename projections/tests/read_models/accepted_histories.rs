//! Whatever the domain accepts, every read model applies (the probe's H1): random histories of
//! commands, amounts up to the bound and beyond it, leave every projection running and verifying
//! clean; and a log written before the bound, with amounts the domain now refuses, still projects.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use domain::dunning::{DunningCase, DunningCommand};
use domain::invoice::{
    CollectionMethod, Invoice, InvoiceCommand, InvoiceEvent, InvoiceLine, LineKind,
};
use domain::subscription::{Subscription, SubscriptionCommand};
use domain::{Currency, SeatCount, MAX_AMOUNT};
use infrastructure::consumers::ProjectionStatus;
use infrastructure::testing::Backend;
use projections::rebuild::verify;
use projections::{read_model_projectors, Projections, VerifyStatus};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use uuid::Uuid;

use crate::fixtures::*;

/// Accounts per history: enough for invoices and cases of several accounts to interleave.
const ACCOUNTS: usize = 2;

/// How often a history's check looks for a failed projection while it waits.
const STEP: Duration = Duration::from_millis(50);

#[derive(Debug, Clone)]
enum Step {
    StartTrial {
        account: usize,
        plan: &'static str,
        seats: u32,
        overage: bool,
    },
    AddSeats {
        account: usize,
        count: u32,
    },
    Issue {
        account: usize,
        currency: &'static str,
        lines: Vec<(u32, i64)>,
    },
    Pay {
        invoice: usize,
        amount: i64,
    },
    Fail {
        invoice: usize,
        hard_decline: bool,
    },
    Refund {
        invoice: usize,
        amount: i64,
    },
    Void {
        invoice: usize,
    },
    MarkUncollectible {
        invoice: usize,
    },
    StartDunning {
        invoice: usize,
        amount: i64,
    },
}

/// Small amounts, amounts at the bound, and amounts beyond it (which the domain refuses), the
/// probe's 2^62 among them: two of those overflowed an account's balance before the bound.
fn amount() -> impl Strategy<Value = i64> {
    prop_oneof![
        1..=10_000i64,
        (MAX_AMOUNT - 10_000)..=MAX_AMOUNT,
        Just(MAX_AMOUNT / 2),
        Just(1 << 62),
        (MAX_AMOUNT + 1)..=i64::MAX,
    ]
}

fn quantity() -> impl Strategy<Value = u32> {
    prop_oneof![3 => Just(1u32), 1 => 2..4u32]
}

fn step() -> impl Strategy<Value = Step> {
    let account = 0..ACCOUNTS;
    let invoice = 0..4usize;
    prop_oneof![
        1 => (
            account.clone(),
            prop::sample::select(vec!["starter", "pro", "enterprise"]),
            1..30u32,
            any::<bool>()
        )
            .prop_map(|(account, plan, seats, overage)| Step::StartTrial {
                account,
                plan,
                seats,
                overage
            }),
        1 => (account.clone(), 1..50u32).prop_map(|(account, count)| Step::AddSeats { account, count }),
        // Issuing is what adds to an account's balance: the most frequent step.
        4 => (
            account,
            prop::sample::select(vec!["usd", "eur"]),
            prop::collection::vec((quantity(), prop_oneof![Just(0i64), amount()]), 1..3)
        )
            .prop_map(|(account, currency, lines)| Step::Issue {
                account,
                currency,
                lines
            }),
        1 => (invoice.clone(), amount()).prop_map(|(invoice, amount)| Step::Pay { invoice, amount }),
        1 => (invoice.clone(), any::<bool>()).prop_map(|(invoice, hard_decline)| Step::Fail {
            invoice,
            hard_decline
        }),
        1 => (invoice.clone(), amount()).prop_map(|(invoice, amount)| Step::Refund { invoice, amount }),
        1 => invoice.clone().prop_map(|invoice| Step::Void { invoice }),
        1 => invoice
            .clone()
            .prop_map(|invoice| Step::MarkUncollectible { invoice }),
        1 => (invoice, amount()).prop_map(|(invoice, amount)| Step::StartDunning { invoice, amount }),
    ]
}

/// What one history has created so far.
#[derive(Default)]
struct Made {
    subscriptions: BTreeMap<usize, Uuid>,
    /// Issued invoices: id, account, currency.
    invoices: Vec<(Uuid, String, &'static str)>,
}

/// Runs `step` of history `case`; the position of its last event when the domain accepted it.
async fn run(h: &Harness, case: usize, made: &mut Made, step: Step) -> Option<i64> {
    let account_id = |n: usize| format!("h{case}_a{n}");
    let ref_id = Uuid::new_v4().to_string();
    let invoice = |n: usize| made.invoices.get(n % made.invoices.len().max(1)).cloned();
    match step {
        Step::StartTrial {
            account: n,
            plan: plan_id,
            seats: count,
            overage,
        } => {
            let id = Uuid::new_v4();
            let command = SubscriptionCommand::StartTrial {
                subscription_id: id,
                account_id: account(&account_id(n)),
                plan_id: plan(plan_id),
                seats: seats(count),
                billing_account: Some(billing_account()),
                overage_billing: overage,
            };
            let position = h
                .try_execute::<Subscription>(&id.to_string(), command)
                .await;
            if position.is_some() {
                made.subscriptions.insert(n, id);
            }
            position
        }
        Step::AddSeats { account: n, count } => {
            let id = *made.subscriptions.get(&n)?;
            let command = SubscriptionCommand::AddSeats {
                count: SeatCount::parse(count).unwrap(),
            };
            h.try_execute::<Subscription>(&id.to_string(), command)
                .await
        }
        Step::Issue {
            account: n,
            currency,
            lines,
        } => {
            let code = Currency::parse(currency).unwrap();
            // Lines as a deserialised command carries them: the invoice checks them itself.
            let lines = lines
                .into_iter()
                .map(|(quantity, unit)| InvoiceLine {
                    description: "Manual".into(),
                    kind: LineKind::Manual,
                    quantity,
                    unit_amount: money(unit, currency),
                    amount: money(unit.saturating_mul(i64::from(quantity)), currency),
                    usage: None,
                })
                .collect();
            let id = Uuid::new_v4();
            let command = InvoiceCommand::IssueInvoice {
                invoice_id: id,
                account_id: account(&account_id(n)),
                subscription_id: None,
                currency: code,
                lines,
                due_at: None,
                collection: CollectionMethod::Manual,
            };
            let position = h.try_execute::<Invoice>(&id.to_string(), command).await;
            if position.is_some() {
                made.invoices.push((id, account_id(n), currency));
            }
            position
        }
        Step::Pay { invoice: n, amount } => {
            let (id, _, currency) = invoice(n)?;
            let command = InvoiceCommand::RecordPayment {
                amount: money(amount, currency),
                payment_ref: ref_id,
            };
            h.try_execute::<Invoice>(&id.to_string(), command).await
        }
        Step::Fail {
            invoice: n,
            hard_decline,
        } => {
            let (id, ..) = invoice(n)?;
            let command = InvoiceCommand::RecordPaymentFailure {
                reason: "Your card was declined.".into(),
                code: "card_declined".into(),
                payment_ref: Some(ref_id),
                hard_decline,
            };
            h.try_execute::<Invoice>(&id.to_string(), command).await
        }
        Step::Refund { invoice: n, amount } => {
            let (id, _, currency) = invoice(n)?;
            let command = InvoiceCommand::RefundInvoice {
                amount: money(amount, currency),
                reason: "requested_by_customer".into(),
            };
            h.try_execute::<Invoice>(&id.to_string(), command).await
        }
        Step::Void { invoice: n } => {
            let (id, ..) = invoice(n)?;
            h.try_execute::<Invoice>(&id.to_string(), InvoiceCommand::VoidInvoice)
                .await
        }
        Step::MarkUncollectible { invoice: n } => {
            let (id, ..) = invoice(n)?;
            h.try_execute::<Invoice>(&id.to_string(), InvoiceCommand::MarkUncollectible)
                .await
        }
        Step::StartDunning { invoice: n, amount } => {
            let (invoice_id, account_id, currency) = invoice(n)?;
            let id = Uuid::new_v4();
            let command = DunningCommand::StartDunning {
                case_id: id,
                account_id: account(&account_id),
                subscription_id: None,
                invoice_id,
                amount_due: money(amount, currency),
                failure_reason: "Your card was declined.".into(),
                failure_code: "card_declined".into(),
                hard_decline: false,
            };
            h.try_execute::<DunningCase>(&id.to_string(), command).await
        }
    }
}

/// Every projection has applied `position`; an error as soon as one has failed instead.
async fn all_applied(projections: &Projections, position: i64) -> Result<(), String> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let failed: Vec<_> = projections
            .states()
            .into_iter()
            .filter(|state| matches!(state.status, ProjectionStatus::Failed { .. }))
            .collect();
        if !failed.is_empty() {
            return Err(format!("failed: {failed:#?}"));
        }
        match projections.wait_for(position, STEP).await {
            Ok(()) => return Ok(()),
            Err(stale) if Instant::now() > deadline => return Err(stale.to_string()),
            Err(_) => {}
        }
    }
}

async fn any_accepted_history_projects_without_error(backend: Backend) {
    let h = Harness::new(backend).await;
    let projections = h.start(options(7));
    let handle = tokio::runtime::Handle::current();
    let cases = AtomicUsize::new(0);
    let mut runner = TestRunner::new(Config {
        cases: 32,
        // Each shrink step replays a history: a few are enough to show a small one.
        max_shrink_iters: 32,
        failure_persistence: None,
        ..Config::default()
    });
    let histories = prop::collection::vec(step(), 1..20);
    let outcome = runner.run(&histories, |steps| {
        let case = cases.fetch_add(1, Ordering::Relaxed);
        tokio::task::block_in_place(|| {
            handle.block_on(async {
                let mut made = Made::default();
                let mut last = None;
                for step in steps {
                    last = run(&h, case, &mut made, step).await.or(last);
                }
                match last {
                    Some(position) => all_applied(&projections, position)
                        .await
                        .map_err(TestCaseError::fail),
                    None => Ok(()),
                }
            })
        })
    });
    if let Err(failure) = outcome {
        panic!("{failure}");
    }

    let report = verify(&h.store, &read_model_projectors(h.catalog.clone()))
        .await
        .unwrap();
    assert_eq!(report.status, VerifyStatus::Verified, "{report:#?}");
    projections.stop().await;
}

/// An invoice as a log written before the bound may hold it: one line of `amount`.
fn issued_unchecked(id: Uuid, account_id: &str, amount: i64) -> InvoiceEvent {
    InvoiceEvent::InvoiceIssued {
        invoice_id: id,
        account_id: account(account_id),
        subscription_id: None,
        currency: Currency::parse("usd").unwrap(),
        lines: vec![InvoiceLine {
            description: "Manual".into(),
            kind: LineKind::Manual,
            quantity: 1,
            unit_amount: money(amount, "usd"),
            amount: money(amount, "usd"),
            usage: None,
        }],
        total: money(amount, "usd"),
        issued_at: t0(),
        due_at: t0(),
        collection: CollectionMethod::Manual,
    }
}

/// The probe's two invoices of 2^62, stored before the bound refused them: the account's
/// balance is stored at the column's limit, and every other account keeps its read models.
async fn a_log_written_before_the_bound_still_projects(backend: Backend) {
    let h = Harness::new(backend).await;
    for _ in 0..2 {
        let id = Uuid::new_v4();
        let event = issued_unchecked(id, "acct_probe", 1 << 62);
        h.append_unchecked("invoice", &id.to_string(), vec![event])
            .await;
    }
    let (_, last) = h.issue("acct_next", None, "usd", &[1900]).await;
    let projections = h.start(options(5));

    all_applied(&projections, last).await.unwrap();
    let probe = h.summary("acct_probe").await.unwrap();
    assert_eq!(probe.balance_due.amount, i64::MAX);
    let next = h.summary("acct_next").await.unwrap();
    assert_eq!(next.balance_due.amount, 1900);
    let report = verify(&h.store, &read_model_projectors(h.catalog.clone()))
        .await
        .unwrap();
    assert_eq!(report.status, VerifyStatus::Verified, "{report:#?}");
    projections.stop().await;
}

infrastructure::on_both_backends!(
    any_accepted_history_projects_without_error,
    a_log_written_before_the_bound_still_projects,
);
