//! Steps 1 and 2 of activation: choose how to identify, then prove it (web::identify).

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use time::OffsetDateTime;
use tower_sessions::Session;

use super::{forget_wizard, save};
use crate::domain::activation::{Identified, Step, Wizard};
use crate::store::AuditEvent;
use crate::web::AppState;
use crate::web::client::ClientAddr;
use crate::web::error::AppError;
use crate::web::form::{Csrf, CsrfForm};
use crate::web::identify::{Identification, IdentifyFields, Journey, MethodQuery, disabled, empty_form, identify};
use crate::web::page_context::Page;
use crate::web::respond::{render, see_other};

pub async fn choose(page: Page) -> Result<Response, AppError> {
    crate::web::identify::choose(page, Journey::Activation)
}

pub async fn show(page: Page, Query(query): Query<MethodQuery>, Csrf(csrf): Csrf) -> Result<Response, AppError> {
    match query.method() {
        Some(method) => empty_form(page, csrf, Journey::Activation, method),
        None => Ok(see_other(&page, Journey::Activation.start())),
    }
}

#[derive(Template)]
#[template(path = "activate/already.html")]
pub struct AlreadyActive {
    pub page: Page,
}

pub async fn submit(
    State(state): State<AppState>,
    session: Session,
    client: ClientAddr,
    page: Page,
    CsrfForm { fields, csrf, .. }: CsrfForm<IdentifyFields>,
) -> Result<Response, AppError> {
    let (person, identifier, has_account) =
        match identify(&state, csrf, client, page.clone(), Journey::Activation, fields).await? {
            Identification::Person { person, identifier, has_account } => (person, identifier, has_account),
            Identification::Refused(response) => return Ok(response),
        };
    if !person.is_active() {
        forget_wizard(&session).await?;
        return disabled(page);
    }
    if has_account {
        forget_wizard(&session).await?;
        return render(&AlreadyActive { page });
    }
    // Identified: a new session id, so that a cookie planted beforehand is worth nothing.
    crate::web::session::new_id(&session).await?;
    let now = OffsetDateTime::now_utc();
    state
        .store
        .audit(&AuditEvent {
            kind: "identified",
            actor: person.login.clone(),
            person_id: Some(person.id),
            client_addr: Some(client.0.to_string()),
            detail: format!("method={}", identifier.method().as_str()),
            at: now,
        })
        .await?;
    let identified = Identified {
        person_id: person.id,
        uid: person.uid,
        login: person.login,
        email: person.email,
        given_name: person.given_name,
        family_name: person.family_name,
        identifier: identifier.as_str().to_string(),
        birth_date: person.birth_date,
    };
    save(&session, &Wizard::start(identified, now)).await?;
    Ok(see_other(&page, Step::Question.path()))
}
