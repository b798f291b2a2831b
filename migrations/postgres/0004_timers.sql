-- Durable timers (SPEC section 4): the trial ends, period renewals and dunning deadlines the
-- service must act on at a given time. A timer is claimed for a lease by one worker
-- (`FOR UPDATE SKIP LOCKED`, so replicas never fire one timer concurrently), then marked fired.
-- A crashed worker's claim runs out and the timer is claimed again; timers that fell due while
-- no process ran are simply due.
CREATE TABLE timers
(
    id            uuid        PRIMARY KEY,
    kind          text        NOT NULL,
    -- The subscription (trial, renewal) or dunning case (dunning kinds) the timer acts on.
    aggregate_id  text        NOT NULL,
    due_at        timestamptz NOT NULL,
    -- Scheduling the same key twice keeps one row; the fired command's id derives from it.
    dedupe_key    text        NOT NULL UNIQUE,
    -- The claim's lease, on the database's clock; NULL or past: claimable.
    claimed_until timestamptz,
    fired_at      timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now()
);
-- The due, unfired timers in the order they fire.
CREATE INDEX timers_due ON timers (due_at, id) WHERE fired_at IS NULL;
