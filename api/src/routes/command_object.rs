//! The `object` of a command response (issue #19): the aggregate's state after the command,
//! rendered as its GET renders it, so a client needs no second request. It is read at the
//! version the command answered, so a replay of the command answers the same object.

use application::event_log::AsOf;
use cqrs_es::Aggregate;
use domain::dunning::DunningCase;
use domain::entitlements::Entitlements;
use domain::invoice::Invoice;
use domain::subscription::Subscription;
use domain::DomainError;
use projections::invoices::InvoiceView;
use projections::resources::{DunningCaseView, FeatureList, SubscriptionView};
use serde::Serialize;
use serde_json::Value;

use super::accounts::read_model_error;
use crate::problem::ApiError;
use crate::state::AppState;

/// An aggregate whose commands answer with its state: how its GET renders it.
pub trait Rendered: Aggregate<Error = DomainError> {
    /// The resource at `version`; `None` when the aggregate does not exist as a resource.
    async fn render(&self, version: i64, state: &AppState) -> Result<Option<Value>, ApiError>;
}

fn json(view: Option<impl Serialize>) -> Result<Option<Value>, ApiError> {
    view.map(serde_json::to_value)
        .transpose()
        .map_err(ApiError::internal)
}

impl Rendered for Subscription {
    async fn render(&self, version: i64, _: &AppState) -> Result<Option<Value>, ApiError> {
        json(SubscriptionView::of(self, version))
    }
}

/// With its number from the invoices read model, as `GET /v1/invoices/{id}` shows it.
impl Rendered for Invoice {
    async fn render(&self, _: i64, state: &AppState) -> Result<Option<Value>, ApiError> {
        let Some(view) = InvoiceView::of(self) else {
            return Ok(None);
        };
        let number = match self.invoice_id() {
            Some(id) => (state.read_models.invoice_number(id).await).map_err(read_model_error)?,
            None => None,
        };
        json(Some(view.with_number(number)))
    }
}

/// As `GET /v1/dunning-cases/{id}` renders it now.
impl Rendered for DunningCase {
    async fn render(&self, _: i64, state: &AppState) -> Result<Option<Value>, ApiError> {
        json(DunningCaseView::of(self, state.services.clock.now()))
    }
}

/// As `GET /v1/accounts/{id}/features` renders it, cost so far included.
impl Rendered for Entitlements {
    async fn render(&self, _: i64, state: &AppState) -> Result<Option<Value>, ApiError> {
        json(FeatureList::of_entitlements(self, &state.services.catalog))
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
    match past {
        Some(past) => past.aggregate.render(past.version, state).await,
        None => Ok(None),
    }
}
