//! What every page template is rendered with: the language, the path prefix, the header.

use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;

use super::AppState;
use super::assets::Assets;
use super::i18n::Locale;

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

    /// This page in the other language.
    pub fn switch_url(&self) -> String {
        format!("{}?lang={}", self.url(&self.path), self.locale.other().as_str())
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
        Ok(Self::new(&AppState::from_ref(state), locale, parts.uri.path()))
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
        }
    }
}
