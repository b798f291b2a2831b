-- The integration events projector remembers each resource by its aggregate type and id, not by
-- its id alone: an account id is the product's own (a UUID is welcome), so an account's
-- entitlements can carry the same id as a subscription, and one row would be decoded as the
-- other's events, stopping the catalog for every account. SQLite cannot change a primary key in
-- place: the rows move to a table with the new key.
CREATE TABLE integration_event_resources_by_type
(
    aggregate_id   TEXT NOT NULL,
    aggregate_type TEXT NOT NULL,
    -- The aggregate's state as JSON (its serde form).
    state          TEXT NOT NULL,
    -- The resource as the REST API renders it, as JSON; NULL until it renders.
    object         TEXT,
    PRIMARY KEY (aggregate_type, aggregate_id)
);

INSERT INTO integration_event_resources_by_type (aggregate_id, aggregate_type, state, object)
SELECT aggregate_id, aggregate_type, state, object FROM integration_event_resources;

DROP TABLE integration_event_resources;

ALTER TABLE integration_event_resources_by_type RENAME TO integration_event_resources;
