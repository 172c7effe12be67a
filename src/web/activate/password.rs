//! Step 6 and the end: the password under the institution's rules, then the confirmation.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use time::OffsetDateTime;
use tower_sessions::Session;

use super::identify::{AlreadyActive, Disabled, unprocessable};
use super::{Progress, activated, enter, finish, forget_wizard, see_other};
use crate::domain::activation::{Activated, Step, Wizard};
use crate::domain::birth_date::BirthDate;
use crate::domain::password_policy::{MISMATCH_CODE, PasswordContext, Violation};
use crate::mail::messages;
use crate::store::{Activation, AuditEvent, NewAccount};
use crate::web::AppState;
use crate::web::client::ClientAddr;
use crate::web::error::AppError;
use crate::web::form::{CsrfForm, FieldErrors, csrf_token};
use crate::web::page::{Page, render};

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

/// The rules as the page lists them, from the configured policy, with what the page's script
/// needs to tick them as the person types (length and kinds of character; the rest is
/// checked on submission).
pub struct RulesView {
    pub lines: Vec<RuleLine>,
    pub min: usize,
    pub max: usize,
    pub special: String,
}

pub struct RuleLine {
    /// `length`, `digit`, `history`…: the rule's code without its `password.rule.` prefix.
    pub kind: &'static str,
    pub text: String,
}

pub fn rules_view(state: &AppState, page: &Page) -> RulesView {
    let policy = &state.config.password_policy;
    let lines = policy
        .rules()
        .iter()
        .map(|r| RuleLine { kind: r.code.trim_start_matches("password.rule."), text: page.t_with(r.code, &r.params) })
        .collect();
    RulesView { lines, min: policy.min_length, max: policy.max_length, special: policy.special_characters.clone() }
}

pub async fn show(State(state): State<AppState>, session: Session, page: Page) -> Result<Response, AppError> {
    let (_, page) = match enter(&session, &state, page, Step::Password).await? {
        Ok(entered) => entered,
        Err(response) => return Ok(response),
    };
    let csrf = csrf_token(&session).await?;
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

/// What the strength estimator should treat as guessable for this person.
fn personal_words(state: &AppState, wizard: &Wizard) -> Vec<String> {
    let p = &wizard.person;
    let born = BirthDate::from_date(p.birth_date);
    vec![
        p.given_name.clone(),
        p.family_name.clone(),
        p.uid.clone(),
        p.identifier.clone(),
        born.to_french(),
        born.to_iso(),
        p.birth_date.year().to_string(),
        state.config.institution_name.clone(),
    ]
}

/// Every rule the candidate breaks, the reuse of a recent password included.
pub async fn check_password(
    state: &AppState,
    page: &Page,
    login: &str,
    words: &[String],
    person_id: i64,
    password: &SecretString,
    errors: &mut FieldErrors,
) -> Result<(), AppError> {
    let policy = &state.config.password_policy;
    let inputs: Vec<&str> = words.iter().map(String::as_str).collect();
    let mut violations = policy.check(password.expose_secret(), &PasswordContext { login, user_inputs: &inputs });
    if violations.is_empty() && policy.history_depth > 0 {
        let history = state.store.password_history(person_id, policy.history_depth).await?;
        if state.hasher.matches_any(password, history).await.map_err(anyhow::Error::from)? {
            violations.push(Violation::ReusedRecent { depth: policy.history_depth });
        }
    }
    for v in &violations {
        errors.add("password", page.t_with(v.code(), &v.params()));
        if let Violation::TooWeak { warning, suggestions } = v {
            for advice in warning.iter().chain(suggestions) {
                errors.add("password", page.t(advice));
            }
        }
    }
    Ok(())
}

pub async fn submit(
    State(state): State<AppState>,
    session: Session,
    client: ClientAddr,
    page: Page,
    CsrfForm(fields): CsrfForm<PasswordFields>,
) -> Result<Response, AppError> {
    let (wizard, page) = match enter(&session, &state, page, Step::Password).await? {
        Ok(entered) => entered,
        Err(response) => return Ok(response),
    };
    let password = fields.password;
    let mut errors = FieldErrors::default();
    check_password(
        &state,
        &page,
        &wizard.person.login,
        &personal_words(&state, &wizard),
        wizard.person.person_id,
        &password,
        &mut errors,
    )
    .await?;
    if password.expose_secret() != fields.password_confirm.expose_secret() {
        errors.add("password_confirm", page.t(MISMATCH_CODE));
    }
    let accepted = fields.accept_rules == "on";
    if !accepted {
        errors.add("accept_rules", page.t("password.accept_rules_required"));
    }
    if !errors.is_empty() {
        let csrf = csrf_token(&session).await?;
        return unprocessable(&PasswordForm {
            rules: rules_view(&state, &page),
            page,
            csrf,
            progress: Progress::of(Step::Password),
            accepted,
            errors,
        });
    }

    // `enter` guarantees every earlier step is done.
    let (Some(question), Some(sms), Some(photo)) = (&wizard.question, &wizard.sms, &wizard.photo) else {
        return Ok(see_other(&page, wizard.next_step().path()));
    };
    let now = OffsetDateTime::now_utc();
    let account = NewAccount {
        person_id: wizard.person.person_id,
        password_hash: state.hasher.hash(&password).await.map_err(anyhow::Error::from)?,
        question_id: question.question_id.clone(),
        custom_question: question.custom_question.clone(),
        answer_hash: question.answer_hash.clone(),
        phone: sms.phone.clone(),
        sms_consent_at: sms.at,
        photo_consent: photo.consent,
        photo_consent_at: photo.at,
        rules_version: state.config.rules_version.clone(),
        at: now,
    };
    let audit = AuditEvent {
        kind: "activated",
        actor: wizard.person.login.clone(),
        person_id: Some(wizard.person.person_id),
        client_addr: Some(client.0.to_string()),
        detail: format!("rules={}", state.config.rules_version),
        at: now,
    };
    let mail =
        messages::activated(page.locale, &wizard.person, &state.config.public_url, &state.config.institution_name)?;
    let depth = state.config.password_policy.history_depth.max(1);
    match state.store.activate(&account, depth, &audit, &mail).await? {
        Activation::Activated => {
            state.outbox.notify_one();
            tracing::info!(person_id = wizard.person.person_id, "account activated");
            metrics::counter!("sesame_activations_total").increment(1);
            let done = Activated {
                login: wizard.person.login.clone(),
                uid: wizard.person.uid.clone(),
                email: wizard.person.email.clone(),
                sms_consent: sms.phone.is_some(),
                photo_consent: photo.consent,
            };
            finish(&session, &done).await?;
            Ok(see_other(&page, Step::Done.path()))
        }
        Activation::AlreadyActive => {
            forget_wizard(&session).await?;
            render(&AlreadyActive { page })
        }
        Activation::Disabled => {
            forget_wizard(&session).await?;
            render(&Disabled { page })
        }
    }
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
    match enter(&session, &state, page, Step::Done).await? {
        Ok((wizard, page)) => Ok(see_other(&page, wizard.next_step().path())),
        Err(response) => Ok(response),
    }
}
