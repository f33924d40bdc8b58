//! The audit trail of the gateway itself (issue 14; HIPAA Security Rule §164.312(b)): every
//! change an authenticated account attempts through the API — creations, deletions, tag
//! changes, objectives, triggers, accounts, authorities, drills, retries — is recorded twice:
//! when it is received (status 0), before the handler runs, so that no change can be made
//! without a record even if the server dies right after it; and once answered, with the
//! outcome (the HTTP status). Each record holds who (account id), what (method, resource,
//! SHA-256 of the body) and when, and is a leaf of the transparency log, so an auditor
//! verifies it like a result; nothing in the API edits or deletes one.
//!
//! Not recorded as audit records: pushed results (`PUT ?x=result`) and OSSEC alerts, whose
//! results are leaves of their own; requests without a valid token (they change nothing,
//! and recording them would let anyone make the server write). A drill's public
//! acknowledgement link is recorded when it succeeds, without its token.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use ctp_model::resources::AuditRecord;
use ctp_model::{ResourceId, Timestamp};
use sha2::{Digest, Sha256};

use crate::context::AppState;
use crate::error::ApiError;

/// Whether a request under the base path (`resource`: the path below it) is a change the
/// trail records.
fn is_change(method: &Method, resource: &str, query: &str) -> bool {
    let path = resource.split('?').next().unwrap_or(resource);
    if path.starts_with("drills/") && path.ends_with("/ack") {
        return true;
    }
    if !matches!(*method, Method::POST | Method::PUT | Method::DELETE | Method::PATCH) {
        return false;
    }
    let pushed_result = *method == Method::PUT
        && path.starts_with("measurements/")
        && form_urlencoded::parse(query.as_bytes()).any(|(k, v)| k == "x" && v == "result");
    !(pushed_result || path == "ossec/alerts")
}

/// The query with the values of `token` parameters (a drill link's secret) left out.
fn redacted(query: &str) -> String {
    let pairs = form_urlencoded::parse(query.as_bytes()).map(|(k, v)| {
        if k == "token" {
            (k.into_owned(), "…".to_owned())
        } else {
            (k.into_owned(), v.into_owned())
        }
    });
    form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish()
}

/// The middleware: runs the request, then records it when it is a change by a known account
/// (or a drill acknowledgement that succeeded).
pub async fn record(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let base = state.config.base_path.as_str();
    let Some(path) = request.uri().path().strip_prefix(base).map(str::to_owned) else {
        return next.run(request).await;
    };
    let query = request.uri().query().unwrap_or("").to_owned();
    let method = request.method().clone();
    if !is_change(&method, &path, &query) {
        return next.run(request).await;
    }
    let header = request.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let caller = crate::context::authenticate(&state, header).await.ok();
    let is_ack = path.ends_with("/ack");
    if caller.is_none() && !is_ack {
        return next.run(request).await;
    }
    // The account's request rate is counted here, before the received record is written, so
    // that a token over its rate makes the server write nothing; `Ctx` takes the account from
    // here (no second look-up, no second count).
    let mut request = request;
    let account = caller.as_ref().map(|caller| caller.id.clone());
    if let Some(caller) = caller {
        if let Err(refused) = state.request_rate.check(&caller.id) {
            return refused.into_response();
        }
        request.extensions_mut().insert(Authenticated(caller));
    }
    let (parts, body) = request.into_parts();
    let bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return ApiError::with_status(
                axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                "the request body is larger than the server accepts",
            )
            .into_response()
        }
    };
    let resource = if query.is_empty() { path } else { format!("{path}?{}", redacted(&query)) };
    let record = |status: u16| AuditRecord {
        id: ResourceId::generate(),
        account_id: account.clone(),
        method: method.to_string(),
        resource: resource.clone(),
        body_sha256: hex::encode(Sha256::digest(&bytes)),
        status,
        time: Timestamp::now(),
    };
    // Received: recorded before anything can change (a public link's use only once it worked).
    if account.is_some() {
        if let Err(e) = state.store.record_audit(record(RECEIVED)).await {
            tracing::error!(error = %e, %method, %resource, "cannot record a received change; refused");
            return ApiError::internal("the audit trail cannot record this change now; nothing was changed")
                .into_response();
        }
    }
    let response = next.run(Request::from_parts(parts, Body::from(bytes.clone()))).await;
    let status = response.status();
    if account.is_none() && !status.is_success() {
        return response;
    }
    if let Err(e) = state.store.record_audit(record(status.as_u16())).await {
        tracing::error!(error = %e, %method, %resource, status = status.as_u16(), "cannot record an outcome");
    }
    response
}

/// The account of a request this middleware authenticated and counted against its rate.
#[derive(Clone, Debug)]
pub struct Authenticated(pub ctp_model::resources::Account);

/// The status of the record made when a change is received, before its outcome is known.
pub const RECEIVED: u16 = 0;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_are_writes_but_pushed_results_and_alerts_and_drill_acks_are_gets_too() {
        assert!(is_change(&Method::POST, "serviceViews", ""));
        assert!(is_change(&Method::PUT, "measurements/m1", "x=objective"));
        assert!(is_change(&Method::DELETE, "triggers/t1", ""));
        assert!(!is_change(&Method::PUT, "measurements/m1", "x=result"));
        assert!(!is_change(&Method::POST, "ossec/alerts", ""));
        assert!(!is_change(&Method::GET, "serviceViews", ""));
        assert!(is_change(&Method::GET, "drills/d1/ack", "token=abc"));
        assert_eq!(redacted("token=secret&by=Alice"), "token=%E2%80%A6&by=Alice");
    }
}
