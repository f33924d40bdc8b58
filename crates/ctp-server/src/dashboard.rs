//! The web dashboard (issue 15): a few static files embedded in the binary at compile time
//! (`crates/ctp-server/dashboard/`), served outside the API's base path — the page at `/`
//! (at `/dashboard/` when the API itself is at `/`) and its files under `/dashboard/`.
//! The page is a client of the CTP API like any other: it holds no data and no token.
//!
//! Every answer is compressed once (gzip, for clients that accept it), carries an ETag
//! (revalidated, so a new binary's files are fetched at once), and a Content-Security-Policy
//! that lets the page load only its own files and talk only to its own origin.

use std::sync::{Arc, OnceLock};

use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use sha2::{Digest, Sha256};

use crate::context::AppState;

/// What the page may do: its own scripts, styles and API, nothing else (no inline script,
/// no frame, no form posted elsewhere).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The dashboard's files: name under `/dashboard/`, content type, bytes.
const FILES: &[(&str, &str, &[u8])] = &[
    ("app.js", "text/javascript; charset=utf-8", include_bytes!("../dashboard/app.js")),
    ("app.css", "text/css; charset=utf-8", include_bytes!("../dashboard/app.css")),
    ("uPlot.iife.min.js", "text/javascript; charset=utf-8", include_bytes!("../dashboard/vendor/uPlot.iife.min.js")),
    ("uPlot.min.css", "text/css; charset=utf-8", include_bytes!("../dashboard/vendor/uPlot.min.css")),
    ("uPlot.LICENSE", "text/plain; charset=utf-8", include_bytes!("../dashboard/vendor/uPlot.LICENSE")),
];

const INDEX: &str = include_str!("../dashboard/index.html");

/// One file as served: plain and gzipped bytes, its ETag.
struct Prepared {
    content_type: &'static str,
    plain: Vec<u8>,
    gzipped: Vec<u8>,
    etag: HeaderValue,
}

impl Prepared {
    fn new(content_type: &'static str, plain: Vec<u8>) -> Prepared {
        use std::io::Write;
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let gzipped = encoder.write_all(&plain).and_then(|()| encoder.finish()).unwrap_or_default();
        let digest = Sha256::digest(&plain);
        let etag =
            HeaderValue::from_str(&format!("\"{}\"", hex::encode(&digest[..12]))).expect("hex is a header value");
        Prepared { content_type, plain, gzipped, etag }
    }

    fn answer(&self, request: &HeaderMap) -> Response {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(self.content_type));
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        headers.insert(header::ETAG, self.etag.clone());
        headers.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
        headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
        headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
        headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        let unchanged = request.get(header::IF_NONE_MATCH).is_some_and(|tags| {
            tags.to_str().is_ok_and(|tags| tags.split(',').any(|t| t.trim() == self.etag.to_str().unwrap_or("")))
        });
        if unchanged {
            return (StatusCode::NOT_MODIFIED, headers).into_response();
        }
        if accepts_gzip(request) && !self.gzipped.is_empty() {
            headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            return (headers, self.gzipped.clone()).into_response();
        }
        (headers, self.plain.clone()).into_response()
    }
}

fn accepts_gzip(request: &HeaderMap) -> bool {
    request.get_all(header::ACCEPT_ENCODING).iter().filter_map(|v| v.to_str().ok()).any(|v| {
        v.split(',').any(|coding| {
            let mut parts = coding.split(';');
            let name = parts.next().unwrap_or("").trim();
            let refused =
                parts.any(|p| matches!(p.trim().replace(' ', "").as_str(), "q=0" | "q=0.0" | "q=0.00" | "q=0.000"));
            name.eq_ignore_ascii_case("gzip") && !refused
        })
    })
}

/// Where the page is served: `/`, or `/dashboard/` when the API's base path is `/`.
pub fn page_path(base_path: &str) -> &'static str {
    if base_path == "/" {
        "/dashboard/"
    } else {
        "/"
    }
}

/// The dashboard's routes for an API at `base_path`.
pub fn routes(base_path: &str) -> Router<AppState> {
    let page = page_path(base_path);
    // The page's links to its files are relative to where it is served.
    let files_prefix = if page == "/" { "dashboard/" } else { "" };
    let index = INDEX
        .replace("{{CTP_BASE}}", &html_attribute(base_path))
        .replace("href=\"dashboard/", &format!("href=\"{files_prefix}"))
        .replace("src=\"dashboard/", &format!("src=\"{files_prefix}"));
    let index = Arc::new(Prepared::new("text/html; charset=utf-8", index.into_bytes()));
    Router::new()
        .route(page, get(move |headers: HeaderMap| async move { index.answer(&headers) }))
        .route("/dashboard/{file}", get(file))
}

async fn file(Path(name): Path<String>, headers: HeaderMap) -> Response {
    static PREPARED: OnceLock<Vec<(&'static str, Prepared)>> = OnceLock::new();
    let prepared = PREPARED.get_or_init(|| {
        FILES.iter().map(|(name, content_type, bytes)| (*name, Prepared::new(content_type, bytes.to_vec()))).collect()
    });
    match prepared.iter().find(|(n, _)| *n == name) {
        Some((_, file)) => file.answer(&headers),
        None => crate::error::ApiError::not_found(format!("the dashboard has no file {name:?}")).into_response(),
    }
}

/// `text` escaped for an HTML attribute value in double quotes.
fn html_attribute(text: &str) -> String {
    text.replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;").replace('>', "&gt;")
}

/// The total size of the dashboard's files once gzipped, in bytes (what a browser
/// downloads on its first visit).
pub fn compressed_size() -> usize {
    let index = Prepared::new("text/html", INDEX.as_bytes().to_vec()).gzipped.len();
    index + FILES.iter().map(|(_, t, b)| Prepared::new(t, b.to_vec()).gzipped.len()).sum::<usize>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_is_chosen_only_when_accepted() {
        let mut h = HeaderMap::new();
        assert!(!accepts_gzip(&h));
        h.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("br, gzip;q=0.8"));
        assert!(accepts_gzip(&h));
        h.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("gzip;q=0, deflate"));
        assert!(!accepts_gzip(&h));
    }

    #[test]
    fn the_files_stay_under_300_kb_compressed() {
        let size = compressed_size();
        assert!(size < 300 * 1024, "the dashboard's files are {size} bytes gzipped");
    }

    #[test]
    fn the_base_path_is_escaped_into_the_page() {
        assert_eq!(html_attribute("/a\"<b>&/"), "/a&quot;&lt;b&gt;&amp;/");
    }
}
