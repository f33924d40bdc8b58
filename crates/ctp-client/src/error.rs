//! The errors of the HTTP client: each one's message is one line that says what went wrong
//! and what to do about it.

/// Why a call to the server failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The base URL is not an `http(s)` URL.
    #[error("{url:?} is not an http(s) URL — give the API's base URL, e.g. http://127.0.0.1:8080/api/1.0/")]
    InvalidUrl {
        /// What was given.
        url: String,
    },
    /// An id that cannot be part of a URL path, or a URL outside the server's base URL (the
    /// token is only ever sent under the base URL).
    #[error("{target:?} is not an id or a URL under {base} — give an id, or a link the server printed")]
    InvalidTarget {
        /// What was given.
        target: String,
        /// The server's base URL.
        base: String,
    },
    /// The server could not be reached, or the connection failed.
    #[error("cannot reach {url}: {detail} — check the URL and that the server is running")]
    Network {
        /// The URL called.
        url: String,
        /// What failed.
        detail: String,
    },
    /// 401.
    #[error("401: the token is not accepted — run `ctp login URL` again with a valid token")]
    Unauthorized,
    /// 403.
    #[error("403: this token may not do that ({message}) — use a token with the right role and tags")]
    Forbidden {
        /// The server's message.
        message: String,
    },
    /// 404.
    #[error("404: {url} does not exist ({message}) — check the id or URL (`ctp tree` lists them)")]
    NotFound {
        /// The URL called.
        url: String,
        /// The server's message.
        message: String,
    },
    /// 400, 409, 413, 415, 422 and other refusals of the request.
    #[error("{status}: the server refused the request: {message} — fix the request and try again")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The server's message.
        message: String,
    },
    /// 429.
    #[error("429: too many requests ({message}) — wait a moment and try again")]
    RateLimited {
        /// The server's message.
        message: String,
    },
    /// 5xx.
    #[error("{status}: the server failed ({message}) — try again later, or tell the server's operator")]
    Server {
        /// The HTTP status.
        status: u16,
        /// The server's message.
        message: String,
    },
    /// A successful answer that is not what the API defines.
    #[error("unexpected answer from {url}: {detail} — is this the base URL of a CTP API?")]
    Unexpected {
        /// The URL called.
        url: String,
        /// What was wrong with it.
        detail: String,
    },
}

impl Error {
    /// The error of a non-2xx answer with `body`.
    pub fn from_status(status: u16, url: &str, body: &str) -> Error {
        let message = serde_json::from_str::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_owned))
            .unwrap_or_else(|| one_line(body, 200));
        match status {
            401 => Error::Unauthorized,
            403 => Error::Forbidden { message },
            404 => Error::NotFound { url: url.to_owned(), message },
            429 => Error::RateLimited { message },
            500..=599 => Error::Server { status, message },
            _ => Error::Refused { status, message },
        }
    }

    /// Whether this is a 404.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::NotFound { .. })
    }
}

/// `text` on one line, at most `max` characters.
pub(crate) fn one_line(text: &str, max: usize) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > max {
        format!("{}…", flat.chars().take(max).collect::<String>())
    } else if flat.is_empty() {
        "no message".to_owned()
    } else {
        flat
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_errors_that_say_what_to_do() {
        let e = Error::from_status(401, "u", r#"{"error":"no"}"#);
        assert!(e.to_string().contains("ctp login"), "{e}");
        let e = Error::from_status(404, "http://x/a", r#"{"error":"no such view"}"#);
        assert!(e.is_not_found());
        assert!(e.to_string().contains("no such view"), "{e}");
        let e = Error::from_status(400, "u", "plain\ntext");
        assert_eq!(e.to_string(), "400: the server refused the request: plain text — fix the request and try again");
        assert!(matches!(Error::from_status(503, "u", ""), Error::Server { status: 503, .. }));
        assert!(!Error::from_status(409, "u", "").to_string().contains('\n'));
    }
}
