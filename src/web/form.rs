//! The one door of every form: the body decoded strictly, its CSRF token checked against the
//! session's and every field judged, before any handler runs; then errors by field.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{FromRef, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use rand::Rng;
use rand::distributions::Alphanumeric;
use serde::de::DeserializeOwned;
use serde::de::value::MapDeserializer;
use tower_cookies::Cookies;
use tower_cookies::cookie::{Cookie, SameSite};
use tower_sessions::Session;

use super::AppState;
use super::error::AppError;
use super::page_context::Page;
use super::respond::render_with;
use super::session::keys::CSRF as CSRF_KEY;
use crate::config::Config;

pub const CSRF_FIELD: &str = "csrf_token";

/// The cookie holding the CSRF token of a visitor, for whom the server keeps nothing.
const CSRF_COOKIE: &str = "sesame_csrf";

/// Its name where browsers allow the `__Host-` prefix (Secure, for the whole host): then no
/// sibling subdomain can plant a token of its choosing in it.
const HOST_CSRF_COOKIE: &str = "__Host-sesame_csrf";

fn csrf_cookie_name(config: &Config) -> &'static str {
    if config.cookie_secure && config.base_path().is_empty() { HOST_CSRF_COOKIE } else { CSRF_COOKIE }
}

/// Characters of a token.
const TOKEN_CHARS: usize = 43;

/// A new CSRF token from the thread's CSPRNG.
pub fn new_token() -> String {
    rand::thread_rng().sample_iter(&Alphanumeric).take(TOKEN_CHARS).map(char::from).collect()
}

/// The CSRF token of this browser's forms. A session that holds something worth keeping holds
/// its token (synchronizer pattern; a new one with each new id at identification and sign-in,
/// see `session::new_id`). Before that, the token is the visitor's cookie's (double-submit), so
/// that showing a form to anyone stores nothing server-side.
async fn csrf_token(session: &Session, cookies: &Cookies, config: &Config) -> Result<String, AppError> {
    if let Some(token) = session.get::<String>(CSRF_KEY).await? {
        // The visitor's token is no use any more: after the session ends, the next form gets a new one.
        if let Some(visitor) = cookies.get(csrf_cookie_name(config)) {
            cookies.remove(visitor_cookie(visitor.value().to_string(), config));
        }
        return Ok(token);
    }
    if let Some(token) = visitor_token(cookies, config) {
        return Ok(token);
    }
    let token = new_token();
    cookies.add(visitor_cookie(token.clone(), config));
    Ok(token)
}

/// The token of the visitor's cookie, when it is one of ours.
fn visitor_token(cookies: &Cookies, config: &Config) -> Option<String> {
    let token = cookies.get(csrf_cookie_name(config))?.value().to_string();
    (token.len() == TOKEN_CHARS && token.bytes().all(|b| b.is_ascii_alphanumeric())).then_some(token)
}

/// Like the session cookie: only for this site's path, never read by scripts; it ends with the browser.
fn visitor_cookie(token: String, config: &Config) -> Cookie<'static> {
    Cookie::build((csrf_cookie_name(config), token))
        .path(super::session::cookie_path(config))
        .same_site(SameSite::Lax)
        .http_only(true)
        .secure(config.cookie_secure)
        .build()
}

/// The browser's cookies, as the session layer reads and writes them.
fn cookies(parts: &Parts) -> Result<Cookies, AppError> {
    parts.extensions.get::<Cookies>().cloned().ok_or_else(|| anyhow::anyhow!("the cookie layer is missing").into())
}

/// The CSRF token of this browser's forms, for a page that shows a form.
pub struct Csrf(pub String);

impl<S> FromRequestParts<S> for Csrf
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let session = Session::from_request_parts(parts, state).await.map_err(IntoResponse::into_response)?;
        let config = AppState::from_ref(state).config;
        let cookies = cookies(parts).map_err(IntoResponse::into_response)?;
        csrf_token(&session, &cookies, &config).await.map(Csrf).map_err(IntoResponse::into_response)
    }
}

/// Compares without an early exit, so timing tells nothing about a near miss.
fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A form body that passed the door, then `J`, the state of the journey the form belongs to
/// (`()` for none): 400 when the body cannot be read or a field holds what no person types,
/// 403 without the session's CSRF token, then `J`'s own answer (a redirect) when the journey is
/// not where the form needs it. Fields are read leniently (every field defaults), so that a
/// missing or odd field becomes a message next to it rather than a rejection. Carries the
/// token, for the form shown again.
pub struct CsrfForm<T, J = ()> {
    pub fields: T,
    pub csrf: String,
    pub journey: J,
}

impl<S, T, J> FromRequest<S> for CsrfForm<T, J>
where
    S: Send + Sync,
    AppState: FromRef<S>,
    T: DeserializeOwned + Send,
    J: FromRequestParts<S>,
    J::Rejection: IntoResponse,
{
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let session = Session::from_request_parts(&mut parts, state).await.map_err(IntoResponse::into_response)?;
        let Ok(page) = Page::from_request_parts(&mut parts, state).await;
        let is_form = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if !is_form {
            return Err(StatusCode::UNSUPPORTED_MEDIA_TYPE.into_response());
        }
        // The body alone: the parts stay for the journey's extractor.
        let bytes = Bytes::from_request(Request::new(body), state).await.map_err(IntoResponse::into_response)?;
        let fields = decode(&bytes).map_err(|refusal| refused_form(page.clone(), refusal))?;
        let submitted = fields.iter().find(|(name, _)| name == CSRF_FIELD).map(|(_, value)| value.as_str());
        let expected = match session.get::<String>(CSRF_KEY).await.map_err(|e| AppError::from(e).into_response())? {
            Some(token) => Some(token),
            None => {
                visitor_token(&cookies(&parts).map_err(IntoResponse::into_response)?, &AppState::from_ref(state).config)
            }
        };
        let csrf = match (submitted, expected) {
            (Some(s), Some(e)) if same_token(s, &e) => e,
            _ => return Err(forbidden(page)),
        };
        if let Err(refusal) = fields.iter().try_for_each(|(name, value)| judge(name, value)) {
            return Err(refused_form(page, refusal));
        }
        let fields = T::deserialize(MapDeserializer::<_, serde::de::value::Error>::new(fields.into_iter()))
            .map_err(|_| refused_form(page, Refusal::Unreadable))?;
        let journey = J::from_request_parts(&mut parts, state).await.map_err(IntoResponse::into_response)?;
        Ok(CsrfForm { fields, csrf, journey })
    }
}

/// Why a body was turned away at the door; each has its own 400 page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// A `%` without two hexadecimal digits after it, or bytes that are not UTF-8.
    Unreadable,
    /// A control character (C0, DEL, C1) or a bidirectional override: nothing a person types
    /// into a one-line field, and what logs, databases and screens each read differently.
    Character,
    /// More characters than the field takes.
    TooLong,
}

/// Every field's cap: above what any rule of ours accepts, so that a person who types too much
/// is told so by the rule, next to the field; only a machine reaches it.
const FIELD_MAX_CHARS: usize = 256;

/// The token is 43 characters.
const CSRF_MAX_CHARS: usize = 64;

/// The fields of an `application/x-www-form-urlencoded` body, in order. Stricter than the
/// WHATWG parser, which lets a stray `%` through and replaces bytes that are not UTF-8.
pub fn decode(body: &[u8]) -> Result<Vec<(String, String)>, Refusal> {
    body.split(|b| *b == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = match pair.iter().position(|b| *b == b'=') {
                Some(i) => (&pair[..i], &pair[i + 1..]),
                None => (pair, &[][..]),
            };
            Ok((decode_part(name)?, decode_part(value)?))
        })
        .collect()
}

fn decode_part(raw: &[u8]) -> Result<String, Refusal> {
    let mut out = Vec::with_capacity(raw.len());
    let mut bytes = raw.iter();
    while let Some(&b) = bytes.next() {
        out.push(match b {
            b'+' => b' ',
            b'%' => {
                let mut hex = || bytes.next().and_then(|d| char::from(*d).to_digit(16));
                match (hex(), hex()) {
                    (Some(high), Some(low)) => (high * 16 + low) as u8,
                    _ => return Err(Refusal::Unreadable),
                }
            }
            other => other,
        });
    }
    String::from_utf8(out).map_err(|_| Refusal::Unreadable)
}

#[derive(Template)]
#[template(path = "form_refused.html")]
struct FormRefused {
    page: Page,
    title_key: &'static str,
    body_key: &'static str,
}

fn form_refused(status: StatusCode, page: Page, title_key: &'static str, body_key: &'static str) -> Response {
    render_with(status, &FormRefused { page, title_key, body_key }).unwrap_or_else(IntoResponse::into_response)
}

/// 403 for a form without its session's CSRF token (often a form left open until the
/// session expired, or opened in another browser).
fn forbidden(page: Page) -> Response {
    form_refused(StatusCode::FORBIDDEN, page, "form.expired_title", "form.expired_body")
}

/// 400 for a body the door turned away, saying why.
fn refused_form(page: Page, refusal: Refusal) -> Response {
    let (title_key, body_key) = match refusal {
        Refusal::Unreadable => ("form.unreadable_title", "form.unreadable_body"),
        Refusal::Character => ("form.refused_title", "form.character_body"),
        Refusal::TooLong => ("form.refused_title", "form.too_long_body"),
    };
    form_refused(StatusCode::BAD_REQUEST, page, title_key, body_key)
}

/// The same judgement for every field of every form, its name included.
pub fn judge(name: &str, value: &str) -> Result<(), Refusal> {
    let cap = if name == CSRF_FIELD { CSRF_MAX_CHARS } else { FIELD_MAX_CHARS };
    if name.chars().chain(value.chars()).any(refused) {
        return Err(Refusal::Character);
    }
    if name.chars().count() > FIELD_MAX_CHARS || value.chars().count() > cap {
        return Err(Refusal::TooLong);
    }
    Ok(())
}

fn refused(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// What a person got wrong, field by field, in the order the form shows the fields.
#[derive(Debug, Default, Clone)]
pub struct FieldErrors {
    items: Vec<(&'static str, String)>,
}

impl FieldErrors {
    pub fn add(&mut self, field: &'static str, message: String) {
        self.items.push((field, message));
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Every message of one field.
    pub fn of(&self, field: &str) -> Vec<&str> {
        self.items.iter().filter(|(f, _)| *f == field).map(|(_, m)| m.as_str()).collect()
    }

    pub fn has(&self, field: &str) -> bool {
        self.items.iter().any(|(f, _)| *f == field)
    }

    pub fn all(&self) -> &[(&'static str, String)] {
        &self.items
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_exactly() {
        assert!(same_token("abc", "abc"));
        assert!(!same_token("abc", "abd"));
        assert!(!same_token("abc", "abcd"));
        assert!(!same_token("", "a"));
    }

    fn fields(body: &str) -> Result<Vec<(String, String)>, Refusal> {
        decode(body.as_bytes())
    }

    #[test]
    fn decoding_is_strict() {
        let pair = |n: &str, v: &str| (n.to_string(), v.to_string());
        assert_eq!(fields("a=1&b=%C3%A9t%C3%A9+x&&c"), Ok(vec![pair("a", "1"), pair("b", "été x"), pair("c", "")]));
        assert_eq!(fields("a=%2B%25"), Ok(vec![pair("a", "+%")]));
        assert_eq!(fields("a=%FF"), Err(Refusal::Unreadable), "not UTF-8");
        assert_eq!(fields("a=%C3"), Err(Refusal::Unreadable), "a cut character");
        assert_eq!(decode(b"a=\xff"), Err(Refusal::Unreadable), "raw bytes are judged too");
        for stray in ["a=%", "a=%4", "a=%G1", "%zz=1"] {
            assert_eq!(fields(stray), Err(Refusal::Unreadable), "{stray}");
        }
    }

    #[test]
    fn every_field_is_judged_the_same() {
        assert_eq!(judge("answer", "Crème brûlée, 12 €"), Ok(()));
        assert_eq!(judge("custom_question", "ما اسم مدينتك؟"), Ok(()), "right-to-left text is text");
        for bad in ["a\u{0}b", "\t", "\n", "\u{1b}[31m", "\u{7f}", "\u{85}", "\u{9f}", "abc\u{202e}def", "\u{2066}"] {
            assert_eq!(judge("answer", bad), Err(Refusal::Character), "{bad:?}");
        }
        assert_eq!(judge("na\u{0}me", "x"), Err(Refusal::Character), "names too");
        assert_eq!(judge("password", &"é".repeat(FIELD_MAX_CHARS)), Ok(()), "characters, not bytes");
        assert_eq!(judge("password", &"a".repeat(FIELD_MAX_CHARS + 1)), Err(Refusal::TooLong));
        assert_eq!(judge(CSRF_FIELD, &"a".repeat(CSRF_MAX_CHARS + 1)), Err(Refusal::TooLong));
    }

    #[test]
    fn errors_keep_field_order_and_group_by_field() {
        let mut e = FieldErrors::default();
        e.add("password", "short".into());
        e.add("confirm", "differs".into());
        e.add("password", "no digit".into());
        assert_eq!(e.of("password"), vec!["short", "no digit"]);
        assert!(e.has("confirm") && !e.has("other"));
        assert_eq!(e.all().len(), 3);
    }
}
