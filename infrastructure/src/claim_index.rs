//! The store as the application's claim index: the claims live in its `unique_claims` table,
//! taken and released by the appends themselves. The dunning saga finds an account's open case
//! through the claim its case holds while open, and the billing policy a subscription's open
//! invoices through theirs (`application::claims` names them).

use application::{ClaimIndex, EventLogError};

use crate::portable;
use crate::store::{storage_error, Store};

impl ClaimIndex for Store {
    async fn claim_holder(&self, claim: &str) -> Result<Option<String>, EventLogError> {
        let holder = portable::query("SELECT aggregate_id FROM unique_claims WHERE claim = $1")
            .bind(claim)
            .fetch_optional(self.reader())
            .await
            .map_err(storage_error)?;
        Ok(holder.map(|row| row.get("aggregate_id")))
    }

    async fn claim_holders_under(&self, prefix: &str) -> Result<Vec<String>, EventLogError> {
        // `substr`, not LIKE: a prefix's `_` would be a wildcard; both dialects have it.
        let holders = portable::query(
            "SELECT aggregate_id FROM unique_claims
              WHERE substr(claim, 1, length($1)) = $1 ORDER BY claim",
        )
        .bind(prefix)
        .fetch_all(self.reader())
        .await
        .map_err(storage_error)?;
        Ok(holders.iter().map(|row| row.get("aggregate_id")).collect())
    }
}
