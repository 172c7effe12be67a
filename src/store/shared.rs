//! The `Store` methods whose SQL is the same on PostgreSQL and SQLite (sqlx binds `$N` on SQLite
//! too), written once. `postgres.rs` and `sqlite.rs` each include this file as their module
//! `shared`, so that it is compiled once per database with plain types: there `Backend` is the
//! store, `Db` its database, `not_before` the one comparison of times the two databases write
//! differently and `CLAIM_LOCK` how the outbox claims lock rows. What the databases do each their
//! own way is forwarded to the backend's `…_here` methods.

use std::sync::Arc;

use async_trait::async_trait;
use sqlx::{Database, Executor, FromRow, Pool, Row};
use time::OffsetDateTime;
use tokio::sync::Notify;
use tower_sessions::ExpiredDeletion;

use super::{Backend, CLAIM_LOCK, Db, not_before};
use crate::domain::directory::Pending;
use crate::domain::identifiers::Identifier;
use crate::domain::import_plan::{ExistingPerson, ImportPlan};
use crate::domain::throttle::ThrottleRule;
use crate::store::directory::{DIRECTORY_JOB, ENQUEUE_DIRECTORY};
use crate::store::sessions::SessionRows;
use crate::store::{
    AUDIT_INSERT, AccountRecord, Activation, ActivationStats, AuditEvent, AuditLine, AuditQuery, DirectoryBacklog,
    DirectoryJob, DirectoryLine, ImportLock, ImportWritten, Lookup, MAIL_INSERT, NewAccount, NewMail, OutboxMail,
    PERSON_COLUMNS, PersonRecord, Preferences, Result, STALE_THROTTLE_SECS, Store, identifier_column,
};

/// A connection of this database, as a transaction derefs to.
pub(super) type Connection = <Db as Database>::Connection;

/// A statement with its binds, not yet run.
pub(super) type Query<'q> = sqlx::query::Query<'q, Db, <Db as Database>::Arguments<'q>>;

/// Inserts one audit event with the given executor.
pub(super) async fn insert_audit<'e>(executor: impl Executor<'e, Database = Db>, e: &AuditEvent) -> Result<()> {
    sqlx::query(&format!("{AUDIT_INSERT} VALUES ($1, $2, $3, $4, $5, $6)"))
        .bind(e.at)
        .bind(e.person_id)
        .bind(e.kind)
        .bind(&e.actor)
        .bind(&e.client_addr)
        .bind(&e.detail)
        .execute(executor)
        .await?;
    Ok(())
}

/// Queues one mail in the outbox, in the caller's transaction.
pub(super) async fn insert_mail(conn: &mut Connection, mail: &NewMail, at: OffsetDateTime) -> Result<()> {
    sqlx::query(&format!("{MAIL_INSERT} VALUES ($1, $2, $3, $4, $5, $6, $7)"))
        .bind(at)
        .bind(mail.kind)
        .bind(&mail.recipient)
        .bind(&mail.subject)
        .bind(&mail.body_text)
        .bind(at.unix_timestamp())
        .bind(uuid::Uuid::new_v4().to_string())
        .execute(conn)
        .await?;
    Ok(())
}

/// Binds a `NewAccount` as `INSERT_ACCOUNT` numbers it, `$1` to `$12`.
pub(super) fn bind_account<'q>(query: Query<'q>, a: &'q NewAccount) -> Query<'q> {
    query
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
}

/// Appends a hash to a person's password history and keeps only the newest `depth`.
pub(super) async fn push_history(
    conn: &mut Connection,
    person_id: i64,
    hash: &str,
    depth: usize,
    at: OffsetDateTime,
) -> Result<()> {
    sqlx::query("INSERT INTO password_history (person_id, hash, created_at) VALUES ($1, $2, $3)")
        .bind(person_id)
        .bind(hash)
        .bind(at)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "DELETE FROM password_history WHERE person_id = $1 AND id NOT IN \
         (SELECT id FROM password_history WHERE person_id = $1 ORDER BY id DESC LIMIT $2)",
    )
    .bind(person_id)
    .bind(depth as i64)
    .execute(conn)
    .await?;
    Ok(())
}

impl Backend {
    /// Queues password, visibility and removal changes for the directory, ringing `wake`.
    pub fn with_directory(self, wake: Option<Arc<Notify>>) -> Self {
        Self { directory: wake, ..self }
    }

    pub fn pool(&self) -> &Pool<Db> {
        &self.pool
    }

    /// Queues a directory change in the caller's transaction when the store has a directory.
    pub(super) async fn enqueue_directory(
        &self,
        conn: &mut Connection,
        person_id: i64,
        pending: Pending,
        nt_sealed: Option<&[u8]>,
        at: OffsetDateTime,
    ) -> Result<()> {
        if self.directory.is_some() {
            sqlx::query(ENQUEUE_DIRECTORY)
                .bind(person_id)
                .bind(pending.password)
                .bind(pending.visibility)
                .bind(pending.remove_password)
                .bind(nt_sealed)
                .bind(at)
                .bind(at.unix_timestamp())
                .execute(conn)
                .await?;
        }
        Ok(())
    }

    /// Rings the directory worker after a commit that queued a change.
    pub(super) fn wake_directory(&self) {
        if let Some(wake) = &self.directory {
            wake.notify_one();
        }
    }

    /// Runs one statement and, when it changed a row, its audit event and the removal of the
    /// person's directory passwords, in one transaction; `Ok(false)` and nothing written when no
    /// row changed.
    async fn audited_removal(&self, person_id: i64, statement: Query<'_>, audit: &AuditEvent) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        if statement.execute(&mut *tx).await?.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        insert_audit(&mut *tx, audit).await?;
        self.enqueue_directory(&mut tx, person_id, Pending::REMOVE, None, audit.at).await?;
        tx.commit().await?;
        self.wake_directory();
        Ok(true)
    }
}

#[async_trait]
impl Store for Backend {
    async fn ping(&self) -> Result<()> {
        self.ping_here().await
    }

    async fn activate(
        &self,
        a: &NewAccount,
        history_depth: usize,
        audit: &AuditEvent,
        mail: &NewMail,
    ) -> Result<Activation> {
        self.activate_here(a, history_depth, audit, mail).await
    }

    fn backend(&self) -> &'static str {
        super::BACKEND
    }

    async fn migrate(&self) -> Result<()> {
        self.migrate_here().await
    }

    async fn apply_import(&self, plan: &ImportPlan, at: OffsetDateTime) -> Result<ImportWritten> {
        self.apply_import_here(plan, at).await
    }

    async fn import_lock(&self) -> Result<Option<ImportLock>> {
        self.import_lock_here().await
    }

    async fn existing_people(&self) -> Result<Vec<ExistingPerson>> {
        let rows: Vec<PersonRecord> =
            sqlx::query_as(&format!("SELECT {PERSON_COLUMNS} FROM people")).fetch_all(&self.pool).await?;
        Ok(rows.into_iter().map(PersonRecord::into_existing).collect())
    }

    async fn find_person(&self, identifier: &Identifier) -> Result<Option<PersonRecord>> {
        let column = identifier_column(identifier.method());
        Ok(sqlx::query_as(&format!("SELECT {PERSON_COLUMNS} FROM people WHERE {column} = $1"))
            .bind(identifier.as_str())
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn identification(&self, identifier: &Identifier, keys: [&str; 2], now: i64) -> Result<Lookup> {
        let column = identifier_column(identifier.method());
        // One row whether or not the person exists, so that both cost the same.
        let row = sqlx::query(&format!(
            "SELECT p.*, EXISTS (SELECT 1 FROM accounts a WHERE a.person_id = p.id) AS has_account, \
               (SELECT MAX(locked_until) FROM throttle WHERE key IN ($2, $3) AND locked_until > $4) AS locked_until, \
               EXISTS (SELECT 1 FROM throttle WHERE key = $3) AS failures_counted \
             FROM (SELECT 1 AS one) AS one LEFT JOIN (SELECT {PERSON_COLUMNS} FROM people WHERE {column} = $1) AS p ON TRUE"
        ))
        .bind(identifier.as_str())
        .bind(keys[0])
        .bind(keys[1])
        .bind(now)
        .fetch_one(&self.pool)
        .await?;
        let person = match row.try_get::<Option<i64>, _>("id")? {
            Some(_) => Some(PersonRecord::from_row(&row)?),
            None => None,
        };
        Ok(Lookup {
            person,
            has_account: row.try_get("has_account")?,
            locked_until: row.try_get("locked_until")?,
            failures_counted: row.try_get("failures_counted")?,
        })
    }

    async fn count_people(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM people").fetch_one(&self.pool).await?)
    }

    async fn has_account(&self, person_id: i64) -> Result<bool> {
        Ok(sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM accounts WHERE person_id = $1)")
            .bind(person_id)
            .fetch_one(&self.pool)
            .await?)
    }

    async fn password_history(&self, person_id: i64, depth: usize) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar("SELECT hash FROM password_history WHERE person_id = $1 ORDER BY id DESC LIMIT $2")
            .bind(person_id)
            .bind(depth as i64)
            .fetch_all(&self.pool)
            .await?)
    }

    async fn person(&self, id: i64) -> Result<Option<PersonRecord>> {
        Ok(sqlx::query_as(&format!("SELECT {PERSON_COLUMNS} FROM people WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn find_by_login(&self, login_or_email: &str) -> Result<Option<PersonRecord>> {
        let wanted = login_or_email.trim().to_lowercase();
        Ok(sqlx::query_as(&format!(
            "SELECT {PERSON_COLUMNS} FROM people WHERE login = $1 OR lower(email) = $1 ORDER BY login = $1 DESC LIMIT 1"
        ))
        .bind(wanted)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn account(&self, person_id: i64) -> Result<Option<AccountRecord>> {
        Ok(sqlx::query_as(
            "SELECT person_id, password_hash, question_id, custom_question, answer_hash, sms_consent, phone, \
                    sms_consent_at, photo_consent, photo_consent_at, directory_visible, activated_at, \
                    password_changed_at \
             FROM accounts WHERE person_id = $1",
        )
        .bind(person_id)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn disable_person(&self, person_id: i64, audit: &AuditEvent) -> Result<bool> {
        let disable = sqlx::query(
            "UPDATE people SET status = 'disabled', disabled_by = 'helpdesk', updated_at = $2 \
             WHERE id = $1 AND COALESCE(disabled_by, '') <> 'helpdesk'",
        )
        .bind(person_id)
        .bind(audit.at);
        self.audited_removal(person_id, disable, audit).await
    }

    async fn reset_account(&self, person_id: i64, audit: &AuditEvent) -> Result<bool> {
        let delete = sqlx::query("DELETE FROM accounts WHERE person_id = $1").bind(person_id);
        self.audited_removal(person_id, delete, audit).await
    }

    async fn activation_stats(&self, since: OffsetDateTime) -> Result<ActivationStats> {
        let by_category = sqlx::query_as(
            "SELECT p.category, COUNT(*) AS people, COUNT(a.person_id) AS activated \
             FROM people p LEFT JOIN accounts a ON a.person_id = p.id GROUP BY p.category ORDER BY p.category",
        )
        .fetch_all(&self.pool)
        .await?;
        let activated_since = sqlx::query_scalar(&format!(
            "SELECT activated_at FROM accounts WHERE {} ORDER BY activated_at",
            not_before("activated_at", "$1")
        ))
        .bind(since)
        .fetch_all(&self.pool)
        .await?;
        Ok(ActivationStats { by_category, activated_since })
    }

    async fn audit_trail(&self, q: &AuditQuery) -> Result<Vec<AuditLine>> {
        // Only the filters given, so that each combination gets a plan that uses its index
        // (PostgreSQL's connections keep one generic plan per statement). $1 is the limit; each
        // filter takes the next number.
        let mut filters = vec!["TRUE".to_string()];
        if q.person_id.is_some() {
            filters.push(format!("e.person_id = ${}", filters.len() + 1));
        }
        if q.since.is_some() {
            filters.push(not_before("e.at", &format!("${}", filters.len() + 1)));
        }
        let sql = format!(
            "SELECT e.id, e.at, e.kind, e.actor, p.login, e.client_addr, e.detail \
             FROM audit_events e LEFT JOIN people p ON p.id = e.person_id \
             WHERE {} ORDER BY e.id DESC LIMIT $1",
            filters.join(" AND ")
        );
        let mut query = sqlx::query_as(&sql).bind(q.limit);
        if let Some(person_id) = q.person_id {
            query = query.bind(person_id);
        }
        if let Some(since) = q.since {
            query = query.bind(since);
        }
        Ok(query.fetch_all(&self.pool).await?)
    }

    async fn change_password(
        &self,
        person_id: i64,
        hash: &str,
        nt_sealed: Option<&[u8]>,
        history_depth: usize,
        audit: &AuditEvent,
        mail: Option<&NewMail>,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE accounts SET password_hash = $2, password_changed_at = $3 WHERE person_id = $1")
            .bind(person_id)
            .bind(hash)
            .bind(audit.at)
            .execute(&mut *tx)
            .await?;
        push_history(&mut tx, person_id, hash, history_depth, audit.at).await?;
        insert_audit(&mut *tx, audit).await?;
        if let Some(mail) = mail {
            insert_mail(&mut tx, mail, audit.at).await?;
        }
        self.enqueue_directory(&mut tx, person_id, Pending::PASSWORD, nt_sealed, audit.at).await?;
        tx.commit().await?;
        self.wake_directory();
        Ok(())
    }

    async fn rehash_password(&self, person_id: i64, old_hash: &str, new_hash: &str) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        for statement in [
            "UPDATE accounts SET password_hash = $3 WHERE person_id = $1 AND password_hash = $2",
            "UPDATE password_history SET hash = $3 WHERE person_id = $1 AND hash = $2",
        ] {
            sqlx::query(statement).bind(person_id).bind(old_hash).bind(new_hash).execute(&mut *tx).await?;
        }
        Ok(tx.commit().await?)
    }

    async fn change_question(
        &self,
        person_id: i64,
        question_id: &str,
        custom_question: Option<&str>,
        answer_hash: &str,
        audit: &AuditEvent,
        mail: &NewMail,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE accounts SET question_id = $2, custom_question = $3, answer_hash = $4 WHERE person_id = $1",
        )
        .bind(person_id)
        .bind(question_id)
        .bind(custom_question)
        .bind(answer_hash)
        .execute(&mut *tx)
        .await?;
        insert_audit(&mut *tx, audit).await?;
        insert_mail(&mut tx, mail, audit.at).await?;
        Ok(tx.commit().await?)
    }

    async fn update_preferences(
        &self,
        person_id: i64,
        p: &Preferences,
        audit: &AuditEvent,
        mail: &NewMail,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        if self.directory.is_some() {
            let visible: Option<bool> =
                sqlx::query_scalar("SELECT directory_visible FROM accounts WHERE person_id = $1")
                    .bind(person_id)
                    .fetch_optional(&mut *tx)
                    .await?;
            if visible.is_some_and(|v| v != p.directory_visible) {
                self.enqueue_directory(&mut tx, person_id, Pending::VISIBILITY, None, audit.at).await?;
            }
        }
        sqlx::query(
            "UPDATE accounts SET sms_consent = $2, phone = $3, sms_consent_at = $4, photo_consent = $5, \
                 photo_consent_at = $6, directory_visible = $7 WHERE person_id = $1",
        )
        .bind(person_id)
        .bind(p.phone.is_some())
        .bind(&p.phone)
        .bind(p.sms_consent_at)
        .bind(p.photo_consent)
        .bind(p.photo_consent_at)
        .bind(p.directory_visible)
        .execute(&mut *tx)
        .await?;
        insert_audit(&mut *tx, audit).await?;
        insert_mail(&mut tx, mail, audit.at).await?;
        tx.commit().await?;
        self.wake_directory();
        Ok(())
    }

    async fn audit(&self, event: &AuditEvent) -> Result<()> {
        insert_audit(&self.pool, event).await
    }

    async fn throttle_locked_until(&self, key: &str, now: i64) -> Result<Option<i64>> {
        Ok(sqlx::query_scalar("SELECT locked_until FROM throttle WHERE key = $1 AND locked_until > $2")
            .bind(key)
            .bind(now)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn throttle_failure(&self, key: &str, now: i64, rule: &ThrottleRule) -> Result<Option<i64>> {
        // One statement, so that instances counting at once never lose a failure.
        let (failures, locked): (i32, Option<i64>) = sqlx::query_as(
            "INSERT INTO throttle AS t (key, failures, window_start, locked_until) \
             VALUES ($1, 1, $2, CASE WHEN $3 <= 1 THEN $2 + $5 END) \
             ON CONFLICT (key) DO UPDATE SET \
               failures = CASE WHEN t.window_start <= $2 - $4 THEN 1 ELSE t.failures + 1 END, \
               window_start = CASE WHEN t.window_start <= $2 - $4 THEN $2 ELSE t.window_start END, \
               locked_until = CASE \
                 WHEN t.locked_until > $2 THEN t.locked_until \
                 WHEN (CASE WHEN t.window_start <= $2 - $4 THEN 1 ELSE t.failures + 1 END) >= $3 THEN $2 + $5 \
                 ELSE NULL END \
             RETURNING failures, locked_until",
        )
        .bind(key)
        .bind(now)
        .bind(rule.limit as i32)
        .bind(rule.window_secs)
        .bind(rule.lock_secs)
        .fetch_one(&self.pool)
        .await?;
        // Growing waits: the statement set the first one; later failures lengthen it.
        let wait = rule.lock_for(failures.max(0) as u32).filter(|w| *w > rule.lock_secs);
        if let Some(wait) = wait {
            sqlx::query("UPDATE throttle SET locked_until = $2 WHERE key = $1")
                .bind(key)
                .bind(now + wait)
                .execute(&self.pool)
                .await?;
            return Ok(Some(now + wait));
        }
        Ok(locked.filter(|until| *until > now))
    }

    async fn throttle_clear(&self, key: &str) -> Result<()> {
        sqlx::query("DELETE FROM throttle WHERE key = $1").bind(key).execute(&self.pool).await?;
        Ok(())
    }

    async fn lift_locks(&self, keys: &[String], audit: &AuditEvent) -> Result<u64> {
        let mut tx = self.pool.begin().await?;
        let mut cleared = 0;
        for key in keys {
            let deleted = sqlx::query("DELETE FROM throttle WHERE key = $1").bind(key).execute(&mut *tx).await?;
            cleared += deleted.rows_affected();
        }
        insert_audit(&mut *tx, audit).await?;
        tx.commit().await?;
        Ok(cleared)
    }

    async fn claim_mail(&self, now: i64, lease_secs: i64) -> Result<Option<OutboxMail>> {
        // One at a time: a mail waits in no claimed batch while others are sent, so its lease
        // only has to outlast one send (bounded by the SMTP time-out).
        Ok(sqlx::query_as(&format!(
            "UPDATE mail_outbox SET next_attempt_at = $2, attempts = attempts + 1 \
             WHERE id = (SELECT id FROM mail_outbox WHERE sent_at IS NULL AND next_attempt_at <= $1 \
                         ORDER BY id LIMIT 1 {CLAIM_LOCK}) \
             RETURNING id, recipient, subject, body_text, attempts, COALESCE(message_id, 'outbox-' || id) AS message_id, \
               body_sealed"
        ))
        .bind(now)
        .bind(now + lease_secs)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn mail_sent(&self, id: i64, at: OffsetDateTime) -> Result<()> {
        outbox_sent(&self.pool, "mail_outbox", id, at).await
    }

    async fn mail_failed(&self, id: i64, error: &str, retry_at: i64) -> Result<()> {
        outbox_failed(&self.pool, "mail_outbox", id, error, retry_at).await
    }

    async fn mail_backlog(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM mail_outbox WHERE sent_at IS NULL AND next_attempt_at < $1")
            .bind(crate::outbox::DROPPED)
            .fetch_one(&self.pool)
            .await?)
    }

    fn sessions(&self) -> Arc<dyn SessionRows> {
        Arc::new(self.sessions.clone())
    }

    fn directory_wake(&self) -> Option<Arc<Notify>> {
        self.directory.clone()
    }

    async fn claim_directory(&self, now: i64, lease_secs: i64) -> Result<Option<DirectoryJob>> {
        let claimed: Option<i64> = sqlx::query_scalar(&format!(
            "UPDATE directory_outbox SET lease_until = $2, attempts = attempts + 1 \
             WHERE person_id = (SELECT person_id FROM directory_outbox \
               WHERE refused_at IS NULL AND next_attempt_at <= $1 AND (lease_until IS NULL OR lease_until <= $1) \
               ORDER BY next_attempt_at, person_id LIMIT 1 {CLAIM_LOCK}) \
             RETURNING person_id"
        ))
        .bind(now)
        .bind(now + lease_secs)
        .fetch_optional(&self.pool)
        .await?;
        let Some(person_id) = claimed else { return Ok(None) };
        Ok(sqlx::query_as(DIRECTORY_JOB).bind(person_id).fetch_optional(&self.pool).await?)
    }

    async fn directory_delivered(&self, person_id: i64, version: i64) -> Result<bool> {
        let deleted = sqlx::query("DELETE FROM directory_outbox WHERE person_id = $1 AND version = $2")
            .bind(person_id)
            .bind(version)
            .execute(&self.pool)
            .await?
            .rows_affected();
        if deleted == 0 {
            // A newer change came meanwhile: it is due already; let it go.
            sqlx::query("UPDATE directory_outbox SET lease_until = NULL WHERE person_id = $1")
                .bind(person_id)
                .execute(&self.pool)
                .await?;
        }
        Ok(deleted == 1)
    }

    async fn directory_failed(
        &self,
        person_id: i64,
        version: i64,
        error: &str,
        retry_at: i64,
        refused_at: Option<OffsetDateTime>,
    ) -> Result<()> {
        // A newer change keeps its own schedule: only the version tried is delayed or refused.
        sqlx::query(
            "UPDATE directory_outbox SET lease_until = NULL, last_error = $3, \
               next_attempt_at = CASE WHEN version = $2 THEN $4 ELSE next_attempt_at END, \
               refused_at = CASE WHEN version = $2 THEN $5 ELSE NULL END \
             WHERE person_id = $1",
        )
        .bind(person_id)
        .bind(version)
        .bind(error)
        .bind(retry_at)
        .bind(refused_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn directory_queue(&self, person_id: Option<i64>) -> Result<Vec<DirectoryLine>> {
        let filter = if person_id.is_some() { "WHERE o.person_id = $1" } else { "" };
        let sql = format!(
            "SELECT o.person_id, p.uid, p.login, o.since, o.attempts, o.next_attempt_at, o.refused_at, o.last_error \
             FROM directory_outbox o JOIN people p ON p.id = o.person_id {filter} ORDER BY o.since, o.person_id"
        );
        let mut query = sqlx::query_as(&sql);
        if let Some(id) = person_id {
            query = query.bind(id);
        }
        Ok(query.fetch_all(&self.pool).await?)
    }

    async fn directory_retry(&self, person_id: Option<i64>, now: i64) -> Result<u64> {
        let filter = if person_id.is_some() { "AND person_id = $2" } else { "" };
        let sql = format!(
            "UPDATE directory_outbox SET refused_at = NULL, attempts = 0, next_attempt_at = $1, last_error = NULL \
             WHERE refused_at IS NOT NULL {filter}"
        );
        let mut query = sqlx::query(&sql).bind(now);
        if let Some(id) = person_id {
            query = query.bind(id);
        }
        Ok(query.execute(&self.pool).await?.rows_affected())
    }

    async fn directory_backlog(&self) -> Result<DirectoryBacklog> {
        let (waiting, refused): (i64, i64) = sqlx::query_as(
            "SELECT COALESCE(SUM(CASE WHEN refused_at IS NULL THEN 1 ELSE 0 END), 0), \
                    COALESCE(SUM(CASE WHEN refused_at IS NULL THEN 0 ELSE 1 END), 0) FROM directory_outbox",
        )
        .fetch_one(&self.pool)
        .await?;
        let oldest =
            sqlx::query_scalar("SELECT since FROM directory_outbox WHERE refused_at IS NULL ORDER BY since LIMIT 1")
                .fetch_optional(&self.pool)
                .await?;
        Ok(DirectoryBacklog { waiting, refused, oldest })
    }

    async fn delete_expired(&self, now: i64) -> Result<()> {
        self.sessions.inner.delete_expired().await.map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
        sqlx::query("DELETE FROM throttle WHERE window_start < $1 AND (locked_until IS NULL OR locked_until < $2)")
            .bind(now - STALE_THROTTLE_SECS)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn rehash_answer(&self, person_id: i64, old_hash: &str, new_hash: &str) -> Result<()> {
        sqlx::query("UPDATE accounts SET answer_hash = $3 WHERE person_id = $1 AND answer_hash = $2")
            .bind(person_id)
            .bind(old_hash)
            .bind(new_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    // h22: one-time codes
    async fn send_recovery_code(
        &self,
        code: &crate::store::NewRecoveryCode,
        now: i64,
        audit: &AuditEvent,
    ) -> Result<crate::store::CodeSent> {
        use crate::domain::recovery_code::{SendDecision, may_send};
        let mut tx = self.pool.begin().await?;
        // A row to lock (a first send waits for another first send's commit here), then its
        // write lock, so that two sends at once count one after the other.
        for statement in [
            "INSERT INTO recovery_codes (person_id, channel, expires_at, window_start) VALUES ($1, 'sms', 0, 0) \
             ON CONFLICT (person_id) DO NOTHING",
            "UPDATE recovery_codes SET sends = sends WHERE person_id = $1",
        ] {
            sqlx::query(statement).bind(code.person_id).execute(&mut *tx).await?;
        }
        let state = recovery_code_state(&mut *tx, code.person_id).await?;
        let (window_start, sends) = match may_send(state.as_ref(), now) {
            SendDecision::Allowed { window_start, sends } => (window_start, sends),
            SendDecision::TooMany { retry_after } => {
                tx.rollback().await?;
                return Ok(crate::store::CodeSent::TooMany { retry_after });
            }
        };
        sqlx::query(
            "INSERT INTO recovery_codes (person_id, channel, code_hash, expires_at, tries, window_start, sends) \
             VALUES ($1, $2, $3, $4, 0, $5, $6) \
             ON CONFLICT (person_id) DO UPDATE SET channel = EXCLUDED.channel, code_hash = EXCLUDED.code_hash, \
               expires_at = EXCLUDED.expires_at, tries = 0, window_start = EXCLUDED.window_start, \
               sends = EXCLUDED.sends",
        )
        .bind(code.person_id)
        .bind(code.channel.as_str())
        .bind(&code.code_hash)
        .bind(code.expires_at)
        .bind(window_start)
        .bind(sends)
        .execute(&mut *tx)
        .await?;
        match &code.delivery {
            crate::store::CodeDelivery::Sms { phone, message_sealed, message_id } => {
                sqlx::query(
                    "INSERT INTO sms_outbox (created_at, phone, message_sealed, message_id, next_attempt_at, expires_at) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(audit.at)
                .bind(phone)
                .bind(message_sealed)
                .bind(message_id)
                .bind(now)
                .bind(code.expires_at)
                .execute(&mut *tx)
                .await?;
            }
            crate::store::CodeDelivery::Mail { recipient, subject, body_sealed, message_id } => {
                sqlx::query(
                    "INSERT INTO mail_outbox (created_at, kind, recipient, subject, body_text, body_sealed, \
                       next_attempt_at, message_id) VALUES ($1, 'recovery_code', $2, $3, '', $4, $5, $6)",
                )
                .bind(audit.at)
                .bind(recipient)
                .bind(subject)
                .bind(body_sealed)
                .bind(now)
                .bind(message_id)
                .execute(&mut *tx)
                .await?;
            }
        }
        insert_audit(&mut *tx, audit).await?;
        tx.commit().await?;
        Ok(crate::store::CodeSent::Sent)
    }

    async fn recovery_code(&self, person_id: i64) -> Result<Option<crate::domain::recovery_code::CodeState>> {
        recovery_code_state(&self.pool, person_id).await
    }

    async fn recovery_code_judged(
        &self,
        person_id: i64,
        code_hash: &[u8],
        verdict: crate::domain::recovery_code::Verdict,
        audit: &AuditEvent,
    ) -> Result<bool> {
        use crate::domain::recovery_code::Verdict;
        let statement = match verdict {
            Verdict::Wrong { .. } => {
                "UPDATE recovery_codes SET tries = tries + 1 WHERE person_id = $1 AND code_hash = $2"
            }
            Verdict::Right | Verdict::Voided => {
                "UPDATE recovery_codes SET code_hash = NULL, tries = tries + 1 WHERE person_id = $1 AND code_hash = $2"
            }
            Verdict::Expired | Verdict::NoCode => {
                "UPDATE recovery_codes SET code_hash = NULL WHERE person_id = $1 AND code_hash = $2"
            }
        };
        let mut tx = self.pool.begin().await?;
        let changed = sqlx::query(statement).bind(person_id).bind(code_hash).execute(&mut *tx).await?.rows_affected();
        if changed == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        insert_audit(&mut *tx, audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn claim_sms(&self, now: i64, lease_secs: i64) -> Result<Option<crate::store::OutboxSms>> {
        // One at a time, as mail: its lease only has to outlast one request to the gateway.
        Ok(sqlx::query_as(&format!(
            "UPDATE sms_outbox SET next_attempt_at = $2, attempts = attempts + 1 \
             WHERE id = (SELECT id FROM sms_outbox WHERE sent_at IS NULL AND next_attempt_at <= $1 \
                         ORDER BY id LIMIT 1 {CLAIM_LOCK}) \
             RETURNING id, phone, message_sealed, message_id, attempts, expires_at"
        ))
        .bind(now)
        .bind(now + lease_secs)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn sms_sent(&self, id: i64, at: OffsetDateTime) -> Result<()> {
        outbox_sent(&self.pool, "sms_outbox", id, at).await
    }

    async fn sms_failed(&self, id: i64, error: &str, retry_at: i64) -> Result<()> {
        outbox_failed(&self.pool, "sms_outbox", id, error, retry_at).await
    }

    async fn set_personal_email(&self, person_id: i64, address: &str, audit: &AuditEvent) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE people SET personal_email = $2, updated_at = $3 WHERE id = $1")
            .bind(person_id)
            .bind(address)
            .bind(audit.at)
            .execute(&mut *tx)
            .await?;
        insert_audit(&mut *tx, audit).await?;
        Ok(tx.commit().await?)
    }
}

/// An outbox item (`table`: mail_outbox or sms_outbox, never user input) was delivered.
async fn outbox_sent(pool: &Pool<Db>, table: &'static str, id: i64, at: OffsetDateTime) -> Result<()> {
    sqlx::query(&format!("UPDATE {table} SET sent_at = $2, last_error = NULL WHERE id = $1"))
        .bind(id)
        .bind(at)
        .execute(pool)
        .await?;
    Ok(())
}

/// An outbox item failed: kept with its error, due again at `retry_at`.
async fn outbox_failed(pool: &Pool<Db>, table: &'static str, id: i64, error: &str, retry_at: i64) -> Result<()> {
    sqlx::query(&format!("UPDATE {table} SET last_error = $2, next_attempt_at = $3 WHERE id = $1"))
        .bind(id)
        .bind(error)
        .bind(retry_at)
        .execute(pool)
        .await?;
    Ok(())
}

/// h22: a person's current one-time code and sends, with the given executor.
async fn recovery_code_state<'e>(
    executor: impl Executor<'e, Database = Db>,
    person_id: i64,
) -> Result<Option<crate::domain::recovery_code::CodeState>> {
    let row: Option<(Option<Vec<u8>>, i64, i32, i64, i32)> = sqlx::query_as(
        "SELECT code_hash, expires_at, tries, window_start, sends FROM recovery_codes WHERE person_id = $1",
    )
    .bind(person_id)
    .fetch_optional(executor)
    .await?;
    Ok(row.map(|(code_hash, expires_at, tries, window_start, sends)| crate::domain::recovery_code::CodeState {
        code_hash,
        expires_at,
        tries,
        window_start,
        sends,
    }))
}
