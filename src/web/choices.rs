//! The question joker and the consents: the fields activation and the account area share, with
//! the one list of answers a person may not choose.

use super::form::FieldErrors;
use super::page_context::Page;
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
