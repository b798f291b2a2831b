//! The gateway's durable memory of Stripe's ids (migration 0017): one Customer per account, and
//! the PaymentIntent of each payment_ref. A record is written before the gateway answers, so a
//! charge the log records always has its PaymentIntent here for a later refund.

use crate::portable;
use crate::store::Store;

pub async fn customer_of(store: &Store, account_id: &str) -> Result<Option<String>, sqlx::Error> {
    let row = portable::query("SELECT customer_id FROM stripe_customers WHERE account_id = $1")
        .bind(account_id)
        .fetch_optional(store.writer())
        .await?;
    Ok(row.map(|row| row.get("customer_id")))
}

/// Remembers `customer_id` for `account_id` unless one is remembered already, and returns the
/// one that is: of two racing creators, both keep the first.
pub async fn remember_customer(
    store: &Store,
    account_id: &str,
    customer_id: &str,
) -> Result<String, sqlx::Error> {
    portable::query(
        "INSERT INTO stripe_customers (account_id, customer_id) VALUES ($1, $2)
         ON CONFLICT (account_id) DO NOTHING",
    )
    .bind(account_id)
    .bind(customer_id)
    .execute(store.writer())
    .await?;
    Ok(customer_of(store, account_id)
        .await?
        .unwrap_or_else(|| customer_id.to_owned()))
}

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
