//! The HTTP layer: one router per journey, shared middleware, and the server loop.

mod assets;
pub mod client;
mod error;
mod health;
mod home;
pub mod i18n;
mod page;

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, header};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::config::Config;
use crate::store::Store;

pub use error::AppError;

/// Forms are a few short fields; anything larger is refused before it is read.
const BODY_LIMIT: usize = 16 * 1024;

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub config: Arc<Config>,
}

/// The whole application, mounted under the public URL's path prefix.
pub fn app(config: Config, store: Arc<dyn Store>) -> Router {
    let base = config.base_path().to_string();
    let state = AppState { store, config: Arc::new(config) };
    let routes = Router::new()
        .merge(home::router())
        .merge(health::router())
        .merge(assets::router())
        .fallback(error::not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), i18n::negotiate))
        .with_state(state);
    let routes = if base.is_empty() { routes } else { Router::new().nest(&base, routes) };
    security_headers(routes).layer(RequestBodyLimitLayer::new(BODY_LIMIT))
}

/// The contract's headers on every answer; an answer that sets its own keeps it.
fn security_headers(router: Router) -> Router {
    let headers: [(HeaderName, &'static str); 5] = [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
        ),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CACHE_CONTROL, "no-store"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ];
    headers.into_iter().fold(router, |router, (name, value)| {
        router.layer(SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value)))
    })
}

/// Serves until SIGINT or SIGTERM, then lets requests in flight finish.
pub async fn serve(listener: tokio::net::TcpListener, config: Config, store: Arc<dyn Store>) -> std::io::Result<()> {
    let app = app(config, store);
    axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(shutdown_signal())
        .await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
