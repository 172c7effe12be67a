//! Liveness and readiness probes for load balancers and orchestrators.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;

use super::{AppState, routes};

pub fn router() -> Router<AppState> {
    Router::new().route(routes::HEALTHZ, get(healthz)).route(routes::READYZ, get(readyz))
}

async fn healthz() -> &'static str {
    "ok"
}

/// A load balancer waits this long at most for an answer, whatever the database does.
const READY_WITHIN: std::time::Duration = std::time::Duration::from_secs(1);

async fn readyz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    // The probe runs to its end on its own task, so that giving up on it never leaves a
    // connection half-way through its transaction.
    let probe = tokio::spawn(async move { state.store.ping().await });
    match tokio::time::timeout(READY_WITHIN, probe).await {
        Ok(Ok(Ok(()))) => (StatusCode::OK, "ready"),
        Ok(Ok(Err(e))) => {
            tracing::warn!(error = %e, "readiness check: the database cannot be written");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
        Ok(Err(e)) => {
            tracing::error!(error = %e, "readiness check: the probe failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
        Err(_) => {
            tracing::warn!("readiness check: the database did not answer within {} s", READY_WITHIN.as_secs());
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
    }
}
