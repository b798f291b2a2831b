-- API keys, stored only as SHA-256 digests of the secret. A revoked key keeps its row (audit) with
-- `revoked_at` set; lookups ignore it.
CREATE TABLE api_keys
(
    key_id     TEXT PRIMARY KEY,
    digest     TEXT NOT NULL UNIQUE,
    role       TEXT NOT NULL,
    account_id TEXT,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
