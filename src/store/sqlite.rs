//! The embedded store, on one SQLite file: the demo's and a single machine's.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Connection, QueryBuilder, Sqlite, SqliteConnection, SqlitePool};
use time::OffsetDateTime;
use tokio::sync::Notify;

use super::sessions::SqliteSessions;
use super::{
    Activation, AuditEvent, INSERT_ACCOUNT, ImportLock, ImportWritten, NewAccount, NewMail, Result, Store,
    UPSERT_PERSON, WRITTEN_COLUMNS, import_audit,
};
use crate::domain::directory::Pending;
use crate::domain::import_plan::ImportPlan;
use shared::{bind_account, insert_audit, insert_mail, push_history};

#[path = "shared.rs"]
mod shared;

/// The store `shared` implements `Store` for, on this database.
type Backend = SqliteStore;
type Db = Sqlite;
const BACKEND: &str = "sqlite";

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
        let read_only = url.split_once('?').is_some_and(|(_, query)| query.split('&').any(|p| p == "mode=ro"));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .acquire_timeout(timeout)
            .after_release(move |conn, _| Box::pin(async move { Ok(fit_for_reuse(conn, read_only).await) }))
            .connect_with(options)
            .await?;
        let sessions = tower_sessions_sqlx_store::SqliteStore::new(pool.clone())
            .with_table_name("tower_sessions")
            .map_err(|e| sqlx::Error::Configuration(e.into()))?;
        Ok(Self { sessions: SqliteSessions { inner: sessions, pool: pool.clone() }, pool, file, directory: None })
    }
}

/// Whether a connection given back to the pool may serve again: outside any transaction, and
/// able to write unless the URL asked for a read-only database; otherwise the pool closes it
/// (rolling back what it holds) and opens a fresh one when needed.
///
/// A statement or COMMIT that fails on a full disk can make SQLite roll the whole transaction
/// back by itself while sqlx still counts it open: its ROLLBACK then fails, the count stays at
/// one, and the next transaction on that connection becomes a SAVEPOINT whose ROLLBACK TO
/// leaves SQLite inside a transaction for good, holding the write lock and keeping every later
/// write to itself. And SQLite opens a file it may not write read-only, without a word: such a
/// connection would stay read-only after the permission is fixed.
async fn fit_for_reuse(conn: &mut SqliteConnection, read_only: bool) -> bool {
    // Waits for the worker to have run what came before (a dropped transaction's rollback).
    let Ok(mut handle) = conn.lock_handle().await else { return false };
    let db = handle.as_raw_handle().as_ptr();
    // SAFETY: `db` is the open handle this lock gives us alone; both calls only read its state.
    let (outside_transaction, writable) = unsafe {
        (
            libsqlite3_sys::sqlite3_get_autocommit(db) != 0,
            libsqlite3_sys::sqlite3_db_readonly(db, c"main".as_ptr()) == 0,
        )
    };
    drop(handle);
    outside_transaction && (writable || read_only) && !conn.is_in_transaction()
}

/// `column` at or after the time bound as `param`. SQLite keeps times as sqlx writes them,
/// RFC 3339 text with only the fraction digits needed ("…:05Z", "…:05.5Z"), and such text
/// sorts wrongly within a second ('.' comes before 'Z'): compare Julian days instead.
fn not_before(column: &str, param: &str) -> String {
    format!("julianday({column}) >= julianday({param})")
}

/// SQLite serialises writers: the claiming UPDATE needs no row lock.
const CLAIM_LOCK: &str = "";

/// What SQLite does its own way, which `shared`'s `impl Store` forwards to.
impl SqliteStore {
    /// Takes the write lock and writes 32 KB into a new table, in a transaction rolled back: a
    /// file that cannot be written or has no room for a few more writes, or a writer that holds
    /// the lock too long, makes the database not ready even though it still answers reads.
    async fn ping_here(&self) -> Result<()> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query("CREATE TABLE readiness_probe (x)").execute(&mut *tx).await?;
        sqlx::query("INSERT INTO readiness_probe VALUES (zeroblob(32768))").execute(&mut *tx).await?;
        tx.rollback().await?;
        Ok(())
    }

    async fn activate_here(
        &self,
        a: &NewAccount,
        history_depth: usize,
        audit: &AuditEvent,
        mail: &NewMail,
    ) -> Result<Activation> {
        let mut tx = self.pool.begin().await?;
        let inserted = bind_account(sqlx::query(INSERT_ACCOUNT), a).execute(&mut *tx).await?.rows_affected();
        if inserted == 0 {
            tx.rollback().await?;
            let active = self.has_account(a.person_id).await?;
            return Ok(if active { Activation::AlreadyActive } else { Activation::Disabled });
        }
        push_history(&mut tx, a.person_id, &a.password_hash, history_depth, a.at).await?;
        insert_audit(&mut *tx, audit).await?;
        insert_mail(&mut tx, mail, a.at).await?;
        self.enqueue_directory(&mut tx, a.person_id, Pending::PASSWORD, a.nt_sealed.as_deref(), a.at).await?;
        tx.commit().await?;
        self.wake_directory();
        Ok(Activation::Activated)
    }

    async fn migrate_here(&self) -> Result<()> {
        sqlx::migrate!("migrations/sqlite").run(&self.pool).await.map_err(sqlx::Error::from)?;
        Ok(self.sessions.inner.migrate().await?)
    }

    async fn apply_import_here(&self, plan: &ImportPlan, at: OffsetDateTime) -> Result<ImportWritten> {
        let mut tx = self.pool.begin().await?;
        for chunk in plan.upserts.chunks(IMPORT_CHUNK) {
            let mut query: QueryBuilder<Sqlite> = QueryBuilder::new(format!("INSERT INTO people ({WRITTEN_COLUMNS}) "));
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
                    .push_bind(at)
                    .push_bind(at);
            });
            query.push(UPSERT_PERSON);
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
        insert_audit(&mut *tx, &import_audit(plan, disabled, at)).await?;
        tx.commit().await?;
        Ok(ImportWritten { upserted: plan.upserts.len(), disabled })
    }

    async fn import_lock_here(&self) -> Result<Option<ImportLock>> {
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
}
