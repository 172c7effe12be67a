//! The activation wizard: identify, question joker, SMS, photo, password, done.

mod identify;
mod password;
mod steps;

use askama::Template;
use axum::Router;
use axum::response::Response;
use axum::routing::get;
use time::OffsetDateTime;
use tower_sessions::Session;

use super::AppState;
use super::error::{AppError, session_error};
use super::page::{Page, render};
use super::respond::see_other;
use super::session::keys::{ACTIVATED, WIZARD};
use crate::domain::activation::{Activated, Step, Wizard};
use crate::store::PersonRecord;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/activate", get(identify::choose))
        .route("/activate/identify", get(identify::show).post(identify::submit))
        .route("/activate/question", get(steps::question_show).post(steps::question_submit))
        .route("/activate/sms", get(steps::sms_show).post(steps::sms_submit))
        .route("/activate/photo", get(steps::photo_show).post(steps::photo_submit))
        .route("/activate/password", get(password::show).post(password::submit))
        .route("/activate/done", get(password::done))
}

#[derive(Template)]
#[template(path = "activate/expired.html")]
struct Expired {
    page: Page,
}

/// The wizard of this session when it may show `step`; otherwise the answer to give instead:
/// a 303 to the first step not done, or the page saying the wizard expired.
async fn enter(
    session: &Session,
    state: &AppState,
    page: Page,
    step: Step,
) -> Result<Result<(Wizard, Page), Response>, AppError> {
    let Some(mut wizard) = session.get::<Wizard>(WIZARD).await.map_err(session_error)? else {
        return Ok(Err(see_other(&page, Step::Identify.path())));
    };
    let now = OffsetDateTime::now_utc();
    if wizard.expired(now, state.config.wizard_timeout) {
        session.remove::<Wizard>(WIZARD).await.map_err(session_error)?;
        return Ok(Err(render(&Expired { page })?));
    }
    if let Err(first_missing) = wizard.allows(step) {
        return Ok(Err(see_other(&page, first_missing.path())));
    }
    // Each write gives the session a new id (web::session); a sixtieth of the timeout is
    // precision enough for the idle limit, and spares the pages that only read.
    if now - wizard.last_seen > state.config.wizard_timeout / 60 {
        wizard.last_seen = now;
        save(session, &wizard).await?;
    }
    Ok(Ok((wizard, page)))
}

/// The person the wizard is about, as the store knows them now (for the rules that need every
/// identifier); `None` when the store no longer does.
async fn person(state: &AppState, wizard: &Wizard) -> Result<Option<PersonRecord>, AppError> {
    Ok(state.store.person(wizard.person.person_id).await?)
}

async fn save(session: &Session, wizard: &Wizard) -> Result<(), AppError> {
    session.insert(WIZARD, wizard).await.map_err(session_error)
}

/// Ends the wizard and keeps what the confirmation page shows.
async fn finish(session: &Session, activated: &Activated) -> Result<(), AppError> {
    session.remove::<Wizard>(WIZARD).await.map_err(session_error)?;
    session.insert(ACTIVATED, activated).await.map_err(session_error)
}

async fn activated(session: &Session) -> Result<Option<Activated>, AppError> {
    session.get::<Activated>(ACTIVATED).await.map_err(session_error)
}

async fn forget_wizard(session: &Session) -> Result<(), AppError> {
    session.remove::<Wizard>(WIZARD).await.map_err(session_error).map(drop)
}
