//! The one storage interface; `postgres` and `sqlite` implement it with the same behaviour.

mod columns;
mod directory;
mod postgres;
mod sessions;
mod sqlite;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use time::{Date, OffsetDateTime};

use crate::domain::directory::Pending;
use crate::domain::identifiers::{IdentificationMethod, Identifier};
use crate::domain::import_plan::{DisabledBy, ExistingPerson, ImportPlan};
use crate::domain::person::{Category, Status};
use crate::domain::recovery_code::{Channel, CodeState, Verdict};
use crate::domain::throttle::ThrottleRule;

pub use postgres::PgStore;
pub use sessions::SessionRows;
pub use sqlite::SqliteStore;

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached now; callers answer 503 and try again later.
    #[error("database unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),
    /// A named unique or check constraint refused the write.
    #[error("constraint {0} refused the write")]
    Conflict(String),
    #[error("database error: {0}")]
    Other(#[source] sqlx::Error),
}

/// A database error that says the database cannot serve now, not that the query was wrong:
/// SQLite's busy or locked database, read-only file, I/O error, full disk or file it cannot
/// open; PostgreSQL's lost connection (08), exhausted resources such as a full disk (53), a
/// statement cancelled by its time-out or a server shutting down (57), a read-only replica.
fn cannot_serve_now(db: &dyn sqlx::error::DatabaseError) -> bool {
    let Some(code) = db.code() else { return false };
    if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
        // The extended result code; its low byte is the primary one.
        code.parse::<i32>().is_ok_and(|extended| matches!(extended & 0xff, 5 | 6 | 8 | 10 | 13 | 14))
    } else {
        ["08", "53", "57"].iter().any(|class| code.starts_with(class)) || code == "25006"
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::Tls(_) => {
                Self::Unavailable(e)
            }
            sqlx::Error::Database(db) if cannot_serve_now(db.as_ref()) => Self::Unavailable(e),
            // Only a refusal by a unique or check constraint is a conflict: other errors name a
            // constraint too (an index row too large names the index), and are ours.
            sqlx::Error::Database(db) if db.is_unique_violation() || db.is_check_violation() => {
                match db.constraint() {
                    Some(name) => Self::Conflict(name.to_string()),
                    // SQLite names no constraint, only the columns: "UNIQUE constraint failed: people.login".
                    None if db.is_unique_violation() => Self::Conflict(sqlite_constraint_name(db.message())),
                    // "CHECK constraint failed: people_status_check".
                    None => Self::Conflict(db.message().rsplit(": ").next().unwrap_or_default().to_string()),
                }
            }
            _ => Self::Other(e),
        }
    }
}

/// Maps SQLite's message to the constraint names PostgreSQL uses, so callers see one name.
fn sqlite_constraint_name(message: &str) -> String {
    message
        .rsplit(": ")
        .next()
        .and_then(|cols| cols.split(',').next())
        .map(|col| format!("{}_key", col.trim().replace('.', "_")))
        .unwrap_or_else(|| message.to_string())
}

/// A person from the information system, as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PersonRecord {
    pub id: i64,
    pub uid: String,
    pub category: Category,
    pub given_name: String,
    pub family_name: String,
    pub birth_date: Date,
    pub staff_number: Option<String>,
    pub student_number: Option<String>,
    pub ine: Option<String>,
    pub email: String,
    pub login: String,
    pub status: Status,
    pub disabled_by: Option<DisabledBy>,
    pub personal_email: Option<String>,
}

impl PersonRecord {
    pub fn is_active(&self) -> bool {
        self.status == Status::Active
    }

    fn into_existing(self) -> ExistingPerson {
        ExistingPerson {
            disabled_by: self.disabled_by,
            uid: self.uid,
            category: self.category.as_str().to_string(),
            given_name: self.given_name,
            family_name: self.family_name,
            birth_date: self.birth_date,
            staff_number: self.staff_number,
            student_number: self.student_number,
            ine: self.ine,
            email: self.email,
            login: self.login,
            personal_email: self.personal_email,
        }
    }
}

const PERSON_COLUMNS: &str = "id, uid, category, given_name, family_name, birth_date, staff_number, \
     student_number, ine, email, login, status, disabled_by, personal_email";

/// A new account, `$1` to `$12` bound by `shared::bind_account`: only for an active person, only
/// once (of two sessions finishing at once, the second waits on the key, then inserts nothing).
const INSERT_ACCOUNT: &str = "INSERT INTO accounts (person_id, password_hash, question_id, custom_question, \
     answer_hash, sms_consent, phone, sms_consent_at, photo_consent, photo_consent_at, directory_visible, \
     rules_version, rules_accepted_at, activated_at, password_changed_at) \
     SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, TRUE, $11, $12, $12, $12 \
     WHERE EXISTS (SELECT 1 FROM people WHERE id = $1 AND status = 'active') \
     ON CONFLICT (person_id) DO NOTHING";

/// Where an audit event goes; each database's `insert_audit` and PostgreSQL's one-statement
/// activation add the values.
const AUDIT_INSERT: &str = "INSERT INTO audit_events (at, person_id, kind, actor, client_addr, detail)";

/// Where a mail is queued, the same way.
const MAIL_INSERT: &str =
    "INSERT INTO mail_outbox (created_at, kind, recipient, subject, body_text, next_attempt_at, message_id)";

/// What an import writes of a person, in the order both databases send it; `status` is left to
/// its default, 'active'.
const WRITTEN_COLUMNS: &str = "uid, category, given_name, family_name, birth_date, staff_number, student_number, \
     ine, email, login, personal_email, created_at, updated_at";

/// What an import changes of a person already there: a person an import disabled comes back.
const UPSERT_PERSON: &str = " ON CONFLICT (uid) DO UPDATE SET category = excluded.category, \
     given_name = excluded.given_name, family_name = excluded.family_name, \
     birth_date = excluded.birth_date, staff_number = excluded.staff_number, \
     student_number = excluded.student_number, ine = excluded.ine, email = excluded.email, \
     personal_email = COALESCE(excluded.personal_email, people.personal_email), \
     status = CASE WHEN people.disabled_by = 'import' THEN 'active' ELSE people.status END, \
     disabled_by = CASE WHEN people.disabled_by = 'import' THEN NULL ELSE people.disabled_by END, \
     updated_at = excluded.updated_at";

/// The column an identification method looks in; never built from user input.
fn identifier_column(method: IdentificationMethod) -> &'static str {
    match method {
        IdentificationMethod::StaffNumber => "staff_number",
        IdentificationMethod::StudentNumber => "student_number",
        IdentificationMethod::Ine => "ine",
        IdentificationMethod::Uid => "uid",
    }
}

/// Throttle counters idle this long are forgotten.
const STALE_THROTTLE_SECS: i64 = 24 * 3600;

/// See `Store::identification`.
#[derive(Debug, Clone)]
pub struct Lookup {
    pub person: Option<PersonRecord>,
    pub has_account: bool,
    pub locked_until: Option<i64>,
    pub failures_counted: bool,
}

/// What an import wrote.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ImportWritten {
    pub upserted: usize,
    pub disabled: usize,
}

/// An account as activation creates it.
#[derive(Clone)]
pub struct NewAccount {
    pub person_id: i64,
    pub password_hash: String,
    pub question_id: String,
    pub custom_question: Option<String>,
    pub answer_hash: String,
    pub phone: Option<String>,
    pub sms_consent_at: OffsetDateTime,
    pub photo_consent: bool,
    pub photo_consent_at: OffsetDateTime,
    pub rules_version: String,
    pub at: OffsetDateTime,
    /// The password's NT hash, sealed, for a directory that takes them.
    pub nt_sealed: Option<Vec<u8>>,
}

impl std::fmt::Debug for NewAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewAccount").field("person_id", &self.person_id).finish_non_exhaustive()
    }
}

/// One line of the audit trail.
#[derive(Debug, Clone)]
pub struct AuditEvent {
    pub kind: &'static str,
    pub actor: String,
    pub person_id: Option<i64>,
    pub client_addr: Option<String>,
    pub detail: String,
    pub at: OffsetDateTime,
}

/// A mail to leave through the outbox, already rendered.
#[derive(Debug, Clone)]
pub struct NewMail {
    pub kind: &'static str,
    pub recipient: String,
    pub subject: String,
    pub body_text: String,
}

/// A mail claimed by a sender for a while (its lease).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OutboxMail {
    pub id: i64,
    pub recipient: String,
    pub subject: String,
    pub body_text: String,
    pub attempts: i32,
    /// A UUID given when the mail was queued: the same at every try of this mail, unique across
    /// every deployment.
    pub message_id: String,
    /// The body sealed with the sealing key (context `mail:` and the message id), when it must
    /// not wait in clear (a recovery code); `body_text` is then empty.
    pub body_sealed: Option<Vec<u8>>,
}

/// An activated account, as the account pages and recovery read it.
#[derive(Clone, sqlx::FromRow)]
pub struct AccountRecord {
    pub person_id: i64,
    pub password_hash: String,
    pub question_id: String,
    pub custom_question: Option<String>,
    pub answer_hash: String,
    pub sms_consent: bool,
    pub phone: Option<String>,
    pub sms_consent_at: OffsetDateTime,
    pub photo_consent: bool,
    pub photo_consent_at: OffsetDateTime,
    pub directory_visible: bool,
    pub activated_at: OffsetDateTime,
    pub password_changed_at: OffsetDateTime,
}

impl std::fmt::Debug for AccountRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountRecord").field("person_id", &self.person_id).finish_non_exhaustive()
    }
}

/// What the preferences page changes; consent times move only when a choice changes.
#[derive(Debug, Clone)]
pub struct Preferences {
    pub phone: Option<String>,
    pub sms_consent_at: OffsetDateTime,
    pub photo_consent: bool,
    pub photo_consent_at: OffsetDateTime,
    pub directory_visible: bool,
}

/// One line of the audit trail as the help desk reads it, with the person's login.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuditLine {
    pub id: i64,
    pub at: OffsetDateTime,
    pub kind: String,
    pub actor: String,
    pub login: Option<String>,
    pub client_addr: Option<String>,
    pub detail: String,
}

/// Which audit lines to read: the newest `limit`, optionally of one person, from a time on.
#[derive(Debug, Clone, Copy)]
pub struct AuditQuery {
    pub since: Option<OffsetDateTime>,
    pub person_id: Option<i64>,
    pub limit: i64,
}

/// A directory change claimed by a worker, with the person's state as it is now.
#[derive(Clone, sqlx::FromRow)]
pub struct DirectoryJob {
    pub person_id: i64,
    pub version: i64,
    pub password: bool,
    pub visibility: bool,
    pub remove_password: bool,
    pub nt_sealed: Option<Vec<u8>>,
    pub attempts: i32,
    pub since: OffsetDateTime,
    pub uid: String,
    pub login: String,
    /// `None` when the person has no account (any more).
    pub password_hash: Option<String>,
    pub directory_visible: Option<bool>,
}

impl DirectoryJob {
    pub fn pending(&self) -> Pending {
        Pending { password: self.password, visibility: self.visibility, remove_password: self.remove_password }
    }
}

impl std::fmt::Debug for DirectoryJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirectoryJob")
            .field("person_id", &self.person_id)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

/// One waiting or refused directory change, as `sesame directory status` shows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DirectoryLine {
    pub person_id: i64,
    pub uid: String,
    pub login: String,
    pub since: OffsetDateTime,
    pub attempts: i32,
    pub next_attempt_at: i64,
    pub refused_at: Option<OffsetDateTime>,
    pub last_error: Option<String>,
}

/// The directory outbox at a glance, for `/metrics`.
#[derive(Debug, Clone, Default)]
pub struct DirectoryBacklog {
    pub waiting: i64,
    pub refused: i64,
    pub oldest: Option<OffsetDateTime>,
}

/// How many people one category holds and how many of them have an account.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CategoryCount {
    pub category: Category,
    pub people: i64,
    pub activated: i64,
}

/// People and accounts per category, and when the recent accounts were activated.
#[derive(Debug, Clone)]
pub struct ActivationStats {
    pub by_category: Vec<CategoryCount>,
    pub activated_since: Vec<OffsetDateTime>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    Activated,
    /// Someone (perhaps this person in another tab) activated first.
    AlreadyActive,
    /// Disabled since identification.
    Disabled,
}

/// The audit event an import leaves: who ran it (the operator, else the command line), its file,
/// then its counts.
fn import_audit(plan: &ImportPlan, disabled: usize, at: OffsetDateTime) -> AuditEvent {
    let file = match plan.origin.file.as_str() {
        "" => String::new(),
        file => format!("file={file} "),
    };
    let detail = format!(
        "{file}created={} updated={} unchanged={} reenabled={} disabled={} rejected={}",
        plan.created,
        plan.updated,
        plan.unchanged,
        plan.reenabled,
        disabled,
        plan.rejected.len()
    );
    let actor = match plan.origin.operator.as_str() {
        "" => "cli".into(),
        operator => format!("cli:{operator}"),
    };
    AuditEvent { kind: "import", actor, person_id: None, client_addr: None, detail, at }
}

/// Held while an import runs (see `Store::import_lock`); dropping it lets the next one in.
pub struct ImportLock {
    _held: Box<dyn Send>,
}

impl ImportLock {
    fn holding(what: impl Send + 'static) -> Self {
        Self { _held: Box::new(what) }
    }
}

/// h22: how a new one-time code leaves, sealed (it never waits in clear).
#[derive(Debug, Clone)]
pub enum CodeDelivery {
    /// To the SMS outbox: the message sealed with context `sms:` and `message_id`.
    Sms { phone: String, message_sealed: Vec<u8>, message_id: String },
    /// To the mail outbox: the body sealed with context `mail:` and `message_id`.
    Mail { recipient: String, subject: String, body_sealed: Vec<u8>, message_id: String },
}

/// h22: a person's new one-time code (its hash only) and its message.
#[derive(Debug, Clone)]
pub struct NewRecoveryCode {
    pub person_id: i64,
    pub channel: Channel,
    pub code_hash: Vec<u8>,
    pub expires_at: i64,
    pub delivery: CodeDelivery,
}

/// h22: what `Store::send_recovery_code` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeSent {
    Sent,
    /// The hour's sends are spent; nothing was written.
    TooMany {
        retry_after: i64,
    },
}

/// h22: an SMS claimed by a sender for a while (its lease).
#[derive(Clone, sqlx::FromRow)]
pub struct OutboxSms {
    pub id: i64,
    pub phone: String,
    pub message_sealed: Vec<u8>,
    pub message_id: String,
    pub attempts: i32,
    pub expires_at: i64,
}

impl std::fmt::Debug for OutboxSms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboxSms").field("id", &self.id).field("attempts", &self.attempts).finish_non_exhaustive()
    }
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// "postgres" or "sqlite", for logs and metrics.
    fn backend(&self) -> &'static str;

    /// Applies pending migrations.
    async fn migrate(&self) -> Result<()>;

    /// Answers when the database does and, on SQLite, can take a write.
    async fn ping(&self) -> Result<()>;

    /// Everyone known, as an import needs them to plan.
    async fn existing_people(&self) -> Result<Vec<ExistingPerson>>;

    /// Writes a plan in one transaction, with an audit event.
    async fn apply_import(&self, plan: &ImportPlan, at: OffsetDateTime) -> Result<ImportWritten>;

    async fn find_person(&self, identifier: &Identifier) -> Result<Option<PersonRecord>>;

    /// What an identification needs, in one read (a web form's round trips are its cost): the
    /// person `identifier` designates and whether they have an account, the latest lock at
    /// `now` on either throttle key, and whether the second key has failures counted.
    async fn identification(&self, identifier: &Identifier, keys: [&str; 2], now: i64) -> Result<Lookup>;

    async fn count_people(&self) -> Result<i64>;

    async fn has_account(&self, person_id: i64) -> Result<bool>;

    /// The newest `depth` password hashes of a person, newest first.
    async fn password_history(&self, person_id: i64, depth: usize) -> Result<Vec<String>>;

    /// Creates the account with its history entry, audit event and confirmation mail, all
    /// in one transaction; nothing is written unless everything is.
    async fn activate(
        &self,
        account: &NewAccount,
        history_depth: usize,
        audit: &AuditEvent,
        mail: &NewMail,
    ) -> Result<Activation>;

    async fn audit(&self, event: &AuditEvent) -> Result<()>;

    /// The end of the lock on `key` (Unix seconds) when it is locked at `now`.
    async fn throttle_locked_until(&self, key: &str, now: i64) -> Result<Option<i64>>;

    /// Counts a failure; returns the end of the lock when this failure reached the limit
    /// or the key was already locked.
    async fn throttle_failure(&self, key: &str, now: i64, rule: &ThrottleRule) -> Result<Option<i64>>;

    async fn throttle_clear(&self, key: &str) -> Result<()>;

    /// Deletes the throttle counters named (locks and failure counts), with the audit event,
    /// in one transaction; returns how many existed.
    async fn lift_locks(&self, keys: &[String], audit: &AuditEvent) -> Result<u64>;

    async fn person(&self, id: i64) -> Result<Option<PersonRecord>>;

    /// The person whose login or institutional address this is (case-insensitive).
    async fn find_by_login(&self, login_or_email: &str) -> Result<Option<PersonRecord>>;

    async fn account(&self, person_id: i64) -> Result<Option<AccountRecord>>;

    /// Disables a person on the help desk's word, so that no import re-enables them, with the
    /// audit event (and the removal of their directory passwords); false (and nothing written)
    /// when the help desk had already disabled them.
    async fn disable_person(&self, person_id: i64, audit: &AuditEvent) -> Result<bool>;

    /// Deletes the account so that the person can activate again, with the audit event and the
    /// removal of their directory passwords; the password history stays, so the new password cannot be a recent one. False when there
    /// was no account (nothing written).
    async fn reset_account(&self, person_id: i64, audit: &AuditEvent) -> Result<bool>;

    /// People and accounts per category, and the activation time of every account activated
    /// from `since` on.
    async fn activation_stats(&self, since: OffsetDateTime) -> Result<ActivationStats>;

    /// The audit trail, newest first (by id).
    async fn audit_trail(&self, query: &AuditQuery) -> Result<Vec<AuditLine>>;

    /// Sets a new password, appends it to the history (kept at `history_depth`), with its
    /// audit event, its directory change and, when given, a notice mail: one transaction.
    async fn change_password(
        &self,
        person_id: i64,
        hash: &str,
        nt_sealed: Option<&[u8]>,
        history_depth: usize,
        audit: &AuditEvent,
        mail: Option<&NewMail>,
    ) -> Result<()>;

    /// Replaces a hash made with weaker parameters by one of the same password.
    async fn rehash_password(&self, person_id: i64, old_hash: &str, new_hash: &str) -> Result<()>;

    async fn change_question(
        &self,
        person_id: i64,
        question_id: &str,
        custom_question: Option<&str>,
        answer_hash: &str,
        audit: &AuditEvent,
        mail: &NewMail,
    ) -> Result<()>;

    /// Saves the preferences with their audit event and notice mail; a changed directory
    /// visibility is queued for the directory in the same transaction.
    async fn update_preferences(
        &self,
        person_id: i64,
        preferences: &Preferences,
        audit: &AuditEvent,
        mail: &NewMail,
    ) -> Result<()>;

    /// Claims the next due mail for `lease_secs`, so that no other sender takes it.
    async fn claim_mail(&self, now: i64, lease_secs: i64) -> Result<Option<OutboxMail>>;

    async fn mail_sent(&self, id: i64, at: OffsetDateTime) -> Result<()>;

    async fn mail_failed(&self, id: i64, error: &str, retry_at: i64) -> Result<()>;

    /// Mails not yet sent, those dropped aside.
    async fn mail_backlog(&self) -> Result<i64>;

    /// The session store on the same database, so sessions survive restarts and are shared by instances.
    fn sessions(&self) -> Arc<dyn SessionRows>;

    /// Removes expired sessions and stale throttle counters.
    async fn delete_expired(&self, now: i64) -> Result<()>;

    /// Rung after each commit that queued a directory change; `None` when the store was opened
    /// without a directory, and then no change is queued.
    fn directory_wake(&self) -> Option<Arc<tokio::sync::Notify>>;

    /// Claims the next due directory change for `lease_secs`, so that no other worker takes it.
    async fn claim_directory(&self, now: i64, lease_secs: i64) -> Result<Option<DirectoryJob>>;

    /// The claimed version reached the directory: its row goes, unless a newer change came
    /// meanwhile (then that one is due). True when the row went.
    async fn directory_delivered(&self, person_id: i64, version: i64) -> Result<bool>;

    /// The claimed version failed: due again at `retry_at`, or refused (kept until
    /// `directory_retry`) when `refused_at` is given.
    async fn directory_failed(
        &self,
        person_id: i64,
        version: i64,
        error: &str,
        retry_at: i64,
        refused_at: Option<OffsetDateTime>,
    ) -> Result<()>;

    /// Waiting and refused changes, oldest first (of one person when given).
    async fn directory_queue(&self, person_id: Option<i64>) -> Result<Vec<DirectoryLine>>;

    /// Makes refused changes due at `now` (of one person when given); returns how many.
    async fn directory_retry(&self, person_id: Option<i64>, now: i64) -> Result<u64>;

    async fn directory_backlog(&self) -> Result<DirectoryBacklog>;

    /// This database's import lock, across processes and machines: None when another import
    /// holds it. It is held until the guard is dropped or the process ends, however it ends.
    async fn import_lock(&self) -> Result<Option<ImportLock>>;

    /// Replaces a security answer's hash of an older normalised form, or made with weaker
    /// parameters, by one of today's; only while `old_hash` is still the stored one.
    async fn rehash_answer(&self, person_id: i64, old_hash: &str, new_hash: &str) -> Result<()>;

    // h22: one-time codes
    /// Replaces the person's code (voiding the previous one) and queues its message, with the
    /// audit event, in one transaction; nothing is written when the hour's sends are spent.
    async fn send_recovery_code(&self, code: &NewRecoveryCode, now: i64, audit: &AuditEvent) -> Result<CodeSent>;

    /// The person's current code and sends.
    async fn recovery_code(&self, person_id: i64) -> Result<Option<CodeState>>;

    /// Records a verdict on the code whose hash is `code_hash`, only while it is still the
    /// current one, with the audit event: a right code or a voided one is gone, a wrong one
    /// counts a try. False (nothing written) when the code changed or went meanwhile.
    async fn recovery_code_judged(
        &self,
        person_id: i64,
        code_hash: &[u8],
        verdict: Verdict,
        audit: &AuditEvent,
    ) -> Result<bool>;

    /// Claims the next due SMS for `lease_secs`, so that no other sender takes it.
    async fn claim_sms(&self, now: i64, lease_secs: i64) -> Result<Option<OutboxSms>>;

    async fn sms_sent(&self, id: i64, at: OffsetDateTime) -> Result<()>;

    async fn sms_failed(&self, id: i64, error: &str, retry_at: i64) -> Result<()>;

    /// Saves the personal address the person confirmed in the account area, with the audit event.
    async fn set_personal_email(&self, person_id: i64, address: &str, audit: &AuditEvent) -> Result<()>;
}

/// Opens the database named by the URL, failing fast when it does not answer; no directory.
pub async fn connect(url: &str) -> Result<Arc<dyn Store>> {
    connect_with(url, false).await
}

/// Opens the database; with `directory`, password, visibility and removal changes are queued
/// for the directory in their own transactions.
pub async fn connect_with(url: &str, directory: bool) -> Result<Arc<dyn Store>> {
    open(url, directory, Duration::from_secs(5), None).await
}

/// Opens the database for the web: a connection is waited for `timeout` at most, and on
/// PostgreSQL a statement runs that long at most, so that a hung server gets a quick 503.
pub async fn connect_serving(url: &str, directory: bool, timeout: Duration) -> Result<Arc<dyn Store>> {
    open(url, directory, timeout, Some(timeout)).await
}

async fn open(url: &str, directory: bool, timeout: Duration, statement: Option<Duration>) -> Result<Arc<dyn Store>> {
    let wake = directory.then(Arc::default);
    if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::connect(url, timeout).await?.with_directory(wake)))
    } else {
        Ok(Arc::new(PgStore::connect(url, timeout, statement).await?.with_directory(wake)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_messages_map_to_postgres_constraint_names() {
        assert_eq!(sqlite_constraint_name("UNIQUE constraint failed: people.login"), "people_login_key");
        assert_eq!(sqlite_constraint_name("UNIQUE constraint failed: people.uid"), "people_uid_key");
    }
}
