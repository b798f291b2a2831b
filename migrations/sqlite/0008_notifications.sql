-- The notification outbox (SPEC 4): one row per notification the dunning process manager
-- recorded, exactly once per dedupe key. Written by the `notifications` projector from the
-- NotificationRecorded events; the default sender only records, so a row is sent when written.
CREATE TABLE notifications
(
    -- The id of the NotificationRecorded event.
    id         TEXT    PRIMARY KEY,
    account_id TEXT    NOT NULL,
    kind       TEXT    NOT NULL,
    dedupe_key TEXT    NOT NULL UNIQUE,
    -- JSON object: the case, its invoice and the amount due.
    payload    TEXT    NOT NULL,
    created_at TEXT    NOT NULL,
    sent_at    TEXT,
    -- The global position of the event: the list's order and its page cursor.
    position   INTEGER NOT NULL
);

CREATE INDEX notifications_by_account ON notifications (account_id, position);

-- What a notification names about its case, kept by the same projector from DunningStarted (a
-- NotificationRecorded event names only the case).
CREATE TABLE notification_cases
(
    case_id         TEXT    PRIMARY KEY,
    account_id      TEXT    NOT NULL,
    subscription_id TEXT,
    invoice_id      TEXT    NOT NULL,
    amount_due      INTEGER NOT NULL,
    currency        TEXT    NOT NULL
);
