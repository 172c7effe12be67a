-- Identifiers are only ever compared for equality, which is the same under every collation
-- PostgreSQL offers here (all are deterministic). Under the database's own collation, though,
-- each comparison in an index goes through the C library's locale rules: with fr_FR.UTF-8,
-- rebuilding people's indexes for 100,000 people took 1.15–1.46 s against 0.40–0.43 s byte-wise
-- (docs/performance.md). `lower(email)` folds only ASCII letters under "C", as SQLite's does,
-- and that is all an address needs: its local part is ASCII and its domain already lower-case
-- (src/domain/email.rs). The indexes on these columns are rebuilt byte-wise with them.
ALTER TABLE people
    ALTER COLUMN uid TYPE text COLLATE "C",
    ALTER COLUMN login TYPE text COLLATE "C",
    ALTER COLUMN email TYPE text COLLATE "C",
    ALTER COLUMN staff_number TYPE text COLLATE "C",
    ALTER COLUMN student_number TYPE text COLLATE "C",
    ALTER COLUMN ine TYPE text COLLATE "C";
