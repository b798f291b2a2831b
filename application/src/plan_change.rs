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

/// Changes subscription `id` to `plan_id`, with the features its account has committed to.
pub async fn change_plan<L: EventLog>(
    bus: &CommandBus<L>,
    services: &BillingServices,
    id: Uuid,
    plan_id: PlanId,
    confirm_feature_removal: bool,
    context: &CommandContext,
) -> Result<Executed, DispatchError<DomainError>> {
    let command = change_plan_command(bus, id, plan_id, confirm_feature_removal).await?;
    bus.execute::<Subscription>(&id.to_string(), command, services, context)
        .await
}

/// The `ChangePlan` command for subscription `id`: what a change runs, and what its preview
/// decides without recording.
pub async fn change_plan_command<L: EventLog>(
    bus: &CommandBus<L>,
    id: Uuid,
    plan_id: PlanId,
    confirm_feature_removal: bool,
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
        plan_id,
        confirm_feature_removal,
        committed_features,
    })
}
