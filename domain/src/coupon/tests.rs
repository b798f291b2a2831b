//! Given/when/then tests of the Coupon aggregate: creation, each redemption rule, archiving.

use std::collections::BTreeSet;

use cqrs_es::test::{AggregateTestExecutor, TestFramework};
use uuid::Uuid;

use super::*;
use crate::testing::{at, plan, services_at, t0, usd};
use crate::DomainError;

fn coupon_id() -> CouponId {
    CouponId::parse("LAUNCH25").unwrap()
}

fn terms() -> CouponTerms {
    CouponTerms {
        name: Some("Launch".into()),
        reduction: Reduction::PercentOff(BasisPoints::parse(2500).unwrap()),
        duration: CouponDuration::Repeating { periods: 3 },
        max_redemptions: Some(2),
        redeem_by: Some(at("2026-06-01T00:00:00Z")),
        applies_to_plans: Some(BTreeSet::from([plan("pro"), plan("starter")])),
    }
}

fn created(terms: CouponTerms) -> CouponEvent {
    CouponEvent::CouponCreated {
        coupon_id: coupon_id(),
        terms,
        at: t0(),
    }
}

fn redeemed(redemptions: u32) -> CouponEvent {
    CouponEvent::CouponRedeemed {
        subscription_id: Uuid::from_u128(u128::from(redemptions)),
        redemptions,
        at: t0(),
    }
}

fn redeem(plan_id: &str) -> CouponCommand {
    CouponCommand::RedeemCoupon {
        subscription_id: Uuid::from_u128(7),
        plan_id: plan(plan_id),
        currency: usd(0).currency,
    }
}

fn given(events: Vec<CouponEvent>) -> AggregateTestExecutor<Coupon> {
    TestFramework::<Coupon>::with(services_at(t0())).given(events)
}

fn rule(rule: CouponRule) -> DomainError {
    rule.into()
}

#[test]
fn a_coupon_is_created_once() {
    given(vec![])
        .when(CouponCommand::CreateCoupon {
            coupon_id: coupon_id(),
            terms: terms(),
        })
        .then_expect_events(vec![created(terms())]);
    given(vec![created(terms())])
        .when(CouponCommand::CreateCoupon {
            coupon_id: coupon_id(),
            terms: terms(),
        })
        .then_expect_error(rule(CouponRule::AlreadyExists));
}

#[test]
fn terms_that_can_never_be_redeemed_are_refused_at_creation() {
    let refused_field = |terms: CouponTerms| {
        let command = CouponCommand::CreateCoupon {
            coupon_id: coupon_id(),
            terms,
        };
        match Coupon::default().decide(command, &services_at(t0())) {
            Err(DomainError::Invalid(invalid)) => invalid.field,
            other => panic!("{other:?}"),
        }
    };
    let mut past = terms();
    past.redeem_by = Some(t0());
    assert_eq!(refused_field(past), "redeem_by");
    let mut none = terms();
    none.max_redemptions = Some(0);
    assert_eq!(refused_field(none), "max_redemptions");
    let mut unknown = terms();
    unknown.applies_to_plans = Some(BTreeSet::from([plan("platinum")]));
    assert_eq!(refused_field(unknown), "applies_to_plans");
    let mut empty = terms();
    empty.applies_to_plans = Some(BTreeSet::new());
    assert_eq!(refused_field(empty), "applies_to_plans");
    let mut blank = terms();
    blank.name = Some("  ".into());
    assert_eq!(refused_field(blank), "name");
}

#[test]
fn each_redemption_is_counted() {
    given(vec![created(terms())])
        .when(redeem("pro"))
        .then_expect_events(vec![CouponEvent::CouponRedeemed {
            subscription_id: Uuid::from_u128(7),
            redemptions: 1,
            at: t0(),
        }]);
}

#[test]
fn the_last_redemption_cannot_be_taken_twice() {
    given(vec![created(terms()), redeemed(1), redeemed(2)])
        .when(redeem("pro"))
        .then_expect_error(rule(CouponRule::RedemptionsExhausted {
            max_redemptions: 2,
        }));
}

#[test]
fn a_coupon_cannot_be_redeemed_after_its_redeem_by() {
    let after = at("2026-06-01T00:00:01Z");
    TestFramework::<Coupon>::with(services_at(after))
        .given(vec![created(terms())])
        .when(redeem("pro"))
        .then_expect_error(rule(CouponRule::RedeemByPassed {
            redeem_by: at("2026-06-01T00:00:00Z"),
        }));
}

#[test]
fn a_coupon_is_redeemed_only_on_its_plans() {
    given(vec![created(terms())])
        .when(redeem("enterprise"))
        .then_expect_error(rule(CouponRule::PlanNotEligible {
            plan_id: plan("enterprise"),
        }));
}

#[test]
fn an_amount_off_is_redeemed_only_in_its_currency() {
    let mut euros = terms();
    euros.reduction = Reduction::amount_off(crate::Money::new(
        500,
        crate::Currency::parse("eur").unwrap(),
    ))
    .unwrap();
    given(vec![created(euros)])
        .when(redeem("pro"))
        .then_expect_error(rule(CouponRule::CurrencyMismatch {
            coupon: crate::Currency::parse("eur").unwrap(),
            subscription: usd(0).currency,
        }));
}

#[test]
fn an_archived_coupon_is_not_redeemed_and_archiving_again_changes_nothing() {
    let archived = CouponEvent::CouponArchived { at: t0() };
    given(vec![created(terms())])
        .when(CouponCommand::ArchiveCoupon)
        .then_expect_events(vec![archived.clone()]);
    given(vec![created(terms()), archived.clone()])
        .when(CouponCommand::ArchiveCoupon)
        .then_expect_events(vec![]);
    given(vec![created(terms()), archived])
        .when(redeem("pro"))
        .then_expect_error(rule(CouponRule::Archived));
}

#[test]
fn a_coupon_that_was_never_created_is_not_found() {
    given(vec![])
        .when(redeem("pro"))
        .then_expect_error(DomainError::NotFound {
            aggregate: "coupon",
        });
}

#[test]
fn the_discount_of_a_coupon_is_its_reduction() {
    let mut coupon = Coupon::default();
    coupon.apply(created(terms()));
    coupon.apply(redeemed(1));
    assert_eq!(coupon.redemptions(), 1);
    assert_eq!(
        coupon.discount().unwrap().reduction,
        Reduction::PercentOff(BasisPoints::parse(2500).unwrap())
    );
}
