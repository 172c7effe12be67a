//! Session rows in the application's database: tower-sessions-sqlx-store's table, reads and
//! expiry, with two writes of our own. Its `create` takes a transaction, a probe and an upsert
//! (four round trips); here it is one `INSERT … ON CONFLICT DO NOTHING`, retried on the
//! (2⁻¹²⁸) chance of a taken id. And a session given a new id keeps its old one for a short
//! grace instead of losing it at once (see `web::session`).

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
}

fn backend(e: sqlx::Error) -> Error {
    Error::Backend(e.to_string())
}

/// A `SessionRows` over the sqlx store `$inner` on a pool of type `$pool`.
macro_rules! session_rows {
    ($name:ident, $inner:ty, $pool:ty) => {
        #[derive(Debug, Clone)]
        pub struct $name {
            pub inner: $inner,
            pub pool: $pool,
        }

        #[async_trait]
        impl SessionStore for $name {
            async fn create(&self, record: &mut Record) -> Result<()> {
                loop {
                    let data = rmp_serde::to_vec(&*record).map_err(|e| Error::Encode(e.to_string()))?;
                    let inserted = sqlx::query(
                        "INSERT INTO tower_sessions (id, data, expiry_date) VALUES ($1, $2, $3) \
                         ON CONFLICT (id) DO NOTHING",
                    )
                    .bind(record.id.to_string())
                    .bind(data)
                    .bind(record.expiry_date)
                    .execute(&self.pool)
                    .await
                    .map_err(backend)?
                    .rows_affected();
                    if inserted == 1 {
                        return Ok(());
                    }
                    record.id = Id::default();
                }
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
                sqlx::query("UPDATE tower_sessions SET expiry_date = $2 WHERE id = $1 AND expiry_date > $2")
                    .bind(id.to_string())
                    .bind(until)
                    .execute(&self.pool)
                    .await
                    .map_err(backend)?;
                Ok(())
            }
        }
    };
}

session_rows!(PgSessions, tower_sessions_sqlx_store::PostgresStore, sqlx::PgPool);
session_rows!(SqliteSessions, tower_sessions_sqlx_store::SqliteStore, sqlx::SqlitePool);
