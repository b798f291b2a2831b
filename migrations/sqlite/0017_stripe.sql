-- The Stripe gateway's index of its PaymentIntents (docs/stripe.md): the PaymentIntent each
-- payment_ref created, so that a refund names the right PaymentIntent and a Stripe event about a
-- charge finds its invoice. Written by the gateway before it answers, so every charge the log
-- records has its row here. (Each account's Stripe Customer is remembered in the log:
-- `ProcessorCustomerCreated`.)
CREATE TABLE stripe_payment_intents (
    payment_ref text PRIMARY KEY,
    payment_intent_id text NOT NULL,
    account_id text NOT NULL
);
