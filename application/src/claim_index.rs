//! The claim index port: who holds a unique claim now. The dunning process manager finds an
//! account's open case through the claim its case holds while open, and the billing policy a
//! subscription's open invoices through theirs (`claims` names them). Claims move only with
//! the appends of the event log, so the index is as fresh as the last commit.

use std::future::Future;

use crate::EventLogError;

/// Reads the unique claims the event log's appends take and release.
///
/// Contract, for every implementation:
/// - `claim_holder` MUST answer the aggregate id that holds `claim` as of the last committed
///   append, or `None` when no aggregate holds it.
/// - `claim_holders_under` MUST answer the holders of every claim that begins with `prefix`
///   (literally: no character of it is a wildcard), in claim order.
pub trait ClaimIndex: Send + Sync + 'static {
    fn claim_holder(
        &self,
        claim: &str,
    ) -> impl Future<Output = Result<Option<String>, EventLogError>> + Send;

    fn claim_holders_under(
        &self,
        prefix: &str,
    ) -> impl Future<Output = Result<Vec<String>, EventLogError>> + Send;
}
