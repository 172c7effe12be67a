//! The activation wizard: identify, question joker, SMS, photo, password, done.

mod identify;
mod password;
mod steps;

use askama::Template;
use axum::Router;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use time::OffsetDateTime;
use tower_sessions::Session;

use super::AppState;
use super::error::AppError;
use super::journey::JourneyState;
use super::page_context::Page;
use super::respond::{render, see_other};
use super::routes::ACTIVATE_IDENTIFY;
use super::session::keys::{ACTIVATED, WIZARD};
use crate::domain::activation::{Activated, Step, Wizard};
use crate::store::PersonRecord;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(Step::Identify.path(), get(identify::choose))
        .route(ACTIVATE_IDENTIFY, get(identify::show).post(identify::submit))
        .route(Step::Question.path(), get(steps::question_show).post(steps::question_submit))
        .route(Step::Sms.path(), get(steps::sms_show).post(steps::sms_submit))
        .route(Step::Photo.path(), get(steps::photo_show).post(steps::photo_submit))
        .route(Step::Password.path(), get(password::show).post(password::submit))
        .route(Step::Done.path(), get(password::done))
}

/// The steps with a page of their own that need the wizard.
const STEPS: [Step; 4] = [Step::Question, Step::Sms, Step::Photo, Step::Password];

/// The wizard of this session, at the step whose page is asked for; otherwise a 303 to the first
/// step not yet done, or the page saying the wizard expired.
impl JourneyState for Wizard {
    async fn load(session: &Session, state: &AppState, page: Page) -> Result<Self, Response> {
        let step = STEPS.into_iter().find(|step| step.path() == page.path).unwrap_or(Step::Done);
        enter(session, state, page, step).await
    }
}

#[derive(Template)]
#[template(path = "activate/expired.html")]
struct Expired {
    page: Page,
}

/// The wizard when it may show `step`; otherwise the answer to give instead.
async fn enter(session: &Session, state: &AppState, page: Page, step: Step) -> Result<Wizard, Response> {
    let Some(mut wizard) = session.get::<Wizard>(WIZARD).await.map_err(AppError::rejection)? else {
        return Err(see_other(&page, Step::Identify.path()));
    };
    let now = OffsetDateTime::now_utc();
    if wizard.expired(now, state.config.wizard_timeout) {
        session.remove::<Wizard>(WIZARD).await.map_err(AppError::rejection)?;
        return Err(render(&Expired { page }).unwrap_or_else(IntoResponse::into_response));
    }
    if let Err(first_missing) = wizard.allows(step) {
        return Err(see_other(&page, first_missing.path()));
    }
    // Each write gives the session a new id (web::session); a sixtieth of the timeout is
    // precision enough for the idle limit, and spares the pages that only read.
    if now - wizard.last_seen > state.config.wizard_timeout / 60 {
        wizard.last_seen = now;
        save(session, &wizard).await.map_err(AppError::rejection)?;
    }
    Ok(wizard)
}

/// The person the wizard is about, as the store knows them now (for the rules that need every
/// identifier); `None` when the store no longer does.
async fn person(state: &AppState, wizard: &Wizard) -> Result<Option<PersonRecord>, AppError> {
    Ok(state.store.person(wizard.person.person_id).await?)
}

async fn save(session: &Session, wizard: &Wizard) -> Result<(), AppError> {
    Ok(session.insert(WIZARD, wizard).await?)
}

/// Keeps what the confirmation page shows, once the wizard is over.
async fn keep_confirmation(session: &Session, activated: &Activated) -> Result<(), AppError> {
    Ok(session.insert(ACTIVATED, activated).await?)
}

async fn activated(session: &Session) -> Result<Option<Activated>, AppError> {
    Ok(session.get::<Activated>(ACTIVATED).await?)
}

async fn forget_wizard(session: &Session) -> Result<(), AppError> {
    session.remove::<Wizard>(WIZARD).await?;
    Ok(())
}
