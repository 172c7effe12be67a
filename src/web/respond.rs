//! The answers every page gives the same way: a rendered page, 303 to a page of ours, 422 with
//! the form again, 429 with when to come back, 404.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};

use super::error::AppError;
use super::page_context::Page;
use crate::domain::throttle;

/// Renders a template; a failure is an error like any other, logged and shown calmly.
pub fn render(template: &impl Template) -> Result<Response, AppError> {
    Ok(Html(template.render()?).into_response())
}

/// A status of ours with a rendered page.
pub fn render_with(status: StatusCode, template: &impl Template) -> Result<Response, AppError> {
    let mut response = render(template)?;
    *response.status_mut() = status;
    Ok(response)
}

/// 303 to a page of ours (never to a user-supplied target).
pub fn see_other(page: &Page, path: &str) -> Response {
    Redirect::to(&page.url(path)).into_response()
}

/// 422 with the form again.
pub fn unprocessable(template: &impl Template) -> Result<Response, AppError> {
    render_with(StatusCode::UNPROCESSABLE_ENTITY, template)
}

#[derive(Template)]
#[template(path = "too_many.html")]
struct TooMany {
    page: Page,
    minutes: i64,
    /// When the lock ends, in the institution's time.
    until: String,
}

/// 429 with `Retry-After` and a page that says when to come back.
pub fn too_many(page: Page, locked_until: i64, now: i64) -> Result<Response, AppError> {
    let seconds = throttle::retry_after(locked_until, now);
    let minutes = (seconds + 59) / 60;
    // Rounded up to the minute, so that "from 10:16" is never a minute early.
    let until =
        time::OffsetDateTime::from_unix_timestamp(now + minutes * 60).map(|at| page.local_time(at)).unwrap_or_default();
    let mut response = render_with(StatusCode::TOO_MANY_REQUESTS, &TooMany { page, minutes, until })?;
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    Ok(response)
}

#[derive(Template)]
#[template(path = "not_found.html")]
struct NotFound {
    page: Page,
}

pub async fn not_found(page: Page) -> Result<Response, AppError> {
    render_with(StatusCode::NOT_FOUND, &NotFound { page })
}
