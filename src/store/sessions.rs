//! Session rows in the application's database: tower-sessions-sqlx-store's table, reads and
//! expiry, with two writes of our own. Its `create` takes a transaction, a probe and an upsert
//! (four round trips); here it is one `INSERT … ON CONFLICT DO NOTHING`, retried on the
//! (2⁻¹²⁸) chance of a taken id. And a session given a new id keeps its old one for a short
//! grace instead of losing it at once (see `web::session`), in the same statement on PostgreSQL.

use std::fmt::Debug;

use async_trait::async_trait;
use sqlx::{PgPool, SqlitePool};
use time::OffsetDateTime;
use tower_sessions::SessionStore;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{Error, Result};
use tower_sessions_sqlx_store::{PostgresStore, SqliteStore};

/// The session store, plus the grace given to an id that was replaced.
#[async_trait]
pub trait SessionRows: SessionStore {
    /// The row stays readable until `until` (never longer than it would have), then expires.
    async fn retire(&self, id: &Id, until: OffsetDateTime) -> Result<()>;

    /// `retire(old, until)`, then `create(record)`.
    async fn replace(&self, old: &Id, until: OffsetDateTime, record: &mut Record) -> Result<()>;
}

const RETIRE: &str = "UPDATE tower_sessions SET expiry_date = $2 WHERE id = $1 AND expiry_date > $2";

const INSERT: &str =
    "INSERT INTO tower_sessions (id, data, expiry_date) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING";

/// Session rows on one database: sqlx's store `inner` reads, saves and expires them; the inserts
/// and retirements are ours, on `pool`.
#[derive(Debug, Clone)]
pub struct Sessions<S, P> {
    pub inner: S,
    pub pool: P,
}

pub type PgSessions = Sessions<PostgresStore, PgPool>;
pub type SqliteSessions = Sessions<SqliteStore, SqlitePool>;

/// Our two writes, on a pool of each database.
#[async_trait]
pub trait SessionWrites: Debug + Clone + Send + Sync + 'static {
    /// Inserts `record` under its id unless the id is taken, after retiring `retired` when
    /// given: whether it was inserted.
    async fn try_insert(&self, record: &Record, retired: Option<(&Id, OffsetDateTime)>) -> Result<bool>;

    /// See `SessionRows::retire`.
    async fn retire(&self, id: &Id, until: OffsetDateTime) -> Result<()>;
}

fn backend(e: sqlx::Error) -> Error {
    Error::Backend(e.to_string())
}

fn encode(record: &Record) -> Result<Vec<u8>> {
    rmp_serde::to_vec(record).map_err(|e| Error::Encode(e.to_string()))
}

#[async_trait]
impl SessionWrites for PgPool {
    /// Both in one statement: a renewal is one round trip, like the upsert it replaces.
    async fn try_insert(&self, record: &Record, retired: Option<(&Id, OffsetDateTime)>) -> Result<bool> {
        let sql = match retired {
            Some(_) => format!(
                "WITH retired AS (UPDATE tower_sessions SET expiry_date = $5 WHERE id = $4 AND expiry_date > $5) \
                 {INSERT}"
            ),
            None => INSERT.to_string(),
        };
        let query = sqlx::query(&sql).bind(record.id.to_string()).bind(encode(record)?).bind(record.expiry_date);
        let query = match retired {
            Some((id, until)) => query.bind(id.to_string()).bind(until),
            None => query,
        };
        Ok(query.execute(self).await.map_err(backend)?.rows_affected() == 1)
    }

    async fn retire(&self, id: &Id, until: OffsetDateTime) -> Result<()> {
        sqlx::query(RETIRE).bind(id.to_string()).bind(until).execute(self).await.map_err(backend)?;
        Ok(())
    }
}

#[async_trait]
impl SessionWrites for SqlitePool {
    async fn try_insert(&self, record: &Record, retired: Option<(&Id, OffsetDateTime)>) -> Result<bool> {
        if let Some((id, until)) = retired {
            self.retire(id, until).await?;
        }
        let query = sqlx::query(INSERT).bind(record.id.to_string()).bind(encode(record)?).bind(record.expiry_date);
        Ok(query.execute(self).await.map_err(backend)?.rows_affected() == 1)
    }

    async fn retire(&self, id: &Id, until: OffsetDateTime) -> Result<()> {
        sqlx::query(RETIRE).bind(id.to_string()).bind(until).execute(self).await.map_err(backend)?;
        Ok(())
    }
}

#[async_trait]
impl<S: SessionStore + Clone, P: SessionWrites> SessionStore for Sessions<S, P> {
    async fn create(&self, record: &mut Record) -> Result<()> {
        while !self.pool.try_insert(record, None).await? {
            record.id = Id::default();
        }
        Ok(())
    }

    async fn save(&self, record: &Record) -> Result<()> {
        self.inner.save(record).await
    }

    async fn load(&self, id: &Id) -> Result<Option<Record>> {
        self.inner.load(id).await
    }

    async fn delete(&self, id: &Id) -> Result<()> {
        self.inner.delete(id).await
    }
}

#[async_trait]
impl<S: SessionStore + Clone, P: SessionWrites> SessionRows for Sessions<S, P> {
    async fn retire(&self, id: &Id, until: OffsetDateTime) -> Result<()> {
        self.pool.retire(id, until).await
    }

    async fn replace(&self, old: &Id, until: OffsetDateTime, record: &mut Record) -> Result<()> {
        if self.pool.try_insert(record, Some((old, until))).await? {
            return Ok(());
        }
        record.id = Id::default();
        self.create(record).await
    }
}
