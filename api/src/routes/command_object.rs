//! The `object` of a command response (issue #19): the aggregate's state after the command,
//! rendered as its GET renders it, so a client needs no second request. It is read at the
//! version the command answered, so a replay of the command answers the same object.

use application::event_log::AsOf;
use chrono::{DateTime, Utc};
use cqrs_es::Aggregate;
use domain::coupon::Coupon;
use domain::customer_balance::CustomerBalance;
use domain::dunning::DunningCase;
use domain::entitlements::Entitlements;
use domain::invoice::Invoice;
use domain::subscription::Subscription;
use domain::{BillingServices, DomainError};
use projections::invoices::InvoiceView;
use projections::resources::{
    CouponView, CustomerBalanceView, DunningCaseView, FeatureList, SubscriptionView,
};
use serde::Serialize;
use serde_json::Value;

use crate::problem::ApiError;
use crate::state::AppState;

/// An aggregate whose commands answer with its state: how its GET renders it.
pub trait Rendered: Aggregate<Error = DomainError> {
    /// Whether the object is read back at the answered version even when the command just ran:
    /// for an object that depends on when its last event was recorded, which the log tells.
    const READ_BACK: bool = false;

    /// The resource at `version`, its last event recorded at `as_of`; `None` when the aggregate
    /// does not exist as a resource.
    fn render(
        &self,
        version: i64,
        as_of: DateTime<Utc>,
        services: &BillingServices,
    ) -> Option<Value>;
}

fn json(view: Option<impl Serialize>) -> Option<Value> {
    view.and_then(|view| serde_json::to_value(view).ok())
}

impl Rendered for Subscription {
    fn render(&self, version: i64, _: DateTime<Utc>, _: &BillingServices) -> Option<Value> {
        json(SubscriptionView::of(self, version))
    }
}

/// As its own stream left it. Its `number` is null: a policy assigns it after the issue, in
/// another stream, so it cannot be told as of the command, and a replay must answer the same.
impl Rendered for Invoice {
    fn render(&self, _: i64, _: DateTime<Utc>, _: &BillingServices) -> Option<Value> {
        json(InvoiceView::of(self))
    }
}

/// As `GET /v1/dunning-cases/{id}` renders it, at the time of its last event (its next retry
/// depends on the time), as the event catalog renders it.
impl Rendered for DunningCase {
    const READ_BACK: bool = true;

    fn render(&self, _: i64, as_of: DateTime<Utc>, _: &BillingServices) -> Option<Value> {
        json(DunningCaseView::of(self, as_of))
    }
}

/// As `GET /v1/accounts/{id}/features` renders it, cost so far included.
impl Rendered for Entitlements {
    fn render(&self, _: i64, _: DateTime<Utc>, services: &BillingServices) -> Option<Value> {
        json(FeatureList::of_entitlements(self, &services.catalog))
    }
}

/// As `GET /v1/coupons/{id}` renders it, at the time of its last event (whether it can still be
/// redeemed depends on the time).
impl Rendered for Coupon {
    const READ_BACK: bool = true;

    fn render(&self, _: i64, as_of: DateTime<Utc>, _: &BillingServices) -> Option<Value> {
        json(CouponView::of(self, as_of))
    }
}

/// The balance without its transactions, as `customer_balance.updated` carries it (the
/// transactions are a list read from the read model by `GET /v1/accounts/{id}/balance`).
impl Rendered for CustomerBalance {
    fn render(&self, _: i64, _: DateTime<Utc>, _: &BillingServices) -> Option<Value> {
        json(CustomerBalanceView::of(self))
    }
}

/// The object of aggregate `A` `aggregate_id` at `version`; `None` before its first event.
pub async fn object_at<A: Rendered>(
    state: &AppState,
    aggregate_id: &str,
    version: i64,
) -> Result<Option<Value>, ApiError> {
    let past = state
        .bus
        .load_as_of::<A>(aggregate_id, AsOf::Version(version))
        .await?;
    Ok(past.and_then(|past| (past.aggregate).render(past.version, past.as_of, &state.services)))
}
