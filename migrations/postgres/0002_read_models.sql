-- Read models and the bookkeeping of their projectors (SPEC section 5). Everything here is derived
-- from the event log and can be dropped and rebuilt from position 0. Timestamps are RFC 3339 text
-- and JSON is text, so that the SQL that reads and writes these tables is the same on both backends.

-- Where each projector stands in the global log. Written in the same transaction as the projector's
-- read-model rows, so every event takes effect exactly once.
CREATE TABLE projection_checkpoints
(
    name       text   PRIMARY KEY,
    -- The log cursor of the last event applied: the transaction order key and the position.
    log_tx     bigint NOT NULL,
    position   bigint NOT NULL,
    updated_at text   NOT NULL
);

-- What the active worker of each projector last reported: running, failed (with the error and the
-- position of the event it stopped at) or stopped. Operational, not derived data.
CREATE TABLE projection_status
(
    name            text   PRIMARY KEY,
    status          text   NOT NULL,
    error           text,
    failed_position bigint,
    updated_at      text   NOT NULL
);

-- Account Subscription Summary: one row per account.
CREATE TABLE account_summaries
(
    account_id             text    PRIMARY KEY,
    subscription_id        text,
    plan_id                text,
    status                 text    NOT NULL,
    currency               text,
    trial_ends_at          text,
    current_period_start   text,
    current_period_end     text,
    seat_count             bigint,
    seat_limit             bigint,
    overage_billing        boolean NOT NULL,
    cancel_at_period_end   boolean NOT NULL,
    scheduled_plan_id      text,
    scheduled_effective_at text,
    entitlement_status     text    NOT NULL,
    -- JSON array of feature keys, sorted.
    entitlement_features   text    NOT NULL,
    balance_due_amount     bigint  NOT NULL,
    balance_due_currency   text,
    in_dunning             boolean NOT NULL,
    dunning_case_id        text
);

-- Feature Access View: an account's entitlement standing...
CREATE TABLE feature_access_accounts
(
    account_id   text PRIMARY KEY,
    status       text NOT NULL,
    plan_id      text NOT NULL,
    period_start text NOT NULL,
    period_end   text NOT NULL
);

-- ...and one row per feature the account's plan grants or once granted: whether the plan grants it
-- now, its per-period limit (NULL: unlimited or not metered) and the usage this period.
CREATE TABLE feature_access
(
    account_id  text    NOT NULL,
    feature     text    NOT NULL,
    in_plan     boolean NOT NULL,
    limit_units bigint,
    used        bigint  NOT NULL,
    PRIMARY KEY (account_id, feature)
);
