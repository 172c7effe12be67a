//! Language negotiation per request: `?lang=` (remembered in a cookie), then the cookie, then the browser.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

use super::AppState;
pub use crate::i18n::Locale;
use crate::i18n::from_accept_language;

const COOKIE: &str = "lang";

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
    fn query_choice_is_read_case_insensitively_and_junk_ignored() {
        assert_eq!(from_query(Some("method=ine&lang=EN")), Some(Locale::En));
        assert_eq!(from_query(Some("lang=de")), None);
        assert_eq!(from_query(None), None);
    }
}
