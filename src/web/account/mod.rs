//! Signing in and out, and the signed-in person's account pages.

mod login;
mod pages;

use axum::Router;
use axum::response::Response;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tower_sessions::Session;

use super::AppState;
use super::error::{AppError, session_error};
use super::page::Page;
use super::respond::see_other;
use super::session::keys::SIGNED_IN;
use crate::store::{AccountRecord, PersonRecord};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login", get(login::show).post(login::submit))
        .route("/logout", post(login::logout))
        .route("/account", get(pages::overview))
        .route("/account/password", get(pages::password_show).post(pages::password_submit))
        .route("/account/question", get(pages::question_show).post(pages::question_submit))
        .route("/account/preferences", get(pages::preferences_show).post(pages::preferences_submit))
}

/// Who is signed in on this session, since when, and when they were last seen.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SignedIn {
    pub person_id: i64,
    pub since: OffsetDateTime,
    pub last_seen: OffsetDateTime,
}

/// The signed-in person with their account, or the answer to give instead (to /login).
pub async fn require(
    session: &Session,
    state: &AppState,
    page: &Page,
) -> Result<Result<(PersonRecord, AccountRecord), Response>, AppError> {
    let to_login = || Ok(Err(see_other(page, "/login")));
    let Some(mut signed_in) = session.get::<SignedIn>(SIGNED_IN).await.map_err(session_error)? else {
        return to_login();
    };
    let now = OffsetDateTime::now_utc();
    if now - signed_in.last_seen > state.config.session_idle || now - signed_in.since > state.config.session_max {
        session.flush().await.map_err(session_error)?;
        return to_login();
    }
    let person = state.store.person(signed_in.person_id).await?;
    let account = state.store.account(signed_in.person_id).await?;
    let (Some(person), Some(account)) = (person, account) else {
        session.flush().await.map_err(session_error)?;
        return to_login();
    };
    if !person.is_active() {
        session.flush().await.map_err(session_error)?;
        return to_login();
    }
    signed_in.last_seen = now;
    session.insert(SIGNED_IN, &signed_in).await.map_err(session_error)?;
    Ok(Ok((person, account)))
}

/// Starts a signed-in session under a new id, so that a cookie planted beforehand is worth nothing.
pub async fn sign_in(session: &Session, person_id: i64) -> Result<(), AppError> {
    session.cycle_id().await.map_err(session_error)?;
    let now = OffsetDateTime::now_utc();
    session.insert(SIGNED_IN, SignedIn { person_id, since: now, last_seen: now }).await.map_err(session_error)
}
