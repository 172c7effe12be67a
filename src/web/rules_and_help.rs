//! Pages that only inform: the internal rules and the help.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;

use super::error::AppError;
use super::page_context::Page;
use super::respond::render;
use super::{AppState, routes};

pub fn router() -> Router<AppState> {
    Router::new().route(routes::RULES, get(rules)).route(routes::HELP, get(help))
}

#[derive(Template)]
#[template(path = "rules.html")]
struct Rules {
    page: Page,
    version: String,
}

async fn rules(page: Page, State(state): State<AppState>) -> Result<Response, AppError> {
    render(&Rules { page, version: state.config.rules_version.clone() })
}

#[derive(Template)]
#[template(path = "help.html")]
struct Help {
    page: Page,
}

async fn help(page: Page) -> Result<Response, AppError> {
    render(&Help { page })
}
