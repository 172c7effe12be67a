//! Sessions in the application's own database: they survive restarts and are shared by instances.
//!
//! Reading the session is the only database work of most pages, so each instance keeps the
//! sessions it has seen in memory. A cache shared by no one is only correct if what it holds
//! cannot change behind its back; so a session that changes gets a new id (its old id stays
//! readable for a short grace, for a double-clicked form), and the row under an id is never
//! rewritten. Another instance's cached copy of an old id can at worst show a wizard one step
//! behind to whoever still holds that old cookie, which the wizard's own checks (the account
//! is created once, in a transaction) make harmless. A sign-in and a recovery must end
//! everywhere the moment they end: sessions holding one are neither cached nor renewed, and are
//! read from the database on every request.

use std::cell::Cell;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store;
use tower_sessions::{Expiry, Session, SessionManagerLayer, SessionStore, cookie::SameSite};

use super::AppState;
use super::error::AppError;
use crate::config::Config;
use crate::store::SessionRows;

/// What a session may hold, each under its own key.
pub mod keys {
    /// The CSRF token of the session's forms.
    pub const CSRF: &str = "csrf";
    /// The activation wizard in progress.
    pub const WIZARD: &str = "activation";
    /// What the activation's confirmation page shows.
    pub const ACTIVATED: &str = "activation_done";
    /// A recovery in progress.
    pub const RECOVERY: &str = "recovery";
    /// The login a finished recovery shows.
    pub const RECOVERED: &str = "recovered_login";
    /// Who is signed in.
    pub const SIGNED_IN: &str = "signed_in";
    /// A message for the next page of the account area.
    pub const FLASH: &str = "flash";
}

/// Keys whose sessions are checked against the database on every request. Any key that makes
/// a session worth more than a wizard's progress belongs here.
const AUTHORITATIVE: [&str; 2] = [keys::SIGNED_IN, keys::RECOVERY];

/// How long a replaced id still reads (from the database or any instance's cache).
const GRACE: Duration = Duration::from_secs(30);

/// Sessions an instance keeps in memory: a few megabytes.
const CACHED: u64 = 10_000;

tokio::task_local! {
    /// Set while a changed session is given its new id: the old one is retired, not deleted.
    static RENEWING: ();
    /// The id a renewal replaced, held from the handler's end until the session layer writes
    /// the session under its new id, so that both go to the database together.
    static REPLACED: Cell<Option<Id>>;
}

/// The database's sessions behind a per-instance cache of the sessions that may be cached.
#[derive(Clone)]
pub struct SharedSessions {
    rows: Arc<dyn SessionRows>,
    cache: moka::sync::Cache<Id, Record>,
}

impl std::fmt::Debug for SharedSessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedSessions").field("cached", &self.cache.entry_count()).finish()
    }
}

impl SharedSessions {
    pub fn new(rows: Arc<dyn SessionRows>) -> Self {
        Self { rows, cache: moka::sync::Cache::builder().max_capacity(CACHED).time_to_live(GRACE).build() }
    }

    fn remember(&self, record: &Record) {
        if cacheable(record.data.keys()) {
            self.cache.insert(record.id, record.clone());
        } else {
            self.cache.invalidate(&record.id);
        }
    }
}

fn cacheable<'a>(mut keys: impl Iterator<Item = &'a String>) -> bool {
    keys.all(|key| !AUTHORITATIVE.contains(&key.as_str()))
}

#[async_trait]
impl SessionStore for SharedSessions {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        match REPLACED.try_with(Cell::take).ok().flatten() {
            Some(old) => self.rows.replace(&old, grace_end(), record).await?,
            None => self.rows.create(record).await?,
        }
        self.remember(record);
        Ok(())
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.rows.save(record).await?;
        self.remember(record);
        Ok(())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        if let Some(record) = self.cache.get(id).filter(|r| r.expiry_date > OffsetDateTime::now_utc()) {
            metrics::counter!("sesame_session_reads_total", "from" => "cache").increment(1);
            return Ok(Some(record));
        }
        metrics::counter!("sesame_session_reads_total", "from" => "database").increment(1);
        let record = self.rows.load(id).await?;
        if let Some(record) = &record {
            self.remember(record);
        }
        Ok(record)
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.cache.invalidate(id);
        if RENEWING.try_with(|()| ()).is_ok() {
            // Retired with the creation of its successor, or by `hold_replaced` if none comes.
            if REPLACED.try_with(|replaced| replaced.set(Some(*id))).is_ok() {
                return Ok(());
            }
            self.rows.retire(id, grace_end()).await
        } else {
            self.rows.delete(id).await
        }
    }
}

fn grace_end() -> OffsetDateTime {
    OffsetDateTime::now_utc() + GRACE
}

/// Around the session layer: gives `REPLACED` its scope, and retires a replaced id that no
/// new session followed (a failed save).
pub async fn hold_replaced(State(state): State<AppState>, request: Request, next: Next) -> Response {
    REPLACED
        .scope(Cell::new(None), async {
            let response = next.run(request).await;
            if let Some(old) = REPLACED.with(Cell::take)
                && let Err(e) = state.store.sessions().retire(&old, grace_end()).await
            {
                tracing::warn!(error = %e, "a replaced session id could not be retired");
            }
            response
        })
        .await
}

/// Gives a changed session its new id once the handler is done (see the module's comment).
/// A session born in this request has an id no one else has seen. A session that held or
/// holds a sign-in or a recovery keeps its id: it is never cached, and an old id of it must
/// not stay readable.
pub async fn renew_changed(session: Session, request: Request, next: Next) -> Result<Response, AppError> {
    let arrived = session.id();
    let held = authoritative(&session).await?;
    let response = next.run(request).await;
    if session.is_modified()
        && arrived.is_some()
        && session.id() == arrived
        && !response.status().is_server_error()
        && !session.is_empty().await
        && !held
        && !authoritative(&session).await?
    {
        cycle(&session).await?;
    }
    Ok(response)
}

/// A new id and a new CSRF token for a session that now proves who someone is (identification,
/// sign-in), against fixation: whoever planted the old id, or read a form of it, is left with
/// what it held.
pub async fn new_id(session: &Session) -> Result<(), AppError> {
    session.insert(keys::CSRF, super::form::new_token()).await?;
    cycle(session).await
}

/// A new id for this session (the one way ids change). Unless it held a sign-in or a recovery,
/// the old id is retired like a renewal's (its row retired in the statement that writes the new
/// one) instead of deleted apart.
async fn cycle(session: &Session) -> Result<(), AppError> {
    Ok(if authoritative(session).await? {
        session.cycle_id().await
    } else {
        RENEWING.scope((), session.cycle_id()).await
    }?)
}

async fn authoritative(session: &Session) -> Result<bool, AppError> {
    for key in AUTHORITATIVE {
        if session.get_value(key).await?.is_some() {
            return Ok(true);
        }
    }
    Ok(false)
}

/// How long a quiet session outlives the idle limits of the wizards and of a sign-in, so that a
/// wizard can still say it expired instead of silently starting over.
const AFTER_IDLE: time::Duration = time::Duration::minutes(5);

/// Sessions hold an identifier, a birth date and names: they live on the server no longer than
/// a wizard or a sign-in may stay idle.
pub fn layer(config: &Config, sessions: Arc<dyn SessionRows>) -> SessionManagerLayer<SharedSessions> {
    let path = cookie_path(config);
    SessionManagerLayer::new(SharedSessions::new(sessions))
        .with_name("sesame_session")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(config.cookie_secure)
        .with_path(path)
        .with_expiry(Expiry::OnInactivity(config.wizard_timeout.max(config.session_idle) + AFTER_IDLE))
}

/// The path of our cookies: the site's prefix, or the whole host.
pub fn cookie_path(config: &Config) -> String {
    match config.base_path() {
        "" => "/".to_string(),
        p => p.to_string(),
    }
}
