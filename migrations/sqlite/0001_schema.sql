-- The whole product's schema: people from the information system, their accounts,
-- password history, throttling, audit trail and the mail outbox.

CREATE TABLE people (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    uid            TEXT NOT NULL CONSTRAINT people_uid_key UNIQUE,
    category       TEXT NOT NULL CHECK (category IN ('staff', 'student', 'external')),
    given_name     TEXT NOT NULL,
    family_name    TEXT NOT NULL,
    birth_date     TEXT NOT NULL,
    staff_number   TEXT CONSTRAINT people_staff_number_key UNIQUE,
    student_number TEXT CONSTRAINT people_student_number_key UNIQUE,
    ine            TEXT CONSTRAINT people_ine_key UNIQUE,
    email          TEXT NOT NULL CONSTRAINT people_email_key UNIQUE,
    login          TEXT NOT NULL CONSTRAINT people_login_key UNIQUE,
    status         TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    -- 'import' or 'helpdesk': an import re-enables only the people an import disabled
    disabled_by    TEXT CHECK (disabled_by IN ('import', 'helpdesk')),
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);

CREATE TABLE accounts (
    person_id          INTEGER PRIMARY KEY REFERENCES people (id) ON DELETE CASCADE,
    password_hash      TEXT NOT NULL,
    -- a proposed question's id, or 'custom' with the person's own wording
    question_id        TEXT NOT NULL,
    custom_question    TEXT,
    answer_hash        TEXT NOT NULL,
    sms_consent        INTEGER NOT NULL,
    phone              TEXT,
    sms_consent_at     TEXT NOT NULL,
    photo_consent      INTEGER NOT NULL,
    photo_consent_at   TEXT NOT NULL,
    directory_visible  INTEGER NOT NULL DEFAULT 1,
    rules_version      TEXT NOT NULL,
    rules_accepted_at  TEXT NOT NULL,
    activated_at       TEXT NOT NULL,
    password_changed_at TEXT NOT NULL,
    CHECK (NOT sms_consent OR phone IS NOT NULL),
    CHECK (question_id <> 'custom' OR custom_question IS NOT NULL)
);

-- Kept when an account is reset, so a re-activation cannot reuse recent passwords.
CREATE TABLE password_history (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    person_id  INTEGER NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    hash       TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX password_history_person ON password_history (person_id, id DESC);

-- Failure counters shared by every instance: a fixed window per key and the end of a
-- lock, in Unix seconds so that both databases compare them the same way.
CREATE TABLE throttle (
    key          TEXT PRIMARY KEY,
    failures     INTEGER NOT NULL,
    window_start INTEGER NOT NULL,
    locked_until INTEGER
);

CREATE TABLE audit_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          TEXT NOT NULL,
    person_id   INTEGER REFERENCES people (id) ON DELETE SET NULL,
    kind        TEXT NOT NULL,
    actor       TEXT NOT NULL,
    client_addr TEXT,
    detail      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_events_at ON audit_events (at DESC);
CREATE INDEX audit_events_person ON audit_events (person_id, at DESC);

CREATE TABLE mail_outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at      TEXT NOT NULL,
    kind            TEXT NOT NULL,
    recipient       TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body_text       TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL, -- Unix seconds, compared the same way by both databases
    sent_at         TEXT,
    last_error      TEXT
);
CREATE INDEX mail_outbox_pending ON mail_outbox (next_attempt_at) WHERE sent_at IS NULL;
