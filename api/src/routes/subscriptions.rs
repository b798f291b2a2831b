//! Subscription commands and the subscription resource: start a trial, attach a billing
//! account, activate, change seats, overage billing and plan, cancel; read one by id.

use application::payments::{MethodCheck, MethodCheckRequest};
use application::plan_change::PlanChange;
use axum::extract::State;
use axum::response::Response;
use axum::Json;
use domain::subscription::{BillingAccount, Subscription, SubscriptionCommand};
use domain::{AccountId, Email, PaymentMethodToken, PlanId, SeatCount};
use projections::resources::SubscriptionView;
use serde::Deserialize;
use uuid::Uuid;

use super::commands::{answer, dispatch, dispatch_action, CommandResponse, NoBody, Outcome};
use crate::auth::Principal;
use crate::extract::{CommandRequest, JsonBody, PathParam, Query};
use crate::problem::ApiError;
use crate::routes::accounts::fresh_log;
use crate::routes::MinPosition;
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartTrialBody {
    #[schema(pattern = r"^[A-Za-z0-9_.:-]{1,64}$", max_length = 64)]
    account_id: String,
    #[schema(pattern = r"^[a-z0-9_-]{1,64}$", max_length = 64)]
    plan_id: String,
    #[schema(minimum = 1, maximum = 1_000_000)]
    seats: Option<u32>,
    billing_email: Option<String>,
    payment_method: Option<String>,
    overage_billing: Option<bool>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BillingAccountBody {
    email: String,
    payment_method: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SeatsBody {
    #[schema(minimum = 1, maximum = 1_000_000)]
    count: u32,
}

impl SeatsBody {
    /// The seats to add or remove; out of range answers 422 naming `count`.
    fn seat_count(&self) -> Result<SeatCount, ApiError> {
        SeatCount::parse(self.count).map_err(|error| ApiError::validation("count", error.reason))
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OverageBody {
    enabled: bool,
}

/// When a downgrade takes effect.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Effective {
    /// Now, crediting the unused part of the old plan to the account's balance.
    Now,
    /// At the end of the current period (the default).
    #[default]
    PeriodEnd,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePlanBody {
    #[schema(pattern = r"^[a-z0-9_-]{1,64}$", max_length = 64)]
    plan_id: String,
    #[serde(default)]
    confirm_feature_removal: bool,
    /// For a downgrade: `period_end` (the default) or `now`. An upgrade always takes effect now.
    #[serde(default)]
    effective: Effective,
}

impl ChangePlanBody {
    /// The change asked for, its plan parsed.
    pub(crate) fn plan_change(&self) -> Result<PlanChange, ApiError> {
        Ok(PlanChange {
            plan_id: PlanId::parse(&self.plan_id)?,
            confirm_feature_removal: self.confirm_feature_removal,
            downgrade_now: self.effective == Effective::Now,
        })
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelBody {
    at_period_end: Option<bool>,
    /// Free text for people, recorded as the cancellation's `comment`; it never changes what the
    /// cancellation does (the reason of a client's cancellation is always `requested`).
    reason: Option<String>,
}

fn billing_account(email: &str, payment_method: &str) -> Result<BillingAccount, ApiError> {
    Ok(BillingAccount {
        email: Email::parse(email)?,
        payment_method: PaymentMethodToken::parse(payment_method)?,
    })
}

/// Asks the gateway, before anything is recorded, whether `account`'s new payment method can
/// ever be charged: one that cannot is refused (422 `payment_method_invalid`) rather than kept
/// and retried through dunning. A card that will decline (lost, stolen) is kept, as Stripe keeps
/// it, and declines at charge.
async fn check_payment_method(
    state: &AppState,
    account: &AccountId,
    billing_account: &BillingAccount,
) -> Result<(), ApiError> {
    let request = MethodCheckRequest {
        account_id: account.clone(),
        payment_method: billing_account.payment_method.clone(),
    };
    match state.gateway.verify_payment_method(request).await {
        Ok(MethodCheck::Usable) => Ok(()),
        Ok(MethodCheck::Invalid { reason }) => Err(ApiError::PaymentMethodInvalid(reason)),
        Err(cause) => {
            tracing::warn!(%cause, "payment gateway unavailable");
            Err(ApiError::GatewayUnavailable)
        }
    }
}

/// Start a trial.
///
/// Creates the account's subscription, trialing; a payment method, when given, is checked by the
/// gateway first. One non-cancelled subscription per account.
#[utoipa::path(
    post,
    path = "/v1/subscriptions",
    tag = "subscriptions",
    request_body = StartTrialBody,
    responses((status = 201, description = "Created, or replayed", body = CommandResponse)),
    security(("bearer" = [])),
)]
pub async fn start_trial(
    State(state): State<AppState>,
    request: CommandRequest,
    body: JsonBody<StartTrialBody>,
) -> Result<Response, ApiError> {
    let b = body.value;
    let billing_account = match (b.billing_email.as_deref(), b.payment_method.as_deref()) {
        (Some(email), Some(method)) => Some(billing_account(email, method)?),
        (None, None) => None,
        _ => {
            return Err(ApiError::validation(
                "billing_email",
                "billing_email and payment_method are given together or not at all",
            ))
        }
    };
    let account_id = AccountId::parse(&b.account_id)?;
    if let Some(billing_account) = &billing_account {
        check_payment_method(&state, &account_id, billing_account).await?;
    }
    let subscription_id = request.new_resource_id();
    let command = SubscriptionCommand::StartTrial {
        subscription_id,
        account_id,
        plan_id: PlanId::parse(&b.plan_id)?,
        seats: SeatCount::parse(b.seats.unwrap_or(1))?,
        billing_account,
        overage_billing: b.overage_billing.unwrap_or(false),
    };
    let id = subscription_id.to_string();
    dispatch::<Subscription>(
        &state,
        &request,
        "POST /v1/subscriptions",
        &body.digest,
        &id,
        command,
        Outcome::Created,
    )
    .await
}

/// Runs a command on the subscription at `id`, after checking the id names one.
async fn on_subscription(
    state: &AppState,
    request: &CommandRequest,
    id: Uuid,
    action: &str,
    digest: &str,
    command: SubscriptionCommand,
) -> Result<Response, ApiError> {
    dispatch_action::<Subscription>(state, request, "subscriptions", id, action, digest, command)
        .await
}

/// Attach a billing account.
///
/// A billing email and a payment method, checked by the gateway first. A past-due subscription
/// retries its open invoice at once.
#[utoipa::path(
    post,
    path = "/v1/subscriptions/{id}/attach-billing-account",
    tag = "subscriptions",
    params(("id" = Uuid, Path)),
    request_body = BillingAccountBody,
    responses((status = 200, description = "Applied, or replayed", body = CommandResponse)),
    security(("bearer" = [])),
)]
pub async fn attach_billing_account(
    State(state): State<AppState>,
    PathParam(id): PathParam<Uuid>,
    request: CommandRequest,
    body: JsonBody<BillingAccountBody>,
) -> Result<Response, ApiError> {
    let billing_account = billing_account(&body.value.email, &body.value.payment_method)?;
    // The account is the subscription's; a subscription that does not exist is answered 404
    // by the command below, with nothing asked of the gateway.
    let subscription = state
        .bus
        .load::<Subscription>(&id.to_string())
        .await
        .map_err(ApiError::from)?;
    if let Some(account) = subscription.aggregate.account_id() {
        check_payment_method(&state, account, &billing_account).await?;
    }
    let command = SubscriptionCommand::AttachBillingAccount { billing_account };
    on_subscription(
        &state,
        &request,
        id,
        "attach-billing-account",
        &body.digest,
        command,
    )
    .await
}

/// Activate a subscription now.
///
/// Ends the trial and starts the first paid period; its invoice is issued and charged.
#[utoipa::path(
    post,
    path = "/v1/subscriptions/{id}/activate",
    tag = "subscriptions",
    params(("id" = Uuid, Path)),
    request_body = inline(NoBody),
    responses((status = 200, description = "Applied, or replayed", body = CommandResponse)),
    security(("bearer" = [])),
)]
pub async fn activate(
    State(state): State<AppState>,
    PathParam(id): PathParam<Uuid>,
    request: CommandRequest,
    body: JsonBody<NoBody>,
) -> Result<Response, ApiError> {
    let command = SubscriptionCommand::ActivateSubscription;
    on_subscription(&state, &request, id, "activate", &body.digest, command).await
}

/// Add seats.
///
/// Overage seats are prorated for the rest of the period and billed on the next invoice.
#[utoipa::path(
    post,
    path = "/v1/subscriptions/{id}/add-seats",
    tag = "subscriptions",
    params(("id" = Uuid, Path)),
    request_body = SeatsBody,
    responses((status = 200, description = "Applied, or replayed", body = CommandResponse)),
    security(("bearer" = [])),
)]
pub async fn add_seats(
    State(state): State<AppState>,
    PathParam(id): PathParam<Uuid>,
    request: CommandRequest,
    body: JsonBody<SeatsBody>,
) -> Result<Response, ApiError> {
    let command = SubscriptionCommand::AddSeats {
        count: body.value.seat_count()?,
    };
    on_subscription(&state, &request, id, "add-seats", &body.digest, command).await
}

/// Remove seats.
///
/// Takes effect now; nothing is credited.
#[utoipa::path(
    post,
    path = "/v1/subscriptions/{id}/remove-seats",
    tag = "subscriptions",
    params(("id" = Uuid, Path)),
    request_body = SeatsBody,
    responses((status = 200, description = "Applied, or replayed", body = CommandResponse)),
    security(("bearer" = [])),
)]
pub async fn remove_seats(
    State(state): State<AppState>,
    PathParam(id): PathParam<Uuid>,
    request: CommandRequest,
    body: JsonBody<SeatsBody>,
) -> Result<Response, ApiError> {
    let command = SubscriptionCommand::RemoveSeats {
        count: body.value.seat_count()?,
    };
    on_subscription(&state, &request, id, "remove-seats", &body.digest, command).await
}

/// Turn overage billing on or off.
///
/// Whether seats beyond the plan's limit are billed or refused.
#[utoipa::path(
    post,
    path = "/v1/subscriptions/{id}/set-overage-billing",
    tag = "subscriptions",
    params(("id" = Uuid, Path)),
    request_body = OverageBody,
    responses((status = 200, description = "Applied, or replayed", body = CommandResponse)),
    security(("bearer" = [])),
)]
pub async fn set_overage_billing(
    State(state): State<AppState>,
    PathParam(id): PathParam<Uuid>,
    request: CommandRequest,
    body: JsonBody<OverageBody>,
) -> Result<Response, ApiError> {
    let command = SubscriptionCommand::SetOverageBilling {
        enabled: body.value.enabled,
    };
    on_subscription(
        &state,
        &request,
        id,
        "set-overage-billing",
        &body.digest,
        command,
    )
    .await
}

/// Change the plan.
///
/// The committed features come from the account's entitlements (`application::plan_change`).
#[utoipa::path(
    post,
    path = "/v1/subscriptions/{id}/change-plan",
    tag = "subscriptions",
    params(("id" = Uuid, Path)),
    request_body = ChangePlanBody,
    responses((status = 200, description = "Applied, or replayed", body = CommandResponse)),
    security(("bearer" = [])),
)]
pub async fn change_plan(
    State(state): State<AppState>,
    PathParam(id): PathParam<Uuid>,
    request: CommandRequest,
    body: JsonBody<ChangePlanBody>,
) -> Result<Response, ApiError> {
    let change = body.value.plan_change()?;
    let context = request.context(
        &format!("POST /v1/subscriptions/{id}/change-plan"),
        &body.digest,
    );
    let changed =
        application::plan_change::change_plan(&state.bus, &state.services, id, change, &context)
            .await;
    answer::<Subscription>(&state, "ChangePlan".into(), changed, Outcome::Changed).await
}

/// Cancel a subscription.
///
/// At the period end (the default) or now; a client's reason is kept as the cancellation's comment.
#[utoipa::path(
    post,
    path = "/v1/subscriptions/{id}/cancel",
    tag = "subscriptions",
    params(("id" = Uuid, Path)),
    request_body = CancelBody,
    responses((status = 200, description = "Applied, or replayed", body = CommandResponse)),
    security(("bearer" = [])),
)]
pub async fn cancel(
    State(state): State<AppState>,
    PathParam(id): PathParam<Uuid>,
    request: CommandRequest,
    body: JsonBody<CancelBody>,
) -> Result<Response, ApiError> {
    let command = SubscriptionCommand::CancelSubscription {
        at_period_end: body.value.at_period_end.unwrap_or(true),
        // The client's reason is its own words, kept as the comment; the typed reason of a
        // client cancellation is always `requested`.
        comment: body.value.reason.clone().filter(|text| !text.is_empty()),
    };
    on_subscription(&state, &request, id, "cancel", &body.digest, command).await
}

/// A subscription.
///
/// Read from its event stream, always current.
#[utoipa::path(
    get,
    path = "/v1/subscriptions/{id}",
    tag = "subscriptions",
    params(
        ("id" = Uuid, Path),
        MinPosition,
    ),
    responses((status = 200, description = "OK", body = SubscriptionView)),
    security(("bearer" = [])),
)]
pub async fn get_subscription(
    State(state): State<AppState>,
    principal: Principal,
    PathParam(id): PathParam<Uuid>,
    Query(query): Query<MinPosition>,
) -> Result<Json<SubscriptionView>, ApiError> {
    principal.require_global_read()?;
    fresh_log(&state, &principal, query.min_position).await?;
    let loaded = state.bus.load::<Subscription>(&id.to_string()).await?;
    let view = SubscriptionView::of(&loaded.aggregate, loaded.version)
        .ok_or_else(|| ApiError::NotFound(format!("subscription {id} not found")))?;
    Ok(Json(view))
}

#[cfg(test)]
mod tests {
    use utoipa::PartialSchema;

    #[test]
    fn the_documented_seat_range_is_the_domains() {
        let max = f64::from(domain::SeatCount::MAX);
        for (schema, field) in [
            (super::SeatsBody::schema(), "count"),
            (super::StartTrialBody::schema(), "seats"),
        ] {
            let schema = serde_json::to_value(schema).unwrap();
            let range = &schema["properties"][field];
            assert_eq!(range["minimum"].as_f64(), Some(1.0), "{schema}");
            assert_eq!(range["maximum"].as_f64(), Some(max), "{schema}");
        }
    }
}
