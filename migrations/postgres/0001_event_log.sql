-- The event log. Column names and types of the first seven columns follow postgres-es, whose
-- repository reads aggregate streams from this table; the rest is Ledgerline's global log.
CREATE TABLE events
(
    aggregate_type text                         NOT NULL,
    aggregate_id   text                         NOT NULL,
    sequence       bigint CHECK (sequence >= 1) NOT NULL,
    event_type     text                         NOT NULL,
    event_version  text                         NOT NULL,
    payload        jsonb                        NOT NULL,
    metadata       jsonb                        NOT NULL,
    -- Unique, allocated at insert. Readers order by (tx_id, position) and only read rows whose
    -- transaction is older than every transaction still running, so none is ever skipped.
    position       bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    tx_id          xid8                         NOT NULL DEFAULT pg_current_xact_id(),
    PRIMARY KEY (aggregate_type, aggregate_id, sequence)
);
CREATE INDEX events_global_order ON events (tx_id, position);

-- The newest snapshot of each aggregate, written in the same transaction as its events.
CREATE TABLE snapshots
(
    aggregate_type text   NOT NULL,
    aggregate_id   text   NOT NULL,
    version        bigint NOT NULL CHECK (version >= 1),
    payload        jsonb  NOT NULL,
    PRIMARY KEY (aggregate_type, aggregate_id)
);

-- Every command executed with an id, recorded in the same transaction as its events: the same id
-- never appends twice, even when the first attempt committed and the process died before replying.
CREATE TABLE commands
(
    command_id     text        PRIMARY KEY,
    fingerprint    text        NOT NULL,
    aggregate_type text        NOT NULL,
    aggregate_id   text        NOT NULL,
    version        bigint      NOT NULL,
    position       bigint,
    recorded_at    timestamptz NOT NULL DEFAULT now()
);
