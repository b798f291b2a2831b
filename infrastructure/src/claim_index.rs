//! The store as the application's claim index: the claims live in its `unique_claims` table,
//! taken and released by the appends themselves.

use application::{ClaimIndex, EventLogError};

use crate::Store;

impl ClaimIndex for Store {
    async fn claim_holder(&self, claim: &str) -> Result<Option<String>, EventLogError> {
        Store::claim_holder(self, claim).await
    }

    async fn claim_holders_under(&self, prefix: &str) -> Result<Vec<String>, EventLogError> {
        Store::claim_holders_under(self, prefix).await
    }
}
