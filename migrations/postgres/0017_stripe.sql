-- The Stripe gateway's own ids (docs/stripe.md): the Customer it created for each account, and
-- the PaymentIntent each payment_ref created, so that a refund names the right PaymentIntent.
-- Written by the gateway before it answers, so every charge the log records has its row here.
CREATE TABLE stripe_customers (
    account_id text PRIMARY KEY,
    customer_id text NOT NULL
);

CREATE TABLE stripe_payment_intents (
    payment_ref text PRIMARY KEY,
    payment_intent_id text NOT NULL,
    account_id text NOT NULL
);
