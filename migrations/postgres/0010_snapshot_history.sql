-- Every snapshot the command bus writes (one each time a stream crosses a multiple of the
-- snapshot interval, 100 events), kept in the same transaction as the events it follows. The
-- audit state of an aggregate at any point of its past is rebuilt from the kept snapshot just
-- below that point plus a bounded tail, never by replaying the whole stream. `snapshots` keeps
-- serving the newest one to commands. Of the snapshots written before this migration only each
-- aggregate's newest is known: it is kept here too.
CREATE TABLE snapshot_history
(
    aggregate_type text   NOT NULL,
    aggregate_id   text   NOT NULL,
    version        bigint NOT NULL CHECK (version >= 1),
    payload        jsonb  NOT NULL,
    PRIMARY KEY (aggregate_type, aggregate_id, version)
);

INSERT INTO snapshot_history (aggregate_type, aggregate_id, version, payload)
SELECT aggregate_type, aggregate_id, version, payload FROM snapshots;
