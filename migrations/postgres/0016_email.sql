-- Email to customers (SPEC 9.4).
--
-- The notifications read model gains the recipient of each notification (the subscription's
-- billing email at the notification's position; NULL when the account had none), and keeps the
-- facts its new kinds name: the billing email per account, the invoices (for receipts and due
-- dates), and the dates a dunning case announces. All of it is derived from the log and rebuilt
-- with the read model.
ALTER TABLE notifications ADD COLUMN recipient TEXT;

-- The rows written before this release have no recipient and no new kinds: the projector
-- replays the log from position 0 on the next start (the email sender skips notifications that
-- were already old when it first saw them, so this sends nothing from the past).
DELETE FROM notifications;
DELETE FROM notification_cases;
DELETE FROM projection_checkpoints WHERE name = 'notifications';

ALTER TABLE notification_cases ADD COLUMN window_expires_at TEXT;
ALTER TABLE notification_cases ADD COLUMN cancel_at TEXT;

CREATE TABLE notification_recipients
(
    account_id TEXT PRIMARY KEY,
    -- NULL: the account's subscription has no billing account (nothing is emailed).
    email      TEXT
);

CREATE TABLE notification_invoices
(
    invoice_id      TEXT    PRIMARY KEY,
    account_id      TEXT    NOT NULL,
    subscription_id TEXT,
    total           BIGINT  NOT NULL,
    currency        TEXT    NOT NULL,
    due_at          TEXT    NOT NULL
);

-- Email delivery state: NOT a read model. A rebuild of the notifications must not send them
-- again, so what was sent lives here, keyed by the notification's dedupe key, and is never
-- dropped or rebuilt. Written only by the email sender (infrastructure/src/email).
CREATE TABLE email_deliveries
(
    dedupe_key      TEXT        PRIMARY KEY,
    -- The notification (its id) this delivery was first created for, and its log position:
    -- the sender looks for new notifications past the highest position it has seen.
    notification_id TEXT        NOT NULL,
    notification_position BIGINT      NOT NULL,
    -- pending | sent | failed | skipped
    status          TEXT        NOT NULL,
    recipient       TEXT,
    attempts        BIGINT      NOT NULL DEFAULT 0,
    -- On the service's clock (the test clock under --test-clock).
    next_attempt_at timestamptz NOT NULL,
    last_error      TEXT,
    sent_at         timestamptz,
    -- The sender holding the row, and until when (on the database's clock on Postgres, the
    -- process's on SQLite): with several replicas one sends.
    claimed_by      TEXT,
    claimed_until   timestamptz,
    created_at      timestamptz NOT NULL
);

CREATE INDEX email_deliveries_due ON email_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX email_deliveries_position ON email_deliveries (notification_position);
-- The sender reads the outbox past a position.
CREATE INDEX notifications_by_position ON notifications (position);

-- When this database first sent email (RFC 3339 text in UTC, the form of notifications'
-- created_at): notifications recorded before it are never emailed, so that turning email on,
-- or replaying the outbox, does not mail the past. One row; delete it to move the cutoff.
CREATE TABLE email_enabled
(
    id    INTEGER PRIMARY KEY,
    since TEXT    NOT NULL
);
