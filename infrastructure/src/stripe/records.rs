//! The gateway's index of Stripe's PaymentIntents (migration 0017): the PaymentIntent of each
//! payment_ref, and back. A record is written before the gateway answers, so a charge the log
//! records always has its PaymentIntent here for a later refund, and a Stripe event about a
//! charge finds its invoice. (Each account's Customer is remembered in the log instead:
//! `ProcessorCustomer`.)

use crate::portable;
use crate::store::Store;

pub async fn remember_payment_intent(
    store: &Store,
    payment_ref: &str,
    payment_intent_id: &str,
    account_id: &str,
) -> Result<(), sqlx::Error> {
    portable::query(
        "INSERT INTO stripe_payment_intents (payment_ref, payment_intent_id, account_id)
         VALUES ($1, $2, $3) ON CONFLICT (payment_ref) DO NOTHING",
    )
    .bind(payment_ref)
    .bind(payment_intent_id)
    .bind(account_id)
    .execute(store.writer())
    .await?;
    Ok(())
}

/// The payment_ref whose charge created PaymentIntent `payment_intent_id`, if this gateway made it.
pub async fn payment_ref_of(
    store: &Store,
    payment_intent_id: &str,
) -> Result<Option<String>, sqlx::Error> {
    let row = portable::query(
        "SELECT payment_ref FROM stripe_payment_intents WHERE payment_intent_id = $1",
    )
    .bind(payment_intent_id)
    .fetch_optional(store.reader())
    .await?;
    Ok(row.map(|row| row.get("payment_ref")))
}

pub async fn payment_intent_of(
    store: &Store,
    payment_ref: &str,
) -> Result<Option<String>, sqlx::Error> {
    let row = portable::query(
        "SELECT payment_intent_id FROM stripe_payment_intents WHERE payment_ref = $1",
    )
    .bind(payment_ref)
    .fetch_optional(store.writer())
    .await?;
    Ok(row.map(|row| row.get("payment_intent_id")))
}
