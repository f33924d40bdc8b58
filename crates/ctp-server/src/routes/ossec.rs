//! The OSSEC/Wazuh feed in the API (an extension): `POST {base}ossec/alerts`, the intake
//! for Wazuh's integrator (`contrib/wazuh/`), and `GET {base}ossec/status`, each source's
//! position and last alert. The feed itself is `crate::ossec`.

use axum::body::Bytes;
use axum::response::Response;
use ctp_model::tags::{ROLE_ADMIN, ROLE_AGENT};
use ossec_alerts::{Alert, Context, Format, Parser};
use serde::Serialize;

use super::ok;
use crate::context::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::openapi::{BadRequest, Forbidden, NotFound};

/// Most alerts one request may carry.
const MAX_ALERTS_PER_REQUEST: usize = 10_000;

/// What the intake did with a request's alerts.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = OssecIntakeReport)]
pub(crate) struct IntakeReport {
    /// Alerts read.
    received: usize,
    /// Alerts routed to a measurement (committed when this answer is sent).
    routed: usize,
    /// Alerts that matched no route (counted, not stored).
    unrouted: usize,
    /// Records that could not be read, each with its line and why.
    skipped: Vec<String>,
}

/// The alerts of a body: one JSON object (the integrator's alert file, compact or
/// indented), or JSON Lines.
fn read_alerts(text: &str) -> (Vec<Alert>, Vec<String>) {
    let context = Context { now: chrono::Utc::now() };
    let mut parser = Parser::new(Format::AlertsJson, context);
    let whole = serde_json::from_str::<serde_json::Value>(text).ok().filter(|v| v.is_object());
    let compact;
    let lines: Vec<&str> = match &whole {
        Some(value) => {
            compact = value.to_string();
            vec![compact.as_str()]
        }
        None => text.lines().collect(),
    };
    let (mut alerts, mut skipped) = (Vec::new(), Vec::new());
    for line in lines {
        match parser.push_line(line) {
            Some(record) => match record.outcome {
                Ok(alert) => alerts.push(alert),
                Err(reason) => skipped.push(format!("line {}: {reason}", record.line)),
            },
            None => continue,
        }
    }
    (alerts, skipped)
}

/// `POST {base}ossec/alerts`: an agent posts alerts as Wazuh writes them to `alerts.json`
/// (one object, or one per line); they are routed and committed as results before the
/// answer. The agent must have access to every measurement its alerts are routed to.
#[utoipa::path(post, path = "/ossec/alerts", tag = "extensions",
    request_body(content = String, content_type = "application/json",
        description = "One Wazuh/OSSEC alert (JSON object as in alerts.json), or several as JSON Lines"),
    responses(
        (status = 200, description = "The alerts were routed and committed", body = IntakeReport),
        (status = 400, response = BadRequest),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound)))]
pub async fn post_alerts(ctx: Ctx, body: Bytes) -> ApiResult<Response> {
    ctx.caller.require_role(ROLE_AGENT)?;
    let feed = ctx
        .state
        .ossec
        .get()
        .filter(|feed| feed.intake_enabled)
        .ok_or_else(|| ApiError::not_found("the OSSEC/Wazuh intake is not enabled on this server (ossec.intake)"))?
        .clone();
    let text = std::str::from_utf8(&body).map_err(|_| ApiError::bad_request("the body is not UTF-8 text"))?;
    let (alerts, skipped) = read_alerts(text);
    if alerts.is_empty() {
        let why = if skipped.is_empty() { "no alert in the body".to_owned() } else { skipped.join("; ") };
        return Err(ApiError::bad_request(format!("no alert could be read: {why}")));
    }
    if alerts.len() > MAX_ALERTS_PER_REQUEST {
        return Err(ApiError::bad_request(format!("at most {MAX_ALERTS_PER_REQUEST} alerts per request")));
    }
    let mut routed = 0;
    let mut checked = std::collections::HashSet::new();
    for alert in &alerts {
        let Some(index) = feed.router.route(alert) else { continue };
        routed += 1;
        let measurement_id = &feed.router.routes[index].measurement;
        if checked.insert(measurement_id.clone()) {
            let measurement = ctx.state.store.measurement(measurement_id).await?;
            ctx.caller.require_access(&measurement.access_tags, "the measurement these alerts are routed to")?;
        }
    }
    let received = alerts.len();
    feed.submit(alerts).await.map_err(ApiError::internal)?;
    Ok(ok(&IntakeReport { received, routed, unrouted: received - routed, skipped }))
}

/// `GET {base}ossec/status`: each source of the feed, its committed position and the time
/// of its last alert (administrators).
#[utoipa::path(get, path = "/ossec/status", tag = "extensions", responses(
    (status = 200, description = "Each source by name: kind, position (files), alerts and records skipped, last alert time",
        body = Object),
    (status = 403, response = Forbidden),
    (status = 404, response = NotFound)))]
pub async fn get_status(ctx: Ctx) -> ApiResult<Response> {
    ctx.caller.require_role(ROLE_ADMIN)?;
    let feed =
        ctx.state.ossec.get().ok_or_else(|| ApiError::not_found("the OSSEC/Wazuh feed is not configured ([ossec])"))?;
    Ok(ok(&serde_json::json!({ "sources": feed.status() })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_is_one_alert_object_or_json_lines() {
        let one = r#"{"timestamp":"2026-12-02T10:00:00.000+0000","rule":{"level":5,"id":"5710","description":"sshd: attempt to login using a non-existent user","groups":["syslog","sshd"]},"agent":{"id":"001","name":"web-1"},"id":"1764669600.1","location":"/var/log/auth.log"}"#;
        let indented = serde_json::to_string_pretty(&serde_json::from_str::<serde_json::Value>(one).unwrap()).unwrap();
        for body in [one.to_owned(), indented, format!("{one}\n{one}\nnot json\n")] {
            let (alerts, skipped) = read_alerts(&body);
            assert!(!alerts.is_empty(), "{body}");
            assert_eq!(alerts[0].rule, 5710);
            assert_eq!(alerts[0].agent, "web-1");
            assert_eq!(skipped.len(), usize::from(body.contains("not json")), "{skipped:?}");
        }
    }
}
