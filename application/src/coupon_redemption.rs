//! Use case: a subscription redeems a coupon (`POST /v1/subscriptions/{id}/apply-coupon`). The
//! rule spans two aggregates: the coupon counts the redemption first, on its own stream, so two
//! requests racing for its last redemption cannot both win; then the subscription takes the
//! coupon's terms as its discount.
//!
//! Each step has its own command id, derived from the request's, so a retried request (same
//! `Idempotency-Key`) replays the redemption rather than counting it twice, and finishes the
//! discount if a crash stopped it between the two.

use domain::coupon::{Coupon, CouponCommand, CouponId};
use domain::subscription::{Subscription, SubscriptionCommand, SubscriptionDiscount};
use domain::subscription::{SubscriptionRule, SubscriptionStatus};
use domain::{BillingServices, DomainError};
use uuid::Uuid;

use crate::event_log::EventLog;
use crate::{CommandBus, CommandContext, DispatchError, Executed};

/// Redeems `coupon_id` for subscription `id` and applies its discount.
pub async fn apply_coupon<L: EventLog>(
    bus: &CommandBus<L>,
    services: &BillingServices,
    id: Uuid,
    coupon_id: &CouponId,
    context: &CommandContext,
) -> Result<Executed, DispatchError<DomainError>> {
    let subscription_id = id.to_string();
    let subscription = bus.load::<Subscription>(&subscription_id).await?.aggregate;
    let (Some(plan_id), Some(currency)) = (subscription.plan_id(), subscription.currency()) else {
        return Err(DispatchError::Rejected(DomainError::NotFound {
            aggregate: <Subscription as cqrs_es::Aggregate>::TYPE,
        }));
    };
    // Refused before the coupon counts a redemption the subscription would then refuse.
    if subscription.status() == SubscriptionStatus::Cancelled {
        let command = "ApplyDiscount";
        return Err(DispatchError::Rejected(
            SubscriptionRule::AlreadyCancelled { command }.into(),
        ));
    }
    let redeem = CouponCommand::RedeemCoupon {
        subscription_id: id,
        plan_id: plan_id.clone(),
        currency: currency.clone(),
    };
    // Its own command id, so a retried request replays the redemption; without a key each
    // request redeems anew, as it applies anew.
    let redemption = context.step("coupon_redemption");
    let (_, redeemed) = bus
        .execute_keeping::<Coupon>(coupon_id.as_str(), redeem, services, &redemption)
        .await?;
    let coupon = match redeemed {
        Some(coupon) => coupon,
        // A replayed redemption: the coupon's terms never change after creation.
        None => bus.load::<Coupon>(coupon_id.as_str()).await?.aggregate,
    };
    let (Some(discount), Some(terms)) = (coupon.discount(), coupon.terms()) else {
        return Err(DispatchError::Corrupt(format!(
            "coupon {coupon_id} was redeemed but has no terms"
        )));
    };
    let command = SubscriptionCommand::ApplyDiscount {
        discount: SubscriptionDiscount {
            discount,
            duration: terms.duration,
            applies_to_plans: terms.applies_to_plans.clone(),
        },
    };
    bus.execute::<Subscription>(&subscription_id, command, services, context)
        .await
}
