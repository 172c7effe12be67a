//! Forgotten credentials: identify as in activation, answer the question joker, choose a new
//! password; the done page shows the login, which may have been forgotten too.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tower_sessions::Session;

use super::AppState;
use super::account::pages::{asked_question, new_password_errors, set_password};
use super::activate::identify::{
    Choose, Disabled, Identification, IdentifyFields, MethodQuery, empty_form, identify, too_many, unprocessable,
};
use super::activate::password::{RulesView, rules_view};
use super::activate::see_other;
use super::client::ClientAddr;
use super::error::AppError;
use super::form::{CsrfForm, FieldErrors, csrf_token, session_error};
use super::page::{Page, render};
use crate::domain::identifiers::IdentificationMethod;
use crate::domain::throttle;
use crate::store::PersonRecord;

pub(super) const RECOVERY: &str = "recovery";
const RECOVERED: &str = "recovered_login";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/recover", get(start).post(submit))
        .route("/recover/question", get(question_show).post(question_submit))
        .route("/recover/password", get(password_show).post(password_submit))
        .route("/recover/done", get(done))
}

/// Who is recovering in this session, and whether they answered their question.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Recovery {
    person_id: i64,
    answered: bool,
    last_seen: OffsetDateTime,
}

pub async fn start(page: Page, session: Session, Query(query): Query<MethodQuery>) -> Result<Response, AppError> {
    match query.method() {
        Some(method) => empty_form(page, &session, "/recover", method).await,
        None => {
            render(&Choose { page, methods: IdentificationMethod::ALL, target: "/recover", title_key: "recover.title" })
        }
    }
}

#[derive(Template)]
#[template(path = "recover/not_activated.html")]
struct NotActivated {
    page: Page,
}

pub async fn submit(
    State(state): State<AppState>,
    session: Session,
    client: ClientAddr,
    page: Page,
    CsrfForm(fields): CsrfForm<IdentifyFields>,
) -> Result<Response, AppError> {
    let (person, has_account) = match identify(&state, &session, client, page.clone(), "/recover", fields).await? {
        Identification::Person { person, has_account, .. } => (person, has_account),
        Identification::Refused(response) => return Ok(response),
    };
    session.remove::<Recovery>(RECOVERY).await.map_err(session_error)?;
    if !person.is_active() {
        return render(&Disabled { page });
    }
    if !has_account {
        return render(&NotActivated { page });
    }
    session.cycle_id().await.map_err(session_error)?;
    let recovery = Recovery { person_id: person.id, answered: false, last_seen: OffsetDateTime::now_utc() };
    session.insert(RECOVERY, &recovery).await.map_err(session_error)?;
    Ok(see_other(&page, "/recover/question"))
}

/// The recovery of this session when it may show a step needing (or not) the answer.
async fn enter(
    session: &Session,
    state: &AppState,
    page: &Page,
    needs_answer: bool,
) -> Result<Result<(Recovery, PersonRecord), Response>, AppError> {
    let Some(mut recovery) = session.get::<Recovery>(RECOVERY).await.map_err(session_error)? else {
        return Ok(Err(see_other(page, "/recover")));
    };
    let now = OffsetDateTime::now_utc();
    if now - recovery.last_seen > state.config.wizard_timeout {
        session.remove::<Recovery>(RECOVERY).await.map_err(session_error)?;
        return Ok(Err(see_other(page, "/recover")));
    }
    if needs_answer && !recovery.answered {
        return Ok(Err(see_other(page, "/recover/question")));
    }
    let Some(person) = state.store.person(recovery.person_id).await?.filter(PersonRecord::is_active) else {
        session.remove::<Recovery>(RECOVERY).await.map_err(session_error)?;
        return Ok(Err(see_other(page, "/recover")));
    };
    recovery.last_seen = now;
    session.insert(RECOVERY, &recovery).await.map_err(session_error)?;
    Ok(Ok((recovery, person)))
}

macro_rules! entered {
    ($session:expr, $state:expr, $page:expr, $needs_answer:expr) => {
        match enter(&$session, &$state, &$page, $needs_answer).await? {
            Ok(entered) => entered,
            Err(response) => return Ok(response),
        }
    };
}

#[derive(Template)]
#[template(path = "recover/question.html")]
struct QuestionForm {
    page: Page,
    csrf: String,
    question: String,
    errors: FieldErrors,
}

async fn question_text(state: &AppState, page: &Page, person_id: i64) -> Result<String, AppError> {
    Ok(state.store.account(person_id).await?.map(|a| asked_question(page, &a)).unwrap_or_default())
}

pub async fn question_show(State(state): State<AppState>, session: Session, page: Page) -> Result<Response, AppError> {
    let (recovery, _) = entered!(session, state, page, false);
    let csrf = csrf_token(&session).await?;
    let question = question_text(&state, &page, recovery.person_id).await?;
    render(&QuestionForm { page, csrf, question, errors: FieldErrors::default() })
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct AnswerFields {
    answer: String,
}

pub async fn question_submit(
    State(state): State<AppState>,
    session: Session,
    page: Page,
    CsrfForm(fields): CsrfForm<AnswerFields>,
) -> Result<Response, AppError> {
    let (mut recovery, person) = entered!(session, state, page, false);
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let key = throttle::recovery_key(person.id);
    if let Some(until) = state.store.throttle_locked_until(&key, now).await? {
        return too_many(page, until, now);
    }
    let Some(account) = state.store.account(person.id).await? else {
        return Ok(see_other(&page, "/recover"));
    };
    let verified = state.hasher.verify_answer(&*state.store, person.id, &fields.answer, &account.answer_hash).await;
    if verified.map_err(anyhow::Error::from)? {
        state.store.throttle_clear(&key).await?;
        recovery.answered = true;
        session.insert(RECOVERY, &recovery).await.map_err(session_error)?;
        return Ok(see_other(&page, "/recover/password"));
    }
    tracing::info!(person_id = person.id, "recovery: wrong answer");
    if let Some(until) = state.store.throttle_failure(&key, now, &throttle::RECOVERY_ANSWER).await? {
        return too_many(page, until, now);
    }
    let mut errors = FieldErrors::default();
    errors.add("answer", page.t("recover.wrong_answer"));
    let csrf = csrf_token(&session).await?;
    let question = question_text(&state, &page, person.id).await?;
    unprocessable(&QuestionForm { page, csrf, question, errors })
}

#[derive(Template)]
#[template(path = "recover/password.html")]
struct PasswordForm {
    page: Page,
    csrf: String,
    rules: RulesView,
    errors: FieldErrors,
}

pub async fn password_show(State(state): State<AppState>, session: Session, page: Page) -> Result<Response, AppError> {
    entered!(session, state, page, true);
    let csrf = csrf_token(&session).await?;
    render(&PasswordForm { rules: rules_view(&state, &page), page, csrf, errors: FieldErrors::default() })
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct PasswordFields {
    password: String,
    password_confirm: String,
}

pub async fn password_submit(
    State(state): State<AppState>,
    session: Session,
    client: ClientAddr,
    page: Page,
    CsrfForm(fields): CsrfForm<PasswordFields>,
) -> Result<Response, AppError> {
    let (_, person) = entered!(session, state, page, true);
    let password = SecretString::from(fields.password);
    let mut errors = FieldErrors::default();
    new_password_errors(&state, &page, &person, &password, &fields.password_confirm, &mut errors).await?;
    if !errors.is_empty() {
        let csrf = csrf_token(&session).await?;
        return unprocessable(&PasswordForm { rules: rules_view(&state, &page), page, csrf, errors });
    }
    set_password(&state, &page, &person, client, &password, "password_recovered").await?;
    session.remove::<Recovery>(RECOVERY).await.map_err(session_error)?;
    session.insert(RECOVERED, &person.login).await.map_err(session_error)?;
    Ok(see_other(&page, "/recover/done"))
}

#[derive(Template)]
#[template(path = "recover/done.html")]
struct Done {
    page: Page,
    login: String,
}

pub async fn done(session: Session, page: Page) -> Result<Response, AppError> {
    match session.get::<String>(RECOVERED).await.map_err(session_error)? {
        Some(login) => render(&Done { page, login }),
        None => Ok(see_other(&page, "/recover")),
    }
}
