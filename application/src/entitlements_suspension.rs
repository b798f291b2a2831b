//! Use case: an admin suspends an account's entitlements for a dunning case
//! (`POST /v1/accounts/{account_id}/entitlements/suspend`). The window rule needs the case's
//! `window_expires_at`, which lives in another aggregate: it is read here, from the case, never
//! taken from the client, and the Entitlements aggregate refuses a suspension before it.

use domain::dunning::{DunningCase, DunningRule};
use domain::entitlements::{Entitlements, EntitlementsCommand};
use domain::{AccountId, BillingServices, DomainError};
use uuid::Uuid;

use crate::event_log::EventLog;
use crate::{CommandBus, CommandContext, DispatchError, Executed};

/// Suspends the entitlements of `account` for its open dunning case `case_id`.
pub async fn suspend_entitlements<L: EventLog>(
    bus: &CommandBus<L>,
    services: &BillingServices,
    account: &AccountId,
    case_id: Uuid,
    context: &CommandContext,
) -> Result<Executed, DispatchError<DomainError>> {
    let case = bus
        .load::<DunningCase>(&case_id.to_string())
        .await?
        .aggregate;
    let window_expires_at = window_of(&case, account, case_id).map_err(DispatchError::Rejected)?;
    let command = EntitlementsCommand::SuspendEntitlements {
        dunning_case_id: case_id,
        window_expires_at,
    };
    bus.execute::<Entitlements>(account.as_str(), command, services, context)
        .await
}

/// The window of `case` when it is an open case of `account`.
fn window_of(
    case: &DunningCase,
    account: &AccountId,
    case_id: Uuid,
) -> Result<chrono::DateTime<chrono::Utc>, DomainError> {
    let refused = |reason: String| DomainError::invalid("dunning_case_id", reason);
    let (Some(owner), Some(status), Some(window)) =
        (case.account_id(), case.status(), case.window_expires_at())
    else {
        return Err(refused(format!("no dunning case {case_id}")));
    };
    if owner != account {
        return Err(refused(format!(
            "dunning case {case_id} belongs to another account"
        )));
    }
    if !case.is_open() {
        return Err(DunningRule::CaseClosed { status }.into());
    }
    Ok(window)
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, TimeZone, Utc};
    use cqrs_es::Aggregate;
    use domain::dunning::DunningEvent;
    use domain::{Currency, Money};

    use super::*;

    fn window() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 15, 0, 0, 0).unwrap()
    }

    /// A case of `acct_owner`, started open, then `events`.
    fn case(case_id: Uuid, events: Vec<DunningEvent>) -> DunningCase {
        let started_at = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let mut case = DunningCase::default();
        case.apply(DunningEvent::DunningStarted {
            case_id,
            account_id: AccountId::parse("acct_owner").unwrap(),
            subscription_id: None,
            invoice_id: Uuid::new_v4(),
            amount_due: Money::new(1900, Currency::parse("usd").unwrap()),
            failure_reason: "card_declined".into(),
            failure_code: "card_declined".into(),
            started_at,
            window_expires_at: window(),
            cancel_at: started_at + chrono::Duration::days(30),
            retry_schedule: vec![],
        });
        for event in events {
            case.apply(event);
        }
        case
    }

    #[test]
    fn the_window_comes_from_an_open_case_of_the_same_account() {
        let id = Uuid::new_v4();
        let owner = AccountId::parse("acct_owner").unwrap();
        assert_eq!(window_of(&case(id, vec![]), &owner, id), Ok(window()));

        let stranger = AccountId::parse("acct_stranger").unwrap();
        let refused = window_of(&case(id, vec![]), &stranger, id).unwrap_err();
        assert!(matches!(refused, DomainError::Invalid(_)), "{refused:?}");

        let never_started = window_of(&DunningCase::default(), &owner, id).unwrap_err();
        assert!(matches!(never_started, DomainError::Invalid(_)));

        let recovered = DunningEvent::DunningRecovered { at: window() };
        let closed = window_of(&case(id, vec![recovered]), &owner, id).unwrap_err();
        assert_eq!(closed.class(), domain::ErrorClass::Rule, "{closed:?}");
    }
}
