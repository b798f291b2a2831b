//! Uniqueness rules that span aggregates: "one non-cancelled subscription per account" and "at
//! most one open dunning case per account". An aggregate names the claim it holds in its current
//! state; the command bus takes or releases the claim in the same atomic append as the events that
//! open or close the aggregate, so no race between two creators can break the rule.
//!
//! The same index answers "which invoices of this subscription are open?": an open invoice of a
//! subscription holds a claim of its own, so a cancellation finds every one of them, manual ones
//! included, as of the last commit. Claim names are built here and nowhere else.

use domain::dunning::DunningCase;
use domain::entitlements::Entitlements;
use domain::invoice::Invoice;
use domain::subscription::Subscription;
use uuid::Uuid;

pub trait UniqueClaim: cqrs_es::Aggregate {
    /// The claim this aggregate holds in its current state, if any.
    fn unique_claim(&self) -> Option<String> {
        None
    }
}

const OPEN_SUBSCRIPTION: &str = "open_subscription";
const OPEN_DUNNING_CASE: &str = "open_dunning_case";
const OPEN_INVOICE: &str = "open_invoice";

/// The claim of the account's open subscription.
pub fn open_subscription_claim(account_id: &str) -> String {
    format!("{OPEN_SUBSCRIPTION}:{account_id}")
}

/// The claim of the account's open dunning case.
pub fn open_dunning_case_claim(account_id: &str) -> String {
    format!("{OPEN_DUNNING_CASE}:{account_id}")
}

/// What the claims of the open invoices of `subscription_id` begin with.
pub fn open_invoices_claim_prefix(subscription_id: Uuid) -> String {
    format!("{OPEN_INVOICE}:{subscription_id}:")
}

/// What a refused claim means, in billing words, for the client whose command took it.
pub fn describe(claim: &str) -> String {
    match claim.split_once(':') {
        Some((OPEN_SUBSCRIPTION, account)) => {
            format!("account {account} already has a subscription that is not cancelled")
        }
        Some((OPEN_DUNNING_CASE, account)) => {
            format!("account {account} already has an open dunning case")
        }
        _ => format!("`{claim}` is already taken"),
    }
}

impl UniqueClaim for Subscription {
    fn unique_claim(&self) -> Option<String> {
        self.is_open()
            .then(|| self.account_id())
            .flatten()
            .map(|account| open_subscription_claim(account.as_str()))
    }
}

impl UniqueClaim for DunningCase {
    fn unique_claim(&self) -> Option<String> {
        self.is_open()
            .then(|| self.account_id())
            .flatten()
            .map(|account| open_dunning_case_claim(account.as_str()))
    }
}

impl UniqueClaim for Invoice {
    fn unique_claim(&self) -> Option<String> {
        let subscription_id = self.subscription_id().filter(|_| self.is_open())?;
        let invoice_id = self.invoice_id()?;
        Some(format!(
            "{}{invoice_id}",
            open_invoices_claim_prefix(subscription_id)
        ))
    }
}

impl UniqueClaim for Entitlements {}

impl UniqueClaim for domain::processor_event::ProcessorEvent {}

impl UniqueClaim for domain::processor_customer::ProcessorCustomer {}

impl UniqueClaim for domain::webhook_endpoint::WebhookEndpoint {}

impl UniqueClaim for domain::invoice_numbering::InvoiceNumbering {}

impl UniqueClaim for domain::coupon::Coupon {}
impl UniqueClaim for domain::customer_balance::CustomerBalance {}

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
    fn a_claim_built_here_is_described_in_billing_words() {
        assert_eq!(
            describe(&open_subscription_claim("acct_1")),
            "account acct_1 already has a subscription that is not cancelled"
        );
        assert_eq!(
            describe(&open_dunning_case_claim("acct_1")),
            "account acct_1 already has an open dunning case"
        );
        assert_eq!(describe("other:x"), "`other:x` is already taken");
    }

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
