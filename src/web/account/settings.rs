//! The signed-in person's settings: the overview, then password, question joker, preferences.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use secrecy::SecretString;
use serde::Deserialize;
use time::OffsetDateTime;
use tower_sessions::Session;

use super::login::Attempt;
use super::{SignedIn, changed_password_here};
use crate::domain::phone::MobileNumber;
use crate::store::{AccountRecord, PersonRecord, Preferences};
use crate::web::AppState;
use crate::web::changes::{audit, notice_to};
use crate::web::choices::{
    QuestionFields, QuestionForm, QuestionPage, asked_question, parse_answer, parse_question, parse_sms, parse_yes_no,
};
use crate::web::client::ClientAddr;
use crate::web::error::AppError;
use crate::web::form::{Csrf, CsrfForm, FieldErrors};
use crate::web::journey::At;
use crate::web::new_password::{ChoosesPassword, PasswordForm, RulesView, check_new_password, set_password};
use crate::web::page_context::Page;
use crate::web::respond::{render, see_other, too_many, unprocessable};
use crate::web::routes::ACCOUNT;
use crate::web::session::keys::FLASH;

/// Leaves a message for the next page the person sees (the overview).
async fn flash(session: &Session, key: &str) -> Result<(), AppError> {
    Ok(session.insert(FLASH, key).await?)
}

#[derive(Template)]
#[template(path = "account/overview.html")]
struct Overview {
    page: Page,
    csrf: String,
    flash: Option<String>,
    person: PersonRecord,
    activated_on: String,
    question: String,
    phone: Option<String>,
    account: AccountRecord,
}

pub async fn overview(
    At(SignedIn { person, account }): At<SignedIn>,
    Csrf(csrf): Csrf,
    session: Session,
    page: Page,
) -> Result<Response, AppError> {
    let flash = session.remove::<String>(FLASH).await?.map(|key| page.t(&key));
    let activated_on = page.local_date(account.activated_at);
    let phone = account.phone.as_deref().and_then(|p| MobileNumber::parse(p).ok()).map(|m| m.masked());
    render(&Overview {
        question: asked_question(&page, &account),
        page,
        csrf,
        flash,
        person,
        activated_on,
        phone,
        account,
    })
}

/// Checks the current password as a sign-in attempt: under the sign-in lock the form is refused
/// (429) whatever was typed, and a wrong one counts as a failed sign-in.
async fn current_password_ok(
    state: &AppState,
    page: &Page,
    person: &PersonRecord,
    account: &AccountRecord,
    client: ClientAddr,
    current: &SecretString,
    errors: &mut FieldErrors,
) -> Result<Option<Response>, AppError> {
    let attempt = Attempt::new(Some(person.id), None, client);
    if let Some(until) = attempt.locked_until(state).await? {
        return too_many(page.clone(), until, attempt.now).map(Some);
    }
    if !state.hasher.matches(current, &account.password_hash).await? {
        attempt.failed(state, "current_password").await?;
        errors.add("current_password", page.t("account.wrong_current_password"));
    }
    Ok(None)
}

impl ChoosesPassword for SignedIn {
    fn password_form(page: Page, csrf: String, rules: RulesView, errors: FieldErrors) -> PasswordForm {
        PasswordForm::Account { page, csrf, rules, errors }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct PasswordFields {
    current_password: SecretString,
    password: SecretString,
    password_confirm: SecretString,
}

pub async fn password_submit(
    State(state): State<AppState>,
    session: Session,
    client: ClientAddr,
    page: Page,
    CsrfForm { fields, csrf, journey: At(SignedIn { person, account }) }: CsrfForm<PasswordFields, At<SignedIn>>,
) -> Result<Response, AppError> {
    let mut errors = FieldErrors::default();
    if let Some(refused) =
        current_password_ok(&state, &page, &person, &account, client, &fields.current_password, &mut errors).await?
    {
        return Ok(refused);
    }
    let password = fields.password;
    if errors.is_empty() {
        check_new_password(&state, &page, &person, &password, &fields.password_confirm, &mut errors).await?;
    }
    if !errors.is_empty() {
        return unprocessable(&PasswordForm::after::<SignedIn>(&state, page, csrf, errors, &password));
    }
    let at = set_password(&state, &page, &person, client, &password, "password_changed").await?;
    changed_password_here(&session, at).await?;
    flash(&session, "account.password_saved").await?;
    Ok(see_other(&page, ACCOUNT))
}

pub async fn question_show(
    At(SignedIn { account, .. }): At<SignedIn>,
    Csrf(csrf): Csrf,
    page: Page,
) -> Result<Response, AppError> {
    let (selected, custom) = (account.question_id.clone(), account.custom_question.clone().unwrap_or_default());
    render(&QuestionForm::new(QuestionPage::Account, page, csrf, selected, custom, FieldErrors::default()))
}

/// Activation's question fields, and the current password.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct AccountQuestionFields {
    #[serde(flatten)]
    question: QuestionFields,
    current_password: SecretString,
}

pub async fn question_submit(
    State(state): State<AppState>,
    session: Session,
    client: ClientAddr,
    page: Page,
    CsrfForm { fields, csrf, journey: At(SignedIn { person, account }) }: CsrfForm<AccountQuestionFields, At<SignedIn>>,
) -> Result<Response, AppError> {
    let AccountQuestionFields { question: fields, current_password } = fields;
    let mut errors = FieldErrors::default();
    let question_id = fields.question.trim();
    let custom = parse_question(&page, question_id, &fields.custom_question, &mut errors);
    let answer = parse_answer(&page, &fields.answer, &person, &mut errors);
    if let Some(refused) =
        current_password_ok(&state, &page, &person, &account, client, &current_password, &mut errors).await?
    {
        return Ok(refused);
    }
    let (Some(custom), Some(answer), true) = (custom, answer, errors.is_empty()) else {
        let form =
            QuestionForm::new(QuestionPage::Account, page, csrf, question_id.into(), fields.custom_question, errors);
        return unprocessable(&form);
    };
    let now = OffsetDateTime::now_utc();
    let answer_hash = state.hasher.hash(&SecretString::from(answer.as_str().to_owned())).await?;
    let mail = notice_to(&state, &page, &person, "question_changed", client, now)?;
    let event = audit("question_changed", &person, client, now);
    state.store.change_question(person.id, question_id, custom.as_deref(), &answer_hash, &event, &mail).await?;
    state.outbox.notify_one();
    flash(&session, "account.question_saved").await?;
    Ok(see_other(&page, ACCOUNT))
}

#[derive(Template)]
#[template(path = "account/preferences.html")]
struct PreferencesForm {
    page: Page,
    csrf: String,
    sms_consent: String,
    phone: String,
    photo_consent: String,
    directory_visible: String,
    errors: FieldErrors,
}

fn yes_no(value: bool) -> String {
    if value { "yes" } else { "no" }.to_string()
}

pub async fn preferences_show(
    At(SignedIn { account, .. }): At<SignedIn>,
    Csrf(csrf): Csrf,
    page: Page,
) -> Result<Response, AppError> {
    render(&PreferencesForm {
        page,
        csrf,
        sms_consent: yes_no(account.sms_consent),
        phone: account.phone.clone().unwrap_or_default(),
        photo_consent: yes_no(account.photo_consent),
        directory_visible: yes_no(account.directory_visible),
        errors: FieldErrors::default(),
    })
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct PreferencesFields {
    sms_consent: String,
    phone: String,
    photo_consent: String,
    directory_visible: String,
}

pub async fn preferences_submit(
    State(state): State<AppState>,
    session: Session,
    client: ClientAddr,
    page: Page,
    CsrfForm { fields, csrf, journey: At(SignedIn { person, account }) }: CsrfForm<PreferencesFields, At<SignedIn>>,
) -> Result<Response, AppError> {
    let mut errors = FieldErrors::default();
    let phone = parse_sms(&page, &fields.sms_consent, &fields.phone, &mut errors);
    let photo = parse_yes_no(&page, "photo_consent", &fields.photo_consent, &mut errors);
    let directory = parse_yes_no(&page, "directory_visible", &fields.directory_visible, &mut errors);
    let (Some(phone), Some(photo_consent), Some(directory_visible)) = (phone, photo, directory) else {
        return unprocessable(&PreferencesForm {
            page,
            csrf,
            sms_consent: fields.sms_consent,
            phone: fields.phone,
            photo_consent: fields.photo_consent,
            directory_visible: fields.directory_visible,
            errors,
        });
    };
    let now = OffsetDateTime::now_utc();
    // A consent's time is the time it was given or withdrawn, not of every save.
    let preferences = Preferences {
        sms_consent_at: if phone == account.phone { account.sms_consent_at } else { now },
        photo_consent_at: if photo_consent == account.photo_consent { account.photo_consent_at } else { now },
        phone,
        photo_consent,
        directory_visible,
    };
    let mail = notice_to(&state, &page, &person, "preferences_changed", client, now)?;
    let event = audit("preferences_changed", &person, client, now);
    state.store.update_preferences(person.id, &preferences, &event, &mail).await?;
    state.outbox.notify_one();
    flash(&session, "account.preferences_saved").await?;
    Ok(see_other(&page, ACCOUNT))
}
