use cqrs_es::test::TestFramework;
use proptest::prelude::*;

use super::*;
use crate::testing::{account, services, t0, usd};

fn eur(amount: i64) -> Money {
    Money::new(amount, Currency::parse("eur").unwrap())
}

fn reason() -> String {
    "goodwill for the outage".into()
}

fn adjust(amount: Money, adjustment_id: Uuid) -> CustomerBalanceCommand {
    CustomerBalanceCommand::AdjustBalance {
        account_id: account(),
        amount,
        reason: reason(),
        adjustment_id,
    }
}

fn adjusted(amount: i64, balance_after: i64, adjustment_id: Uuid) -> CustomerBalanceEvent {
    CustomerBalanceEvent::BalanceAdjusted {
        account_id: account(),
        adjustment_id,
        amount: usd(amount),
        balance_after: usd(balance_after),
        reason: reason(),
        at: t0(),
    }
}

fn credit_note() -> CreditSource {
    CreditSource::CreditNote {
        credit_note_id: Uuid::from_u128(1),
        invoice_id: Uuid::from_u128(2),
    }
}

fn credit(amount: Money) -> CustomerBalanceCommand {
    CustomerBalanceCommand::CreditBalance {
        account_id: account(),
        amount,
        source: credit_note(),
    }
}

fn credited(amount: i64, balance_after: i64) -> CustomerBalanceEvent {
    CustomerBalanceEvent::BalanceCredited {
        account_id: account(),
        amount: usd(amount),
        balance_after: usd(balance_after),
        source: credit_note(),
        at: t0(),
    }
}

fn apply_to(invoice_id: Uuid, amount_due: Money) -> CustomerBalanceCommand {
    CustomerBalanceCommand::ApplyBalanceToInvoice {
        account_id: account(),
        invoice_id,
        amount_due,
    }
}

fn applied(invoice_id: Uuid, amount: i64, balance_after: i64) -> CustomerBalanceEvent {
    CustomerBalanceEvent::BalanceApplied {
        account_id: account(),
        invoice_id,
        amount: usd(amount),
        balance_after: usd(balance_after),
        at: t0(),
    }
}

fn given(
    events: Vec<CustomerBalanceEvent>,
) -> cqrs_es::test::AggregateTestExecutor<CustomerBalance> {
    TestFramework::<CustomerBalance>::with(services()).given(events)
}

fn invalid(field: &str, reason: &str) -> DomainError {
    DomainError::invalid(field, reason)
}

#[test]
fn a_goodwill_adjustment_credits_a_new_balance_and_fixes_its_currency() {
    let id = Uuid::new_v4();
    TestFramework::<CustomerBalance>::with(services())
        .given_no_previous_events()
        .when(adjust(usd(500), id))
        .then_expect_events(vec![adjusted(500, 500, id)]);
}

#[test]
fn a_negative_adjustment_corrects_the_balance_down_to_zero() {
    let (first, second) = (Uuid::new_v4(), Uuid::new_v4());
    given(vec![adjusted(500, 500, first)])
        .when(adjust(usd(-500), second))
        .then_expect_events(vec![adjusted(-500, 0, second)]);
}

#[test]
fn a_negative_adjustment_cannot_take_the_balance_below_zero() {
    given(vec![adjusted(300, 300, Uuid::new_v4())])
        .when(adjust(usd(-1000), Uuid::new_v4()))
        .then_expect_error(
            CustomerBalanceRule::BalanceWouldGoNegative {
                balance: usd(300),
                amount: usd(-1000),
            }
            .into(),
        );
}

#[test]
fn a_negative_adjustment_of_an_account_never_credited_is_refused() {
    TestFramework::<CustomerBalance>::with(services())
        .given_no_previous_events()
        .when(adjust(usd(-1), Uuid::new_v4()))
        .then_expect_error(
            CustomerBalanceRule::BalanceWouldGoNegative {
                balance: usd(0),
                amount: usd(-1),
            }
            .into(),
        );
}

#[test]
fn a_zero_adjustment_is_invalid() {
    TestFramework::<CustomerBalance>::with(services())
        .given_no_previous_events()
        .when(adjust(usd(0), Uuid::new_v4()))
        .then_expect_error(invalid("amount", "must not be zero"));
}

#[test]
fn an_adjustment_beyond_the_amount_limit_is_invalid() {
    TestFramework::<CustomerBalance>::with(services())
        .given_no_previous_events()
        .when(adjust(usd(MAX_AMOUNT + 1), Uuid::new_v4()))
        .then_expect_error(
            usd(MAX_AMOUNT + 1)
                .check_bound("amount")
                .unwrap_err()
                .into(),
        );
}

#[test]
fn the_balance_cannot_grow_beyond_the_amount_limit() {
    given(vec![adjusted(MAX_AMOUNT, MAX_AMOUNT, Uuid::new_v4())])
        .when(credit(usd(1)))
        .then_expect_error(
            CustomerBalanceRule::BalanceLimitExceeded {
                balance: usd(MAX_AMOUNT),
                amount: usd(1),
                limit: MAX_AMOUNT,
            }
            .into(),
        );
}

#[test]
fn a_transaction_in_another_currency_is_a_rule_violation() {
    let currency_mismatch = || -> DomainError {
        CustomerBalanceRule::CurrencyMismatch {
            balance: usd(0).currency,
            currency: eur(0).currency,
        }
        .into()
    };
    given(vec![adjusted(500, 500, Uuid::new_v4())])
        .when(adjust(eur(100), Uuid::new_v4()))
        .then_expect_error(currency_mismatch());
    given(vec![adjusted(500, 500, Uuid::new_v4())])
        .when(credit(eur(100)))
        .then_expect_error(currency_mismatch());
    given(vec![adjusted(500, 500, Uuid::new_v4())])
        .when(apply_to(Uuid::new_v4(), eur(100)))
        .then_expect_error(currency_mismatch());
}

#[test]
fn a_command_for_another_account_is_refused() {
    let other = AccountId::parse("acct_2").unwrap();
    given(vec![adjusted(500, 500, Uuid::new_v4())])
        .when(CustomerBalanceCommand::CreditBalance {
            account_id: other,
            amount: usd(100),
            source: credit_note(),
        })
        .then_expect_error(
            CustomerBalanceRule::WrongAccount {
                balance: "acct_1".into(),
                command: "acct_2".into(),
            }
            .into(),
        );
}

#[test]
fn a_credit_note_or_a_downgrade_credits_the_balance() {
    given(vec![adjusted(500, 500, Uuid::new_v4())])
        .when(credit(usd(250)))
        .then_expect_events(vec![credited(250, 750)]);
    let downgrade = CreditSource::PlanDowngrade {
        subscription_id: Uuid::from_u128(3),
        plan_change_event: Uuid::from_u128(4),
    };
    TestFramework::<CustomerBalance>::with(services())
        .given_no_previous_events()
        .when(CustomerBalanceCommand::CreditBalance {
            account_id: account(),
            amount: usd(1000),
            source: downgrade.clone(),
        })
        .then_expect_events(vec![CustomerBalanceEvent::BalanceCredited {
            account_id: account(),
            amount: usd(1000),
            balance_after: usd(1000),
            source: downgrade,
            at: t0(),
        }]);
}

#[test]
fn a_credit_must_be_positive() {
    for amount in [0, -100] {
        TestFramework::<CustomerBalance>::with(services())
            .given_no_previous_events()
            .when(credit(usd(amount)))
            .then_expect_error(invalid("amount", "must be more than zero"));
    }
}

#[test]
fn applying_the_balance_pays_what_it_can_of_the_invoice() {
    let invoice = Uuid::new_v4();
    given(vec![credited(1000, 1000)])
        .when(apply_to(invoice, usd(4900)))
        .then_expect_events(vec![applied(invoice, -1000, 0)]);
    given(vec![credited(1000, 1000)])
        .when(apply_to(invoice, usd(400)))
        .then_expect_events(vec![applied(invoice, -400, 600)]);
}

#[test]
fn applying_an_empty_balance_or_to_nothing_due_records_nothing() {
    TestFramework::<CustomerBalance>::with(services())
        .given_no_previous_events()
        .when(apply_to(Uuid::new_v4(), usd(4900)))
        .then_expect_events(vec![]);
    given(vec![credited(500, 500), applied(Uuid::new_v4(), -500, 0)])
        .when(apply_to(Uuid::new_v4(), usd(4900)))
        .then_expect_events(vec![]);
    given(vec![credited(500, 500)])
        .when(apply_to(Uuid::new_v4(), usd(0)))
        .then_expect_events(vec![]);
}

#[test]
fn a_negative_amount_due_is_invalid() {
    given(vec![credited(500, 500)])
        .when(apply_to(Uuid::new_v4(), usd(-1)))
        .then_expect_error(invalid("amount_due", "must not be negative"));
}

#[test]
fn an_invoice_is_paid_from_the_balance_only_once() {
    let invoice = Uuid::new_v4();
    given(vec![credited(1000, 1000), applied(invoice, -400, 600)])
        .when(apply_to(invoice, usd(400)))
        .then_expect_events(vec![]);
}

#[test]
fn only_the_most_recent_invoices_are_remembered() {
    let mut balance = CustomerBalance::default();
    balance.apply(credited(1000, 1000));
    let invoices: Vec<Uuid> = (0..=RECENT_INVOICES as u128).map(Uuid::from_u128).collect();
    for invoice in &invoices {
        balance.apply(applied(*invoice, -1, balance.balance().unwrap().amount - 1));
    }
    assert!(!balance.has_paid(invoices[0]));
    assert!(invoices[1..]
        .iter()
        .all(|invoice| balance.has_paid(*invoice)));
    assert_eq!(balance.balance(), Some(&usd(1000 - invoices.len() as i64)));
    assert_eq!(balance.account_id(), Some(&account()));
    assert_eq!(balance.updated_at(), Some(t0()));
}

#[test]
fn a_reason_is_one_to_five_hundred_characters() {
    let with_reason = |reason: String| CustomerBalanceCommand::AdjustBalance {
        account_id: account(),
        amount: usd(100),
        reason,
        adjustment_id: Uuid::from_u128(9),
    };
    let refused = invalid("reason", "must be 1 to 500 characters and not blank");
    for reason in [
        String::new(),
        "   ".into(),
        "a".repeat(MAX_REASON_CHARS + 1),
    ] {
        TestFramework::<CustomerBalance>::with(services())
            .given_no_previous_events()
            .when(with_reason(reason))
            .then_expect_error(refused.clone());
    }
    let longest = "é".repeat(MAX_REASON_CHARS);
    TestFramework::<CustomerBalance>::with(services())
        .given_no_previous_events()
        .when(with_reason(longest.clone()))
        .then_expect_events(vec![CustomerBalanceEvent::BalanceAdjusted {
            account_id: account(),
            adjustment_id: Uuid::from_u128(9),
            amount: usd(100),
            balance_after: usd(100),
            reason: longest,
            at: t0(),
        }]);
}

#[test]
fn rules_have_stable_codes() {
    let rule = |r: CustomerBalanceRule| crate::RuleViolation::from(r).code();
    let usd0 = usd(0);
    assert_eq!(
        rule(CustomerBalanceRule::BalanceWouldGoNegative {
            balance: usd0.clone(),
            amount: usd0.clone()
        }),
        "balance_would_go_negative"
    );
    assert_eq!(
        rule(CustomerBalanceRule::CurrencyMismatch {
            balance: usd0.currency.clone(),
            currency: usd0.currency.clone()
        }),
        "balance_currency_mismatch"
    );
}

/// One command of a random history.
#[derive(Debug, Clone)]
enum Step {
    Adjust(i64),
    Credit(i64),
    Apply { invoice: u8, amount_due: i64 },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (-5000i64..5000).prop_map(Step::Adjust),
        (-10i64..5000).prop_map(Step::Credit),
        (0u8..8, 0i64..6000).prop_map(|(invoice, amount_due)| Step::Apply {
            invoice,
            amount_due
        }),
    ]
}

proptest! {
    /// Whatever is asked, in any order: the balance is the sum of its transactions, never
    /// negative, and applying it never pays more than is due or than it holds.
    #[test]
    fn the_balance_is_its_transactions_and_never_goes_negative(
        steps in proptest::collection::vec(step(), 1..40)
    ) {
        let mut balance = CustomerBalance::default();
        let mut sum = 0i64;
        for step in steps {
            let held = balance.balance().map_or(0, |b| b.amount);
            let (command, due) = match step {
                Step::Adjust(amount) => (adjust(usd(amount), Uuid::new_v4()), None),
                Step::Credit(amount) => (credit(usd(amount)), None),
                Step::Apply { invoice, amount_due } => (
                    apply_to(Uuid::from_u128(invoice.into()), usd(amount_due)),
                    Some(amount_due),
                ),
            };
            let Ok(events) = balance.decide(command, t0()) else { continue };
            for event in events {
                if let (CustomerBalanceEvent::BalanceApplied { amount, .. }, Some(due)) =
                    (&event, due)
                {
                    prop_assert!(amount.amount < 0);
                    prop_assert!(-amount.amount <= due);
                    prop_assert!(-amount.amount <= held);
                }
                sum += event.amount().amount;
                balance.apply(event);
            }
            let now = balance.balance().map_or(0, |b| b.amount);
            prop_assert_eq!(now, sum);
            prop_assert!(now >= 0);
        }
    }
}
