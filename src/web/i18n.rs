//! Language negotiation: `?lang=` (remembered in a cookie), then the cookie, then the browser's preference.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

use super::AppState;

const COOKIE: &str = "lang";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Locale {
    #[default]
    Fr,
    En,
}

impl Locale {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fr => "fr",
            Self::En => "en",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "fr" => Some(Self::Fr),
            "en" => Some(Self::En),
            _ => None,
        }
    }

    /// The other language, for the switch link.
    pub fn other(self) -> Self {
        match self {
            Self::Fr => Self::En,
            Self::En => Self::Fr,
        }
    }

    pub fn t(self, key: &str) -> String {
        rust_i18n::t!(key, locale = self.as_str()).into_owned()
    }
}

/// The language the browser prefers among ours, by q-value; French when it names neither.
pub fn from_accept_language(header: &str) -> Locale {
    let mut best: Option<(f32, Locale)> = None;
    for item in header.split(',') {
        let mut parts = item.split(';');
        let tag = parts.next().unwrap_or("").trim();
        let q =
            parts.find_map(|p| p.trim().strip_prefix("q=")).and_then(|q| q.trim().parse::<f32>().ok()).unwrap_or(1.0);
        let primary = tag.split('-').next().unwrap_or("");
        if let Some(locale) = Locale::parse(primary)
            && q > 0.0
            && best.is_none_or(|(bq, _)| q > bq)
        {
            best = Some((q, locale));
        }
    }
    best.map_or(Locale::Fr, |(_, l)| l)
}

fn from_query(query: Option<&str>) -> Option<Locale> {
    url::form_urlencoded::parse(query?.as_bytes()).find(|(k, _)| k == "lang").and_then(|(_, v)| Locale::parse(&v))
}

fn from_cookie(request: &Request) -> Option<Locale> {
    request
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == COOKIE)
        .and_then(|c| Locale::parse(c.value()))
}

/// Puts the request's `Locale` in its extensions, and remembers an explicit choice.
pub async fn negotiate(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let chosen = from_query(request.uri().query());
    let locale = chosen.or_else(|| from_cookie(&request)).unwrap_or_else(|| {
        request
            .headers()
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .map_or(Locale::Fr, from_accept_language)
    });
    request.extensions_mut().insert(locale);
    let mut response = next.run(request).await;
    if let Some(chosen) = chosen {
        let path = match state.config.base_path() {
            "" => "/",
            p => p,
        };
        let cookie = cookie::Cookie::build((COOKIE, chosen.as_str()))
            .path(path)
            .max_age(cookie::time::Duration::days(365))
            .same_site(cookie::SameSite::Lax)
            .http_only(true)
            .secure(state.config.cookie_secure)
            .build();
        if let Ok(value) = HeaderValue::from_str(&cookie.to_string()) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browser_preference_picks_the_highest_q_among_ours() {
        assert_eq!(from_accept_language("en-US,en;q=0.9"), Locale::En);
        assert_eq!(from_accept_language("de-DE,en;q=0.5,fr;q=0.8"), Locale::Fr);
        assert_eq!(from_accept_language("fr-FR,fr;q=0.9,en;q=0.8"), Locale::Fr);
        assert_eq!(from_accept_language("de,it"), Locale::Fr);
        assert_eq!(from_accept_language("en;q=0"), Locale::Fr);
        assert_eq!(from_accept_language(""), Locale::Fr);
        assert_eq!(from_accept_language("*;q=0.1, EN-gb"), Locale::En);
    }

    #[test]
    fn query_choice_is_read_case_insensitively_and_junk_ignored() {
        assert_eq!(from_query(Some("method=ine&lang=EN")), Some(Locale::En));
        assert_eq!(from_query(Some("lang=de")), None);
        assert_eq!(from_query(None), None);
    }
}
