//! What every change to an account leaves behind: its audit event and the notice mail.

use time::OffsetDateTime;

use super::AppState;
use super::client::ClientAddr;
use super::page_context::Page;
use crate::mail::messages::{Notice, notice};
use crate::store::{AuditEvent, NewMail, PersonRecord};

/// The notice mail of a change, in the language of the page it was made on.
pub fn notice_to(
    state: &AppState,
    page: &Page,
    person: &PersonRecord,
    kind: &'static str,
    client: ClientAddr,
    at: OffsetDateTime,
) -> Result<NewMail, askama::Error> {
    notice(&Notice {
        kind,
        locale: page.locale,
        recipient: &person.email,
        given_name: &person.given_name,
        family_name: &person.family_name,
        at: state.config.timezone.local(at),
        client_addr: &client.0.to_string(),
        institution: &state.config.institution_name,
        helpdesk: &state.config.helpdesk,
    })
}

/// The audit event of a change the person made themselves.
pub fn audit(kind: &'static str, person: &PersonRecord, client: ClientAddr, at: OffsetDateTime) -> AuditEvent {
    AuditEvent {
        kind,
        actor: person.login.clone(),
        person_id: Some(person.id),
        client_addr: Some(client.0.to_string()),
        detail: String::new(),
        at,
    }
}

/// The audit event of a failed attempt to prove who one is (help desk: "why can't I get in?"):
/// when, from where, at which step, and for whom when someone was found; never what was typed.
pub fn failure_event(
    kind: &'static str,
    person_id: Option<i64>,
    client: ClientAddr,
    step: &str,
    at: OffsetDateTime,
) -> AuditEvent {
    AuditEvent {
        kind,
        actor: "web".into(),
        person_id,
        client_addr: Some(client.0.to_string()),
        detail: format!("step={step}"),
        at,
    }
}
