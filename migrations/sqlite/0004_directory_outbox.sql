-- What waits to reach the institution's LDAP directory: one row per person, holding the latest
-- of their changes (a newer change merges into the row), delivered by reading the account's state.
CREATE TABLE directory_outbox (
    person_id       INTEGER PRIMARY KEY REFERENCES people (id) ON DELETE CASCADE,
    password        BOOLEAN NOT NULL,
    visibility      BOOLEAN NOT NULL,
    remove_password BOOLEAN NOT NULL,
    -- the NT hash, sealed with SESAME_SECRET_KEY; gone with the row once delivered
    nt_sealed       BLOB,
    -- bumped by every change, so that a delivery of an older state never deletes a newer one
    version         BIGINT NOT NULL DEFAULT 1,
    since           TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL, -- Unix seconds
    lease_until     BIGINT,          -- Unix seconds: a worker holds the row until then
    refused_at      TEXT,     -- the directory said no: waits for `sesame directory retry`
    last_error      TEXT
);
CREATE INDEX directory_outbox_due ON directory_outbox (next_attempt_at) WHERE refused_at IS NULL;
