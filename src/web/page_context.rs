//! What every page template is rendered with: the language, the path prefix, the header.

use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;

use time::OffsetDateTime;
use tower_sessions::Session;

use super::AppState;
use super::assets::Assets;
use super::i18n::Locale;
use super::session::keys::{CSRF, SIGNED_IN};
use crate::config::{Config, Helpdesk};

/// The context every page is rendered with.
#[derive(Debug, Clone)]
pub struct Page {
    pub locale: Locale,
    /// The public URL's path prefix ("" or "/sesame"), for every link and form action.
    pub base: String,
    /// The current path below the prefix, for the language switch.
    pub path: String,
    /// Shown in the header, with the logo when there is one.
    pub institution: String,
    assets: Arc<Assets>,
    config: Arc<Config>,
    /// The request's query without `lang`, kept by the language switch (`method=uid`).
    query: Vec<(String, String)>,
    /// The CSRF token of the header's sign-out button, when someone is signed in.
    signed_in: Option<String>,
}

impl Page {
    pub fn t(&self, key: &str) -> String {
        self.locale.t(key)
    }

    pub fn t_with(&self, key: &str, params: &[(&str, String)]) -> String {
        self.locale.t_with(key, params)
    }

    pub fn lang(&self) -> &'static str {
        self.locale.as_str()
    }

    /// An absolute path to one of our pages, under the prefix (the home page is the prefix itself).
    pub fn url(&self, path: &str) -> String {
        match path {
            "/" if !self.base.is_empty() => self.base.clone(),
            _ => format!("{}{}", self.base, path),
        }
    }

    /// A static asset by its plain name (`sesame.css`), linked under its content-hashed name.
    pub fn asset(&self, name: &str) -> String {
        self.url(&format!("/static/{}", self.assets.hashed(name).unwrap_or(name)))
    }

    pub fn logo(&self) -> Option<String> {
        self.assets.logo().map(|name| self.asset(name))
    }

    /// Whether the header's link to `section` leads to (a page of) the current one.
    pub fn is_current(&self, section: &str) -> bool {
        match section {
            "/" => self.path == "/",
            _ => self.path == section || self.path.starts_with(&format!("{section}/")),
        }
    }

    /// This page, with its query, in the other language.
    pub fn switch_url(&self) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        query.extend_pairs(&self.query).append_pair("lang", self.locale.other().as_str());
        format!("{}?{}", self.url(&self.path), query.finish())
    }

    /// Whether the request's query holds `name` (`/login?signed_out`).
    pub fn query_has(&self, name: &str) -> bool {
        self.query.iter().any(|(k, _)| k == name)
    }

    /// The sign-out button's CSRF token, when someone is signed in.
    pub fn signed_in(&self) -> Option<&str> {
        self.signed_in.as_deref()
    }

    pub fn helpdesk(&self) -> &Helpdesk {
        &self.config.helpdesk
    }

    /// A day as people read it, in the institution's time: 14/07/2026.
    pub fn local_date(&self, at: OffsetDateTime) -> String {
        let day = self.config.timezone.local(at).date();
        format!("{:02}/{:02}/{}", day.day(), u8::from(day.month()), day.year())
    }

    /// A time as people read it: the institution's local hour and minute.
    pub fn local_time(&self, at: OffsetDateTime) -> String {
        let local = self.config.timezone.local(at);
        format!("{:02}:{:02}", local.hour(), local.minute())
    }
}

impl<S> FromRequestParts<S> for Page
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let locale = parts.extensions.get::<Locale>().copied().unwrap_or_default();
        let mut page = Self::new(&AppState::from_ref(state), locale, parts.uri.path());
        page.query = url::form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
            .filter(|(k, _)| k != "lang")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        if let Some(session) = parts.extensions.get::<Session>() {
            // The menu is no reason to fail a page: a session that cannot be read shows it
            // signed out, and the page's own handler reports the failure.
            if session.get::<serde_json::Value>(SIGNED_IN).await.ok().flatten().is_some() {
                // A signed-in session holds its token since sign-in renewed it.
                page.signed_in = session.get::<String>(CSRF).await.ok().flatten();
            }
        }
        Ok(page)
    }
}

impl Page {
    /// The page at `full_path` (prefix included), in `locale`.
    pub fn new(state: &AppState, locale: Locale, full_path: &str) -> Self {
        let base = state.config.base_path().to_string();
        let path = full_path.strip_prefix(base.as_str()).unwrap_or(full_path);
        Self {
            locale,
            // One leading slash, always: `//host/x` or `/\host` would make the language switch
            // a link to another site.
            path: format!("/{}", path.trim_start_matches(['/', '\\'])),
            base,
            institution: state.config.institution_name.clone(),
            assets: state.assets.clone(),
            config: state.config.clone(),
            query: Vec::new(),
            signed_in: None,
        }
    }
}
