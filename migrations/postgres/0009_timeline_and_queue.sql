-- Billing Timeline and Dunning Work Queue (SPEC 5 and 6). Derived data only: both are written by
-- their own projectors from the event log and can be dropped and rebuilt from position 0.

-- Billing Timeline: one row per event that tells an account's billing story, oldest first.
CREATE TABLE timeline_entries
(
    -- The global position of the event: unique, the list's order and its page cursor.
    position     BIGINT  PRIMARY KEY,
    account_id   TEXT    NOT NULL,
    -- snake_case and stable, e.g. invoice_issued, payment_failed, dunning_started.
    kind         TEXT    NOT NULL,
    -- The event's recorded time.
    at           TEXT    NOT NULL,
    -- Minor units of `currency`, when the entry is about an amount.
    amount       BIGINT,
    currency     TEXT,
    event_id     TEXT    NOT NULL,
    causation_id TEXT    NOT NULL,
    -- JSON object: what a support agent needs (reason, plan ids, seat counts, invoice, case...).
    details      TEXT    NOT NULL
);

CREATE INDEX timeline_entries_by_account ON timeline_entries (account_id, position);

-- The timeline's own lookups, kept by its projector: invoice and dunning-case events after the
-- first do not name the account.
CREATE TABLE timeline_invoices
(
    invoice_id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL
);

CREATE TABLE timeline_cases
(
    case_id    TEXT PRIMARY KEY,
    account_id TEXT NOT NULL
);

-- Dunning Work Queue: one row per dunning case, open or closed; the queue lists the open ones at
-- stage escalated or suspended.
CREATE TABLE dunning_queue_cases
(
    case_id             TEXT    PRIMARY KEY,
    account_id          TEXT    NOT NULL,
    subscription_id     TEXT,
    invoice_id          TEXT    NOT NULL,
    -- Minor units of `currency`.
    amount_due          BIGINT  NOT NULL,
    currency            TEXT    NOT NULL,
    -- open, recovered, cancelled or resolved.
    status              TEXT    NOT NULL,
    -- retrying, escalated or suspended (the last stage of a closed case).
    stage               TEXT    NOT NULL,
    started_at          TEXT    NOT NULL,
    -- started_at in microseconds since the epoch: the age order and its cursor (RFC 3339 text
    -- with optional fractions does not sort as time).
    started_micros      BIGINT  NOT NULL,
    window_expires_at   TEXT    NOT NULL,
    cancel_at           TEXT    NOT NULL,
    -- JSON array of RFC 3339 times, in time order: every retry scheduled so far.
    retry_schedule      TEXT    NOT NULL,
    last_failure_reason TEXT    NOT NULL,
    assigned_agent      TEXT
);

CREATE INDEX dunning_queue_by_amount ON dunning_queue_cases (status, amount_due, case_id);
CREATE INDEX dunning_queue_by_age ON dunning_queue_cases (status, started_micros, case_id);
