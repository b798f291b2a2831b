//! Uniqueness rules that span aggregates: "one non-cancelled subscription per account" and "at
//! most one open dunning case per account". An aggregate names the claim it holds in its current
//! state; the command bus takes or releases the claim in the same atomic append as the events that
//! open or close the aggregate, so no race between two creators can break the rule.

use domain::dunning::DunningCase;
use domain::entitlements::Entitlements;
use domain::invoice::Invoice;
use domain::subscription::Subscription;

pub trait UniqueClaim: cqrs_es::Aggregate {
    /// The claim this aggregate holds in its current state, if any.
    fn unique_claim(&self) -> Option<String> {
        None
    }
}

impl UniqueClaim for Subscription {
    fn unique_claim(&self) -> Option<String> {
        self.is_open()
            .then(|| self.account_id())
            .flatten()
            .map(|account| format!("open_subscription:{account}"))
    }
}

impl UniqueClaim for DunningCase {
    fn unique_claim(&self) -> Option<String> {
        self.is_open()
            .then(|| self.account_id())
            .flatten()
            .map(|account| format!("open_dunning_case:{account}"))
    }
}

impl UniqueClaim for Entitlements {}
impl UniqueClaim for Invoice {}

/// How a command changes the claims of its aggregate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClaimChange {
    pub take: Option<String>,
    pub release: Option<String>,
}

impl ClaimChange {
    pub fn between(before: Option<String>, after: Option<String>) -> Self {
        if before == after {
            Self::default()
        } else {
            Self {
                take: after,
                release: before,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_of_claim_takes_the_new_and_releases_the_old() {
        let a = Some("a".to_owned());
        assert_eq!(
            ClaimChange::between(a.clone(), a.clone()),
            ClaimChange::default()
        );
        assert_eq!(
            ClaimChange::between(None, a.clone()),
            ClaimChange {
                take: a.clone(),
                release: None
            }
        );
        assert_eq!(
            ClaimChange::between(a.clone(), None),
            ClaimChange {
                take: None,
                release: a
            }
        );
    }
}
