-- The stored answer of a POST that appends no event (admin keys, rebuild, verify, the test clock),
-- replayed for a retry with the same Idempotency-Key (SPEC 6). Such a request's row has
-- aggregate_type 'request' and its route as aggregate_id; `reply` stays NULL while it runs.
ALTER TABLE commands ADD COLUMN reply text;
