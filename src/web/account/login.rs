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
use crate::web::AppState;
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
    let now = OffsetDateTime::now_utc();
    let now_s = now.unix_timestamp();
    // What names no account reaches neither the throttle's keys nor a query; it fails like a
    // wrong password, at the same cost.
    let name = SignInName::parse(&fields.login);
    let account_key = name.as_ref().map(|n| throttle::sign_in_key(n.as_str()));
    let addr_key = format!("signin-{}", throttle::address_key(client.0));
    for key in std::iter::once(&addr_key).chain(&account_key) {
        if let Some(until) = state.store.throttle_locked_until(key, now_s).await? {
            return too_many(page, until, now_s);
        }
    }
    let password = fields.password;
    let person = match &name {
        Some(name) => state.store.find_by_login(name.as_str()).await?,
        None => None,
    };
    let account = match &person {
        Some(p) if p.is_active() => state.store.account(p.id).await?,
        _ => None,
    };
    let hash = account.as_ref().map(|a| a.password_hash.as_str());
    let matches = state.hasher.matches_or_dummy(&password, hash).await?;
    match (person, account) {
        (Some(person), Some(account)) if matches => {
            if let Some(key) = &account_key {
                state.store.throttle_clear(key).await?;
            }
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
            let counted = account_key.iter().map(|key| (key, &throttle::SIGN_IN));
            for (key, rule) in counted.chain([(&addr_key, &throttle::CLIENT_ADDRESS)]) {
                state.store.throttle_failure(key, now_s, rule).await?;
            }
            tracing::info!("sign-in failed");
            let mut errors = FieldErrors::default();
            errors.add("login", page.t("login.failed"));
            unprocessable(&LoginForm { page, csrf, login: fields.login, errors })
        }
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
