//! `GET /metrics`, outside the base path: the notification worker's counters
//! (`notify/counters.rs`) in the Prometheus (OpenMetrics) text exposition format. Not to be
//! confused with the CTP metric resources of `metrics.rs`.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use ctp_model::tags::ROLE_ADMIN;

use crate::context::Ctx;
use crate::error::ApiResult;

/// `GET /metrics` (outside the base path): the delivery counters in Prometheus' text
/// format, for administrators.
#[utoipa::path(get, path = "/metrics", tag = "server", operation_id = "metrics_text", responses(
    (status = 200, description = "The notification worker's counters (OpenMetrics text)", body = String,
        content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8")))]
pub async fn metrics_text(ctx: Ctx) -> ApiResult<Response> {
    ctx.caller.require_role(ROLE_ADMIN)?;
    Ok(([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], counters_text(&ctx))
        .into_response())
}

/// The delivery counters, then the OSSEC feed's when it runs, in one exposition (one
/// final `# EOF`).
fn counters_text(ctx: &Ctx) -> String {
    let deliveries = ctx.state.outbox.counters.encode();
    match ctx.state.ossec.get() {
        Some(feed) => {
            let head = deliveries.strip_suffix("# EOF\n").unwrap_or(&deliveries);
            format!("{head}{}# EOF\n", feed.counters.encode())
        }
        None => deliveries,
    }
}
