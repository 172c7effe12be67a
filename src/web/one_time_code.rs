//! h22: sending a one-time code (recovery, or confirming a personal address) and where it goes;
//! shared by the recovery journey and the account area.

use time::OffsetDateTime;

use super::AppState;
use super::changes::audit;
use super::client::ClientAddr;
use super::error::AppError;
use super::page_context::Page;
use crate::domain::phone::MobileNumber;
use crate::domain::recovery_code::{
    self, Channel, OneTimeCode, Verdict, judge, masked_email, masked_phone, typed_code,
};
use crate::mail;
use crate::mail::messages::CodePurpose;
use crate::sms;
use crate::store::{AccountRecord, AuditEvent, CodeDelivery, CodeSent, NewRecoveryCode, PersonRecord};

/// Where a channel reaches a person: the address or number, and it masked for pages.
pub struct Destination {
    pub to: String,
    pub masked: String,
}

impl Destination {
    pub fn mail(address: &str) -> Self {
        Self { masked: masked_email(address), to: address.to_string() }
    }
}

/// Where `channel` reaches the person; `None` when they do not have it: SMS needs the consent
/// and a mobile number, mail a personal address.
pub fn destination(channel: Channel, person: &PersonRecord, account: &AccountRecord) -> Option<Destination> {
    match channel {
        Channel::Sms => account
            .phone
            .as_deref()
            .filter(|_| account.sms_consent)
            .and_then(|phone| MobileNumber::parse(phone).ok())
            .map(|number| Destination { masked: masked_phone(&number), to: number.as_e164().to_string() }),
        Channel::Mail => person.personal_email.as_deref().map(Destination::mail),
    }
}

/// The channels the person has, with their masked destination.
pub fn channels(person: &PersonRecord, account: &AccountRecord) -> Vec<(Channel, Destination)> {
    [Channel::Sms, Channel::Mail]
        .into_iter()
        .filter_map(|channel| destination(channel, person, account).map(|to| (channel, to)))
        .collect()
}

/// The audit event of a code's send, refusal or check: the person's own, with its detail.
fn event(kind: &'static str, person: &PersonRecord, client: ClientAddr, detail: String) -> AuditEvent {
    AuditEvent { detail, ..audit(kind, person, client, OffsetDateTime::now_utc()) }
}

/// Counts a send or a refusal for `/metrics`; `channel` is one of the two names or "unknown".
pub fn count(channel: &'static str, outcome: &'static str) {
    metrics::counter!("sesame_recovery_codes_total", "channel" => channel, "outcome" => outcome).increment(1);
}

/// Refuses a channel the person does not have: audited and counted.
pub async fn refuse_channel(
    state: &AppState,
    person: &PersonRecord,
    client: ClientAddr,
    typed: &str,
) -> Result<(), AppError> {
    // Only the two known names reach the audit line and the metric's label.
    let named = Channel::parse(typed).map_or("unknown", Channel::as_str);
    let detail = format!("channel={named} reason=not_held");
    state.store.audit(&event("recovery_code_refused", person, client, detail)).await?;
    count(named, "not_held");
    Ok(())
}

/// Draws a new code (voiding the previous one), seals its message for `to` and queues it, with
/// the audit event; a refusal (the hour's sends spent) is audited and counted too.
pub async fn issue(
    state: &AppState,
    page: &Page,
    person: &PersonRecord,
    client: ClientAddr,
    channel: Channel,
    to: Destination,
    purpose: CodePurpose,
) -> Result<CodeSent, AppError> {
    let code = OneTimeCode::generate();
    let minutes = validity_minutes(state);
    let message_id = uuid::Uuid::new_v4().to_string();
    let delivery = match channel {
        Channel::Sms => {
            let text = recovery_code::sms_text(page.locale, &code, minutes);
            let message_sealed = state.codes.seal(text.as_bytes(), &sms::worker::context(&message_id));
            CodeDelivery::Sms { phone: to.to, message_sealed, message_id }
        }
        Channel::Mail => {
            let (subject, body) = mail::messages::one_time_code(
                purpose,
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
    let detail = format!("channel={} purpose={}", channel.as_str(), purpose.as_str());
    let sent = state
        .store
        .send_recovery_code(&new_code, now.unix_timestamp(), &event("recovery_code_sent", person, client, detail))
        .await?;
    match sent {
        CodeSent::Sent => {
            count(channel.as_str(), "sent");
            match channel {
                Channel::Sms => state.sms_outbox.notify_one(),
                Channel::Mail => state.outbox.notify_one(),
            }
        }
        CodeSent::TooMany { .. } => {
            let detail = format!("channel={} reason=too_many", channel.as_str());
            state.store.audit(&event("recovery_code_refused", person, client, detail)).await?;
            count(channel.as_str(), "too_many");
        }
    }
    Ok(sent)
}

/// The validity as pages and messages say it.
pub fn validity_minutes(state: &AppState) -> u32 {
    state.config.recovery_code_validity.whole_minutes().max(1) as u32
}

/// Judges a typed code against the person's current one and records the verdict, with the audit
/// event `right_kind` or `wrong_kind` (its detail says why); `None` when it was right (it is then
/// used up), otherwise the message for the code field.
pub async fn check(
    state: &AppState,
    page: &Page,
    person: &PersonRecord,
    client: ClientAddr,
    typed: &str,
    (right_kind, wrong_kind): (&'static str, &'static str),
) -> Result<Option<String>, AppError> {
    let Some(typed) = typed_code(typed) else { return Ok(Some(page.t("recovery.code_format"))) };
    let waiting = state.store.recovery_code(person.id).await?;
    let verdict = judge(waiting.as_ref(), &typed, OffsetDateTime::now_utc().unix_timestamp());
    let (kind, detail) = match verdict {
        Verdict::Right => (right_kind, String::new()),
        Verdict::Wrong { tries_left } => (wrong_kind, format!("tries_left={tries_left}")),
        Verdict::Voided => (wrong_kind, "voided".into()),
        Verdict::Expired => (wrong_kind, "expired".into()),
        Verdict::NoCode => (wrong_kind, "no_code".into()),
    };
    let hash = waiting.and_then(|w| w.code_hash).unwrap_or_default();
    // Recorded only while the code judged is still the current one: of two submissions of the
    // right code, one goes on.
    let recorded = verdict != Verdict::NoCode
        && state.store.recovery_code_judged(person.id, &hash, verdict, &event(kind, person, client, detail)).await?;
    Ok(match (verdict, recorded) {
        (Verdict::Right, true) => None,
        (Verdict::Wrong { tries_left }, true) => Some(match tries_left {
            1 => page.t("recovery.wrong_code_last"),
            n => page.t_with("recovery.wrong_code", &[("tries", n.to_string())]),
        }),
        (Verdict::Voided, true) => Some(page.t("recovery.voided")),
        (Verdict::Expired, true) => Some(page.t("recovery.expired")),
        _ => Some(page.t("recovery.no_code")),
    })
}

/// The page where a code is typed: where it went, the field, and in recovery a form for a new one.
#[derive(askama::Template)]
#[template(path = "recover/code.html")]
pub struct CodeForm {
    pub page: Page,
    pub csrf: String,
    /// Where the code went and how long it is valid.
    pub sent: String,
    /// Where the form posts.
    pub action: &'static str,
    /// The channel a new code may be asked for here.
    pub resend: Option<&'static str>,
    pub errors: super::form::FieldErrors,
}
