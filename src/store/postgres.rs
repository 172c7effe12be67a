//! The production store, on PostgreSQL.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::encode::IsNull;
use sqlx::postgres::{PgArgumentBuffer, PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool, Row};
use time::{Date, OffsetDateTime};
use tokio::sync::Notify;
use tower_sessions_sqlx_store::PostgresStore;

use super::sessions::PgSessions;
use super::{
    AUDIT_INSERT, Activation, AuditEvent, INSERT_ACCOUNT, ImportLock, ImportWritten, MAIL_INSERT, NewAccount, NewMail,
    Result, Store, UPSERT_PERSON, WRITTEN_COLUMNS, import_audit,
};
use crate::domain::import_plan::{ImportPlan, PersonUpsert};
use shared::{bind_account, insert_audit};

#[path = "shared.rs"]
mod shared;

/// The store `shared` implements `Store` for, on this database.
type Backend = PgStore;
type Db = sqlx::Postgres;
const BACKEND: &str = "postgres";

/// Rows per INSERT … SELECT FROM UNNEST: large enough that 100,000 people take a
/// handful of round trips, small enough to keep each statement's memory modest.
const IMPORT_CHUNK: usize = 10_000;

/// An import bringing at least this many new people, and at least as many as are already
/// there, rebuilds `people`'s secondary indexes instead of updating them row by row.
const BULK_MIN_NEW: usize = 5_000;

pub struct PgStore {
    pool: PgPool,
    sessions: PgSessions,
    /// Some when changes are queued for the directory; rung after each.
    directory: Option<Arc<Notify>>,
}

impl PgStore {
    /// Waits `timeout` at most for a connection; with `statement`, the server cancels any
    /// statement that runs longer (the web's, not an import's).
    pub async fn connect(url: &str, timeout: Duration, statement: Option<Duration>) -> Result<Self> {
        // Every statement is prepared once per connection and looks rows up by key, so one
        // generic plan serves all values: PostgreSQL would otherwise plan each statement again
        // on each of its first five runs per connection, which was half the time of the
        // identification and activation statements (docs/performance.md).
        let mut options = PgConnectOptions::from_str(url)?.options([("plan_cache_mode", "force_generic_plan")]);
        if let Some(statement) = statement {
            options = options.options([("statement_timeout", format!("{}ms", statement.as_millis()))]);
        }
        // One direct connection first, so that a refused connection, a wrong password or a
        // missing database is reported as such at once, not as a pool time-out.
        match tokio::time::timeout(timeout, PgConnection::connect_with(&options)).await {
            Ok(conn) => conn?.close().await?,
            Err(_) => return Err(sqlx::Error::PoolTimedOut.into()),
        }
        // No ping before each query (sqlx's default): it doubled every round trip. A connection
        // that died fails its next query, which answers a calm 503 and is then dropped.
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(timeout)
            .test_before_acquire(false)
            .connect_lazy_with(options);
        // Sessions live beside our tables, in whatever schema the connection uses.
        let schema: String = sqlx::query_scalar("SELECT current_schema()").fetch_one(&pool).await?;
        let sessions = PostgresStore::new(pool.clone())
            .with_schema_name(&schema)
            .and_then(|s| s.with_table_name("tower_sessions"))
            .map_err(|e| sqlx::Error::Configuration(e.into()))?;
        Ok(Self { sessions: PgSessions { inner: sessions, pool: pool.clone() }, pool, directory: None })
    }
}

/// `column` at or after the time bound as `param`: PostgreSQL compares timestamps as such.
fn not_before(column: &str, param: &str) -> String {
    format!("{column} >= {param}")
}

/// Other instances' workers skip the mails this one claimed instead of waiting for them.
const CLAIM_LOCK: &str = "FOR UPDATE SKIP LOCKED";

/// What PostgreSQL does its own way, which `shared`'s `impl Store` forwards to.
impl PgStore {
    async fn ping_here(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// One statement (each round trip costs more than the work): the account, then, only if it
    /// was inserted, the history, the audit event and the mail; all or nothing.
    async fn activate_here(
        &self,
        a: &NewAccount,
        history_depth: usize,
        audit: &AuditEvent,
        mail: &NewMail,
    ) -> Result<Activation> {
        // The trim sees the history from before this statement: it keeps depth - 1 old hashes
        // beside the new one. With a directory, the password is queued for it too ($25: its NT hash).
        let directory = if self.directory.is_some() {
            format!(
                ", directory AS ({}SELECT person_id, TRUE, FALSE, FALSE, $25::bytea, $12, $23 FROM account{}) ",
                super::directory::INSERT_DIRECTORY,
                super::directory::MERGE_DIRECTORY
            )
        } else {
            String::new()
        };
        let sql = format!(
            "WITH account AS ({INSERT_ACCOUNT} RETURNING person_id), \
             history AS (INSERT INTO password_history (person_id, hash, created_at) \
               SELECT person_id, $2, $12 FROM account), \
             trimmed AS (DELETE FROM password_history WHERE person_id IN (SELECT person_id FROM account) \
               AND id NOT IN (SELECT id FROM password_history WHERE person_id = $1 ORDER BY id DESC LIMIT $13)), \
             audit AS ({AUDIT_INSERT} SELECT $14, person_id, $15, $16, $17, $18 FROM account), \
             mail AS ({MAIL_INSERT} SELECT $12, $19, $20, $21, $22, $23, $24 FROM account) {directory}\
             SELECT COUNT(*) FROM account"
        );
        let mut query = bind_account(sqlx::query(&sql), a)
            .bind(history_depth as i64 - 1)
            .bind(audit.at)
            .bind(audit.kind)
            .bind(&audit.actor)
            .bind(&audit.client_addr)
            .bind(&audit.detail)
            .bind(mail.kind)
            .bind(&mail.recipient)
            .bind(&mail.subject)
            .bind(&mail.body_text)
            .bind(a.at.unix_timestamp())
            .bind(uuid::Uuid::new_v4().to_string());
        if self.directory.is_some() {
            query = query.bind(&a.nt_sealed);
        }
        let inserted: i64 = query.fetch_one(&self.pool).await?.try_get(0)?;
        if inserted == 1 {
            self.wake_directory();
            return Ok(Activation::Activated);
        }
        // Read after the statement, so that an account another session just committed is seen.
        Ok(if self.has_account(a.person_id).await? { Activation::AlreadyActive } else { Activation::Disabled })
    }

    async fn migrate_here(&self) -> Result<()> {
        // The session table too (migration 0003: it is unlogged).
        Ok(sqlx::migrate!("migrations/postgres").run(&self.pool).await.map_err(sqlx::Error::from)?)
    }

    async fn apply_import_here(&self, plan: &ImportPlan, at: OffsetDateTime) -> Result<ImportWritten> {
        let mut tx = self.pool.begin().await?;
        // One import at a time, counting under this lock: two first loads that both counted
        // and then both asked for the exclusive lock below would deadlock. It conflicts with
        // itself and with writers of people (the help desk), not with readers: sign-ins,
        // identifications and activations go on.
        sqlx::query("LOCK TABLE people IN SHARE ROW EXCLUSIVE MODE").execute(&mut *tx).await?;
        // Sorting all keys once is faster than inserting each into every index: a first load of
        // 100,000 people wrote in half the time (docs/performance.md). The lock holds sign-ins
        // and identifications until the commit, so only an import at least doubling the table
        // does it; its unique indexes come back as they were or the whole import is undone.
        let bulk = plan.created >= BULK_MIN_NEW
            && plan.created as i64
                >= sqlx::query_scalar::<_, i64>("SELECT count(*) FROM people").fetch_one(&mut *tx).await?;
        if bulk {
            sqlx::query("LOCK TABLE people IN ACCESS EXCLUSIVE MODE").execute(&mut *tx).await?;
        }
        // People already there go first, through the upsert and the uid index it needs; under
        // the lock nobody else can add a uid, so the new ones are then plainly copied in.
        let (inserts, upserts): (Vec<&PersonUpsert>, Vec<&PersonUpsert>) =
            plan.upserts.iter().partition(|p| bulk && p.new);
        upsert_people(&mut tx, &upserts, at).await?;
        let mut disabled = 0;
        for chunk in plan.disable.chunks(IMPORT_CHUNK) {
            disabled += sqlx::query(
                "UPDATE people SET status = 'disabled', disabled_by = 'import', updated_at = $2 \
                 WHERE uid = ANY($1) AND status = 'active'",
            )
            .bind(chunk)
            .bind(at)
            .execute(&mut *tx)
            .await?
            .rows_affected() as usize;
        }
        let rebuilt = if bulk { drop_secondary_indexes(&mut tx).await? } else { Vec::new() };
        copy_people(&mut tx, &inserts, at).await?;
        for create in &rebuilt {
            sqlx::query(create).persistent(false).execute(&mut *tx).await?;
        }
        insert_audit(&mut *tx, &import_audit(plan, disabled, at)).await?;
        tx.commit().await?;
        Ok(ImportWritten { upserted: plan.upserts.len(), disabled })
    }

    async fn import_lock_here(&self) -> Result<Option<ImportLock>> {
        // A session lock on a connection taken out of the pool: the lock ends with the
        // connection, when the guard drops it or the process dies. Keyed by schema, since two
        // Sésame databases may share one PostgreSQL database.
        let mut conn = self.pool.acquire().await?.detach();
        let taken: bool =
            sqlx::query_scalar("SELECT pg_try_advisory_lock(hashtext('sesame import'), hashtext(current_schema()))")
                .fetch_one(&mut conn)
                .await?;
        Ok(taken.then(|| ImportLock::holding(conn)))
    }
}

/// Drops every index of `people` but the key, which other tables' foreign keys need; returns the
/// statements that create them again as they were.
async fn drop_secondary_indexes(tx: &mut PgConnection) -> Result<Vec<String>> {
    let ddl: Vec<(String, String)> = sqlx::query_as(
        "SELECT CASE WHEN c.oid IS NULL THEN format('DROP INDEX %s', i.indexrelid::regclass) \
                  ELSE format('ALTER TABLE %s DROP CONSTRAINT %I', i.indrelid::regclass, c.conname) END, \
                CASE WHEN c.oid IS NULL THEN pg_get_indexdef(i.indexrelid) \
                  ELSE format('ALTER TABLE %s ADD CONSTRAINT %I %s', i.indrelid::regclass, c.conname, \
                              pg_get_constraintdef(c.oid)) END \
         FROM pg_index i LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid AND c.conrelid = i.indrelid \
         WHERE i.indrelid = 'people'::regclass AND NOT i.indisprimary",
    )
    .fetch_all(&mut *tx)
    .await?;
    for (drop, _) in &ddl {
        sqlx::query(drop).persistent(false).execute(&mut *tx).await?;
    }
    Ok(ddl.into_iter().map(|(_, create)| create).collect())
}

/// Inserts or updates `rows` by uid, in chunks.
async fn upsert_people(tx: &mut PgConnection, rows: &[&PersonUpsert], at: OffsetDateTime) -> Result<()> {
    for chunk in rows.chunks(IMPORT_CHUNK) {
        let column = |f: fn(&PersonUpsert) -> &str| chunk.iter().map(|p| f(p)).collect::<Vec<_>>();
        let optional = |f: fn(&PersonUpsert) -> Option<&str>| chunk.iter().map(|p| f(p)).collect::<Vec<_>>();
        let birth_dates: Vec<Date> = chunk.iter().map(|p| p.birth_date).collect();
        sqlx::query(&format!(
            "INSERT INTO people ({WRITTEN_COLUMNS}) SELECT u.*, $12, $12 FROM UNNEST($1::text[], $2::text[], \
                 $3::text[], $4::text[], $5::date[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], \
                 $11::text[]) AS u{UPSERT_PERSON}"
        ))
        .bind(column(|p| &p.uid))
        .bind(column(|p| &p.category))
        .bind(column(|p| &p.given_name))
        .bind(column(|p| &p.family_name))
        .bind(birth_dates)
        .bind(optional(|p| p.staff_number.as_deref()))
        .bind(optional(|p| p.student_number.as_deref()))
        .bind(optional(|p| p.ine.as_deref()))
        .bind(column(|p| &p.email))
        .bind(column(|p| &p.login))
        .bind(optional(|p| p.personal_email.as_deref()))
        .bind(at)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// The new people of a bulk import, through `COPY … (FORMAT binary)`: PostgreSQL reads each field
/// as it is, where an `INSERT … UNNEST` builds and takes apart an array per column; 100,000 rows
/// took 0.39 s that way and 0.21–0.23 s this way, as long as the same INSERT … SELECT inside
/// PostgreSQL (docs/performance.md). Data goes out a MiB at a time: PostgreSQL writes rows while
/// the next are encoded.
async fn copy_people(tx: &mut PgConnection, rows: &[&PersonUpsert], at: OffsetDateTime) -> Result<()> {
    /// One field: its length, then sqlx's binary encoding of the value, or -1 for NULL.
    fn field<'q, T: sqlx::Encode<'q, sqlx::Postgres>>(buf: &mut PgArgumentBuffer, value: &T) -> Result<()> {
        let start = buf.len();
        buf.extend_from_slice(&[0; 4]);
        let len = match value.encode_by_ref(buf).map_err(sqlx::Error::Encode)? {
            IsNull::Yes => -1,
            IsNull::No => (buf.len() - start - 4) as i32,
        };
        buf[start..start + 4].copy_from_slice(&len.to_be_bytes());
        Ok(())
    }
    if rows.is_empty() {
        return Ok(());
    }
    let mut copy = tx.copy_in_raw(&format!("COPY people ({WRITTEN_COLUMNS}) FROM STDIN (FORMAT binary)")).await?;
    const SEND_AT: usize = 1 << 20;
    let mut buf = PgArgumentBuffer::default();
    // The header: signature, flags, header extension length.
    buf.extend_from_slice(b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0");
    for p in rows {
        buf.extend_from_slice(&13i16.to_be_bytes());
        field(&mut buf, &p.uid.as_str())?;
        field(&mut buf, &p.category.as_str())?;
        field(&mut buf, &p.given_name.as_str())?;
        field(&mut buf, &p.family_name.as_str())?;
        field(&mut buf, &p.birth_date)?;
        field(&mut buf, &p.staff_number.as_deref())?;
        field(&mut buf, &p.student_number.as_deref())?;
        field(&mut buf, &p.ine.as_deref())?;
        field(&mut buf, &p.email.as_str())?;
        field(&mut buf, &p.login.as_str())?;
        field(&mut buf, &p.personal_email.as_deref())?;
        field(&mut buf, &at)?;
        field(&mut buf, &at)?;
        if buf.len() >= SEND_AT {
            copy.send(buf.as_slice()).await?;
            buf.clear();
        }
    }
    buf.extend_from_slice(&(-1i16).to_be_bytes());
    copy.send(buf.as_slice()).await?;
    copy.finish().await?;
    Ok(())
}
