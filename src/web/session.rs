//! Sessions in the application's own database: they survive restarts and are shared by instances.

use std::sync::Arc;

use async_trait::async_trait;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::Result;
use tower_sessions::{Expiry, SessionManagerLayer, SessionStore, cookie::SameSite};

use crate::config::Config;

/// The store's session backend behind one type, whichever database it is.
#[derive(Debug, Clone)]
pub struct SharedSessions(pub Arc<dyn SessionStore>);

#[async_trait]
impl SessionStore for SharedSessions {
    async fn create(&self, record: &mut Record) -> Result<()> {
        self.0.create(record).await
    }

    async fn save(&self, record: &Record) -> Result<()> {
        self.0.save(record).await
    }

    async fn load(&self, id: &Id) -> Result<Option<Record>> {
        self.0.load(id).await
    }

    async fn delete(&self, id: &Id) -> Result<()> {
        self.0.delete(id).await
    }
}

/// How long a quiet session lives on the server; the wizard has its own, shorter, idle limit
/// so that it can say it expired instead of silently starting over.
const SESSION_IDLE: time::Duration = time::Duration::hours(8);

pub fn layer(config: &Config, sessions: Arc<dyn SessionStore>) -> SessionManagerLayer<SharedSessions> {
    let path = match config.base_path() {
        "" => "/".to_string(),
        p => p.to_string(),
    };
    SessionManagerLayer::new(SharedSessions(sessions))
        .with_name("sesame_session")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(config.cookie_secure)
        .with_path(path)
        .with_expiry(Expiry::OnInactivity(SESSION_IDLE))
}
