-- The public event catalog (SPEC 9.1): one integration event per domain event that matters,
-- derived from the log by the `integration_events` projector in log order, kept forever. Webhook
-- delivery, the NATS sink and `GET /v1/events` all read this table.
CREATE TABLE integration_events
(
    -- The global position of the domain event it is derived from: the catalog's order and cursor.
    position   INTEGER PRIMARY KEY,
    -- `evt_` + the source event's id: stable, so receivers deduplicate by it.
    id         TEXT   NOT NULL UNIQUE,
    -- `subscription.created`, `invoice.paid`, …
    type       TEXT   NOT NULL,
    account_id TEXT   NOT NULL,
    created_at TEXT   NOT NULL,
    -- The whole event as it is delivered: {id, type, api_version, created_at, position,
    -- account_id, data: {object, previous_attributes?}}.
    body       TEXT   NOT NULL
);

CREATE INDEX integration_events_by_account ON integration_events (account_id, position);
CREATE INDEX integration_events_by_type ON integration_events (type, position);

-- The projector's own memory: each resource's aggregate state and rendered object after the last
-- event it projected, so the next event renders `object` and diffs `previous_attributes`. Keyed by
-- type and id: an account id is the product's own (a UUID is welcome), so an account's
-- entitlements may carry the same id as a subscription.
CREATE TABLE integration_event_resources
(
    aggregate_id   TEXT NOT NULL,
    aggregate_type TEXT NOT NULL,
    -- The aggregate's state as JSON (its serde form).
    state          TEXT NOT NULL,
    -- The resource as the REST API renders it, as JSON; NULL until it renders.
    object         TEXT,
    PRIMARY KEY (aggregate_type, aggregate_id)
);
