//! The HTTP API of ctpd: the CTP client API (2.14) and the back-office API, over any
//! [`ctp_store::Store`]. `router` builds the whole application; `serve` and `serve_with`
//! run it on a listener (plain HTTP or HTTPS, with the connection limits of [`listen`])
//! until a shutdown signal, finishing requests in flight within a grace period.

pub mod audit;
pub mod auth;
pub mod context;
pub mod cors;
pub mod dashboard;
pub mod demo;
pub mod encode;
pub mod error;
pub mod history;
pub mod ledger;
pub mod limits;
pub mod listen;
pub mod notify;
pub mod openapi;
pub mod ossec;
pub mod push;
pub mod query;
mod routes;
pub mod signing;
pub mod timer;
pub mod tls;

use std::future::Future;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::TraceLayer;

pub use context::{AppState, ServerConfig};
use error::ApiError;
pub use listen::{bind, serve_with, Limits, ServeOptions};

/// The paths the server routes (with `{id}` for an identifier), the API's under
/// `base_path`: what the OpenAPI document must describe, method by method.
pub fn route_paths(base_path: &str) -> Vec<String> {
    let mut paths = routes::api_paths(base_path);
    paths.extend(["/healthz", "/metrics"].map(str::to_owned));
    paths
}

/// The whole application: the API under the base path (with its OpenAPI document at
/// `{base path}openapi.json`), `GET /healthz`, `GET /metrics`, JSON errors for unknown paths
/// (404), known paths with another method (405 with `Allow`) and bodies over the limit (413).
pub fn router(state: AppState) -> Router {
    let limit = state.config.body_limit;
    let cors = cors::layer(&state.config.cors_origins);
    let mut router = routes::api_routes(&state.config.base_path);
    if state.config.dashboard {
        router = router.merge(dashboard::routes(&state.config.base_path));
    }
    let router = router
        .route("/healthz", get(healthz))
        .route("/metrics", get(routes::metrics_text))
        .fallback(routes::not_found)
        // Inside the body limit: it reads the body it digests within the limit.
        .layer(axum::middleware::from_fn_with_state(state.clone(), audit::record))
        .layer(DefaultBodyLimit::disable())
        .layer(RequestBodyLimitLayer::new(limit))
        // Outside the body limit, so that its 413 gets a JSON body too.
        .layer(axum::middleware::map_response(json_status_bodies));
    // Outside everything else, so that preflight requests are answered before routing and
    // every answer, errors included, carries the CORS headers.
    let router = match cors {
        Some(cors) => router.layer(cors),
        None => router,
    };
    router.layer(TraceLayer::new_for_http()).with_state(state)
}

/// `GET /healthz`: `ok` while the server runs (no token needed).
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "server",
    security(()),
    responses((status = 200, description = "The server is running", body = String, content_type = "text/plain; charset=utf-8", example = "ok\n"))
)]
async fn healthz() -> &'static str {
    "ok\n"
}

/// Gives the error answers made by the framework a JSON body, as the decisions page wants
/// every error body to be: the 405 of a method a path does not take, the 413 of a body over
/// the limit, and the 400 of a path segment that is not UTF-8 once percent-decoded (its
/// message kept).
async fn json_status_bodies(response: Response) -> Response {
    let is_json =
        response.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if is_json || !(response.status().is_client_error() || response.status().is_server_error()) {
        return response;
    }
    let message = match response.status() {
        StatusCode::METHOD_NOT_ALLOWED => {
            "this path does not take this method; the Allow header lists those it takes".to_owned()
        }
        StatusCode::PAYLOAD_TOO_LARGE => "the request body is larger than the server accepts".to_owned(),
        status => {
            let (parts, body) = response.into_parts();
            let text = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
            let text = String::from_utf8_lossy(&text);
            let message = match text.trim() {
                "" => status.canonical_reason().unwrap_or("error").to_lowercase(),
                text => text.to_owned(),
            };
            let mut json = ApiError { status, message, retry_after: None }.into_response();
            if let Some(allow) = parts.headers.get(header::ALLOW) {
                json.headers_mut().insert(header::ALLOW, allow.clone());
            }
            return json;
        }
    };
    let allow = response.headers().get(header::ALLOW).cloned();
    let mut json = ApiError::with_status(response.status(), message).into_response();
    if let Some(allow) = allow {
        json.headers_mut().insert(header::ALLOW, allow);
    }
    json
}

/// Serves `router` over plain HTTP on `listener`, with the default [`Limits`], until
/// `shutdown` completes; requests in flight finish within the grace period.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, state, ServeOptions::default(), shutdown).await
}
