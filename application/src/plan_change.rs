//! Use case: a plan change (`POST /v1/subscriptions/{id}/change-plan`). A downgrade may not drop
//! a feature the account has committed to without confirmation (SPEC 3.2), and what is committed
//! lives in another aggregate: the account's Entitlements, read here and handed to the command.
//! A usage recorded between this read and the command is not seen; the window is one request.

use domain::entitlements::Entitlements;
use domain::subscription::{Subscription, SubscriptionCommand};
use domain::{BillingServices, DomainError, PlanId};
use uuid::Uuid;

use crate::event_log::EventLog;
use crate::{CommandBus, CommandContext, DispatchError, Executed};

/// What a client asks of a plan change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanChange {
    pub plan_id: PlanId,
    pub confirm_feature_removal: bool,
    /// A downgrade now rather than at the period end (`effective: "now"`).
    pub downgrade_now: bool,
}

/// Changes subscription `id` as `request` asks, with the features its account has committed to.
pub async fn change_plan<L: EventLog>(
    bus: &CommandBus<L>,
    services: &BillingServices,
    id: Uuid,
    request: PlanChange,
    context: &CommandContext,
) -> Result<Executed, DispatchError<DomainError>> {
    let command = change_plan_command(bus, id, request).await?;
    bus.execute::<Subscription>(&id.to_string(), command, services, context)
        .await
}

/// The `ChangePlan` command for subscription `id`: what a change runs, and what its preview
/// decides without recording.
pub async fn change_plan_command<L: EventLog>(
    bus: &CommandBus<L>,
    id: Uuid,
    request: PlanChange,
) -> Result<SubscriptionCommand, DispatchError<DomainError>> {
    let subscription = bus.load::<Subscription>(&id.to_string()).await?.aggregate;
    let committed_features = match subscription.account_id() {
        Some(account) => bus
            .load::<Entitlements>(account.as_str())
            .await?
            .aggregate
            .committed_features(),
        None => Default::default(),
    };
    Ok(SubscriptionCommand::ChangePlan {
        plan_id: request.plan_id,
        confirm_feature_removal: request.confirm_feature_removal,
        committed_features,
        downgrade_now: request.downgrade_now,
    })
}
