//! The embedded store, on one SQLite file: the demo's and a single machine's.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{QueryBuilder, Sqlite, SqlitePool};
use time::OffsetDateTime;

use super::sessions::{SessionRows, SqliteSessions};
use super::{
    AccountRecord, Activation, ActivationStats, AuditEvent, AuditLine, AuditQuery, DirectoryBacklog, DirectoryJob,
    DirectoryLine, INSERT_ACCOUNT, ImportLock, ImportWritten, Lookup, NewAccount, NewMail, OutboxMail, PERSON_COLUMNS,
    PersonRecord, Preferences, Result, STALE_THROTTLE_SECS, Store, identifier_column, import_actor, import_detail,
};
use crate::domain::directory::Pending;
use crate::domain::identifiers::Identifier;
use crate::domain::import_plan::{ExistingPerson, ImportPlan};
use crate::domain::throttle::ThrottleRule;
use std::sync::Arc;
use tokio::sync::Notify;
use tower_sessions::ExpiredDeletion;

/// SQLite allows 32,766 bound values per statement; twelve a row.
const IMPORT_CHUNK: usize = 2_500;

pub struct SqliteStore {
    pool: SqlitePool,
    sessions: SqliteSessions,
    /// Some when changes are queued for the directory; rung after each.
    directory: Option<Arc<Notify>>,
    /// The database file, beside which the import lock lives.
    file: std::path::PathBuf,
}

impl SqliteStore {
    pub async fn connect(url: &str, timeout: Duration) -> Result<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(timeout);
        let file = options.get_filename().to_path_buf();
        let pool = SqlitePoolOptions::new().max_connections(8).acquire_timeout(timeout).connect_with(options).await?;
        let sessions = tower_sessions_sqlx_store::SqliteStore::new(pool.clone())
            .with_table_name("tower_sessions")
            .map_err(|e| sqlx::Error::Configuration(e.into()))?;
        Ok(Self { sessions: SqliteSessions { inner: sessions, pool: pool.clone() }, pool, file, directory: None })
    }

    /// Queues password, visibility and removal changes for the directory, ringing `wake`.
    pub fn with_directory(self, wake: Option<Arc<Notify>>) -> Self {
        Self { directory: wake, ..self }
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

/// `column` at or after the time bound as `param`. SQLite keeps times as sqlx writes them,
/// RFC 3339 text with only the fraction digits needed ("…:05Z", "…:05.5Z"), and such text
/// sorts wrongly within a second ('.' comes before 'Z'): compare Julian days instead.
fn not_before(column: &str, param: &str) -> String {
    format!("julianday({column}) >= julianday({param})")
}

/// SQLite serialises writers: the claiming UPDATE needs no row lock.
const CLAIM_LOCK: &str = "";

impl_store!(SqliteStore, {
    /// Takes the write lock and writes the header's version (unchanged) in a transaction rolled
    /// back: a file that cannot be written, or a writer that holds the lock too long, makes the
    /// database not ready even though it still answers reads.
    async fn ping(&self) -> Result<()> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let version: i64 = sqlx::query_scalar("PRAGMA user_version").fetch_one(&mut *tx).await?;
        sqlx::query(&format!("PRAGMA user_version = {version}")).execute(&mut *tx).await?;
        tx.rollback().await?;
        Ok(())
    }

    async fn activate(
        &self,
        a: &NewAccount,
        history_depth: usize,
        audit: &AuditEvent,
        mail: &NewMail,
    ) -> Result<Activation> {
        let mut tx = self.pool.begin().await?;
        let inserted = bind_account!(sqlx::query(INSERT_ACCOUNT), a).execute(&mut *tx).await?.rows_affected();
        if inserted == 0 {
            tx.rollback().await?;
            let active = self.has_account(a.person_id).await?;
            return Ok(if active { Activation::AlreadyActive } else { Activation::Disabled });
        }
        push_history!(tx, a.person_id, &a.password_hash, history_depth, a.at);
        insert_audit!(&mut *tx, audit);
        insert_mail!(&mut *tx, mail, a.at);
        enqueue_directory!(self, tx, a.person_id, Pending::PASSWORD, &a.nt_sealed, a.at);
        tx.commit().await?;
        wake_directory!(self);
        Ok(Activation::Activated)
    }

    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn migrate(&self) -> Result<()> {
        sqlx::migrate!("migrations/sqlite").run(&self.pool).await.map_err(sqlx::Error::from)?;
        Ok(self.sessions.inner.migrate().await?)
    }

    async fn apply_import(&self, plan: &ImportPlan, at: OffsetDateTime) -> Result<ImportWritten> {
        let mut tx = self.pool.begin().await?;
        for chunk in plan.upserts.chunks(IMPORT_CHUNK) {
            let mut query: QueryBuilder<Sqlite> = QueryBuilder::new(
                "INSERT INTO people (uid, category, given_name, family_name, birth_date, staff_number, \
                 student_number, ine, email, login, personal_email, status, created_at, updated_at) ",
            );
            query.push_values(chunk, |mut row, p| {
                row.push_bind(&p.uid)
                    .push_bind(&p.category)
                    .push_bind(&p.given_name)
                    .push_bind(&p.family_name)
                    .push_bind(p.birth_date)
                    .push_bind(&p.staff_number)
                    .push_bind(&p.student_number)
                    .push_bind(&p.ine)
                    .push_bind(&p.email)
                    .push_bind(&p.login)
                    .push_bind(&p.personal_email)
                    .push("'active'")
                    .push_bind(at)
                    .push_bind(at);
            });
            query.push(
                " ON CONFLICT (uid) DO UPDATE SET category = excluded.category, \
                 given_name = excluded.given_name, family_name = excluded.family_name, \
                 birth_date = excluded.birth_date, staff_number = excluded.staff_number, \
                 student_number = excluded.student_number, ine = excluded.ine, email = excluded.email, \
                 personal_email = COALESCE(excluded.personal_email, people.personal_email), \
                 status = CASE WHEN people.disabled_by = 'import' THEN 'active' ELSE people.status END, \
                 disabled_by = CASE WHEN people.disabled_by = 'import' THEN NULL ELSE people.disabled_by END, \
                 updated_at = excluded.updated_at",
            );
            query.build().execute(&mut *tx).await?;
        }
        let mut disabled = 0;
        for chunk in plan.disable.chunks(IMPORT_CHUNK) {
            let mut query: QueryBuilder<Sqlite> =
                QueryBuilder::new("UPDATE people SET status = 'disabled', disabled_by = 'import', updated_at = ");
            query.push_bind(at).push(" WHERE status = 'active' AND uid IN (");
            let mut list = query.separated(", ");
            for uid in chunk {
                list.push_bind(uid);
            }
            query.push(")");
            disabled += query.build().execute(&mut *tx).await?.rows_affected() as usize;
        }
        sqlx::query("INSERT INTO audit_events (at, kind, actor, detail) VALUES (?, 'import', ?, ?)")
            .bind(at)
            .bind(import_actor(plan))
            .bind(import_detail(plan, disabled))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(ImportWritten { upserted: plan.upserts.len(), disabled })
    }

    async fn import_lock(&self) -> Result<Option<ImportLock>> {
        // An advisory lock on a file beside the database, which any process sees and the
        // system drops when the holder exits. Not the database file itself: closing any other
        // descriptor of that file would drop SQLite's own locks.
        let mut path = self.file.clone().into_os_string();
        path.push("-import.lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(sqlx::Error::Io)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(ImportLock::holding(file))),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(sqlx::Error::Io(e).into()),
        }
    }
});
