//! The embedded store, on one SQLite file: the demo's and a single machine's.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{QueryBuilder, Sqlite, SqlitePool};
use time::OffsetDateTime;

use super::{
    Activation, AuditEvent, ImportWritten, NewAccount, NewMail, OutboxMail, PERSON_COLUMNS, PersonRecord, Result,
    STALE_THROTTLE_SECS, Store, identifier_column, import_detail,
};
use crate::domain::identifiers::Identifier;
use crate::domain::import_plan::{ExistingPerson, ImportPlan};
use crate::domain::throttle::ThrottleRule;
use std::sync::Arc;
use tower_sessions::{ExpiredDeletion, SessionStore};
use tower_sessions_sqlx_store::SqliteStore as SqliteSessions;

/// SQLite allows 32,766 bound values per statement; twelve a row.
const IMPORT_CHUNK: usize = 2_500;

pub struct SqliteStore {
    pool: SqlitePool,
    sessions: SqliteSessions,
}

impl SqliteStore {
    pub async fn connect(url: &str, timeout: Duration) -> Result<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(timeout);
        let pool = SqlitePoolOptions::new().max_connections(8).acquire_timeout(timeout).connect_with(options).await?;
        let sessions = SqliteSessions::new(pool.clone())
            .with_table_name("tower_sessions")
            .map_err(|e| sqlx::Error::Configuration(e.into()))?;
        Ok(Self { pool, sessions })
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn migrate(&self) -> Result<()> {
        sqlx::migrate!("migrations/sqlite").run(&self.pool).await.map_err(sqlx::Error::from)?;
        Ok(self.sessions.migrate().await?)
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn existing_people(&self) -> Result<Vec<ExistingPerson>> {
        let rows: Vec<PersonRecord> =
            sqlx::query_as(&format!("SELECT {PERSON_COLUMNS} FROM people")).fetch_all(&self.pool).await?;
        Ok(rows.into_iter().map(PersonRecord::into_existing).collect())
    }

    async fn apply_import(&self, plan: &ImportPlan, at: OffsetDateTime) -> Result<ImportWritten> {
        let mut tx = self.pool.begin().await?;
        for chunk in plan.upserts.chunks(IMPORT_CHUNK) {
            let mut query: QueryBuilder<Sqlite> = QueryBuilder::new(
                "INSERT INTO people (uid, category, given_name, family_name, birth_date, staff_number, \
                 student_number, ine, email, login, status, created_at, updated_at) ",
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
                    .push("'active'")
                    .push_bind(at)
                    .push_bind(at);
            });
            query.push(
                " ON CONFLICT (uid) DO UPDATE SET category = excluded.category, \
                 given_name = excluded.given_name, family_name = excluded.family_name, \
                 birth_date = excluded.birth_date, staff_number = excluded.staff_number, \
                 student_number = excluded.student_number, ine = excluded.ine, email = excluded.email, \
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
        sqlx::query("INSERT INTO audit_events (at, kind, actor, detail) VALUES (?, 'import', 'cli', ?)")
            .bind(at)
            .bind(import_detail(plan, disabled))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(ImportWritten { upserted: plan.upserts.len(), disabled })
    }

    async fn find_person(&self, identifier: &Identifier) -> Result<Option<PersonRecord>> {
        let column = identifier_column(identifier.method());
        Ok(sqlx::query_as(&format!("SELECT {PERSON_COLUMNS} FROM people WHERE {column} = ?"))
            .bind(identifier.as_str())
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn count_people(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM people").fetch_one(&self.pool).await?)
    }

    async fn has_account(&self, person_id: i64) -> Result<bool> {
        Ok(sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM accounts WHERE person_id = ?1)")
            .bind(person_id)
            .fetch_one(&self.pool)
            .await?)
    }

    async fn password_history(&self, person_id: i64, depth: usize) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar("SELECT hash FROM password_history WHERE person_id = ?1 ORDER BY id DESC LIMIT ?2")
            .bind(person_id)
            .bind(depth as i64)
            .fetch_all(&self.pool)
            .await?)
    }

    async fn activate(
        &self,
        a: &NewAccount,
        history_depth: usize,
        audit: &AuditEvent,
        mail: &NewMail,
    ) -> Result<Activation> {
        let mut tx = self.pool.begin().await?;
        // Written first, so that of two sessions finishing at once the second waits on the
        // key and then inserts nothing; only an active person gets an account.
        let inserted = sqlx::query(
            "INSERT INTO accounts (person_id, password_hash, question_id, custom_question, answer_hash, \
                 sms_consent, phone, sms_consent_at, photo_consent, photo_consent_at, directory_visible, \
                 rules_version, rules_accepted_at, activated_at, password_changed_at) \
             SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 1, ?11, ?12, ?12, ?12 \
             WHERE EXISTS (SELECT 1 FROM people WHERE id = ?1 AND status = 'active') \
             ON CONFLICT (person_id) DO NOTHING",
        )
        .bind(a.person_id)
        .bind(&a.password_hash)
        .bind(&a.question_id)
        .bind(&a.custom_question)
        .bind(&a.answer_hash)
        .bind(a.phone.is_some())
        .bind(&a.phone)
        .bind(a.sms_consent_at)
        .bind(a.photo_consent)
        .bind(a.photo_consent_at)
        .bind(&a.rules_version)
        .bind(a.at)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            tx.rollback().await?;
            let active = self.has_account(a.person_id).await?;
            return Ok(if active { Activation::AlreadyActive } else { Activation::Disabled });
        }
        sqlx::query("INSERT INTO password_history (person_id, hash, created_at) VALUES (?1, ?2, ?3)")
            .bind(a.person_id)
            .bind(&a.password_hash)
            .bind(a.at)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "DELETE FROM password_history WHERE person_id = ?1 AND id NOT IN \
             (SELECT id FROM password_history WHERE person_id = ?1 ORDER BY id DESC LIMIT ?2)",
        )
        .bind(a.person_id)
        .bind(history_depth as i64)
        .execute(&mut *tx)
        .await?;
        insert_audit(&mut tx, audit).await?;
        sqlx::query(
            "INSERT INTO mail_outbox (created_at, kind, recipient, subject, body_text, next_attempt_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .bind(a.at)
        .bind(mail.kind)
        .bind(&mail.recipient)
        .bind(&mail.subject)
        .bind(&mail.body_text)
        .bind(a.at.unix_timestamp())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Activation::Activated)
    }

    async fn audit(&self, event: &AuditEvent) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        insert_audit(&mut tx, event).await?;
        Ok(tx.commit().await?)
    }

    async fn throttle_locked_until(&self, key: &str, now: i64) -> Result<Option<i64>> {
        Ok(sqlx::query_scalar("SELECT locked_until FROM throttle WHERE key = ?1 AND locked_until > ?2")
            .bind(key)
            .bind(now)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn throttle_failure(&self, key: &str, now: i64, rule: &ThrottleRule) -> Result<Option<i64>> {
        // One statement, so that instances counting at once never lose a failure.
        let locked: Option<i64> = sqlx::query_scalar(
            "INSERT INTO throttle AS t (key, failures, window_start, locked_until) \
             VALUES (?1, 1, ?2, CASE WHEN ?3 <= 1 THEN ?2 + ?5 END) \
             ON CONFLICT (key) DO UPDATE SET \
               failures = CASE WHEN t.window_start <= ?2 - ?4 THEN 1 ELSE t.failures + 1 END, \
               window_start = CASE WHEN t.window_start <= ?2 - ?4 THEN ?2 ELSE t.window_start END, \
               locked_until = CASE \
                 WHEN t.locked_until > ?2 THEN t.locked_until \
                 WHEN (CASE WHEN t.window_start <= ?2 - ?4 THEN 1 ELSE t.failures + 1 END) >= ?3 THEN ?2 + ?5 \
                 ELSE NULL END \
             RETURNING locked_until",
        )
        .bind(key)
        .bind(now)
        .bind(rule.limit as i32)
        .bind(rule.window_secs)
        .bind(rule.lock_secs)
        .fetch_one(&self.pool)
        .await?;
        Ok(locked.filter(|until| *until > now))
    }

    async fn throttle_clear(&self, key: &str) -> Result<()> {
        sqlx::query("DELETE FROM throttle WHERE key = ?1").bind(key).execute(&self.pool).await?;
        Ok(())
    }

    async fn claim_mail(&self, now: i64, lease_secs: i64, limit: i64) -> Result<Vec<OutboxMail>> {
        Ok(sqlx::query_as(
            "UPDATE mail_outbox SET next_attempt_at = ?2, attempts = attempts + 1 \
             WHERE id IN (SELECT id FROM mail_outbox WHERE sent_at IS NULL AND next_attempt_at <= ?1 \
                          ORDER BY id LIMIT ?3) \
             RETURNING id, recipient, subject, body_text, attempts",
        )
        .bind(now)
        .bind(now + lease_secs)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn mail_sent(&self, id: i64, at: OffsetDateTime) -> Result<()> {
        sqlx::query("UPDATE mail_outbox SET sent_at = ?2, last_error = NULL WHERE id = ?1")
            .bind(id)
            .bind(at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn mail_failed(&self, id: i64, error: &str, retry_at: i64) -> Result<()> {
        sqlx::query("UPDATE mail_outbox SET last_error = ?2, next_attempt_at = ?3 WHERE id = ?1")
            .bind(id)
            .bind(error)
            .bind(retry_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn mail_backlog(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM mail_outbox WHERE sent_at IS NULL").fetch_one(&self.pool).await?)
    }

    fn sessions(&self) -> Arc<dyn SessionStore> {
        Arc::new(self.sessions.clone())
    }

    async fn delete_expired(&self, now: i64) -> Result<()> {
        self.sessions.delete_expired().await.map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
        sqlx::query("DELETE FROM throttle WHERE window_start < ?1 AND (locked_until IS NULL OR locked_until < ?2)")
            .bind(now - STALE_THROTTLE_SECS)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

async fn insert_audit(tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>, e: &AuditEvent) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit_events (at, person_id, kind, actor, client_addr, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .bind(e.at)
    .bind(e.person_id)
    .bind(e.kind)
    .bind(&e.actor)
    .bind(&e.client_addr)
    .bind(&e.detail)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
