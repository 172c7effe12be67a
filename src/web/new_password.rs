//! Setting a password, the same way in activation, recovery and the account area: the rules as
//! the page lists them, the policy with the one list of personal words, the history, the hash.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use secrecy::{ExposeSecret, SecretString};
use time::OffsetDateTime;

use super::AppState;
use super::changes::{audit, notice_to};
use super::client::ClientAddr;
use super::error::AppError;
use super::form::{Csrf, FieldErrors};
use super::journey::{At, JourneyState};
use super::page_context::Page;
use super::respond::render;
use crate::domain::birth_date::BirthDate;
use crate::domain::password_policy::{MISMATCH_CODE, PasswordContext, Violation};
use crate::store::PersonRecord;

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
    /// Whether the refused password met it, for the rules the page's script checks too: the
    /// field comes back empty, the checklist shows where the refused password stood.
    pub met: Option<bool>,
}

pub fn rules_view(state: &AppState, page: &Page) -> RulesView {
    let policy = &state.config.password_policy;
    let lines = policy
        .rules()
        .iter()
        .map(|r| RuleLine {
            kind: r.code.trim_start_matches("password.rule."),
            text: page.t_with(r.code, &r.params),
            met: None,
        })
        .collect();
    RulesView { lines, min: policy.min_length, max: policy.max_length, special: policy.special_characters.clone() }
}

/// The page where a new password is chosen, laid out by its journey's template: recovery's, or
/// the account area's, which asks for the current password too.
#[derive(Template)]
pub enum PasswordForm {
    #[template(path = "recover/password.html")]
    Recovery { page: Page, csrf: String, rules: RulesView, errors: FieldErrors },
    #[template(path = "account/password.html")]
    Account { page: Page, csrf: String, rules: RulesView, errors: FieldErrors },
}

/// A journey with a page of its own where a new password is chosen.
pub trait ChoosesPassword: JourneyState + Send + 'static {
    /// The journey's page with these rules and errors.
    fn password_form(page: Page, csrf: String, rules: RulesView, errors: FieldErrors) -> PasswordForm;
}

impl PasswordForm {
    /// The page of journey `J`, listing the configured rules, with `errors`.
    pub fn of<J: ChoosesPassword>(state: &AppState, page: Page, csrf: String, errors: FieldErrors) -> Self {
        let rules = rules_view(state, &page);
        J::password_form(page, csrf, rules, errors)
    }

    /// The page again after `refused` was refused, each rule shown as it stood.
    pub fn after<J: ChoosesPassword>(
        state: &AppState,
        page: Page,
        csrf: String,
        errors: FieldErrors,
        refused: &SecretString,
    ) -> Self {
        let rules = rules_view_after(state, &page, refused);
        J::password_form(page, csrf, rules, errors)
    }
}

/// The empty form, to a person at that step of journey `J`.
pub async fn password_show<J: ChoosesPassword>(
    State(state): State<AppState>,
    At(_): At<J>,
    Csrf(csrf): Csrf,
    page: Page,
) -> Result<Response, AppError> {
    render(&PasswordForm::of::<J>(&state, page, csrf, FieldErrors::default()))
}

impl RulesView {
    /// Whether the lines show a refused password's state.
    pub fn checked(&self) -> bool {
        self.lines.iter().any(|l| l.met.is_some())
    }
}

/// The rules again after `refused` was refused, each checkable one met or not.
pub fn rules_view_after(state: &AppState, page: &Page, refused: &SecretString) -> RulesView {
    let mut view = rules_view(state, page);
    // The rules that hold on the password alone; the others (login, history, strength) are
    // told by the errors.
    let broken: Vec<&str> = state
        .config
        .password_policy
        .check(refused.expose_secret(), &PasswordContext { login: "", user_inputs: &[] })
        .iter()
        .filter_map(|v| match v {
            Violation::TooShort { .. } | Violation::TooLong { .. } => Some("length"),
            Violation::MissingLowercase => Some("lowercase"),
            Violation::MissingUppercase => Some("uppercase"),
            Violation::MissingDigit => Some("digit"),
            Violation::MissingSpecial => Some("special"),
            Violation::ContainsWhitespace => Some("no_whitespace"),
            _ => None,
        })
        .collect();
    for line in &mut view.lines {
        if CHECKED_AS_TYPED.contains(&line.kind) {
            line.met = Some(!broken.contains(&line.kind));
        }
    }
    view
}

/// The rules `static/sesame.js` ticks as the person types.
const CHECKED_AS_TYPED: [&str; 6] = ["length", "lowercase", "uppercase", "digit", "special", "no_whitespace"];

/// What the strength estimator treats as guessable for this person: their names, every
/// identifier, their birth date and year, the institution's name.
pub fn personal_words(state: &AppState, person: &PersonRecord) -> Vec<String> {
    let born = BirthDate::from_date(person.birth_date);
    [&person.staff_number, &person.student_number, &person.ine]
        .into_iter()
        .flatten()
        .cloned()
        .chain([
            person.given_name.clone(),
            person.family_name.clone(),
            person.uid.clone(),
            born.to_french(),
            born.to_iso(),
            person.birth_date.year().to_string(),
            state.config.institution_name.clone(),
        ])
        .collect()
}

/// Every rule the candidate breaks (the reuse of a recent password included) under `password`,
/// and a confirmation that differs under `password_confirm`.
pub async fn check_new_password(
    state: &AppState,
    page: &Page,
    person: &PersonRecord,
    password: &SecretString,
    confirm: &SecretString,
    errors: &mut FieldErrors,
) -> Result<(), AppError> {
    let policy = &state.config.password_policy;
    let words = personal_words(state, person);
    let inputs: Vec<&str> = words.iter().map(String::as_str).collect();
    let context = PasswordContext { login: &person.login, user_inputs: &inputs };
    let mut violations = policy.check(password.expose_secret(), &context);
    if violations.is_empty() && policy.history_depth > 0 {
        let history = state.store.password_history(person.id, policy.history_depth).await?;
        if state.hasher.matches_any(password, history).await? {
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
    if password.expose_secret() != confirm.expose_secret() {
        errors.add("password_confirm", page.t(MISMATCH_CODE));
    }
    Ok(())
}

/// How many hashes the history keeps: the policy's depth, and at least the current one.
pub fn history_depth(state: &AppState) -> usize {
    state.config.password_policy.history_depth.max(1)
}

/// Sets a new password of an existing account, after every check, with its audit event
/// (`kind`) and notice mail; returns the time of the change, which ends the sessions signed
/// in before it.
pub async fn set_password(
    state: &AppState,
    page: &Page,
    person: &PersonRecord,
    client: ClientAddr,
    password: &SecretString,
    kind: &'static str,
) -> Result<OffsetDateTime, AppError> {
    let now = OffsetDateTime::now_utc();
    let hash = state.hasher.hash(password).await?;
    let mail = notice_to(state, page, person, "password_changed", client, now)?;
    let event = audit(kind, person, client, now);
    let nt_sealed = crate::directory::sealed_nt_hash(&state.config, person.id, password);
    let depth = history_depth(state);
    state.store.change_password(person.id, &hash, nt_sealed.as_deref(), depth, &event, Some(&mail)).await?;
    state.outbox.notify_one();
    Ok(now)
}
