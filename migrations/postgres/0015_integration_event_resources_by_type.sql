-- The integration events projector remembers each resource by its aggregate type and id, not by
-- its id alone: an account id is the product's own (a UUID is welcome), so an account's
-- entitlements can carry the same id as a subscription, and one row would be decoded as the
-- other's events, stopping the catalog for every account.
ALTER TABLE integration_event_resources
    DROP CONSTRAINT integration_event_resources_pkey,
    ADD PRIMARY KEY (aggregate_type, aggregate_id);
