//! Step 6 and the end: the password under the institution's rules, then the confirmation.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use secrecy::SecretString;
use serde::Deserialize;
use time::OffsetDateTime;
use tower_sessions::Session;

use super::identify::AlreadyActive;
use super::{activated, enter, forget_wizard, keep_confirmation, person};
use crate::domain::activation::{Activated, Step, Wizard};
use crate::mail::messages;
use crate::store::{Activation, AuditEvent, NewAccount, PersonRecord};
use crate::web::AppState;
use crate::web::changes::audit;
use crate::web::client::ClientAddr;
use crate::web::error::AppError;
use crate::web::form::{Csrf, CsrfForm, FieldErrors};
use crate::web::identify::{Progress, disabled};
use crate::web::journey::At;
use crate::web::new_password::{RulesView, check_new_password, history_depth, rules_view, rules_view_after};
use crate::web::page_context::Page;
use crate::web::respond::{render, see_other, unprocessable};

#[derive(Template)]
#[template(path = "activate/password.html")]
pub struct PasswordForm {
    pub page: Page,
    pub csrf: String,
    pub progress: Progress,
    pub rules: RulesView,
    pub accepted: bool,
    pub errors: FieldErrors,
}

pub async fn show(
    State(state): State<AppState>,
    At(_): At<Wizard>,
    Csrf(csrf): Csrf,
    page: Page,
) -> Result<Response, AppError> {
    render(&PasswordForm {
        rules: rules_view(&state, &page),
        page,
        csrf,
        progress: Progress::of(Step::Password),
        accepted: false,
        errors: FieldErrors::default(),
    })
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct PasswordFields {
    password: SecretString,
    password_confirm: SecretString,
    accept_rules: String,
}

pub async fn submit(
    State(state): State<AppState>,
    session: Session,
    client: ClientAddr,
    page: Page,
    CsrfForm { fields, csrf, journey: At(wizard) }: CsrfForm<PasswordFields, At<Wizard>>,
) -> Result<Response, AppError> {
    let Some(person) = person(&state, &wizard).await? else {
        forget_wizard(&session).await?;
        return Ok(see_other(&page, Step::Identify.path()));
    };
    let password = fields.password;
    let mut errors = FieldErrors::default();
    check_new_password(&state, &page, &person, &password, &fields.password_confirm, &mut errors).await?;
    let accepted = fields.accept_rules == "on";
    if !accepted {
        errors.add("accept_rules", page.t("password.accept_rules_required"));
    }
    if !errors.is_empty() {
        return unprocessable(&PasswordForm {
            rules: rules_view_after(&state, &page, &password),
            page,
            csrf,
            progress: Progress::of(Step::Password),
            accepted,
            errors,
        });
    }

    let Some((activation, done)) = create_account(&state, &page, client, &wizard, &person, &password).await? else {
        return Ok(see_other(&page, wizard.next_step().path()));
    };
    forget_wizard(&session).await?;
    match activation {
        Activation::Activated => {
            state.outbox.notify_one();
            tracing::info!(person_id = person.id, "account activated");
            metrics::counter!("sesame_activations_total").increment(1);
            keep_confirmation(&session, &done).await?;
            Ok(see_other(&page, Step::Done.path()))
        }
        Activation::AlreadyActive => render(&AlreadyActive { page }),
        Activation::Disabled => disabled(page),
    }
}

/// The account the wizard's answers make, with its audit event and welcome mail, and what the
/// confirmation shows; `None` while a step before is not done.
async fn create_account(
    state: &AppState,
    page: &Page,
    client: ClientAddr,
    wizard: &Wizard,
    person: &PersonRecord,
    password: &SecretString,
) -> Result<Option<(Activation, Activated)>, AppError> {
    let (Some(question), Some(sms), Some(photo)) = (&wizard.question, &wizard.sms, &wizard.photo) else {
        return Ok(None);
    };
    let now = OffsetDateTime::now_utc();
    let account = NewAccount {
        person_id: person.id,
        password_hash: state.hasher.hash(password).await?,
        question_id: question.question_id.clone(),
        custom_question: question.custom_question.clone(),
        answer_hash: question.answer_hash.clone(),
        phone: sms.phone.clone(),
        sms_consent_at: sms.at,
        photo_consent: photo.consent,
        photo_consent_at: photo.at,
        rules_version: state.config.rules_version.clone(),
        at: now,
        nt_sealed: crate::directory::sealed_nt_hash(&state.config, wizard.person.person_id, &password),
    };
    let event = AuditEvent {
        detail: format!("rules={}", state.config.rules_version),
        ..audit("activated", person, client, now)
    };
    let mail = messages::activated(
        page.locale,
        &wizard.person,
        &state.config.public_url,
        &state.config.institution_name,
        &state.config.helpdesk,
    )?;
    let activation = state.store.activate(&account, history_depth(state), &event, &mail).await?;
    let done = Activated {
        login: person.login.clone(),
        uid: person.uid.clone(),
        email: person.email.clone(),
        sms_consent: sms.phone.is_some(),
        photo_consent: photo.consent,
    };
    Ok(Some((activation, done)))
}

#[derive(Template)]
#[template(path = "activate/done.html")]
pub struct Done {
    pub page: Page,
    pub progress: Progress,
    pub done: Activated,
}

/// The confirmation once the account exists; before, the first step not yet done.
pub async fn done(State(state): State<AppState>, session: Session, page: Page) -> Result<Response, AppError> {
    if let Some(done) = activated(&session).await? {
        return render(&Done { page, progress: Progress::of(Step::Done), done });
    }
    match enter(&session, &state, page.clone(), Step::Done).await {
        Ok(wizard) => Ok(see_other(&page, wizard.next_step().path())),
        Err(response) => Ok(response),
    }
}
