//! The directory outbox's queries, the same on both databases.

/// Where a directory change goes…
macro_rules! directory_insert {
    () => {
        "INSERT INTO directory_outbox (person_id, password, visibility, remove_password, nt_sealed, since, \
         next_attempt_at) "
    };
}

/// …merged into the person's waiting row as `Pending::then` merges: a removal cancels a waiting
/// password and a new password cancels a waiting removal. Every change bumps the version, makes
/// the row due at once and forgets an earlier refusal; a row a worker holds (its lease) stays
/// held, so that two deliveries of one person never overlap.
macro_rules! directory_merge {
    () => {
        " ON CONFLICT (person_id) DO UPDATE SET \
           password = excluded.password OR (directory_outbox.password AND NOT excluded.remove_password), \
           visibility = excluded.visibility OR directory_outbox.visibility, \
           remove_password = excluded.remove_password OR (directory_outbox.remove_password AND NOT excluded.password), \
           nt_sealed = CASE WHEN excluded.password OR excluded.remove_password THEN excluded.nt_sealed \
                       ELSE directory_outbox.nt_sealed END, \
           version = directory_outbox.version + 1, \
           attempts = 0, next_attempt_at = excluded.next_attempt_at, refused_at = NULL, last_error = NULL"
    };
}

/// `$1` person, `$2` password, `$3` visibility, `$4` removal, `$5` sealed NT hash, `$6` when, `$7` due.
pub(super) const ENQUEUE_DIRECTORY: &str =
    concat!(directory_insert!(), "VALUES ($1, $2, $3, $4, $5, $6, $7)", directory_merge!());

/// The same, for a statement that selects the values (PostgreSQL's one-statement activation).
pub(super) const INSERT_DIRECTORY: &str = directory_insert!();
pub(super) const MERGE_DIRECTORY: &str = directory_merge!();

/// The claimed row with the person's current state: the hash and visibility are read when the
/// change leaves, so the directory always gets the latest.
pub(super) const DIRECTORY_JOB: &str = "SELECT o.person_id, o.version, o.password, o.visibility, o.remove_password, \
       o.nt_sealed, o.attempts, o.since, p.uid, p.login, a.password_hash, a.directory_visible \
     FROM directory_outbox o JOIN people p ON p.id = o.person_id \
     LEFT JOIN accounts a ON a.person_id = o.person_id WHERE o.person_id = $1";
