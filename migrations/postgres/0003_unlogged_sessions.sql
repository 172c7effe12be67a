-- Session rows are disposable: a wizard step or a sign-in, redone in a minute if lost. Unlogged,
-- they write no WAL and their commits wait for no disk flush, which each session write (every
-- step of the wizard) otherwise did (docs/performance.md). A crash of PostgreSQL, or a failover
-- to a standby, empties the table: everyone starts their wizard or sign-in again, and no
-- session can come back from before a logout. The table is tower-sessions-sqlx-store's, created
-- here so that a fresh database gets it unlogged from the start.
CREATE TABLE IF NOT EXISTS tower_sessions (
    id          TEXT PRIMARY KEY NOT NULL,
    data        BYTEA NOT NULL,
    expiry_date TIMESTAMPTZ NOT NULL
);
ALTER TABLE tower_sessions SET UNLOGGED;
