-- Customer balances (SPEC 11.4), written by the `customer_balances` projector from the
-- CustomerBalance events. Derived data only: both tables can be dropped and rebuilt from
-- position 0. (0020 is left to the coupons migration being written beside this one.)

-- Each account's credit balance after its last transaction.
CREATE TABLE customer_balances
(
    account_id TEXT    PRIMARY KEY,
    -- Minor units of `currency`; never negative.
    amount     BIGINT  NOT NULL,
    currency   TEXT    NOT NULL,
    -- When the last transaction happened (the event's time).
    updated_at TEXT    NOT NULL,
    -- The global position of the last transaction.
    position   BIGINT  NOT NULL
);

-- Every transaction of every balance, one row per event.
CREATE TABLE customer_balance_transactions
(
    -- The global position of the event: unique, the list's order and its page cursor.
    position      BIGINT  PRIMARY KEY,
    -- The id of the event.
    id            TEXT    NOT NULL,
    account_id    TEXT    NOT NULL,
    -- adjustment | credit | invoice_payment
    kind          TEXT    NOT NULL,
    -- Signed minor units of `currency`: a credit positive, a debit negative.
    amount        BIGINT  NOT NULL,
    balance_after BIGINT  NOT NULL,
    currency      TEXT    NOT NULL,
    -- An adjustment's free-text reason.
    reason        TEXT,
    -- The invoice a payment from the balance paid.
    invoice_id    TEXT,
    -- JSON object: why the system credited the balance.
    source        TEXT,
    at            TEXT    NOT NULL
);

CREATE INDEX customer_balance_transactions_by_account
    ON customer_balance_transactions (account_id, position);
