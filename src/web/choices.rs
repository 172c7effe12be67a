//! The question joker and the consents: the fields activation and the account area share, with
//! the one list of answers a person may not choose.

use askama::Template;
use serde::Deserialize;

use super::form::FieldErrors;
use super::identify::Progress;
use super::page_context::Page;
use crate::domain::activation::Step;
use crate::domain::birth_date::BirthDate;
use crate::domain::phone::MobileNumber;
use crate::domain::security_answer::{
    CUSTOM_QUESTION_ID, SecurityAnswer, SecurityQuestion, default_questions, find_proposed_question,
};
use crate::store::{AccountRecord, PersonRecord};

/// The proposed questions as (id, text) in the page's language.
pub fn proposed_questions(page: &Page) -> Vec<(&'static str, String)> {
    default_questions().into_iter().map(|q| (q.id, page.t(q.key))).collect()
}

/// The question joker's page, laid out by its journey's template: a step of activation's wizard,
/// or a change in the account area, which asks for the current password too.
#[derive(Template)]
pub enum QuestionForm {
    #[template(path = "activate/question.html")]
    Activation {
        page: Page,
        csrf: String,
        progress: Progress,
        questions: Vec<(&'static str, String)>,
        selected: String,
        custom_question: String,
        /// An answer is already saved for the selected question: leaving the field empty keeps it.
        answer_saved: bool,
        errors: FieldErrors,
    },
    #[template(path = "account/question.html")]
    Account {
        page: Page,
        csrf: String,
        questions: Vec<(&'static str, String)>,
        selected: String,
        custom_question: String,
        errors: FieldErrors,
    },
}

/// Which journey's question page, with what only activation's shows.
#[derive(Debug, Clone, Copy)]
pub enum QuestionPage {
    Activation { answer_saved: bool },
    Account,
}

impl QuestionForm {
    /// The page of `journey` offering the proposed questions, with the question `selected`, the
    /// person's own wording and `errors`.
    pub fn new(
        journey: QuestionPage,
        page: Page,
        csrf: String,
        selected: String,
        custom_question: String,
        errors: FieldErrors,
    ) -> Self {
        let questions = proposed_questions(&page);
        match journey {
            QuestionPage::Activation { answer_saved } => Self::Activation {
                progress: Progress::of(Step::Question),
                page,
                csrf,
                questions,
                selected,
                custom_question,
                answer_saved,
                errors,
            },
            QuestionPage::Account => Self::Account { page, csrf, questions, selected, custom_question, errors },
        }
    }

    /// With an answer already saved, the hint says that an empty field keeps it.
    fn answer_hint_key(&self) -> &'static str {
        match self {
            Self::Activation { answer_saved: true, .. } => "question.answer_saved",
            _ => "question.answer_hint",
        }
    }
}

/// The text of a person's question, in the page's language when it is a proposed one.
pub fn asked_question(page: &Page, account: &AccountRecord) -> String {
    match (&account.custom_question, find_proposed_question(&account.question_id)) {
        (Some(custom), _) => custom.clone(),
        (None, Some(q)) => page.t(q.key),
        (None, None) => account.question_id.clone(),
    }
}

/// What an answer may not be: what someone holding the person's papers knows (every
/// identifier, the uid, the login, the birth date as it is usually written).
pub fn forbidden_answers(person: &PersonRecord) -> Vec<String> {
    let born = BirthDate::from_date(person.birth_date);
    [&person.staff_number, &person.student_number, &person.ine]
        .into_iter()
        .flatten()
        .cloned()
        .chain([person.uid.clone(), person.login.clone(), born.to_french(), born.to_iso()])
        .collect()
}

/// The question form's fields, as activation and the account area post them.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct QuestionFields {
    pub question: String,
    pub custom_question: String,
    pub answer: String,
}

/// A proposed question's id, or `custom` with the person's own wording: `Some(custom text)`.
pub fn parse_question(
    page: &Page,
    question_id: &str,
    custom_question: &str,
    errors: &mut FieldErrors,
) -> Option<Option<String>> {
    if question_id == CUSTOM_QUESTION_ID {
        SecurityQuestion::parse(custom_question)
            .map(|q| Some(q.as_str().to_string()))
            .map_err(|e| errors.add("custom_question", page.t_with(e.code(), &e.params())))
            .ok()
    } else if find_proposed_question(question_id).is_some() {
        Some(None)
    } else {
        errors.add("question", page.t("question.choose"));
        None
    }
}

/// A new answer for `person`, under the answer's rules and away from their personal data.
pub fn parse_answer(
    page: &Page,
    answer: &str,
    person: &PersonRecord,
    errors: &mut FieldErrors,
) -> Option<SecurityAnswer> {
    let forbidden = forbidden_answers(person);
    let forbidden: Vec<&str> = forbidden.iter().map(String::as_str).collect();
    SecurityAnswer::parse(answer, &forbidden).map_err(|e| errors.add("answer", page.t_with(e.code(), &e.params()))).ok()
}

/// Yes with a valid mobile number, or no.
pub fn parse_sms(page: &Page, consent: &str, phone: &str, errors: &mut FieldErrors) -> Option<Option<String>> {
    match consent {
        "yes" => MobileNumber::parse(phone)
            .map(|m| Some(m.as_e164().to_string()))
            .map_err(|e| errors.add("phone", page.t(e.code())))
            .ok(),
        "no" => Some(None),
        _ => {
            errors.add("sms_consent", page.t("sms.choose"));
            None
        }
    }
}

/// "yes" or "no"; anything else is a question left unanswered.
pub fn parse_yes_no(page: &Page, field: &'static str, value: &str, errors: &mut FieldErrors) -> Option<bool> {
    match value {
        "yes" => Some(true),
        "no" => Some(false),
        _ => {
            errors.add(field, page.t("form.choose_yes_no"));
            None
        }
    }
}
