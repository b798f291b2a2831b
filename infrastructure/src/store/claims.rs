//! Who holds a unique claim: the dunning saga finds an account's open case through the claim its
//! case holds while open, and the billing policy a subscription's open invoices through theirs
//! (`application::claims` names them).

use application::event_log::EventLogError;

use super::{storage_error, Store};

impl Store {
    /// The id of the aggregate holding `claim`, if any holds it now.
    pub async fn claim_holder(&self, claim: &str) -> Result<Option<String>, EventLogError> {
        const SQL: &str = "SELECT aggregate_id FROM unique_claims WHERE claim = $1";
        let holder = match self {
            Store::Postgres(log) => {
                sqlx::query_scalar(SQL)
                    .bind(claim)
                    .fetch_optional(log.pool())
                    .await
            }
            Store::Sqlite(log) => {
                sqlx::query_scalar(SQL)
                    .bind(claim)
                    .fetch_optional(log.readers())
                    .await
            }
        };
        holder.map_err(storage_error)
    }

    /// The ids of the aggregates holding a claim that begins with `prefix`, in claim order.
    pub async fn claim_holders_under(&self, prefix: &str) -> Result<Vec<String>, EventLogError> {
        // `substr`, not LIKE: a prefix's `_` would be a wildcard; both dialects have it.
        const SQL: &str = "SELECT aggregate_id FROM unique_claims
                            WHERE substr(claim, 1, length($1)) = $1 ORDER BY claim";
        let holders = match self {
            Store::Postgres(log) => {
                sqlx::query_scalar(SQL)
                    .bind(prefix)
                    .fetch_all(log.pool())
                    .await
            }
            Store::Sqlite(log) => {
                sqlx::query_scalar(SQL)
                    .bind(prefix)
                    .fetch_all(log.readers())
                    .await
            }
        };
        holders.map_err(storage_error)
    }
}
