//! The HTTP layer: one router per journey, shared middleware, and the server loop.

// The journeys, each importing only the shared modules below it.
mod account;
mod activate;
mod recover;

// What journeys share.
mod changes;
mod choices;
mod identify;
mod journey;
mod new_password;
mod one_time_code;

mod assets;
pub mod client;
mod deadline;
mod error;
pub mod form;
mod health;
mod home;
pub mod i18n;
mod metrics;
mod page_context;
mod respond;
mod routes;
mod rules_and_help;
mod session;

use std::future::IntoFuture;
use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, header};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use tokio::sync::{Notify, watch};

use crate::config::Config;
use crate::hashing::Hasher;
use crate::mail;
use crate::store::Store;

pub use error::AppError;

/// How long requests in flight may take to finish after SIGTERM or SIGINT.
const DRAIN_LIMIT: std::time::Duration = std::time::Duration::from_secs(20);

/// Forms are a few short fields; anything larger is refused before it is read.
const BODY_LIMIT: usize = 16 * 1024;

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub config: Arc<Config>,
    pub hasher: Hasher,
    /// Rung when a mail is queued, so the outbox worker sends it at once.
    pub outbox: Arc<Notify>,
    /// The stylesheet, the script and the logo, under their hashed names.
    pub assets: Arc<assets::Assets>,
    // h22: recovery by a one-time code
    /// Seals recovery codes' messages while they wait: `SESAME_SECRET_KEY`, or a key of this
    /// process when none is configured (see `SealingKey::ephemeral`).
    pub codes: crate::sealing::SealingKey,
    /// Rung when an SMS is queued, so the SMS worker sends it at once.
    pub sms_outbox: Arc<Notify>,
}

impl AppState {
    pub fn new(config: Config, store: Arc<dyn Store>) -> Self {
        let assets = Arc::new(assets::Assets::new(config.logo.as_ref()));
        let codes = config.sealing_key.clone().unwrap_or_else(crate::sealing::SealingKey::ephemeral);
        let hasher = Hasher::owasp().waiting_at_most(config.hash_wait);
        Self {
            store,
            config: Arc::new(config),
            hasher,
            outbox: Arc::default(),
            assets,
            codes,
            sms_outbox: Arc::default(),
        }
    }
}

/// The whole application, mounted under the public URL's path prefix.
pub fn app(state: AppState) -> Router {
    let base = state.config.base_path().to_string();
    let config = state.config.clone();
    let sessions = session::layer(&state.config, state.store.sessions());
    let routes = Router::new()
        .merge(home::router())
        .merge(rules_and_help::router())
        .merge(activate::router())
        .merge(recover::router())
        .merge(account::router())
        .merge(metrics::router())
        .merge(health::router())
        .merge(assets::router())
        .fallback(respond::not_found)
        .layer(axum::middleware::from_fn(session::renew_changed))
        .layer(sessions)
        .layer(axum::middleware::from_fn_with_state(state.clone(), session::hold_replaced))
        .layer(axum::middleware::from_fn_with_state(state.clone(), deadline::bounded))
        .layer(axum::middleware::from_fn_with_state(state.clone(), error::styled))
        .layer(axum::middleware::from_fn_with_state(state.clone(), i18n::negotiate))
        .route_layer(axum::middleware::from_fn(metrics::track))
        .with_state(state);
    let routes = if base.is_empty() {
        routes
    } else {
        // The prefix itself is the home page; with a trailing slash it leads there.
        let home = base.clone();
        Router::new()
            .route(
                &format!("{base}/"),
                axum::routing::get(move || async move { axum::response::Redirect::permanent(&home) }),
            )
            .nest(&base, routes)
    };
    security_headers(routes, &config)
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .layer(axum::middleware::map_request(drop_unfit_request_id))
}

/// A client's `X-Request-Id` goes into every log line of its request and back in the answer:
/// kept only when it is 1 to 64 letters, digits, `.`, `_` or `-`, so that nobody writes into
/// the logs; otherwise the request gets an id of ours.
async fn drop_unfit_request_id(
    mut request: axum::http::Request<axum::body::Body>,
) -> axum::http::Request<axum::body::Body> {
    let fit = |v: &HeaderValue| {
        let bytes = v.as_bytes();
        (1..=64).contains(&bytes.len()) && bytes.iter().all(|b| b.is_ascii_alphanumeric() || b".-_".contains(b))
    };
    let headers = request.headers_mut();
    if headers.get_all("x-request-id").iter().count() > 1 || headers.get("x-request-id").is_some_and(|v| !fit(v)) {
        headers.remove("x-request-id");
    }
    request
}

/// Every log line of a request carries its id (also sent back as `X-Request-Id`), method and path;
/// never the query or the body.
fn request_span(request: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    let id = request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
    tracing::info_span!("request", request_id = %id, method = %request.method(), path = %request.uri().path())
}

/// The contract's headers on every answer; an answer that sets its own keeps it. Behind an
/// https public URL, browsers are also told to come back over https only.
fn security_headers(router: Router, config: &Config) -> Router {
    let hsts = (config.public_url.scheme() == "https" && config.hsts_max_age_seconds > 0)
        .then(|| HeaderValue::from_str(&format!("max-age={}", config.hsts_max_age_seconds)))
        .and_then(Result::ok);
    let router = match hsts {
        Some(value) => router.layer(SetResponseHeaderLayer::if_not_present(header::STRICT_TRANSPORT_SECURITY, value)),
        None => router,
    };
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

/// Serves with the outbox workers (mail, and the directory when there is one) and the clean-up
/// task until `shutdown` completes, then lets requests in flight and the mail being sent finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let transport = mail::Transport::from_config(&state.config).map_err(std::io::Error::other)?;
    // The workers stop claiming as soon as the signal comes, and finish what they hold while
    // the requests in flight finish: the process is down within max(DRAIN_LIMIT, SMTP time-out).
    let (stop, stopped) = watch::channel(false);
    let stop = Arc::new(stop);
    let worker = mail::worker::Worker {
        store: state.store.clone(),
        transport,
        from: state.config.mail_from.clone(),
        domain: state.config.email_domain.clone(),
        pace: state.config.mail_pace,
        wake: state.outbox.clone(),
        sealing: state.codes.clone(),
    };
    let worker = tokio::spawn(worker.run(stopped.clone()));
    // h22: the SMS outbox's worker.
    let sms = crate::sms::worker::Worker {
        store: state.store.clone(),
        transport: crate::sms::Transport::from_settings(&state.config.sms).map_err(std::io::Error::other)?,
        sealing: state.codes.clone(),
        pace: state.config.sms_pace,
        wake: state.sms_outbox.clone(),
    };
    let sms = tokio::spawn(sms.run(stopped.clone()));
    let directory = state.config.directory.clone().map(|settings| {
        let pace = state.config.directory_pace;
        let sealing = state.config.sealing_key.clone();
        let worker = crate::directory::worker::Worker::new(state.store.clone(), settings, sealing, pace);
        tokio::spawn(worker.run(stopped.clone()))
    });
    let cleanup = tokio::spawn(clean_up(state.store.clone(), stopped));
    let app = app(state);
    let signalled = Arc::new(Notify::new());
    let on_signal = signalled.clone();
    let stop_on_signal = stop.clone();
    let graceful = axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(async move {
            shutdown.await;
            let _ = stop_on_signal.send(true);
            on_signal.notify_one();
        });
    // Requests in flight get DRAIN_LIMIT to finish; then the process stops anyway.
    let served = tokio::select! {
        served = graceful.into_future() => served,
        () = async { signalled.notified().await; tokio::time::sleep(DRAIN_LIMIT).await } => {
            tracing::warn!("requests still in flight after {} s: stopping", DRAIN_LIMIT.as_secs());
            Ok(())
        }
    };
    let _ = stop.send(true);
    let _ = tokio::join!(worker, sms, cleanup);
    if let Some(directory) = directory {
        let _ = directory.await;
    }
    served
}

/// Expired sessions and stale counters go, once a minute.
async fn clean_up(store: Arc<dyn Store>, mut stop: watch::Receiver<bool>) {
    loop {
        if let Err(e) = store.delete_expired(time::OffsetDateTime::now_utc().unix_timestamp()).await {
            tracing::warn!(error = %e, "clean-up of expired sessions failed");
        }
        tokio::select! {
            () = tokio::time::sleep(std::time::Duration::from_secs(60)) => {}
            _ = stop.changed() => return,
        }
    }
}

/// Completes on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
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
