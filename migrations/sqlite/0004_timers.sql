-- Durable timers (SPEC section 4): the trial ends, period renewals and dunning deadlines the
-- service must act on at a given time. A timer is claimed for a lease by one worker, then marked
-- fired. A crashed worker's claim runs out and the timer is claimed again; timers that fell due
-- while no process ran are simply due. Times are RFC 3339 UTC text with exactly six fractional
-- digits, so that text order is time order.
CREATE TABLE timers
(
    id            TEXT PRIMARY KEY,
    kind          TEXT NOT NULL,
    -- The subscription (trial, renewal) or dunning case (dunning kinds) the timer acts on.
    aggregate_id  TEXT NOT NULL,
    due_at        TEXT NOT NULL,
    -- Scheduling the same key twice keeps one row; the fired command's id derives from it.
    dedupe_key    TEXT NOT NULL UNIQUE,
    -- The claim's lease, on the process's wall clock; NULL or past: claimable.
    claimed_until TEXT,
    fired_at      TEXT,
    created_at    TEXT NOT NULL
);
-- The due, unfired timers in the order they fire.
CREATE INDEX timers_due ON timers (due_at, id) WHERE fired_at IS NULL;
