//! `/login` and `/logout`: the same answer for an unknown login and a wrong password,
//! growing waits after repeated failures, and a session that really ends.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use secrecy::SecretString;
use serde::Deserialize;
use time::OffsetDateTime;
use tower_sessions::Session;

use super::sign_in;
use crate::domain::sign_in::SignInName;
use crate::domain::throttle;
use crate::store::PersonRecord;
use crate::web::AppState;
use crate::web::changes::failure_event;
use crate::web::client::ClientAddr;
use crate::web::error::AppError;
use crate::web::form::{Csrf, CsrfForm, FieldErrors};
use crate::web::page_context::Page;
use crate::web::respond::{render, see_other, too_many, unprocessable};
use crate::web::routes::{ACCOUNT, LOGIN};

#[derive(Template)]
#[template(path = "account/login.html")]
struct LoginForm {
    page: Page,
    csrf: String,
    login: String,
    errors: FieldErrors,
}

pub async fn show(page: Page, Csrf(csrf): Csrf) -> Result<Response, AppError> {
    render(&LoginForm { page, csrf, login: String::new(), errors: FieldErrors::default() })
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct LoginFields {
    login: String,
    password: SecretString,
}

pub async fn submit(
    State(state): State<AppState>,
    session: Session,
    client: ClientAddr,
    page: Page,
    CsrfForm { fields, csrf, .. }: CsrfForm<LoginFields>,
) -> Result<Response, AppError> {
    // What names no account reaches neither the throttle's keys nor a query; it fails like a
    // wrong password, at the same cost.
    let name = SignInName::parse(&fields.login);
    // A known name and an unknown one cost the same queries: the account is read for both
    // (id 0 is no one's).
    let (person, account) = match &name {
        Some(name) => {
            let person = state.store.find_by_login(name.as_str()).await?;
            let account = state.store.account(person.as_ref().map_or(0, |p| p.id)).await?;
            (person, account)
        }
        None => (None, None),
    };
    let attempt = Attempt::new(person.as_ref().map(|p| p.id), name.as_ref().map(SignInName::as_str), client);
    if let Some(until) = attempt.locked_until(&state).await? {
        return too_many(page, until, attempt.now);
    }
    let account = account.filter(|_| person.as_ref().is_some_and(PersonRecord::is_active));
    let password = fields.password;
    let hash = account.as_ref().map(|a| a.password_hash.as_str());
    let matches = state.hasher.matches_or_dummy(&password, hash).await?;
    match (person, account) {
        (Some(person), Some(account)) if matches => {
            attempt.succeeded(&state).await?;
            if state.hasher.needs_rehash(&account.password_hash) {
                let fresh = state.hasher.hash(&password).await?;
                state.store.rehash_password(person.id, &account.password_hash, &fresh).await?;
                tracing::info!(person_id = person.id, "password hash upgraded to the current parameters");
            }
            sign_in(&session, person.id).await?;
            tracing::info!(person_id = person.id, "signed in");
            Ok(see_other(&page, ACCOUNT))
        }
        _ => {
            attempt.failed(&state, "sign_in").await?;
            tracing::info!("sign-in failed");
            let mut errors = FieldErrors::default();
            errors.add("login", page.t("login.failed"));
            unprocessable(&LoginForm { page, csrf, login: fields.login, errors })
        }
    }
}

/// One proof of a password, at `/login` or in the account area, under one lock: counted for the
/// account whichever of its names was typed (a name that reaches none on its own text), and for
/// the client's address.
pub(super) struct Attempt {
    account_key: Option<String>,
    address_key: String,
    person_id: Option<i64>,
    client: ClientAddr,
    pub now: i64,
}

impl Attempt {
    pub fn new(person_id: Option<i64>, name: Option<&str>, client: ClientAddr) -> Self {
        let account_key = match (person_id, name) {
            (Some(id), _) => Some(throttle::sign_in_key(id)),
            (None, name) => name.map(throttle::unknown_sign_in_key),
        };
        Self {
            account_key,
            address_key: format!("signin-{}", throttle::address_key(client.0)),
            person_id,
            client,
            now: OffsetDateTime::now_utc().unix_timestamp(),
        }
    }

    /// The end of the lock the attempt is under, if any.
    pub async fn locked_until(&self, state: &AppState) -> Result<Option<i64>, AppError> {
        let mut latest = None;
        for key in std::iter::once(&self.address_key).chain(&self.account_key) {
            latest = latest.max(state.store.throttle_locked_until(key, self.now).await?);
        }
        Ok(latest)
    }

    /// Counts the failure, and leaves it in the audit trail (`step`: where; never what was typed).
    pub async fn failed(&self, state: &AppState, step: &str) -> Result<(), AppError> {
        let counted = self.account_key.iter().map(|key| (key, &throttle::SIGN_IN));
        for (key, rule) in counted.chain([(&self.address_key, &throttle::CLIENT_ADDRESS)]) {
            state.store.throttle_failure(key, self.now, rule).await?;
        }
        let at = OffsetDateTime::from_unix_timestamp(self.now).unwrap_or_else(|_| OffsetDateTime::now_utc());
        state.store.audit(&failure_event("sign_in_failed", self.person_id, self.client, step, at)).await?;
        Ok(())
    }

    pub async fn succeeded(&self, state: &AppState) -> Result<(), AppError> {
        if let Some(key) = &self.account_key {
            state.store.throttle_clear(key).await?;
        }
        Ok(())
    }
}

/// A form with nothing but its CSRF token.
#[derive(Deserialize)]
pub struct TokenOnly {}

pub async fn logout(page: Page, session: Session, _: CsrfForm<TokenOnly>) -> Result<Response, AppError> {
    // Deletes the session record itself: the old cookie opens nothing any more.
    session.flush().await?;
    Ok(see_other(&page, &format!("{LOGIN}?signed_out")))
}
