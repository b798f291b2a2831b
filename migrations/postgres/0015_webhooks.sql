-- Webhook endpoints and their deliveries (SPEC 9.2). An endpoint follows the integration event
-- catalog (0014) from the position it was created at: the worker copies each matching catalog
-- row into a pending delivery (`fanned_out_to` is its cursor), then delivers each account's
-- deliveries strictly in position order, retrying with backoff. All of it lives here, so a crash
-- at any moment re-delivers (same `webhook-id`, the catalog event's id) and never skips.
CREATE TABLE webhook_endpoints
(
    -- `we_` + 16 hex digits.
    id                         TEXT PRIMARY KEY,
    url                        TEXT NOT NULL,
    -- JSON array of event types, or ["*"] for all of them.
    enabled_events             TEXT NOT NULL,
    description                TEXT,
    created_at                 timestamptz NOT NULL,
    -- The catalog head when the endpoint was created: it receives the events after it.
    starts_after               bigint NOT NULL,
    -- Every catalog row up to here has its delivery (or did not match).
    fanned_out_to              bigint NOT NULL,
    -- `whsec_…`, or `enc:v1:…` when LEDGERLINE_SECRETS_KEY encrypts secrets at rest.
    secret                     TEXT NOT NULL,
    -- The secret before the last rotation, which keeps signing until it expires.
    previous_secret            TEXT,
    previous_secret_expires_at timestamptz,
    -- Since when every attempt failed (NULL after any success): three days of it disable it.
    failing_since              timestamptz,
    disabled_at                timestamptz,
    -- `admin` (by the update route) or `failing` (three days of failures).
    disabled_reason            TEXT
);

CREATE TABLE webhook_deliveries
(
    endpoint_id        TEXT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    -- The catalog row delivered (integration_events.position).
    position           bigint NOT NULL,
    -- `evt_…`: the `webhook-id` header of every attempt.
    event_id           TEXT NOT NULL,
    event_type         TEXT NOT NULL,
    account_id         TEXT NOT NULL,
    -- `pending`, `succeeded` or `failed` (given up after three days).
    status             TEXT NOT NULL,
    attempts           bigint NOT NULL,
    -- When it was queued (or replayed): the three days of retries count from here.
    created_at         timestamptz NOT NULL,
    next_attempt_at    timestamptz NOT NULL,
    last_attempt_at    timestamptz,
    last_status_code   bigint,
    last_latency_ms    bigint,
    last_error         TEXT,
    -- The receiver's answer, cut at 64 KiB.
    last_response_body TEXT,
    -- Bumped by a replay, so an attempt in flight before it cannot record over it.
    generation         bigint NOT NULL,
    PRIMARY KEY (endpoint_id, position)
);

-- Each account's queue of an endpoint, oldest first.
CREATE INDEX webhook_deliveries_queue ON webhook_deliveries (endpoint_id, status, account_id, position);
