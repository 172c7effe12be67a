//! Static assets, embedded in the binary so it runs from any directory; cached and revalidated by ETag.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::LazyLock;

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::AppState;

struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
    etag: String,
}

static ASSETS: LazyLock<Vec<Asset>> = LazyLock::new(|| {
    [("sesame.css", "text/css; charset=utf-8", include_bytes!("../../static/sesame.css").as_slice())]
        .into_iter()
        .map(|(name, content_type, body)| {
            let mut hasher = DefaultHasher::new();
            body.hash(&mut hasher);
            Asset { name, content_type, body, etag: format!("\"{:016x}\"", hasher.finish()) }
        })
        .collect()
});

pub fn router() -> Router<AppState> {
    Router::new().route("/static/{name}", get(asset))
}

async fn asset(Path(name): Path<String>, headers: HeaderMap) -> Response {
    let Some(asset) = ASSETS.iter().find(|a| a.name == name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let etag = HeaderValue::from_str(&asset.etag).unwrap_or_else(|_| HeaderValue::from_static("\"0\""));
    let cache = (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600, must-revalidate"));
    if headers.get(header::IF_NONE_MATCH) == Some(&etag) {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag), cache]).into_response();
    }
    ([(header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type)), (header::ETAG, etag), cache], asset.body)
        .into_response()
}
