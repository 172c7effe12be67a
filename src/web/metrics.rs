//! `/metrics` in Prometheus text format: requests by route and status, latencies, and the
//! portal's own counters (activations, identification failures, locks, outbox, directory).

use std::sync::OnceLock;
use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use super::{AppState, routes};

/// One recorder per process: the `metrics` macros write to a global one.
fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Full("http_request_duration_seconds".into()),
                &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0],
            )
            .map(PrometheusBuilder::build_recorder)
            .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder());
        let handle = recorder.handle();
        // Already set when several applications share a process (tests): keep the first.
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
}

pub fn router() -> Router<AppState> {
    handle();
    Router::new().route(routes::METRICS, get(render))
}

async fn render(State(state): State<AppState>) -> Response {
    match state.store.mail_backlog().await {
        Ok(backlog) => metrics::gauge!("sesame_outbox_backlog").set(backlog as f64),
        Err(e) => tracing::warn!(error = %e, "metrics: outbox backlog unavailable"),
    }
    if state.config.directory.is_some() {
        crate::directory::worker::record_backlog(state.store.as_ref()).await;
    }
    metrics::gauge!("sesame_argon2_seconds_total").set(state.hasher.time_spent().as_secs_f64());
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], handle().render()).into_response()
}

/// Counts every request by method, route template (never the raw path) and status, and times it.
pub async fn track(request: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = request.method().to_string();
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str).to_string();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("http_requests_total", "method" => method, "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("http_request_duration_seconds", "route" => route).record(start.elapsed().as_secs_f64());
    response
}
