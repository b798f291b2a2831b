//! The summary's `in_dunning` and `dunning_case_id`, from the DunningCase events: set by
//! DunningStarted (which names the account), cleared when the case closes (recovered, cancelled,
//! resolved; those name only the case, found in the row that holds it or earlier in the batch).

use std::collections::BTreeMap;

use application::event_log::StoredEvent;
use domain::dunning::DunningEvent;

use crate::event::{event_error, payload, DUNNING_CASE};
use infrastructure::consumers::ProjectionError;
use infrastructure::portable::{query, Tx};

/// An account's open case after an event: `Some(case)` once started, `None` once closed.
pub(super) struct CaseChange {
    pub account_id: String,
    pub open_case: Option<String>,
}

/// The changes the dunning events of `events` make, in log order.
pub(super) async fn changes(
    tx: &mut Tx,
    events: &[StoredEvent],
) -> Result<Vec<CaseChange>, ProjectionError> {
    let mut accounts: BTreeMap<String, String> = BTreeMap::new();
    let mut changes = Vec::new();
    for stored in events.iter().filter(|e| e.aggregate_type == DUNNING_CASE) {
        let case_id = stored.aggregate_id.clone();
        match payload::<DunningEvent>(stored)? {
            DunningEvent::DunningStarted { account_id, .. } => {
                accounts.insert(case_id.clone(), account_id.to_string());
                changes.push(CaseChange {
                    account_id: account_id.to_string(),
                    open_case: Some(case_id),
                });
            }
            DunningEvent::DunningRecovered { .. }
            | DunningEvent::DunningCancelled { .. }
            | DunningEvent::DunningResolved { .. }
            | DunningEvent::DunningClosed { .. } => {
                let account_id = match accounts.get(&case_id) {
                    Some(account) => account.clone(),
                    None => holder(tx, &case_id)
                        .await?
                        .ok_or_else(|| event_error(stored, "no account holds the case".into()))?,
                };
                changes.push(CaseChange {
                    account_id,
                    open_case: None,
                });
            }
            _ => {}
        }
    }
    Ok(changes)
}

#[derive(sqlx::FromRow)]
struct Holder {
    account_id: String,
}

/// The account whose summary shows `case_id` open.
async fn holder(tx: &mut Tx, case_id: &str) -> Result<Option<String>, sqlx::Error> {
    let sql = "SELECT account_id FROM account_summaries WHERE dunning_case_id = $1";
    let rows: Vec<Holder> = query(sql).bind(case_id).fetch_all_as(tx).await?;
    Ok(rows.into_iter().next().map(|row| row.account_id))
}
