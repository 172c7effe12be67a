//! How a page reads the state of its journey from the session: through `At<T>`, whose rejection
//! is the answer to give instead (the first step not yet done, the sign-in page).

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use tower_sessions::Session;

use super::AppState;
use super::page_context::Page;

/// What a journey keeps in the session, as a page of it may use it.
pub trait JourneyState: Sized {
    /// The state when `page` may be shown, or the answer to give instead.
    fn load(session: &Session, state: &AppState, page: Page) -> impl Future<Output = Result<Self, Response>> + Send;
}

/// The journey's state at the page asked for.
pub struct At<T>(pub T);

impl<S, T> FromRequestParts<S> for At<T>
where
    S: Send + Sync,
    AppState: FromRef<S>,
    T: JourneyState,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let session = Session::from_request_parts(parts, state).await.map_err(IntoResponse::into_response)?;
        let Ok(page) = Page::from_request_parts(parts, state).await;
        T::load(&session, &AppState::from_ref(state), page).await.map(At)
    }
}
