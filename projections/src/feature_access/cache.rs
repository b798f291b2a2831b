//! The Feature Access View in memory, one copy per process: the product's runtime asks it on
//! every request, so a hit must not cost a database round trip. Entries are the rows of one
//! account, forgotten when a committed batch of the projector (or a rebuild) announces a change
//! to the account (`infrastructure::changes`).

use std::sync::Arc;

use infrastructure::changes::{ChangeFeed, NoticedCache};

use super::table::{self, AccountRows};
use super::FeatureAccessProjector;
use infrastructure::consumers::ProjectionError;
use infrastructure::portable::Pool;

/// Accounts kept in memory per process; a few kilobytes each.
const CACHED_ACCOUNTS: usize = 100_000;

/// Whether a read may be answered from this process's cache of a read model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consistency {
    /// The read model as this process last heard of it: a cached copy, behind the table by the
    /// time a change notice takes to arrive (milliseconds).
    Eventual,
    /// The table itself: for a read that waited for a position (read-your-writes), since the
    /// notice of a batch may arrive after its checkpoint is seen.
    ReadYourWrites,
}

/// The rows of accounts, by account id; `None` for an account whose entitlements were never
/// enabled (enabling them announces the account too).
#[derive(Clone)]
pub struct AccessCache {
    pool: Pool,
    cache: Arc<NoticedCache<Option<Arc<AccountRows>>>>,
}

impl AccessCache {
    /// A cache over `pool` that follows `feed`; it serves only while the feed can be trusted.
    pub fn new(pool: Pool, feed: &ChangeFeed) -> Self {
        let cache = NoticedCache::new(FeatureAccessProjector::NAME, CACHED_ACCOUNTS);
        cache.follow(feed.subscribe());
        Self { pool, cache }
    }

    pub(super) async fn rows(
        &self,
        account_id: &str,
        consistency: Consistency,
    ) -> Result<Option<Arc<AccountRows>>, ProjectionError> {
        if consistency == Consistency::ReadYourWrites {
            return Ok(table::account_rows(&self.pool, account_id)
                .await?
                .map(Arc::new));
        }
        if let Some(rows) = self.cache.get(account_id) {
            return Ok(rows);
        }
        let ticket = self.cache.ticket(account_id);
        let rows = table::account_rows(&self.pool, account_id)
            .await?
            .map(Arc::new);
        if let Some(ticket) = ticket {
            self.cache.fill(account_id, ticket, rows.clone());
        }
        Ok(rows)
    }
}
