//! The production store, on PostgreSQL.

use std::time::Duration;

use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool};
use time::OffsetDateTime;

use super::{
    AccountRecord, Activation, ActivationStats, AuditEvent, AuditLine, AuditQuery, ImportWritten, NewAccount, NewMail,
    OutboxMail, PERSON_COLUMNS, PersonRecord, Preferences, Result, STALE_THROTTLE_SECS, Store, identifier_column,
    import_detail,
};
use crate::domain::identifiers::Identifier;
use crate::domain::import_plan::{ExistingPerson, ImportPlan, PersonUpsert};
use crate::domain::throttle::ThrottleRule;
use std::sync::Arc;
use tower_sessions::{ExpiredDeletion, SessionStore};
use tower_sessions_sqlx_store::PostgresStore;

/// uids per disabling UPDATE: a handful of round trips for 100,000 people.
const IMPORT_CHUNK: usize = 10_000;

/// People sent to COPY at a time (about a megabyte).
const COPY_ROWS: usize = 8_192;

/// Appends a value in COPY's text format: `\N` for NULL, and the backslash, tab, newline and
/// carriage return escaped.
fn copy_value(rows: &mut String, value: Option<&str>) {
    let Some(value) = value else {
        rows.push_str("\\N");
        return;
    };
    for c in value.chars() {
        match c {
            '\\' => rows.push_str("\\\\"),
            '\t' => rows.push_str("\\t"),
            '\n' => rows.push_str("\\n"),
            '\r' => rows.push_str("\\r"),
            c => rows.push(c),
        }
    }
}

/// The people to upsert as COPY's text format, in `import_people`'s column order.
fn copy_rows(people: &[PersonUpsert]) -> impl Iterator<Item = String> + '_ {
    people.chunks(COPY_ROWS).map(|chunk| {
        let mut rows = String::with_capacity(chunk.len() * 128);
        for p in chunk {
            let birth_date = p.birth_date.to_string();
            for (i, value) in [
                Some(p.uid.as_str()),
                Some(&p.category),
                Some(&p.given_name),
                Some(&p.family_name),
                Some(&birth_date),
                p.staff_number.as_deref(),
                p.student_number.as_deref(),
                p.ine.as_deref(),
                Some(&p.email),
                Some(&p.login),
            ]
            .into_iter()
            .enumerate()
            {
                if i > 0 {
                    rows.push('\t');
                }
                copy_value(&mut rows, value);
            }
            rows.push('\n');
        }
        rows
    })
}

pub struct PgStore {
    pool: PgPool,
    sessions: PostgresStore,
}

impl PgStore {
    pub async fn connect(url: &str, timeout: Duration) -> Result<Self> {
        let options = PgConnectOptions::from_str(url)?;
        // One direct connection first, so that a refused connection, a wrong password or a
        // missing database is reported as such at once, not as a pool time-out.
        match tokio::time::timeout(timeout, PgConnection::connect_with(&options)).await {
            Ok(conn) => conn?.close().await?,
            Err(_) => return Err(sqlx::Error::PoolTimedOut.into()),
        }
        let pool = PgPoolOptions::new().max_connections(16).acquire_timeout(timeout).connect_lazy_with(options);
        // Sessions live beside our tables, in whatever schema the connection uses.
        let schema: String = sqlx::query_scalar("SELECT current_schema()").fetch_one(&pool).await?;
        let sessions = PostgresStore::new(pool.clone())
            .with_schema_name(&schema)
            .and_then(|s| s.with_table_name("tower_sessions"))
            .map_err(|e| sqlx::Error::Configuration(e.into()))?;
        Ok(Self { pool, sessions })
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

/// `column` at or after the time bound as `param`: PostgreSQL compares timestamps as such.
fn not_before(column: &str, param: &str) -> String {
    format!("{column} >= {param}")
}

/// Other instances' workers skip the mails this one claimed instead of waiting for them.
const CLAIM_LOCK: &str = "FOR UPDATE SKIP LOCKED";

impl_store!(PgStore, {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn migrate(&self) -> Result<()> {
        sqlx::migrate!("migrations/postgres").run(&self.pool).await.map_err(sqlx::Error::from)?;
        Ok(self.sessions.migrate().await?)
    }

    async fn apply_import(&self, plan: &ImportPlan, at: OffsetDateTime) -> Result<ImportWritten> {
        let mut tx = self.pool.begin().await?;
        if !plan.upserts.is_empty() {
            // COPY into a table of this transaction, then one upsert from it: the rows travel
            // in COPY's compact stream instead of bound arrays, and the indexes are updated once.
            sqlx::query(
                "CREATE TEMPORARY TABLE import_people (uid text, category text, given_name text, \
                     family_name text, birth_date date, staff_number text, student_number text, ine text, \
                     email text, login text) ON COMMIT DROP",
            )
            .execute(&mut *tx)
            .await?;
            let mut copy = tx.copy_in_raw("COPY import_people FROM STDIN").await?;
            for rows in copy_rows(&plan.upserts) {
                copy.send(rows.into_bytes()).await?;
            }
            copy.finish().await?;
            sqlx::query(
                "INSERT INTO people (uid, category, given_name, family_name, birth_date, staff_number, \
                     student_number, ine, email, login, status, created_at, updated_at) \
                 SELECT u.*, 'active', $1, $1 FROM import_people AS u \
                 ON CONFLICT (uid) DO UPDATE SET category = EXCLUDED.category, \
                     given_name = EXCLUDED.given_name, family_name = EXCLUDED.family_name, \
                     birth_date = EXCLUDED.birth_date, staff_number = EXCLUDED.staff_number, \
                     student_number = EXCLUDED.student_number, ine = EXCLUDED.ine, email = EXCLUDED.email, \
                     status = CASE WHEN people.disabled_by = 'import' THEN 'active' ELSE people.status END, \
                     disabled_by = CASE WHEN people.disabled_by = 'import' THEN NULL ELSE people.disabled_by END, \
                     updated_at = EXCLUDED.updated_at",
            )
            .bind(at)
            .execute(&mut *tx)
            .await?;
        }
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
        sqlx::query("INSERT INTO audit_events (at, kind, actor, detail) VALUES ($1, 'import', 'cli', $2)")
            .bind(at)
            .bind(import_detail(plan, disabled))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(ImportWritten { upserted: plan.upserts.len(), disabled })
    }
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_text_escapes_what_would_end_a_field_or_a_row() {
        let mut rows = String::new();
        copy_value(&mut rows, Some("a\tb\\c\nd\re"));
        rows.push('\t');
        copy_value(&mut rows, None);
        assert_eq!(rows, "a\\tb\\\\c\\nd\\re\t\\N");
    }

    #[test]
    fn copy_rows_follow_the_temporary_table_columns() {
        let p = PersonUpsert {
            uid: "u1".into(),
            category: "staff".into(),
            given_name: "Zoé".into(),
            family_name: "N'Diaye".into(),
            birth_date: time::macros::date!(1985 - 03 - 07),
            staff_number: Some("S1".into()),
            student_number: None,
            ine: None,
            email: "zoe.ndiaye@example.edu".into(),
            login: "zoe.ndiaye".into(),
        };
        let rows: Vec<String> = copy_rows(&[p.clone(), p]).collect();
        let row = "u1\tstaff\tZoé\tN'Diaye\t1985-03-07\tS1\t\\N\t\\N\tzoe.ndiaye@example.edu\tzoe.ndiaye\n";
        assert_eq!(rows, vec![format!("{row}{row}")]);
    }
}
