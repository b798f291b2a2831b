-- The event log. The first seven columns follow sqlite-es, whose repository reads aggregate
-- streams from this table. SQLite has one writer at a time (every write transaction is
-- BEGIN IMMEDIATE), so the rowid order is the commit order and `position` is the rowid.
CREATE TABLE events
(
    position       INTEGER PRIMARY KEY AUTOINCREMENT,
    aggregate_type TEXT    NOT NULL,
    aggregate_id   TEXT    NOT NULL,
    sequence       INTEGER NOT NULL CHECK (sequence >= 1),
    event_type     TEXT    NOT NULL,
    event_version  TEXT    NOT NULL,
    payload        TEXT    NOT NULL,
    metadata       TEXT    NOT NULL,
    UNIQUE (aggregate_type, aggregate_id, sequence)
);

CREATE TABLE snapshots
(
    aggregate_type TEXT    NOT NULL,
    aggregate_id   TEXT    NOT NULL,
    version        INTEGER NOT NULL CHECK (version >= 1),
    payload        TEXT    NOT NULL,
    PRIMARY KEY (aggregate_type, aggregate_id)
);

CREATE TABLE commands
(
    command_id     TEXT    PRIMARY KEY,
    fingerprint    TEXT    NOT NULL,
    aggregate_type TEXT    NOT NULL,
    aggregate_id   TEXT    NOT NULL,
    version        INTEGER NOT NULL,
    position       INTEGER,
    recorded_at    TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
