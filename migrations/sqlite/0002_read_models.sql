-- Read models and the bookkeeping of their projectors (SPEC section 5). Everything here is derived
-- from the event log and can be dropped and rebuilt from position 0. Timestamps are RFC 3339 text
-- and JSON is text, so that the SQL that reads and writes these tables is the same on both backends.

-- Where each projector stands in the global log. Written in the same transaction as the projector's
-- read-model rows, so every event takes effect exactly once.
CREATE TABLE projection_checkpoints
(
    name       TEXT    PRIMARY KEY,
    -- The log cursor of the last event applied: the transaction order key and the position.
    log_tx     INTEGER NOT NULL,
    position   INTEGER NOT NULL,
    updated_at TEXT    NOT NULL
);

-- What the active worker of each projector last reported: running, failed (with the error and the
-- position of the event it stopped at) or stopped. Operational, not derived data.
CREATE TABLE projection_status
(
    name            TEXT    PRIMARY KEY,
    status          TEXT    NOT NULL,
    error           TEXT,
    failed_position INTEGER,
    updated_at      TEXT    NOT NULL
);

-- Account Subscription Summary: one row per account.
CREATE TABLE account_summaries
(
    account_id             TEXT    PRIMARY KEY,
    subscription_id        TEXT,
    plan_id                TEXT,
    status                 TEXT    NOT NULL,
    currency               TEXT,
    trial_ends_at          TEXT,
    current_period_start   TEXT,
    current_period_end     TEXT,
    seat_count             INTEGER,
    seat_limit             INTEGER,
    overage_billing        BOOLEAN NOT NULL,
    cancel_at_period_end   BOOLEAN NOT NULL,
    scheduled_plan_id      TEXT,
    scheduled_effective_at TEXT,
    entitlement_status     TEXT    NOT NULL,
    -- JSON array of feature keys, sorted.
    entitlement_features   TEXT    NOT NULL,
    balance_due_amount     INTEGER NOT NULL,
    balance_due_currency   TEXT,
    in_dunning             BOOLEAN NOT NULL,
    dunning_case_id        TEXT
);

-- Feature Access View: an account's entitlement standing...
CREATE TABLE feature_access_accounts
(
    account_id   TEXT PRIMARY KEY,
    status       TEXT NOT NULL,
    plan_id      TEXT NOT NULL,
    period_start TEXT NOT NULL,
    period_end   TEXT NOT NULL
);

-- ...and one row per feature the account's plan grants or once granted: whether the plan grants it
-- now, its per-period limit (NULL: unlimited or not metered) and the usage this period.
CREATE TABLE feature_access
(
    account_id  TEXT    NOT NULL,
    feature     TEXT    NOT NULL,
    in_plan     BOOLEAN NOT NULL,
    limit_units INTEGER,
    used        INTEGER NOT NULL,
    PRIMARY KEY (account_id, feature)
);
