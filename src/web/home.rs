//! The home page: what the portal is and its four doors.

use askama::Template;
use axum::Router;
use axum::response::Response;
use axum::routing::get;

use super::error::AppError;
use super::page_context::Page;
use super::respond::render;
use super::{AppState, routes};

pub fn router() -> Router<AppState> {
    Router::new().route(routes::HOME, get(home))
}

#[derive(Template)]
#[template(path = "home.html")]
struct Home {
    page: Page,
}

async fn home(page: Page) -> Result<Response, AppError> {
    render(&Home { page })
}
