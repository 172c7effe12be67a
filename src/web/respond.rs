//! The answers every journey gives the same way: 303 to a page of ours, 422 with the form again,
//! 429 with when to come back.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use super::error::AppError;
use super::page::{Page, render};
use crate::domain::throttle;

/// 303 to a page of ours (never to a user-supplied target).
pub fn see_other(page: &Page, path: &str) -> Response {
    Redirect::to(&page.url(path)).into_response()
}

/// 422 with the form again.
pub fn unprocessable(template: &impl Template) -> Result<Response, AppError> {
    let mut response = render(template)?;
    *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(response)
}

#[derive(Template)]
#[template(path = "too_many.html")]
struct TooMany {
    page: Page,
    minutes: i64,
}

/// 429 with `Retry-After` and a page that says when to come back.
pub fn too_many(page: Page, locked_until: i64, now: i64) -> Result<Response, AppError> {
    let seconds = throttle::retry_after(locked_until, now);
    let mut response = render(&TooMany { page, minutes: (seconds + 59) / 60 })?;
    *response.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    Ok(response)
}
