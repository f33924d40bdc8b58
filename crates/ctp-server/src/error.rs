//! The one error type of the HTTP layer: it decides the status code, and its body is the
//! `{"error": "..."}` of the decisions page, telling the caller what to fix.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use ctp_store::StoreError;
use serde::Serialize;

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    /// The status code.
    pub status: StatusCode,
    /// What went wrong, for the caller.
    pub message: String,
    /// For a 429: seconds before the caller may try again (`Retry-After`).
    pub retry_after: Option<u64>,
}

/// The body of every error answer: what went wrong, for the caller.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Error, example = json!({"error": "invalid id \"a b\": ' ' is not a base64url character"}))]
pub struct ErrorBody {
    /// What went wrong and, where it can, what to do about it.
    pub error: String,
}

/// A handler's result.
pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    /// An error with any status.
    pub fn with_status(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError { status, message: message.into(), retry_after: None }
    }

    /// 400: the request is malformed or names something unusable.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError { status: StatusCode::BAD_REQUEST, message: message.into(), retry_after: None }
    }

    /// 401: no token, or an unknown one.
    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError { status: StatusCode::UNAUTHORIZED, message: message.into(), retry_after: None }
    }

    /// 403: the caller's tags do not allow this.
    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError { status: StatusCode::FORBIDDEN, message: message.into(), retry_after: None }
    }

    /// 404: no such resource or path.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError { status: StatusCode::NOT_FOUND, message: message.into(), retry_after: None }
    }

    /// 409: the request contradicts the state of the resource.
    pub fn conflict(message: impl Into<String>) -> ApiError {
        ApiError { status: StatusCode::CONFLICT, message: message.into(), retry_after: None }
    }

    /// 429: the caller sent more requests than its rate allows; `Retry-After` says when to
    /// try again.
    pub fn too_many_requests(message: impl Into<String>, retry_after: u64) -> ApiError {
        ApiError { status: StatusCode::TOO_MANY_REQUESTS, message: message.into(), retry_after: Some(retry_after) }
    }

    /// 500: the server failed; the details go to its log, not to the client.
    pub fn internal(message: impl Into<String>) -> ApiError {
        tracing::error!(message = %message.into(), "internal error");
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: "internal error; the server log has the details".into(),
            retry_after: None,
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::NotFound(..) => ApiError::not_found(e.to_string()),
            StoreError::Missing(message) => ApiError::not_found(message),
            StoreError::Conflict(message) => ApiError::conflict(message),
            StoreError::Invalid(message) => ApiError::bad_request(message),
            StoreError::Backend { .. } => {
                tracing::error!(error = %e.chain(), "storage failure");
                ApiError {
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    message: "internal storage error; the server log has the details".into(),
                    retry_after: None,
                }
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_string(&ErrorBody { error: self.message }).unwrap_or_else(|_| "{}".to_owned());
        let mut response = (self.status, [(header::CONTENT_TYPE, "application/json")], body).into_response();
        if let Some(seconds) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(r#"Bearer realm="CTP", scope="CTP API 1.0""#),
            );
        }
        response
    }
}
