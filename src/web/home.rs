//! The home page: what the portal is and its four doors.

use askama::Template;
use axum::Router;
use axum::response::Response;
use axum::routing::get;

use super::AppState;
use super::error::AppError;
use super::page::{Page, render};

pub fn router() -> Router<AppState> {
    Router::new().route("/", get(home))
}

#[derive(Template)]
#[template(path = "home.html")]
struct Home {
    page: Page,
}

async fn home(page: Page) -> Result<Response, AppError> {
    render(&Home { page })
}
