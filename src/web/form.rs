//! Forms: CSRF tokens bound to the session, body parsing that never fails loudly, errors by field.

use axum::extract::{FromRef, FromRequest, Request};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use rand::Rng;
use rand::distributions::Alphanumeric;
use serde::de::DeserializeOwned;
use tower_sessions::Session;

use super::AppState;
use super::error::AppError;
use super::page::Page;
use axum::extract::FromRequestParts;

const CSRF_KEY: &str = "csrf";
pub const CSRF_FIELD: &str = "csrf_token";

/// The session's CSRF token, created on first use (synchronizer-token pattern: the token
/// lives server-side in the session, so no second cookie is needed).
pub async fn csrf_token(session: &Session) -> Result<String, AppError> {
    if let Some(token) = session.get::<String>(CSRF_KEY).await.map_err(session_error)? {
        return Ok(token);
    }
    let token: String = rand::thread_rng().sample_iter(&Alphanumeric).take(43).map(char::from).collect();
    session.insert(CSRF_KEY, &token).await.map_err(session_error)?;
    // Saved now rather than after the handler, so that a database outage shows as our 503 page
    // (the session layer would otherwise answer a bare 500 when its own save fails).
    session.save().await.map_err(session_error)?;
    Ok(token)
}

/// Sessions live in the database, so a failing session store is a database that does not answer.
pub fn session_error(e: tower_sessions::session::Error) -> AppError {
    AppError::Sessions(e.to_string())
}

/// Compares without an early exit, so timing tells nothing about a near miss.
fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A form body whose CSRF token matched the session's: 403 otherwise, before any handler runs.
/// Fields are read leniently (every field defaults), so that a missing or odd field becomes a
/// message next to it rather than a rejection.
pub struct CsrfForm<T>(pub T);

impl<S, T> FromRequest<S> for CsrfForm<T>
where
    S: Send + Sync,
    AppState: FromRef<S>,
    T: DeserializeOwned,
{
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let session = <Session as axum::extract::FromRequestParts<S>>::from_request_parts(&mut parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let Ok(page) = Page::from_request_parts(&mut parts, state).await;
        let is_form = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if !is_form {
            return Err(StatusCode::UNSUPPORTED_MEDIA_TYPE.into_response());
        }
        let bytes = axum::body::Bytes::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(IntoResponse::into_response)?;
        let submitted = url::form_urlencoded::parse(&bytes).find(|(k, _)| k == CSRF_FIELD).map(|(_, v)| v.into_owned());
        let expected = session.get::<String>(CSRF_KEY).await.map_err(|e| session_error(e).into_response())?;
        match (submitted, expected) {
            (Some(s), Some(e)) if same_token(&s, &e) => {}
            _ => return Err(super::error::forbidden(page)),
        }
        serde_urlencoded::from_bytes::<T>(&bytes).map(CsrfForm).map_err(|_| super::error::unreadable_form(page))
    }
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
