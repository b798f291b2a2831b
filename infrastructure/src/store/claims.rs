//! Who holds a unique claim: the dunning saga finds an account's open case through the claim
//! `open_dunning_case:<account>` its case holds while open.

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
}
