-- Account invoices (SPEC 5 and 6): one row per invoice, listed per account newest first. Derived
-- from the invoice events; dropped and rebuilt from position 0 like every read model.
CREATE TABLE account_invoices
(
    invoice_id      TEXT    PRIMARY KEY,
    account_id      TEXT    NOT NULL,
    subscription_id TEXT,
    status          TEXT    NOT NULL,
    currency        TEXT    NOT NULL,
    -- Minor units of `currency`.
    total           INTEGER NOT NULL,
    amount_paid     INTEGER NOT NULL,
    amount_refunded INTEGER NOT NULL,
    attempts        INTEGER NOT NULL,
    issued_at       TEXT    NOT NULL,
    due_at          TEXT    NOT NULL,
    -- JSON array of the lines as the API shows them.
    lines           TEXT    NOT NULL,
    -- The global position of InvoiceIssued: the newest-first order and the page cursor.
    issued_position INTEGER NOT NULL
);

CREATE INDEX account_invoices_by_account ON account_invoices (account_id, issued_position);

-- What the Account Summary's balance due is made of, kept by the summary's own projector (in its
-- transactions, at its checkpoint): each invoice's account, currency and amount still due (0 once
-- paid, void or uncollectible).
CREATE TABLE account_summary_invoices
(
    invoice_id TEXT    PRIMARY KEY,
    account_id TEXT    NOT NULL,
    currency   TEXT    NOT NULL,
    amount_due INTEGER NOT NULL
);

CREATE INDEX account_summary_invoices_by_account ON account_summary_invoices (account_id);
