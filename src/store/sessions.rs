//! Session rows in the application's database: tower-sessions-sqlx-store's table, reads and
//! expiry, with two writes of our own. Its `create` takes a transaction, a probe and an upsert
//! (four round trips); here it is one `INSERT … ON CONFLICT DO NOTHING`, retried on the
//! (2⁻¹²⁸) chance of a taken id. And a session given a new id keeps its old one for a short
//! grace instead of losing it at once (see `web::session`), in the same statement on PostgreSQL.

use async_trait::async_trait;
use time::OffsetDateTime;
use tower_sessions::SessionStore;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{Error, Result};

/// The session store, plus the grace given to an id that was replaced.
#[async_trait]
pub trait SessionRows: SessionStore {
    /// The row stays readable until `until` (never longer than it would have), then expires.
    async fn retire(&self, id: &Id, until: OffsetDateTime) -> Result<()>;

    /// `retire(old, until)`, then `create(record)`.
    async fn replace(&self, old: &Id, until: OffsetDateTime, record: &mut Record) -> Result<()> {
        self.retire(old, until).await?;
        self.create(record).await
    }
}

const RETIRE: &str = "UPDATE tower_sessions SET expiry_date = $2 WHERE id = $1 AND expiry_date > $2";

/// One attempt at inserting `record` under its id, after `$retire` ran with the record's
/// binds followed by the retired id and its end: whether the id was free.
macro_rules! try_insert {
    ($pool:expr, $record:expr, $before:expr, $retired:expr) => {{
        let record: &Record = $record;
        let data = rmp_serde::to_vec(record).map_err(|e| Error::Encode(e.to_string()))?;
        let sql = format!(
            "{}INSERT INTO tower_sessions (id, data, expiry_date) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING",
            $before
        );
        let query = sqlx::query(&sql).bind(record.id.to_string()).bind(data).bind(record.expiry_date);
        let query = match $retired {
            Some((id, until)) => query.bind(id).bind(until),
            None => query,
        };
        query.execute($pool).await.map_err(backend)?.rows_affected() == 1
    }};
}

fn backend(e: sqlx::Error) -> Error {
    Error::Backend(e.to_string())
}

/// A `SessionRows` over the sqlx store `$inner` on a pool of type `$pool`.
macro_rules! session_rows {
    ($name:ident, $inner:ty, $pool:ty, { $($own:tt)* }) => {
        #[derive(Debug, Clone)]
        pub struct $name {
            pub inner: $inner,
            pub pool: $pool,
        }

        #[async_trait]
        impl SessionStore for $name {
            async fn create(&self, record: &mut Record) -> Result<()> {
                while !try_insert!(&self.pool, &*record, "", None::<(String, OffsetDateTime)>) {
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
        impl SessionRows for $name {
            async fn retire(&self, id: &Id, until: OffsetDateTime) -> Result<()> {
                sqlx::query(RETIRE).bind(id.to_string()).bind(until).execute(&self.pool).await.map_err(backend)?;
                Ok(())
            }

            $($own)*
        }
    };
}

session_rows!(PgSessions, tower_sessions_sqlx_store::PostgresStore, sqlx::PgPool, {
    /// Both in one statement: a renewal is one round trip, like the upsert it replaces.
    async fn replace(&self, old: &Id, until: OffsetDateTime, record: &mut Record) -> Result<()> {
        let retire = "WITH retired AS (UPDATE tower_sessions SET expiry_date = $5 WHERE id = $4 AND expiry_date > $5) ";
        if try_insert!(&self.pool, &*record, retire, Some((old.to_string(), until))) {
            return Ok(());
        }
        record.id = Id::default();
        self.create(record).await
    }
});
session_rows!(SqliteSessions, tower_sessions_sqlx_store::SqliteStore, sqlx::SqlitePool, {});
