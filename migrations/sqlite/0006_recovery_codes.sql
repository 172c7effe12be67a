-- Recovery by a one-time code (issue #22): a personal address from the import, the current code
-- of each person (its hash only), and the SMS outbox.
ALTER TABLE people ADD COLUMN personal_email TEXT;

-- One row per person: the code they may type now and how many codes they were sent this hour.
CREATE TABLE recovery_codes (
    person_id    INTEGER PRIMARY KEY REFERENCES people (id) ON DELETE CASCADE,
    channel      TEXT NOT NULL CHECK (channel IN ('sms', 'mail')),
    -- salt then SHA-256 of salt and code; NULL once used or voided
    code_hash    BLOB,
    expires_at   INTEGER NOT NULL, -- Unix seconds
    tries        INTEGER NOT NULL DEFAULT 0,
    window_start INTEGER NOT NULL, -- Unix seconds: the first send of the hour counted in `sends`
    sends        INTEGER NOT NULL DEFAULT 0
);

-- A mail whose body must not wait in clear (a recovery code): sealed with the sealing key,
-- `body_text` then being empty.
ALTER TABLE mail_outbox ADD COLUMN body_sealed BLOB;

CREATE TABLE sms_outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at      TEXT NOT NULL,
    phone           TEXT NOT NULL,    -- E.164
    message_sealed  BLOB NOT NULL,   -- sealed with the sealing key, context `sms:` and message_id
    message_id      TEXT NOT NULL,    -- stable across tries
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,  -- Unix seconds
    expires_at      INTEGER NOT NULL,  -- Unix seconds: a code past its validity is not sent
    sent_at         TEXT,
    last_error      TEXT
);
CREATE INDEX sms_outbox_pending ON sms_outbox (next_attempt_at) WHERE sent_at IS NULL;
