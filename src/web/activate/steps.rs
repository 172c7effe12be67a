//! Steps 3 to 5: the question joker, SMS alerts and the use of one's photo.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use secrecy::SecretString;
use serde::Deserialize;
use time::OffsetDateTime;
use tower_sessions::Session;

use super::{forget_wizard, person, save};
use crate::domain::activation::{PhotoChoice, QuestionChoice, SmsChoice, Step, Wizard};
use crate::domain::security_answer::SecurityAnswer;
use crate::web::AppState;
use crate::web::choices::{
    QuestionFields, QuestionForm, QuestionPage, parse_answer, parse_question, parse_sms, parse_yes_no,
};
use crate::web::error::AppError;
use crate::web::form::{Csrf, CsrfForm, FieldErrors};
use crate::web::identify::Progress;
use crate::web::journey::At;
use crate::web::page_context::Page;
use crate::web::respond::{render, see_other, unprocessable};

pub async fn question_show(At(wizard): At<Wizard>, Csrf(csrf): Csrf, page: Page) -> Result<Response, AppError> {
    let chosen = wizard.question.as_ref();
    let selected = chosen.map_or_else(String::new, |q| q.question_id.clone());
    let custom = chosen.and_then(|q| q.custom_question.clone()).unwrap_or_default();
    let journey = QuestionPage::Activation { answer_saved: chosen.is_some() };
    render(&QuestionForm::new(journey, page, csrf, selected, custom, FieldErrors::default()))
}

/// The answer typed now, or the hash of the one saved earlier in this wizard.
enum Answer {
    New(SecurityAnswer),
    Kept(String),
}

pub async fn question_submit(
    State(state): State<AppState>,
    session: Session,
    page: Page,
    CsrfForm { fields, csrf, journey: At(mut wizard) }: CsrfForm<QuestionFields, At<Wizard>>,
) -> Result<Response, AppError> {
    let mut errors = FieldErrors::default();
    let question_id = fields.question.trim();
    let custom = parse_question(&page, question_id, &fields.custom_question, &mut errors);
    // Going back and forth keeps the saved answer when the question did not change.
    let kept = wizard.question.as_ref().filter(|q| {
        fields.answer.trim().is_empty()
            && q.question_id == question_id
            && custom.as_ref().is_some_and(|c| *c == q.custom_question)
    });
    let answer = match kept {
        Some(q) => Some(Answer::Kept(q.answer_hash.clone())),
        None => {
            let Some(person) = person(&state, &wizard).await? else {
                forget_wizard(&session).await?;
                return Ok(see_other(&page, Step::Identify.path()));
            };
            parse_answer(&page, &fields.answer, &person, &mut errors).map(Answer::New)
        }
    };
    let (Some(custom_question), Some(answer)) = (custom, answer) else {
        let journey = QuestionPage::Activation { answer_saved: wizard.question.is_some() };
        return unprocessable(&QuestionForm::new(
            journey,
            page,
            csrf,
            question_id.to_string(),
            fields.custom_question,
            errors,
        ));
    };
    let answer_hash = match answer {
        Answer::New(answer) => state.hasher.hash(&SecretString::from(answer.as_str().to_owned())).await?,
        Answer::Kept(hash) => hash,
    };
    wizard.question = Some(QuestionChoice { question_id: question_id.to_string(), custom_question, answer_hash });
    save(&session, &wizard).await?;
    Ok(see_other(&page, Step::Sms.path()))
}

#[derive(Template)]
#[template(path = "activate/sms.html")]
pub struct SmsForm {
    pub page: Page,
    pub csrf: String,
    pub progress: Progress,
    pub consent: String,
    pub phone: String,
    pub errors: FieldErrors,
}

pub async fn sms_show(At(wizard): At<Wizard>, Csrf(csrf): Csrf, page: Page) -> Result<Response, AppError> {
    let (consent, phone) = match &wizard.sms {
        Some(SmsChoice { phone: Some(p), .. }) => ("yes", p.clone()),
        Some(SmsChoice { phone: None, .. }) => ("no", String::new()),
        None => ("", String::new()),
    };
    render(&SmsForm {
        page,
        csrf,
        progress: Progress::of(Step::Sms),
        consent: consent.into(),
        phone,
        errors: FieldErrors::default(),
    })
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SmsFields {
    sms_consent: String,
    phone: String,
}

pub async fn sms_submit(
    session: Session,
    page: Page,
    CsrfForm { fields, csrf, journey: At(mut wizard) }: CsrfForm<SmsFields, At<Wizard>>,
) -> Result<Response, AppError> {
    let mut errors = FieldErrors::default();
    let Some(phone) = parse_sms(&page, fields.sms_consent.as_str(), &fields.phone, &mut errors) else {
        return unprocessable(&SmsForm {
            page,
            csrf,
            progress: Progress::of(Step::Sms),
            consent: fields.sms_consent,
            phone: fields.phone,
            errors,
        });
    };
    wizard.sms = Some(SmsChoice { phone, at: OffsetDateTime::now_utc() });
    save(&session, &wizard).await?;
    Ok(see_other(&page, Step::Photo.path()))
}

#[derive(Template)]
#[template(path = "activate/photo.html")]
pub struct PhotoForm {
    pub page: Page,
    pub csrf: String,
    pub progress: Progress,
    pub consent: String,
    pub errors: FieldErrors,
}

pub async fn photo_show(At(wizard): At<Wizard>, Csrf(csrf): Csrf, page: Page) -> Result<Response, AppError> {
    let consent = match &wizard.photo {
        Some(PhotoChoice { consent: true, .. }) => "yes",
        Some(PhotoChoice { consent: false, .. }) => "no",
        None => "",
    };
    render(&PhotoForm {
        page,
        csrf,
        progress: Progress::of(Step::Photo),
        consent: consent.into(),
        errors: FieldErrors::default(),
    })
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct PhotoFields {
    photo_consent: String,
}

pub async fn photo_submit(
    session: Session,
    page: Page,
    CsrfForm { fields, csrf, journey: At(mut wizard) }: CsrfForm<PhotoFields, At<Wizard>>,
) -> Result<Response, AppError> {
    let mut errors = FieldErrors::default();
    let Some(consent) = parse_yes_no(&page, "photo_consent", &fields.photo_consent, &mut errors) else {
        return unprocessable(&PhotoForm {
            page,
            csrf,
            progress: Progress::of(Step::Photo),
            consent: fields.photo_consent,
            errors,
        });
    };
    wizard.photo = Some(PhotoChoice { consent, at: OffsetDateTime::now_utc() });
    save(&session, &wizard).await?;
    Ok(see_other(&page, Step::Password.path()))
}
