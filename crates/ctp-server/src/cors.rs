//! Cross-origin requests from browser clients served by another origin (such as the CSA's
//! jQuery client): answered only for the origins an operator configured
//! (`ctpd serve --cors-origin`); with none, ctpd sends no CORS header at all.

use std::time::Duration;

use axum::http::{header, HeaderValue, Method};
use tower_http::cors::{AllowOrigin, CorsLayer};

/// Checks one configured origin: `*` (any origin), or `scheme://host[:port]` with an
/// `http` or `https` scheme and nothing after the authority, as browsers send it in the
/// `Origin` header.
pub fn check_origin(origin: &str) -> Result<(), String> {
    if origin == "*" {
        return Ok(());
    }
    let url = url::Url::parse(origin).map_err(|e| format!("CORS origin {origin:?} is not a URL: {e}"))?;
    let exact = url.origin().ascii_serialization();
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() || exact != origin {
        return Err(format!(
            "CORS origin {origin:?} must be written as a browser sends it: scheme://host[:port], \
             without path or trailing slash (for example https://dashboard.example.org), or *"
        ));
    }
    Ok(())
}

/// The CORS layer for `origins` (already checked with [`check_origin`]), or `None` when
/// no origin is configured. Browsers may send `Authorization` and `Content-Type` with the
/// API's methods, and read `Location` and `WWW-Authenticate`; preflight answers are cached
/// for an hour.
pub fn layer(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let allow_origin = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    };
    Some(
        CorsLayer::new()
            .allow_origin(allow_origin)
            .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE])
            .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
            .expose_headers([header::LOCATION, header::WWW_AUTHENTICATE])
            .max_age(Duration::from_secs(3600)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_written_as_browsers_send_them() {
        for good in ["https://dashboard.example.org", "http://127.0.0.1:8000", "*", "http://[::1]:3000"] {
            assert_eq!(check_origin(good), Ok(()), "{good}");
        }
        for bad in ["https://example.org/", "https://example.org/app", "example.org", "ftp://example.org", "null", ""] {
            assert!(check_origin(bad).is_err(), "{bad}");
        }
    }
}
