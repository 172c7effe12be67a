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

    /// Whether French text keeps its punctuation on the line of the word before it: `?!;:»`
    /// follow, and `«` precedes, a no-break space (U+00A0 or the narrow U+202F).
    fn french_spacing_faults(text: &str) -> Vec<String> {
        let chars: Vec<char> = text.chars().collect();
        let unbreakable = |c: Option<&char>| matches!(c, Some('\u{a0}' | '\u{202f}'));
        let mut faults = Vec::new();
        for (i, c) in chars.iter().enumerate() {
            let before = i.checked_sub(1).and_then(|j| chars.get(j));
            let fault = match c {
                // An address's `://` is no punctuation.
                ':' if chars.get(i + 1) == Some(&'/') => false,
                '?' | '!' | ';' | ':' | '»' => !unbreakable(before),
                '«' => !unbreakable(chars.get(i + 1)),
                _ => false,
            };
            if fault {
                faults.push(chars[i.saturating_sub(12)..(i + 4).min(chars.len())].iter().collect());
            }
        }
        faults
    }

    #[test]
    fn french_punctuation_never_starts_a_line() {
        assert_eq!(french_spacing_faults("Besoin d’aide ? « Valider »").len(), 3);
        assert!(french_spacing_faults("Besoin d’aide\u{202f}? «\u{a0}Valider\u{a0}» https://x").is_empty());
        let mut faults = Vec::new();
        for file in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/locales")).unwrap() {
            let path = file.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            let mut key = "";
            for line in text.lines() {
                if !line.starts_with(' ') {
                    key = line;
                } else if let Some(value) = line.strip_prefix("  fr: ")
                    // A list of the characters themselves, not a sentence.
                    && key != "help.password.special_chars:"
                {
                    faults.extend(french_spacing_faults(value).into_iter().map(|f| format!("{key} {f:?}")));
                }
            }
        }
        assert!(faults.is_empty(), "ordinary spaces in French punctuation: {faults:#?}");
    }

    #[test]
    fn english_has_no_space_before_its_punctuation() {
        for file in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/locales")).unwrap() {
            let text = std::fs::read_to_string(file.unwrap().path()).unwrap();
            for line in text.lines().filter_map(|l| l.strip_prefix("  en: ")) {
                if line.contains(" # $ % &") {
                    continue;
                }
                assert!(![" :", " ?", " !", " ;", "\u{a0}"].iter().any(|p| line.contains(p)), "{line}");
            }
        }
    }
}
