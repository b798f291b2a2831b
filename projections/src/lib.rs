//! Read models and their projectors (SPEC section 5): the Account Subscription Summary, the
//! Feature Access View, the account invoices, the notification outbox, the Billing Timeline,
//! the Dunning Work Queue, the coupons and the customer balances, the queries the HTTP layer
//! answers from them, and their rebuild and verification. They run on the consumer runtime of
//! `infrastructure::consumers`.

mod columns;
pub mod coupons;
pub mod customer_balance;
pub mod dunning_queue;
pub mod event;
pub mod feature_access;
pub mod integration_events;
pub mod invoices;
pub mod notifications;
mod page;
pub mod read_models;
pub mod rebuild;
pub mod resources;
mod running;
pub mod summary;
pub mod timeline;

use std::sync::Arc;

use domain::PlanCatalog;
use infrastructure::Store;

pub use coupons::CouponsProjector;
pub use customer_balance::{BalanceStatement, CustomerBalancesProjector};
pub use dunning_queue::{DunningQueueProjector, QueueCursor, QueuePage, QueueQuery, QueueSort};
pub use feature_access::{Consistency, FeatureAccessProjector, FeatureAccessView};
pub use infrastructure::consumers::{
    ProjectionError, ProjectionState, ProjectionStatus, Projector, RuntimeOptions,
};
pub use integration_events::IntegrationEventsProjector;
pub use invoices::{AccountInvoicesProjector, InvoicePage, InvoiceView};
pub use notifications::{NotificationPage, NotificationView, NotificationsProjector};
pub use page::PositionCursor;
pub use read_models::ReadModels;
pub use rebuild::{ReadModelProjector, ReplayProgress, VerifyReport, VerifyStatus};
pub use running::Projections;
pub use summary::{AccountSummaryProjector, SummaryView};
pub use timeline::{BillingTimelineProjector, TimelinePage};

/// The names of [`read_model_projectors`], in the same order, for callers that have no catalog
/// (the benchmarks tell read models from policies by them).
pub const READ_MODEL_NAMES: [&str; 9] = [
    AccountSummaryProjector::NAME,
    FeatureAccessProjector::NAME,
    AccountInvoicesProjector::NAME,
    NotificationsProjector::NAME,
    BillingTimelineProjector::NAME,
    DunningQueueProjector::NAME,
    IntegrationEventsProjector::NAME,
    CouponsProjector::NAME,
    CustomerBalancesProjector::NAME,
];

/// Every read model of this crate: what the runtime runs, and what rebuilds, verification and
/// `ledgerline replay` work on.
pub fn read_model_projectors(catalog: Arc<PlanCatalog>) -> Vec<ReadModelProjector> {
    vec![
        ReadModelProjector::new({
            let catalog = catalog.clone();
            move || AccountSummaryProjector::new(catalog.clone())
        }),
        ReadModelProjector::new(|| FeatureAccessProjector),
        ReadModelProjector::new(|| AccountInvoicesProjector),
        ReadModelProjector::new(|| NotificationsProjector),
        ReadModelProjector::new(|| BillingTimelineProjector),
        ReadModelProjector::new(|| DunningQueueProjector),
        ReadModelProjector::new(move || IntegrationEventsProjector::new(catalog.clone())),
        ReadModelProjector::new(|| CouponsProjector),
        ReadModelProjector::new(|| CustomerBalancesProjector),
    ]
}

/// Starts the runtime with every read model of this crate.
pub fn start(store: Arc<Store>, catalog: Arc<PlanCatalog>, options: RuntimeOptions) -> Projections {
    let mut projections = Projections::new(store, options);
    for model in read_model_projectors(catalog) {
        projections.spawn_read_model(model);
    }
    projections
}
