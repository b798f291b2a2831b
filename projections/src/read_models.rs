//! The queries the HTTP layer calls, in one place, over the store's read side.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use domain::{AccountId, FeatureKey, PlanCatalog};
use infrastructure::changes::ChangeFeed;
use infrastructure::Store;

use crate::coupons;
use crate::customer_balance::{self, BalanceStatement};
use crate::dunning_queue::{self, QueueCursor, QueuePage, QueueQuery};
use crate::feature_access::{self, AccessCache, Consistency, FeatureAccessView};
use crate::integration_events::{self, EventFilter, EventPage};
use crate::invoices::{self, InvoicePage};
use crate::notifications::{self, NotificationPage};
use crate::page::PositionCursor;
use crate::resources::CouponView;
use crate::summary::{self, SummaryView};
use crate::timeline::{self, TimelinePage};
use infrastructure::consumers::ProjectionError;
use infrastructure::portable::Pool;

/// The read models of this crate. Cheap to clone (it holds a connection pool and the Feature
/// Access cache).
#[derive(Clone)]
pub struct ReadModels {
    pool: Pool,
    access: AccessCache,
    /// Prices usage so far at read time, as the invoice at period end will.
    catalog: Arc<PlanCatalog>,
    /// Whether this server sends email (`--smtp-url`): without it a notification's email status
    /// is `not_configured`.
    email_enabled: bool,
}

impl ReadModels {
    /// The read models of `store`; the Feature Access View is cached, kept true by `changes`.
    pub fn new(store: &Store, changes: &ChangeFeed, catalog: Arc<PlanCatalog>) -> Self {
        let pool = store.reader();
        Self {
            access: AccessCache::new(pool.clone(), changes),
            catalog,
            pool,
            email_enabled: false,
        }
    }

    /// Tells the notifications list that this server sends email.
    pub fn with_email(mut self, enabled: bool) -> Self {
        self.email_enabled = enabled;
        self
    }

    /// The account's summary, with its usage this period, the cost so far and its credit
    /// balance; `None` when no
    /// event has named the account (404).
    pub async fn summary(
        &self,
        account_id: &AccountId,
    ) -> Result<Option<SummaryView>, ProjectionError> {
        let Some(mut view) = summary::summary(&self.pool, account_id).await? else {
            return Ok(None);
        };
        view.usage = feature_access::usage_so_far(&self.access, &self.catalog, account_id).await?;
        view.credit_balance = customer_balance::credit_balance(&self.pool, account_id).await?;
        Ok(Some(view))
    }

    /// May the account use `feature` now? `None` when its entitlements were never enabled (404).
    pub async fn feature(
        &self,
        account_id: &AccountId,
        feature: &FeatureKey,
        consistency: Consistency,
    ) -> Result<Option<FeatureAccessView>, ProjectionError> {
        let catalog = &self.catalog;
        feature_access::access(&self.access, catalog, account_id, feature, consistency).await
    }

    /// Access to every feature of the account's plan (and any other with usage this period), in
    /// key order; `None` when its entitlements were never enabled (404).
    pub async fn features(
        &self,
        account_id: &AccountId,
        consistency: Consistency,
    ) -> Result<Option<Vec<FeatureAccessView>>, ProjectionError> {
        feature_access::all_access(&self.access, &self.catalog, account_id, consistency).await
    }

    /// Up to `limit` of the account's invoices, newest first, after `cursor`.
    pub async fn invoices(
        &self,
        account_id: &AccountId,
        limit: u32,
        cursor: Option<PositionCursor>,
    ) -> Result<InvoicePage, ProjectionError> {
        invoices::page(&self.pool, account_id, limit, cursor).await
    }

    /// The number of invoice `invoice_id`, once the numbering policy assigned it.
    pub async fn invoice_number(
        &self,
        invoice_id: uuid::Uuid,
    ) -> Result<Option<String>, ProjectionError> {
        invoices::number(&self.pool, invoice_id).await
    }

    /// Up to `limit` of the account's notifications, oldest first, after position `after`, each
    /// with its email delivery status.
    pub async fn notifications(
        &self,
        account_id: &AccountId,
        limit: u32,
        cursor: Option<PositionCursor>,
    ) -> Result<NotificationPage, ProjectionError> {
        notifications::page(&self.pool, account_id, limit, cursor, self.email_enabled).await
    }

    /// Up to `limit` entries of the account's timeline, oldest first, after `cursor`.
    pub async fn timeline(
        &self,
        account_id: &AccountId,
        limit: u32,
        cursor: Option<PositionCursor>,
    ) -> Result<TimelinePage, ProjectionError> {
        timeline::page(&self.pool, account_id, limit, cursor).await
    }

    /// The account's credit balance and up to `limit` of its transactions, oldest first, after
    /// `cursor`.
    pub async fn balance(
        &self,
        account_id: &AccountId,
        limit: u32,
        cursor: Option<PositionCursor>,
    ) -> Result<BalanceStatement, ProjectionError> {
        customer_balance::statement(&self.pool, account_id, limit, cursor).await
    }

    /// Up to `limit` cases of the dunning work queue in `query`'s order after `cursor`, with
    /// days in dunning and next actions as of `now`.
    pub async fn dunning_queue(
        &self,
        query: QueueQuery,
        limit: u32,
        cursor: Option<&QueueCursor>,
        now: DateTime<Utc>,
    ) -> Result<QueuePage, ProjectionError> {
        dunning_queue::page(&self.pool, query, limit, cursor, now).await
    }

    /// Up to `limit` events of the public catalog after position `after`, in log order.
    pub async fn events(
        &self,
        after: i64,
        limit: u32,
        filter: &EventFilter,
    ) -> Result<EventPage, ProjectionError> {
        integration_events::page(&self.pool, after, limit, filter).await
    }

    /// Up to `limit` coupons, oldest first, after `cursor`, as they stand at `now`, and the
    /// cursor of the next page.
    pub async fn coupons(
        &self,
        limit: u32,
        cursor: Option<PositionCursor>,
        now: DateTime<Utc>,
    ) -> Result<(Vec<CouponView>, Option<String>), ProjectionError> {
        coupons::page(&self.pool, limit, cursor, now).await
    }

    /// The pool the queries read, for audit verification (`summary::all_rows`, …).
    pub fn pool(&self) -> &Pool {
        &self.pool
    }
}
