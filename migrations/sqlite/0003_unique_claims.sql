-- Uniqueness that spans aggregates ("one open subscription per account"): a claim is taken or
-- released in the same transaction as the events that open or close its owner.
CREATE TABLE unique_claims
(
    claim          TEXT PRIMARY KEY,
    aggregate_type TEXT NOT NULL,
    aggregate_id   TEXT NOT NULL
);
