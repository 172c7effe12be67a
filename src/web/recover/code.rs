//! Recovery by a one-time code: the question page offers one form per channel the person has;
//! a code sent there and typed back counts as the right answer.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tower_sessions::Session;

use super::{QuestionForm, Recovering};
use crate::domain::phone::MobileNumber;
use crate::domain::recovery_code::{
    self, Channel, OneTimeCode, Verdict, judge, masked_email, masked_phone, typed_code,
};
use crate::mail;
use crate::sms;
use crate::store::{AccountRecord, AuditEvent, CodeDelivery, CodeSent, NewRecoveryCode, PersonRecord};
use crate::web::AppState;
use crate::web::choices::asked_question;
use crate::web::client::ClientAddr;
use crate::web::error::AppError;
use crate::web::form::{Csrf, CsrfForm, FieldErrors};
use crate::web::journey::At;
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

/// Where a channel reaches the person, masked; `None` when they do not have it: SMS needs the
/// consent and a mobile number, mail a personal address.
fn destination(channel: Channel, person: &PersonRecord, account: &AccountRecord) -> Option<Destination> {
    match channel {
        Channel::Sms => account
            .phone
            .as_deref()
            .filter(|_| account.sms_consent)
            .and_then(|phone| MobileNumber::parse(phone).ok())
            .map(|number| Destination { masked: masked_phone(&number), to: number.as_e164().to_string() }),
        Channel::Mail => person
            .personal_email
            .as_deref()
            .map(|address| Destination { masked: masked_email(address), to: address.to_string() }),
    }
}

struct Destination {
    to: String,
    masked: String,
}

/// The forms the question page shows, one per channel the person has.
pub fn offers(page: &Page, person: &PersonRecord, account: &AccountRecord) -> Vec<Offer> {
    [Channel::Sms, Channel::Mail]
        .into_iter()
        .filter_map(|channel| {
            let to = destination(channel, person, account)?.masked;
            let label = page.t_with(&format!("recovery.offer.{}", channel.as_str()), &[("to", to)]);
            Some(Offer { channel: channel.as_str(), label })
        })
        .collect()
}

fn event(kind: &'static str, person: &PersonRecord, client: ClientAddr, detail: String) -> AuditEvent {
    AuditEvent {
        kind,
        actor: person.login.clone(),
        person_id: Some(person.id),
        client_addr: Some(client.0.to_string()),
        detail,
        at: OffsetDateTime::now_utc(),
    }
}

fn count(channel: &str, outcome: &'static str) {
    metrics::counter!("sesame_recovery_codes_total", "channel" => channel.to_string(), "outcome" => outcome)
        .increment(1);
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
        // Only the two known names reach the audit line and the metric's label.
        let named = Channel::parse(&fields.channel).map_or("unknown", Channel::as_str);
        state
            .store
            .audit(&event("recovery_code_refused", &person, client, format!("channel={named} reason=not_held")))
            .await?;
        count(named, "not_held");
        let mut errors = FieldErrors::default();
        errors.add("channel", page.t("recovery.no_such_channel"));
        let offers = offers(&page, &person, &account);
        return unprocessable(&QuestionForm { question: asked_question(&page, &account), page, csrf, errors, offers });
    };
    let code = OneTimeCode::generate();
    let minutes = state.config.recovery_code_validity.whole_minutes().max(1) as u32;
    let message_id = uuid::Uuid::new_v4().to_string();
    let delivery = match channel {
        Channel::Sms => {
            let text = recovery_code::sms_text(page.locale, &code, minutes);
            let message_sealed = state.codes.seal(text.as_bytes(), &sms::worker::context(&message_id));
            CodeDelivery::Sms { phone: to.to, message_sealed, message_id }
        }
        Channel::Mail => {
            let (subject, body) = mail::messages::recovery_code(
                page.locale,
                &person.given_name,
                &person.family_name,
                &code,
                minutes,
                &state.config.institution_name,
            )?;
            let body_sealed = state.codes.seal(body.as_bytes(), &mail::worker::context(&message_id));
            CodeDelivery::Mail { recipient: to.to, subject, body_sealed, message_id }
        }
    };
    let now = OffsetDateTime::now_utc();
    let new_code = NewRecoveryCode {
        person_id: person.id,
        channel,
        code_hash: code.hash(),
        expires_at: (now + state.config.recovery_code_validity).unix_timestamp(),
        delivery,
    };
    drop(code);
    let sent_event = event("recovery_code_sent", &person, client, format!("channel={}", channel.as_str()));
    match state.store.send_recovery_code(&new_code, now.unix_timestamp(), &sent_event).await? {
        CodeSent::Sent => {
            count(channel.as_str(), "sent");
            match channel {
                Channel::Sms => state.sms_outbox.notify_one(),
                Channel::Mail => state.outbox.notify_one(),
            }
            let sent = SentCode { person_id: person.id, channel: channel.as_str().to_string() };
            session.insert(CODE_SENT, &sent).await?;
            Ok(see_other(&page, RECOVER_CODE))
        }
        CodeSent::TooMany { retry_after } => {
            let detail = format!("channel={} reason=too_many", channel.as_str());
            state.store.audit(&event("recovery_code_refused", &person, client, detail)).await?;
            count(channel.as_str(), "too_many");
            let now = now.unix_timestamp();
            too_many(page, now + retry_after, now)
        }
    }
}

#[derive(Template)]
#[template(path = "recover/code.html")]
struct CodeForm {
    page: Page,
    csrf: String,
    /// Where the code went and how long it is valid.
    sent: String,
    channel: &'static str,
    errors: FieldErrors,
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
    let minutes = state.config.recovery_code_validity.whole_minutes().max(1).to_string();
    let sent = page.t_with(&format!("recovery.sent.{}", channel.as_str()), &[("to", to.masked), ("minutes", minutes)]);
    Ok(Some(CodeForm { page: page.clone(), csrf, sent, channel: channel.as_str(), errors: FieldErrors::default() }))
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
    let person = &recovering.person;
    let Some(typed) = typed_code(&fields.code) else {
        form.errors.add("code", page.t("recovery.code_format"));
        return unprocessable(&form);
    };
    let state_now = state.store.recovery_code(person.id).await?;
    let verdict = judge(state_now.as_ref(), &typed, OffsetDateTime::now_utc().unix_timestamp());
    let (kind, detail) = match verdict {
        Verdict::Right => ("recovery_code_accepted", String::new()),
        Verdict::Wrong { tries_left } => ("recovery_code_wrong", format!("tries_left={tries_left}")),
        Verdict::Voided => ("recovery_code_voided", String::new()),
        Verdict::Expired => ("recovery_code_expired", String::new()),
        Verdict::NoCode => ("recovery_code_wrong", "no_code".into()),
    };
    let hash = state_now.and_then(|s| s.code_hash).unwrap_or_default();
    // Recorded only while the code judged is still the current one: of two submissions of the
    // right code, one goes on.
    let recorded = verdict != Verdict::NoCode
        && state.store.recovery_code_judged(person.id, &hash, verdict, &event(kind, person, client, detail)).await?;
    let message = match (verdict, recorded) {
        (Verdict::Right, true) => {
            recovering.recovery.answered = true;
            session.insert(RECOVERY, &recovering.recovery).await?;
            session.remove::<SentCode>(CODE_SENT).await?;
            return Ok(see_other(&page, RECOVER_PASSWORD));
        }
        (Verdict::Wrong { tries_left }, true) => {
            page.t_with("recovery.wrong_code", &[("tries", tries_left.to_string())])
        }
        (Verdict::Voided, true) => page.t("recovery.voided"),
        (Verdict::Expired, true) => page.t("recovery.expired"),
        _ => page.t("recovery.no_code"),
    };
    if !recorded {
        tracing::info!(person_id = person.id, "recovery: a code was typed while none was waiting");
    }
    form.errors.add("code", message);
    unprocessable(&form)
}
