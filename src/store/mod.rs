//! The one storage interface; `postgres` and `sqlite` implement it with the same behaviour.

mod postgres;
mod sqlite;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use time::{Date, OffsetDateTime};

use crate::domain::identifiers::{IdentificationMethod, Identifier};
use crate::domain::import_plan::{DisabledBy, ExistingPerson, ImportPlan};

pub use postgres::PgStore;
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

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::Tls(_) => {
                Self::Unavailable(e)
            }
            sqlx::Error::Database(db) => match db.constraint() {
                Some(name) => Self::Conflict(name.to_string()),
                // SQLite names no constraint, only the columns: "UNIQUE constraint failed: people.login".
                None if db.is_unique_violation() => Self::Conflict(sqlite_constraint_name(db.message())),
                None => Self::Other(e),
            },
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
    pub category: String,
    pub given_name: String,
    pub family_name: String,
    pub birth_date: Date,
    pub staff_number: Option<String>,
    pub student_number: Option<String>,
    pub ine: Option<String>,
    pub email: String,
    pub login: String,
    pub status: String,
    pub disabled_by: Option<String>,
}

impl PersonRecord {
    pub fn is_active(&self) -> bool {
        self.status == "active"
    }

    fn into_existing(self) -> ExistingPerson {
        ExistingPerson {
            disabled_by: self.disabled_by.as_deref().and_then(DisabledBy::from_db),
            uid: self.uid,
            category: self.category,
            given_name: self.given_name,
            family_name: self.family_name,
            birth_date: self.birth_date,
            staff_number: self.staff_number,
            student_number: self.student_number,
            ine: self.ine,
            email: self.email,
            login: self.login,
        }
    }
}

const PERSON_COLUMNS: &str = "id, uid, category, given_name, family_name, birth_date, staff_number, \
     student_number, ine, email, login, status, disabled_by";

/// The column an identification method looks in; never built from user input.
fn identifier_column(method: IdentificationMethod) -> &'static str {
    match method {
        IdentificationMethod::StaffNumber => "staff_number",
        IdentificationMethod::StudentNumber => "student_number",
        IdentificationMethod::Ine => "ine",
        IdentificationMethod::Uid => "uid",
    }
}

/// What an import wrote.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ImportWritten {
    pub upserted: usize,
    pub disabled: usize,
}

/// The audit line an import leaves.
fn import_detail(plan: &ImportPlan, disabled: usize) -> String {
    format!(
        "created={} updated={} unchanged={} reenabled={} disabled={} rejected={}",
        plan.created,
        plan.updated,
        plan.unchanged,
        plan.reenabled,
        disabled,
        plan.rejected.len()
    )
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// "postgres" or "sqlite", for logs and metrics.
    fn backend(&self) -> &'static str;

    /// Applies pending migrations.
    async fn migrate(&self) -> Result<()>;

    /// Answers when the database does.
    async fn ping(&self) -> Result<()>;

    /// Everyone known, as an import needs them to plan.
    async fn existing_people(&self) -> Result<Vec<ExistingPerson>>;

    /// Writes a plan in one transaction, with an audit event.
    async fn apply_import(&self, plan: &ImportPlan, at: OffsetDateTime) -> Result<ImportWritten>;

    async fn find_person(&self, identifier: &Identifier) -> Result<Option<PersonRecord>>;

    async fn count_people(&self) -> Result<i64>;
}

/// Opens the database named by the URL, failing fast when it does not answer.
pub async fn connect(url: &str) -> Result<Arc<dyn Store>> {
    let timeout = Duration::from_secs(5);
    if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::connect(url, timeout).await?))
    } else {
        Ok(Arc::new(PgStore::connect(url, timeout).await?))
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
