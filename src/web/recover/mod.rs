//! Forgotten credentials: identify as in activation, answer the question joker, choose a new
//! password; the done page shows the login, which may have been forgotten too.

mod code;

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tower_sessions::Session;

use super::AppState;
use super::changes::failure_event;
use super::choices::asked_question;
use super::client::ClientAddr;
use super::error::AppError;
use super::form::{Csrf, CsrfForm, FieldErrors};
use super::identify::{Identification, IdentifyFields, Journey, MethodQuery, choose, disabled, empty_form, identify};
use super::journey::{At, JourneyState};
use super::new_password::{ChoosesPassword, PasswordForm, RulesView, check_new_password, password_show, set_password};
use super::page_context::Page;
use super::respond::{render, see_other, too_many, unprocessable};
use super::routes::{RECOVER, RECOVER_CODE, RECOVER_DONE, RECOVER_PASSWORD, RECOVER_QUESTION, RECOVER_SEND};
use super::session::keys::{RECOVERED, RECOVERY};
use crate::domain::security_answer::SecurityAnswer;
use crate::domain::throttle;
use crate::store::{AccountRecord, PersonRecord};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(RECOVER, get(start).post(submit))
        .route(RECOVER_QUESTION, get(question_show).post(question_submit))
        .route(RECOVER_PASSWORD, get(password_show::<Recovering>).post(password_submit))
        .route(RECOVER_DONE, get(done))
        .merge(code::router())
}

/// Who is recovering in this session, and whether they answered their question.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Recovery {
    person_id: i64,
    answered: bool,
    last_seen: OffsetDateTime,
    /// When it began: a password set since (by another recovery, or in the account area) ends it.
    #[serde(default)]
    since: Option<OffsetDateTime>,
}

async fn start(page: Page, Query(query): Query<MethodQuery>, Csrf(csrf): Csrf) -> Result<Response, AppError> {
    match query.method() {
        Some(method) => empty_form(page, csrf, Journey::Recovery, method),
        None => choose(page, Journey::Recovery),
    }
}

#[derive(Template)]
#[template(path = "recover/not_activated.html")]
struct NotActivated {
    page: Page,
}

async fn submit(
    State(state): State<AppState>,
    session: Session,
    client: ClientAddr,
    page: Page,
    CsrfForm { fields, csrf, .. }: CsrfForm<IdentifyFields>,
) -> Result<Response, AppError> {
    let (person, has_account) = match identify(&state, csrf, client, page.clone(), Journey::Recovery, fields).await? {
        Identification::Person { person, has_account, .. } => (person, has_account),
        Identification::Refused(response) => return Ok(response),
    };
    session.remove::<Recovery>(RECOVERY).await?;
    if !person.is_active() {
        return disabled(page);
    }
    if !has_account {
        return render(&NotActivated { page });
    }
    super::session::new_id(&session).await?;
    let now = OffsetDateTime::now_utc();
    let recovery = Recovery { person_id: person.id, answered: false, last_seen: now, since: Some(now) };
    session.insert(RECOVERY, &recovery).await?;
    Ok(see_other(&page, RECOVER_QUESTION))
}

/// The recovery of this session, at the step whose page is asked for; rejected with a 303 to
/// the first step not yet done (the answer before the password), or to the start when there is
/// none, it went idle, or the account is gone or disabled.
struct Recovering {
    recovery: Recovery,
    person: PersonRecord,
    account: AccountRecord,
}

impl JourneyState for Recovering {
    async fn load(session: &Session, state: &AppState, page: Page) -> Result<Self, Response> {
        // A one-time code stands for the answer: asking for one and typing it need no answer.
        let needs_answer = ![RECOVER_QUESTION, RECOVER_SEND, RECOVER_CODE].contains(&page.path.as_str());
        match enter(session, state, needs_answer).await {
            Ok(Ok(recovering)) => Ok(recovering),
            Ok(Err(first_missing)) => Err(see_other(&page, first_missing)),
            Err(e) => Err(e.into_response()),
        }
    }
}

/// The recovery when it may show a step needing (or not) the answer; otherwise the page of the
/// first step not yet done.
async fn enter(
    session: &Session,
    state: &AppState,
    needs_answer: bool,
) -> Result<Result<Recovering, &'static str>, AppError> {
    let Some(mut recovery) = session.get::<Recovery>(RECOVERY).await? else {
        return Ok(Err(RECOVER));
    };
    let now = OffsetDateTime::now_utc();
    if now - recovery.last_seen > state.config.wizard_timeout {
        session.remove::<Recovery>(RECOVERY).await?;
        return Ok(Err(RECOVER));
    }
    if needs_answer && !recovery.answered {
        return Ok(Err(RECOVER_QUESTION));
    }
    let person = state.store.person(recovery.person_id).await?.filter(PersonRecord::is_active);
    let account = state.store.account(recovery.person_id).await?;
    let outdated = |account: &AccountRecord| recovery.since.is_some_and(|since| since < account.password_changed_at);
    let (Some(person), Some(account)) = (person, account.filter(|a| !outdated(a))) else {
        session.remove::<Recovery>(RECOVERY).await?;
        return Ok(Err(RECOVER));
    };
    recovery.last_seen = now;
    session.insert(RECOVERY, &recovery).await?;
    Ok(Ok(Recovering { recovery, person, account }))
}

#[derive(Template)]
#[template(path = "recover/question.html")]
struct QuestionForm {
    page: Page,
    csrf: String,
    question: String,
    errors: FieldErrors,
    /// One-time codes the person may ask for instead.
    offers: Vec<code::Offer>,
}

async fn question_show(
    At(Recovering { person, account, .. }): At<Recovering>,
    Csrf(csrf): Csrf,
    page: Page,
) -> Result<Response, AppError> {
    let offers = code::offers(&page, &person, &account);
    render(&QuestionForm {
        question: asked_question(&page, &account),
        page,
        csrf,
        errors: FieldErrors::default(),
        offers,
    })
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct AnswerFields {
    answer: String,
}

async fn question_submit(
    State(state): State<AppState>,
    session: Session,
    client: ClientAddr,
    page: Page,
    CsrfForm { fields, csrf, journey }: CsrfForm<AnswerFields, At<Recovering>>,
) -> Result<Response, AppError> {
    let At(Recovering { mut recovery, person, account }) = journey;
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let key = throttle::recovery_key(person.id);
    if let Some(until) = state.store.throttle_locked_until(&key, now).await? {
        return too_many(page, until, now);
    }
    let again = |page: Page, errors: FieldErrors| {
        let offers = code::offers(&page, &person, &account);
        unprocessable(&QuestionForm { question: asked_question(&page, &account), page, csrf, errors, offers })
    };
    // An answer the rules would not have accepted cannot be the one saved: said at once,
    // without a hash or a failure counted.
    if let Err(e) = SecurityAnswer::parse(&fields.answer, &[]) {
        let mut errors = FieldErrors::default();
        errors.add("answer", page.t_with(e.code(), &e.params()));
        return again(page, errors);
    }
    if state.hasher.verify_answer(&*state.store, person.id, &fields.answer, &account.answer_hash).await? {
        state.store.throttle_clear(&key).await?;
        recovery.answered = true;
        session.insert(RECOVERY, &recovery).await?;
        return Ok(see_other(&page, RECOVER_PASSWORD));
    }
    tracing::info!(person_id = person.id, "recovery: wrong answer");
    let at = OffsetDateTime::now_utc();
    state.store.audit(&failure_event("answer_wrong", Some(person.id), client, "recovery:question", at)).await?;
    if let Some(until) = state.store.throttle_failure(&key, now, &throttle::RECOVERY_ANSWER).await? {
        return too_many(page, until, now);
    }
    let mut errors = FieldErrors::default();
    errors.add("answer", page.t("recover.wrong_answer"));
    again(page, errors)
}

impl ChoosesPassword for Recovering {
    fn password_form(page: Page, csrf: String, rules: RulesView, errors: FieldErrors) -> PasswordForm {
        PasswordForm::Recovery { page, csrf, rules, errors }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PasswordFields {
    password: SecretString,
    password_confirm: SecretString,
}

async fn password_submit(
    State(state): State<AppState>,
    session: Session,
    client: ClientAddr,
    page: Page,
    CsrfForm { fields, csrf, journey }: CsrfForm<PasswordFields, At<Recovering>>,
) -> Result<Response, AppError> {
    let At(Recovering { person, .. }) = journey;
    let mut errors = FieldErrors::default();
    check_new_password(&state, &page, &person, &fields.password, &fields.password_confirm, &mut errors).await?;
    if !errors.is_empty() {
        return unprocessable(&PasswordForm::after::<Recovering>(&state, page, csrf, errors, &fields.password));
    }
    set_password(&state, &page, &person, client, &fields.password, "password_recovered").await?;
    session.remove::<Recovery>(RECOVERY).await?;
    session.insert(RECOVERED, &person.login).await?;
    Ok(see_other(&page, RECOVER_DONE))
}

#[derive(Template)]
#[template(path = "recover/done.html")]
struct Done {
    page: Page,
    login: String,
}

/// The login once the password is set; before, the first step not yet done.
async fn done(State(state): State<AppState>, session: Session, page: Page) -> Result<Response, AppError> {
    if let Some(login) = session.get::<String>(RECOVERED).await? {
        return render(&Done { page, login });
    }
    let first_missing = enter(&session, &state, true).await?.err().unwrap_or(RECOVER_PASSWORD);
    Ok(see_other(&page, first_missing))
}
