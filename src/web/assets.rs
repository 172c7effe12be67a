//! Static assets: embedded in the binary so it runs from any directory (the logo is read once
//! at start-up), linked under content-hashed names that are cached for a year, and sent
//! gzip-compressed to the browsers that accept it.

use std::io::Write;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};

use super::{AppState, routes};
use crate::config::Logo;

/// A hashed name never changes content, so browsers and proxies may keep it for a year.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// A plain name (`sesame.css`) is for whoever links it by hand: revalidated on each use.
const REVALIDATE: &str = "public, no-cache";

pub struct Assets {
    files: Vec<Asset>,
}

struct Asset {
    /// `sesame.css`.
    name: String,
    /// `sesame.3f2a9c0d41b7e5a6.css`: a SHA-256 prefix, the same on every instance and build.
    hashed: String,
    content_type: &'static str,
    body: Vec<u8>,
    /// Only kept when it saves something (not for PNG or JPEG logos).
    gzip: Option<Vec<u8>>,
    etag: String,
}

impl Asset {
    fn new(name: &str, extension: &str, content_type: &'static str, body: Vec<u8>) -> Self {
        let digest = Sha256::digest(&body);
        let hash: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        let gzip = gzip(&body).filter(|compressed| compressed.len() < body.len());
        Self {
            name: format!("{name}.{extension}"),
            hashed: format!("{name}.{hash}.{extension}"),
            content_type,
            body,
            gzip,
            etag: hash,
        }
    }
}

fn gzip(body: &[u8]) -> Option<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(body).ok()?;
    encoder.finish().ok()
}

impl Assets {
    pub fn new(logo: Option<&Logo>) -> Self {
        let mut files = vec![
            Asset::new("sesame", "css", "text/css; charset=utf-8", include_bytes!("../../static/sesame.css").to_vec()),
            Asset::new(
                "sesame",
                "js",
                "text/javascript; charset=utf-8",
                include_bytes!("../../static/sesame.js").to_vec(),
            ),
            Asset::new("favicon", "svg", "image/svg+xml", include_bytes!("../../static/favicon.svg").to_vec()),
        ];
        if let Some(logo) = logo {
            files.push(Asset::new("logo", logo.extension, logo.content_type, logo.bytes.clone()));
        }
        Self { files }
    }

    /// The hashed file name to link, e.g. `sesame.3f2a9c0d41b7e5a6.css`; `None` for an asset we do not have.
    pub fn hashed(&self, name: &str) -> Option<&str> {
        self.files.iter().find(|a| a.name == name).map(|a| a.hashed.as_str())
    }

    /// The logo's file name (`logo.svg`…), when one is configured.
    pub fn logo(&self) -> Option<&str> {
        self.files.iter().find(|a| a.name.starts_with("logo.")).map(|a| a.name.as_str())
    }
}

impl std::fmt::Debug for Assets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.files.iter().map(|a| &a.hashed)).finish()
    }
}

pub fn router() -> Router<AppState> {
    Router::new().route(routes::STATIC, get(asset))
}

async fn asset(State(state): State<AppState>, Path(name): Path<String>, headers: HeaderMap) -> Response {
    let assets = &state.assets;
    let (asset, cache) = match assets.files.iter().find(|a| a.hashed == name) {
        Some(asset) => (asset, IMMUTABLE),
        None => match assets.files.iter().find(|a| a.name == name) {
            Some(asset) => (asset, REVALIDATE),
            None => return StatusCode::NOT_FOUND.into_response(),
        },
    };
    let (body, encoding, etag) = match &asset.gzip {
        Some(gzip) if accepts_gzip(&headers) => (gzip.as_slice(), Some("gzip"), format!("\"{}-gz\"", asset.etag)),
        _ => (asset.body.as_slice(), None, format!("\"{}\"", asset.etag)),
    };
    let mut response = if headers.get(header::IF_NONE_MATCH).is_some_and(|v| v.as_bytes() == etag.as_bytes()) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut response = body.to_vec().into_response();
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
        if let Some(encoding) = encoding {
            response.headers_mut().insert(header::CONTENT_ENCODING, HeaderValue::from_static(encoding));
        }
        response
    };
    let out = response.headers_mut();
    out.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    out.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if let Ok(etag) = HeaderValue::from_str(&etag) {
        out.insert(header::ETAG, etag);
    }
    response
}

/// `gzip` among the codings of `Accept-Encoding`, unless given a zero weight.
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers.get_all(header::ACCEPT_ENCODING).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).any(
        |coding| {
            let mut parts = coding.split(';').map(str::trim);
            let name = parts.next().unwrap_or_default();
            let refused = parts.any(|p| p.replace(' ', "").trim_start_matches("q=").parse::<f32>() == Ok(0.0));
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn gzip_is_sent_only_to_who_accepts_it() {
        assert!(accepts_gzip(&with("gzip, deflate, br")));
        assert!(accepts_gzip(&with("br;q=1.0, GZIP;q=0.5")));
        assert!(accepts_gzip(&with("*")));
        assert!(!accepts_gzip(&with("gzip;q=0")));
        assert!(!accepts_gzip(&with("gzip; q=0.0")));
        assert!(!accepts_gzip(&with("br, deflate")));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }

    #[test]
    fn names_carry_the_content_hash_and_the_logo_joins_them() {
        let logo = Logo { bytes: b"<svg/>".to_vec(), extension: "svg", content_type: "image/svg+xml" };
        let assets = Assets::new(Some(&logo));
        let css = assets.hashed("sesame.css").unwrap();
        assert!(css.starts_with("sesame.") && css.ends_with(".css") && css.len() == "sesame..css".len() + 16, "{css}");
        assert_eq!(Assets::new(None).hashed("sesame.css"), Some(css), "stable across instances");
        assert_eq!(assets.logo(), Some("logo.svg"));
        assert!(assets.hashed("logo.svg").unwrap().starts_with("logo."));
        assert_eq!(Assets::new(None).logo(), None);
        assert_eq!(assets.hashed("nothing.css"), None);
    }
}
