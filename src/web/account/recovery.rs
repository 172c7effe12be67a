//! h22: the ways the signed-in person can receive a recovery code, and their personal address,
//! saved only once a code sent to it came back.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tower_sessions::Session;

use super::SignedIn;
use crate::domain::email::Email;
use crate::domain::recovery_code::Channel;
use crate::mail::messages::CodePurpose;
use crate::store::{AccountRecord, CodeSent, PersonRecord};
use crate::web::AppState;
use crate::web::changes::audit;
use crate::web::client::ClientAddr;
use crate::web::error::AppError;
use crate::web::form::{Csrf, CsrfForm, FieldErrors};
use crate::web::journey::At;
use crate::web::one_time_code::{CodeForm, Destination, channels, check, issue, validity_minutes};
use crate::web::page_context::Page;
use crate::web::respond::{render, see_other, too_many, unprocessable};
use crate::web::routes::{ACCOUNT, ACCOUNT_RECOVERY, ACCOUNT_RECOVERY_CONFIRM};
use crate::web::session::keys::FLASH;

/// The address waiting for its code in this session, and whose it is.
const PENDING: &str = "personal_email_pending";

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Pending {
    person_id: i64,
    address: String,
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route(ACCOUNT_RECOVERY, get(show).post(submit))
        .route(ACCOUNT_RECOVERY_CONFIRM, get(confirm_show).post(confirm_submit))
}

#[derive(Template)]
#[template(path = "account/recovery.html")]
struct RecoveryForm {
    page: Page,
    csrf: String,
    /// « par SMS au 06 •• •• •• 78 », one line per channel held.
    channels: Vec<String>,
    personal_email: String,
    errors: FieldErrors,
}

fn form(
    page: Page,
    csrf: String,
    person: &PersonRecord,
    account: &AccountRecord,
    typed: Option<String>,
) -> RecoveryForm {
    let channels = channels(person, account)
        .into_iter()
        .map(|(channel, to)| page.t_with(&format!("recovery.held.{}", channel.as_str()), &[("to", to.masked)]))
        .collect();
    let personal_email = typed.or_else(|| person.personal_email.clone()).unwrap_or_default();
    RecoveryForm { page, csrf, channels, personal_email, errors: FieldErrors::default() }
}

async fn show(
    At(SignedIn { person, account }): At<SignedIn>,
    Csrf(csrf): Csrf,
    page: Page,
) -> Result<Response, AppError> {
    render(&form(page, csrf, &person, &account, None))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct AddressFields {
    personal_email: String,
}

async fn submit(
    State(state): State<AppState>,
    session: Session,
    client: ClientAddr,
    page: Page,
    CsrfForm { fields, csrf, journey: At(SignedIn { person, account }) }: CsrfForm<AddressFields, At<SignedIn>>,
) -> Result<Response, AppError> {
    let address = match Email::parse(&fields.personal_email) {
        Ok(address) => address,
        Err(e) => {
            let mut again = form(page, csrf, &person, &account, Some(fields.personal_email));
            again.errors.add("personal_email", again.page.t(e.code()));
            return unprocessable(&again);
        }
    };
    let to = Destination::mail(address.as_str());
    match issue(&state, &page, &person, client, Channel::Mail, to, CodePurpose::ConfirmAddress).await? {
        CodeSent::Sent => {
            session.insert(PENDING, &Pending { person_id: person.id, address: address.as_str().into() }).await?;
            Ok(see_other(&page, ACCOUNT_RECOVERY_CONFIRM))
        }
        CodeSent::TooMany { retry_after } => {
            let now = OffsetDateTime::now_utc().unix_timestamp();
            too_many(page, now + retry_after, now)
        }
    }
}

/// The address waiting for its code, for this person; `None` when there is none.
async fn pending(session: &Session, person: &PersonRecord) -> Result<Option<Pending>, AppError> {
    Ok(session.get::<Pending>(PENDING).await?.filter(|p| p.person_id == person.id))
}

fn confirm_form(state: &AppState, page: Page, csrf: String, pending: &Pending) -> CodeForm {
    let params = [("to", Destination::mail(&pending.address).masked), ("minutes", validity_minutes(state).to_string())];
    let sent = page.t_with("recovery.sent.mail", &params);
    CodeForm { page, csrf, sent, action: ACCOUNT_RECOVERY_CONFIRM, resend: None, errors: FieldErrors::default() }
}

async fn confirm_show(
    State(state): State<AppState>,
    session: Session,
    At(SignedIn { person, .. }): At<SignedIn>,
    Csrf(csrf): Csrf,
    page: Page,
) -> Result<Response, AppError> {
    match pending(&session, &person).await? {
        Some(pending) => render(&confirm_form(&state, page, csrf, &pending)),
        None => Ok(see_other(&page, ACCOUNT_RECOVERY)),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CodeFields {
    code: String,
}

async fn confirm_submit(
    State(state): State<AppState>,
    session: Session,
    client: ClientAddr,
    page: Page,
    CsrfForm { fields, csrf, journey: At(SignedIn { person, .. }) }: CsrfForm<CodeFields, At<SignedIn>>,
) -> Result<Response, AppError> {
    let Some(pending) = pending(&session, &person).await? else {
        return Ok(see_other(&page, ACCOUNT_RECOVERY));
    };
    let kinds = ("personal_email_confirmed", "personal_email_code_wrong");
    let Some(message) = check(&state, &page, &person, client, &fields.code, kinds).await? else {
        let event = audit("personal_email_changed", &person, client, OffsetDateTime::now_utc());
        state.store.set_personal_email(person.id, &pending.address, &event).await?;
        session.remove::<Pending>(PENDING).await?;
        session.insert(FLASH, "recovery.address_saved").await?;
        return Ok(see_other(&page, ACCOUNT));
    };
    let mut again = confirm_form(&state, page, csrf, &pending);
    again.errors.add("code", message);
    unprocessable(&again)
}
