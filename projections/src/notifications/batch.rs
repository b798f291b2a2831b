//! One batch of the outbox, set-based: decode the batch, read the stored facts it needs that it
//! does not carry (cases, invoices, billing emails: one read each), walk the events in log order
//! so that every notification names the recipient at its own position, then write one multi-row
//! statement per table.

use std::collections::{BTreeMap, BTreeSet};

use application::event_log::StoredEvent;
use chrono::{DateTime, Utc};
use domain::dunning::{DunningEvent, NotificationKind};
use domain::invoice::InvoiceEvent;
use domain::subscription::SubscriptionEvent;
use domain::Money;
use infrastructure::consumers::ProjectionError;
use infrastructure::portable::Tx;
use serde_json::json;

use super::table::{self, CaseRow, InvoiceRow, NotificationRow, RecipientRow};
use crate::columns::timestamp;
use crate::event::{event_error, payload, DUNNING_CASE, INVOICE, SUBSCRIPTION};

/// `kind` of the notification of TrialWillEnd.
pub const TRIAL_WILL_END: &str = "trial_will_end";
/// `kind` of the notification of a paid invoice.
pub const INVOICE_RECEIPT: &str = "invoice_receipt";

/// What the outbox takes from one event.
enum Change<'a> {
    CaseStarted(CaseRow),
    Recorded {
        stored: &'a StoredEvent,
        kind: NotificationKind,
        dedupe_key: String,
        at: DateTime<Utc>,
    },
    InvoiceIssued(InvoiceRow),
    InvoicePaid {
        stored: &'a StoredEvent,
        amount_paid: Money,
        at: DateTime<Utc>,
    },
    BillingEmail {
        account_id: String,
        email: Option<String>,
    },
    TrialWillEnd {
        stored: &'a StoredEvent,
        account_id: String,
        trial_ends_at: DateTime<Utc>,
        at: DateTime<Utc>,
    },
}

/// What the batch knows so far: the stored facts it read, updated event by event.
#[derive(Default)]
struct Facts {
    cases: BTreeMap<String, CaseRow>,
    invoices: BTreeMap<String, InvoiceRow>,
    recipients: BTreeMap<String, Option<String>>,
}

pub(super) async fn apply(tx: &mut Tx, events: &[StoredEvent]) -> Result<(), ProjectionError> {
    let changes = decode(events)?;
    let mut facts = read_facts(tx, &changes).await?;
    let mut new_cases = Vec::new();
    let mut new_invoices = Vec::new();
    let mut new_recipients = BTreeMap::new();
    let mut written = BTreeSet::new();
    let mut notifications = Vec::new();
    for change in changes {
        let row = match change {
            Change::CaseStarted(case) => {
                if !facts.cases.contains_key(&case.case_id) {
                    facts.cases.insert(case.case_id.clone(), case.clone());
                    new_cases.push(case);
                }
                None
            }
            Change::InvoiceIssued(invoice) => {
                if !facts.invoices.contains_key(&invoice.invoice_id) {
                    facts
                        .invoices
                        .insert(invoice.invoice_id.clone(), invoice.clone());
                    new_invoices.push(invoice);
                }
                None
            }
            Change::BillingEmail { account_id, email } => {
                facts.recipients.insert(account_id.clone(), email.clone());
                new_recipients.insert(account_id, email);
                None
            }
            Change::Recorded {
                stored,
                kind,
                dedupe_key,
                at,
            } => Some(facts.dunning(stored, kind, dedupe_key, at)?),
            Change::InvoicePaid {
                stored,
                amount_paid,
                at,
            } => facts.receipt(stored, amount_paid, at)?,
            Change::TrialWillEnd {
                stored,
                account_id,
                trial_ends_at,
                at,
            } => Some(facts.trial_will_end(stored, account_id, trial_ends_at, at)),
        };
        // The first of a dedupe key wins, in the batch as against the table.
        if let Some(row) = row.filter(|row| written.insert(row.dedupe_key.clone())) {
            notifications.push(row);
        }
    }
    table::save_cases(tx, new_cases).await?;
    table::save_invoices(tx, new_invoices).await?;
    let recipients = new_recipients
        .into_iter()
        .map(|(account_id, email)| RecipientRow { account_id, email })
        .collect();
    table::save_recipients(tx, recipients).await?;
    table::insert_notifications(tx, notifications).await?;
    Ok(())
}

fn decode(events: &[StoredEvent]) -> Result<Vec<Change<'_>>, ProjectionError> {
    let mut changes = Vec::new();
    for stored in events {
        let change = match stored.aggregate_type.as_str() {
            DUNNING_CASE => match payload::<DunningEvent>(stored)? {
                DunningEvent::DunningStarted {
                    case_id,
                    account_id,
                    subscription_id,
                    invoice_id,
                    amount_due,
                    window_expires_at,
                    cancel_at,
                    ..
                } => Change::CaseStarted(CaseRow {
                    case_id: case_id.to_string(),
                    account_id: account_id.to_string(),
                    subscription_id: subscription_id.map(|id| id.to_string()),
                    invoice_id: invoice_id.to_string(),
                    amount_due: amount_due.amount,
                    currency: amount_due.currency.to_string(),
                    window_expires_at: Some(timestamp(window_expires_at)),
                    cancel_at: Some(timestamp(cancel_at)),
                }),
                DunningEvent::NotificationRecorded {
                    kind,
                    dedupe_key,
                    at,
                } => Change::Recorded {
                    stored,
                    kind,
                    dedupe_key,
                    at,
                },
                _ => continue,
            },
            SUBSCRIPTION => match payload::<SubscriptionEvent>(stored)? {
                SubscriptionEvent::TrialStarted {
                    account_id,
                    billing_account,
                    ..
                } => Change::BillingEmail {
                    account_id: account_id.to_string(),
                    email: billing_account.map(|billing| billing.email.as_str().to_owned()),
                },
                SubscriptionEvent::BillingAccountAttached {
                    account_id,
                    billing_account,
                    ..
                } => Change::BillingEmail {
                    account_id: account_id.to_string(),
                    email: Some(billing_account.email.as_str().to_owned()),
                },
                SubscriptionEvent::TrialWillEnd {
                    account_id,
                    trial_ends_at,
                    at,
                } => Change::TrialWillEnd {
                    stored,
                    account_id: account_id.to_string(),
                    trial_ends_at,
                    at,
                },
                _ => continue,
            },
            INVOICE => match payload::<InvoiceEvent>(stored)? {
                InvoiceEvent::InvoiceIssued {
                    invoice_id,
                    account_id,
                    subscription_id,
                    currency,
                    total,
                    due_at,
                    ..
                } => Change::InvoiceIssued(InvoiceRow {
                    invoice_id: invoice_id.to_string(),
                    account_id: account_id.to_string(),
                    subscription_id: subscription_id.map(|id| id.to_string()),
                    total: total.amount,
                    currency: currency.to_string(),
                    due_at: timestamp(due_at),
                }),
                InvoiceEvent::InvoicePaid { amount_paid, at } => Change::InvoicePaid {
                    stored,
                    amount_paid,
                    at,
                },
                _ => continue,
            },
            _ => continue,
        };
        changes.push(change);
    }
    Ok(changes)
}

/// Reads the stored cases, invoices and billing emails the batch's notifications name and the
/// batch does not carry itself: at most three statements.
async fn read_facts(tx: &mut Tx, changes: &[Change<'_>]) -> Result<Facts, ProjectionError> {
    let mut facts = Facts::default();
    let in_batch_cases: BTreeSet<&str> = changes
        .iter()
        .filter_map(|change| match change {
            Change::CaseStarted(case) => Some(case.case_id.as_str()),
            _ => None,
        })
        .collect();
    let case_ids: BTreeSet<String> = changes
        .iter()
        .filter_map(|change| match change {
            Change::Recorded { stored, .. } => Some(stored.aggregate_id.as_str()),
            _ => None,
        })
        .filter(|id| !in_batch_cases.contains(id))
        .map(str::to_owned)
        .collect();
    for case in table::cases(tx, &Vec::from_iter(case_ids)).await? {
        facts.cases.insert(case.case_id.clone(), case);
    }
    let mut invoice_ids: BTreeSet<String> = facts
        .cases
        .values()
        .map(|case| case.invoice_id.clone())
        .collect();
    let mut accounts: BTreeSet<String> = facts
        .cases
        .values()
        .map(|case| case.account_id.clone())
        .collect();
    for change in changes {
        match change {
            Change::CaseStarted(case) => {
                invoice_ids.insert(case.invoice_id.clone());
                accounts.insert(case.account_id.clone());
            }
            Change::InvoicePaid { stored, .. } => {
                invoice_ids.insert(stored.aggregate_id.clone());
            }
            Change::TrialWillEnd { account_id, .. } => {
                accounts.insert(account_id.clone());
            }
            _ => {}
        }
    }
    for change in changes {
        if let Change::InvoiceIssued(invoice) = change {
            invoice_ids.remove(&invoice.invoice_id);
        }
    }
    for invoice in table::invoices(tx, &Vec::from_iter(invoice_ids)).await? {
        accounts.insert(invoice.account_id.clone());
        facts.invoices.insert(invoice.invoice_id.clone(), invoice);
    }
    for change in changes {
        if let Change::InvoiceIssued(invoice) = change {
            accounts.insert(invoice.account_id.clone());
        }
    }
    for row in table::recipients(tx, &Vec::from_iter(accounts)).await? {
        facts.recipients.insert(row.account_id, row.email);
    }
    Ok(facts)
}

impl Facts {
    fn recipient(&self, account_id: &str) -> Option<String> {
        self.recipients.get(account_id).cloned().flatten()
    }

    /// The notification the dunning process manager recorded about its case.
    fn dunning(
        &self,
        stored: &StoredEvent,
        kind: NotificationKind,
        dedupe_key: String,
        at: DateTime<Utc>,
    ) -> Result<NotificationRow, ProjectionError> {
        let case = self
            .cases
            .get(&stored.aggregate_id)
            .ok_or_else(|| event_error(stored, "no DunningStarted precedes it".into()))?;
        let kind = serde_json::to_value(kind)
            .ok()
            .and_then(|kind| kind.as_str().map(str::to_owned))
            .ok_or_else(|| event_error(stored, "the kind has no name".into()))?;
        let invoice_due_at = self
            .invoices
            .get(&case.invoice_id)
            .map(|invoice| invoice.due_at.clone());
        let payload = json!({
            "dunning_case_id": case.case_id,
            "subscription_id": case.subscription_id,
            "invoice_id": case.invoice_id,
            "amount_due": {"amount": case.amount_due, "currency": case.currency},
            "invoice_due_at": invoice_due_at,
            "access_suspended_at": case.window_expires_at,
            "cancel_at": case.cancel_at,
        });
        Ok(row(
            stored,
            &case.account_id,
            kind,
            dedupe_key,
            payload,
            at,
            self,
        ))
    }

    /// The receipt of a paid invoice; none for an invoice paid with nothing to pay (a zero total
    /// is paid when issued: nothing was charged, so there is nothing to acknowledge).
    fn receipt(
        &self,
        stored: &StoredEvent,
        amount_paid: Money,
        at: DateTime<Utc>,
    ) -> Result<Option<NotificationRow>, ProjectionError> {
        let invoice = self
            .invoices
            .get(&stored.aggregate_id)
            .ok_or_else(|| event_error(stored, "no InvoiceIssued precedes it".into()))?;
        if amount_paid.amount <= 0 {
            return Ok(None);
        }
        let payload = json!({
            "invoice_id": invoice.invoice_id,
            "subscription_id": invoice.subscription_id,
            "amount_paid": {"amount": amount_paid.amount, "currency": amount_paid.currency.to_string()},
            "total": {"amount": invoice.total, "currency": invoice.currency},
            "invoice_due_at": invoice.due_at,
            "paid_at": timestamp(at),
        });
        let dedupe_key = format!("{INVOICE_RECEIPT}:{}", invoice.invoice_id);
        Ok(Some(row(
            stored,
            &invoice.account_id,
            INVOICE_RECEIPT.to_owned(),
            dedupe_key,
            payload,
            at,
            self,
        )))
    }

    fn trial_will_end(
        &self,
        stored: &StoredEvent,
        account_id: String,
        trial_ends_at: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> NotificationRow {
        let trial_ends_at = timestamp(trial_ends_at);
        let payload = json!({
            "subscription_id": stored.aggregate_id,
            "trial_ends_at": trial_ends_at,
        });
        let dedupe_key = format!("{TRIAL_WILL_END}:{}:{trial_ends_at}", stored.aggregate_id);
        row(
            stored,
            &account_id,
            TRIAL_WILL_END.to_owned(),
            dedupe_key,
            payload,
            at,
            self,
        )
    }
}

/// The row of the notification `stored` records, to the account's billing email at this position.
fn row(
    stored: &StoredEvent,
    account_id: &str,
    kind: String,
    dedupe_key: String,
    payload: serde_json::Value,
    at: DateTime<Utc>,
    facts: &Facts,
) -> NotificationRow {
    NotificationRow {
        id: stored.metadata.event_id.to_string(),
        account_id: account_id.to_owned(),
        kind,
        dedupe_key,
        payload: payload.to_string(),
        created_at: timestamp(at),
        sent_at: Some(timestamp(at)),
        position: stored.position,
        recipient: facts.recipient(account_id),
    }
}
