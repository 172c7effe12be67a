//! Recovery by a one-time code: the question page offers one form per channel the person has;
//! a code sent there and typed back counts as the right answer.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tower_sessions::Session;

use super::{QuestionForm, Recovering};
use crate::domain::recovery_code::Channel;
use crate::mail::messages::CodePurpose;
use crate::store::{AccountRecord, CodeSent, PersonRecord};
use crate::web::AppState;
use crate::web::choices::asked_question;
use crate::web::client::ClientAddr;
use crate::web::error::AppError;
use crate::web::form::{Csrf, CsrfForm, FieldErrors};
use crate::web::journey::At;
use crate::web::one_time_code::{CodeForm, channels, check, destination, issue, refuse_channel, validity_minutes};
use crate::web::page_context::Page;
use crate::web::respond::{render, see_other, too_many, unprocessable};
use crate::web::routes::{RECOVER_CODE, RECOVER_PASSWORD, RECOVER_QUESTION, RECOVER_SEND};
use crate::web::session::keys::RECOVERY;

/// Where this session's latest code went, for the code page; only for the person it was sent to.
const CODE_SENT: &str = "recovery_code_sent";

pub fn router() -> Router<AppState> {
    Router::new().route(RECOVER_SEND, post(send)).route(RECOVER_CODE, get(code_show).post(code_submit))
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct SentCode {
    person_id: i64,
    channel: String,
}

/// A way to receive a code, as the question page offers it.
pub struct Offer {
    pub channel: &'static str,
    pub label: String,
}

/// The forms the question page shows, one per channel the person has.
pub fn offers(page: &Page, person: &PersonRecord, account: &AccountRecord) -> Vec<Offer> {
    channels(person, account)
        .into_iter()
        .map(|(channel, to)| {
            let label = page.t_with(&format!("recovery.offer.{}", channel.as_str()), &[("to", to.masked)]);
            Offer { channel: channel.as_str(), label }
        })
        .collect()
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SendFields {
    channel: String,
}

async fn send(
    State(state): State<AppState>,
    session: Session,
    client: ClientAddr,
    page: Page,
    CsrfForm { fields, csrf, journey }: CsrfForm<SendFields, At<Recovering>>,
) -> Result<Response, AppError> {
    let At(Recovering { person, account, .. }) = journey;
    let held = Channel::parse(&fields.channel)
        .and_then(|channel| destination(channel, &person, &account).map(|to| (channel, to)));
    let Some((channel, to)) = held else {
        refuse_channel(&state, &person, client, &fields.channel).await?;
        let mut errors = FieldErrors::default();
        errors.add("channel", page.t("recovery.no_such_channel"));
        let offers = offers(&page, &person, &account);
        return unprocessable(&QuestionForm { question: asked_question(&page, &account), page, csrf, errors, offers });
    };
    match issue(&state, &page, &person, client, channel, to, CodePurpose::Recovery).await? {
        CodeSent::Sent => {
            let sent = SentCode { person_id: person.id, channel: channel.as_str().to_string() };
            session.insert(CODE_SENT, &sent).await?;
            Ok(see_other(&page, RECOVER_CODE))
        }
        CodeSent::TooMany { retry_after } => {
            let now = OffsetDateTime::now_utc().unix_timestamp();
            too_many(page, now + retry_after, now)
        }
    }
}

/// The code form for the channel this session's code went to; `None` when no code was sent to
/// this person in this session.
async fn code_form(
    state: &AppState,
    session: &Session,
    recovering: &Recovering,
    page: &Page,
    csrf: String,
) -> Result<Option<CodeForm>, AppError> {
    let sent = session.get::<SentCode>(CODE_SENT).await?.filter(|s| s.person_id == recovering.person.id);
    let Some(channel) = sent.and_then(|s| Channel::parse(&s.channel)) else { return Ok(None) };
    let Some(to) = destination(channel, &recovering.person, &recovering.account) else { return Ok(None) };
    let minutes = validity_minutes(state).to_string();
    let sent = page.t_with(&format!("recovery.sent.{}", channel.as_str()), &[("to", to.masked), ("minutes", minutes)]);
    Ok(Some(CodeForm {
        page: page.clone(),
        csrf,
        sent,
        action: RECOVER_CODE,
        resend: Some(channel.as_str()),
        errors: FieldErrors::default(),
    }))
}

async fn code_show(
    State(state): State<AppState>,
    session: Session,
    At(recovering): At<Recovering>,
    Csrf(csrf): Csrf,
    page: Page,
) -> Result<Response, AppError> {
    match code_form(&state, &session, &recovering, &page, csrf).await? {
        Some(form) => render(&form),
        None => Ok(see_other(&page, RECOVER_QUESTION)),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CodeFields {
    code: String,
}

async fn code_submit(
    State(state): State<AppState>,
    session: Session,
    client: ClientAddr,
    page: Page,
    CsrfForm { fields, csrf, journey }: CsrfForm<CodeFields, At<Recovering>>,
) -> Result<Response, AppError> {
    let At(mut recovering) = journey;
    let Some(mut form) = code_form(&state, &session, &recovering, &page, csrf).await? else {
        return Ok(see_other(&page, RECOVER_QUESTION));
    };
    let kinds = ("recovery_code_accepted", "recovery_code_wrong");
    match check(&state, &page, &recovering.person, client, &fields.code, kinds).await? {
        None => {
            recovering.recovery.answered = true;
            session.insert(RECOVERY, &recovering.recovery).await?;
            session.remove::<SentCode>(CODE_SENT).await?;
            Ok(see_other(&page, RECOVER_PASSWORD))
        }
        Some(message) => {
            form.errors.add("code", message);
            unprocessable(&form)
        }
    }
}
