//! Signing in and out, and the signed-in person's account settings.

mod login;
mod recovery;
mod settings;

use axum::Router;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tower_sessions::Session;

use super::AppState;
use super::error::AppError;
use super::journey::JourneyState;
use super::new_password::password_show;
use super::page_context::Page;
use super::respond::see_other;
use super::routes::{ACCOUNT, ACCOUNT_PASSWORD, ACCOUNT_PREFERENCES, ACCOUNT_QUESTION, LOGIN, LOGOUT};
use super::session::keys::SIGNED_IN;
use crate::store::{AccountRecord, PersonRecord};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(LOGIN, get(login::show).post(login::submit))
        .route(LOGOUT, post(login::logout))
        .route(ACCOUNT, get(settings::overview))
        .route(ACCOUNT_PASSWORD, get(password_show::<SignedIn>).post(settings::password_submit))
        .route(ACCOUNT_QUESTION, get(settings::question_show).post(settings::question_submit))
        .route(ACCOUNT_PREFERENCES, get(settings::preferences_show).post(settings::preferences_submit))
        .merge(recovery::router())
}

/// What the session holds of a sign-in: who, since when, last seen when.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SignInTimes {
    person_id: i64,
    since: OffsetDateTime,
    last_seen: OffsetDateTime,
    /// When this session changed the password: a change made elsewhere ends the session.
    #[serde(default)]
    changed_password: Option<OffsetDateTime>,
}

/// The signed-in person with their account; rejected with a 303 to the sign-in page when no one
/// is, or no longer may be (idle, too long, disabled), and then the session ends.
pub struct SignedIn {
    pub person: PersonRecord,
    pub account: AccountRecord,
}

impl JourneyState for SignedIn {
    async fn load(session: &Session, state: &AppState, page: Page) -> Result<Self, Response> {
        match signed_in(session, state).await {
            Ok(Some(signed_in)) => Ok(signed_in),
            Ok(None) => Err(see_other(&page, LOGIN)),
            Err(e) => Err(e.into_response()),
        }
    }
}

async fn signed_in(session: &Session, state: &AppState) -> Result<Option<SignedIn>, AppError> {
    let Some(mut times) = session.get::<SignInTimes>(SIGNED_IN).await? else {
        return Ok(None);
    };
    let now = OffsetDateTime::now_utc();
    let fresh = now - times.last_seen <= state.config.session_idle && now - times.since <= state.config.session_max;
    let (person, account) = if fresh {
        (state.store.person(times.person_id).await?, state.store.account(times.person_id).await?)
    } else {
        (None, None)
    };
    // A password changed elsewhere (the account area of another session, or a recovery) since
    // this session proved it ends the session.
    let proved = times.changed_password.unwrap_or(times.since);
    match (person, account) {
        (Some(person), Some(account)) if person.is_active() && proved >= account.password_changed_at => {
            times.last_seen = now;
            session.insert(SIGNED_IN, &times).await?;
            Ok(Some(SignedIn { person, account }))
        }
        _ => {
            session.flush().await?;
            Ok(None)
        }
    }
}

/// Starts a signed-in session under a new id, so that a cookie planted beforehand is worth nothing.
async fn sign_in(session: &Session, person_id: i64) -> Result<(), AppError> {
    super::session::new_id(session).await?;
    let now = OffsetDateTime::now_utc();
    Ok(session.insert(SIGNED_IN, SignInTimes { person_id, since: now, last_seen: now, changed_password: None }).await?)
}

/// This session changed the password at `at`: it stays signed in, the person's others end.
async fn changed_password_here(session: &Session, at: OffsetDateTime) -> Result<(), AppError> {
    if let Some(mut times) = session.get::<SignInTimes>(SIGNED_IN).await? {
        times.changed_password = Some(at);
        session.insert(SIGNED_IN, &times).await?;
    }
    Ok(())
}
