//! The `object` of a command response (issue #19): the aggregate's state after the command,
//! rendered as its GET renders it, so a client needs no second request. It is read at the
//! version the command answered, so a replay of the command answers the same object.

use application::event_log::AsOf;
use cqrs_es::Aggregate;
use domain::dunning::DunningCase;
use domain::entitlements::Entitlements;
use domain::invoice::Invoice;
use domain::subscription::Subscription;
use domain::{BillingServices, DomainError};
use projections::invoices::InvoiceView;
use projections::resources::{DunningCaseView, FeatureList, SubscriptionView};
use serde::Serialize;
use serde_json::Value;

use crate::problem::ApiError;
use crate::state::AppState;

/// An aggregate whose commands answer with its state: how its GET renders it.
pub trait Rendered: Aggregate<Error = DomainError> {
    /// The resource at `version`; `None` when the aggregate does not exist as a resource.
    fn render(&self, version: i64, services: &BillingServices) -> Option<Value>;
}

fn json(view: impl Serialize) -> Option<Value> {
    serde_json::to_value(view).ok()
}

impl Rendered for Subscription {
    fn render(&self, version: i64, _: &BillingServices) -> Option<Value> {
        json(SubscriptionView::of(self, version)?)
    }
}

impl Rendered for Invoice {
    fn render(&self, _: i64, _: &BillingServices) -> Option<Value> {
        json(InvoiceView::of(self)?)
    }
}

/// As `GET /v1/dunning/cases/{id}` renders it now.
impl Rendered for DunningCase {
    fn render(&self, _: i64, services: &BillingServices) -> Option<Value> {
        json(DunningCaseView::of(self, services.clock.now())?)
    }
}

/// As `GET /v1/accounts/{id}/features` renders it, cost so far included.
impl Rendered for Entitlements {
    fn render(&self, _: i64, services: &BillingServices) -> Option<Value> {
        json(FeatureList::of_entitlements(self, &services.catalog)?)
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
    Ok(past.and_then(|past| past.aggregate.render(past.version, &state.services)))
}
