//! The audit trail over HTTP (issue 14, an extension; see [`crate::audit`]): administrators
//! list records by account, resource and time, read one, and get its inclusion proof in the
//! transparency log. There is no way to change or delete a record.

use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use ctp_model::resources::{AuditRecord, Kind};
use ctp_model::tags::ROLE_ADMIN;
use ctp_model::Timestamp;
use ctp_store::ledger::LeafKind;
use ctp_store::AuditFilter;
use serde::Serialize;

use super::ok;
use crate::context::{id_from_link, parse_id, Ctx};
use crate::error::{ApiError, ApiResult};
use crate::openapi::params::{AuditQuery, GetAudit, Id};
use crate::openapi::{BadRequest, NotFound};
use crate::query::CollectionQuery;

/// An audit record.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = AuditRecord)]
pub(crate) struct AuditJson {
    /// The record's URL (`?x=proof`: its inclusion proof).
    #[serde(rename = "self")]
    #[schema(format = "uri")]
    self_link: String,
    /// The account that asked; `null` for a drill's public acknowledgement link.
    #[schema(format = "uri")]
    account: Option<String>,
    /// The HTTP method.
    method: String,
    /// The path and query under the base path (a drill link's token left out).
    resource: String,
    /// SHA-256 of the request body, hex.
    body_sha256: String,
    /// The HTTP status of the answer.
    status: u16,
    /// When it was answered.
    #[schema(format = DateTime)]
    time: String,
}

fn encode(ctx: &Ctx, record: &AuditRecord) -> AuditJson {
    AuditJson {
        self_link: format!("{}audit/{}", ctx.base, record.id),
        account: record.account_id.as_ref().map(|id| ctx.link(Kind::Account, id)),
        method: record.method.clone(),
        resource: record.resource.clone(),
        body_sha256: record.body_sha256.clone(),
        status: record.status,
        time: record.time.to_string(),
    }
}

/// A page of audit records.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = AuditCollection)]
pub(crate) struct AuditCollection {
    /// The collection's URL, with the query string of the request.
    #[serde(rename = "self")]
    #[schema(format = "uri")]
    self_link: String,
    /// `{CtpBase}`.
    #[schema(format = "uri")]
    scope: String,
    /// How many records match, over all pages.
    collection_length: u64,
    /// How many this answer lists.
    returned_length: u64,
    /// `audit`.
    #[schema(value_type = String, pattern = "^audit$")]
    collection_type: &'static str,
    /// The records, oldest first.
    collection: Vec<AuditJson>,
}

/// `GET /audit[?account=&resource=&oldest=&newest=&page=&items=]`
#[utoipa::path(get, path = "/audit", tag = "extensions", params(AuditQuery), responses(
    (status = 200, description = "The matching audit records, oldest first", body = AuditCollection),
    (status = 400, response = BadRequest)))]
pub async fn list_audit(ctx: Ctx) -> ApiResult<Response> {
    ctx.caller.require_role(ROLE_ADMIN)?;
    let mut filter = AuditFilter::default();
    let mut rest = Vec::new();
    for (key, value) in form_urlencoded::parse(ctx.query.as_deref().unwrap_or("").as_bytes()) {
        let time = |name: &str| {
            Timestamp::parse_rfc3339(&value)
                .ok_or_else(|| ApiError::bad_request(format!("{name}: {value:?} is not an RFC 3339 time")))
        };
        match key.as_ref() {
            "account" => filter.account_id = Some(id_from_link(&value, Kind::Account)?),
            "resource" => filter.resource_prefix = Some(value.trim_start_matches('/').to_owned()),
            "oldest" => filter.oldest = Some(time("oldest")?),
            "newest" => filter.newest = Some(time("newest")?),
            _ => rest.push((key.into_owned(), value.into_owned())),
        }
    }
    let rest = form_urlencoded::Serializer::new(String::new()).extend_pairs(rest).finish();
    let query = CollectionQuery::parse(Some(&rest).filter(|r| !r.is_empty()).map(String::as_str))?;
    let (total, records) = ctx.state.store.audit_records(&filter, query.window).await?;
    Ok(ok(&AuditCollection {
        self_link: ctx.self_link("audit"),
        scope: ctx.base.clone(),
        collection_length: total,
        returned_length: records.len() as u64,
        collection_type: "audit",
        collection: records.iter().map(|r| encode(&ctx, r)).collect(),
    }))
}

/// `GET /audit/{id}` and `?x=proof` (its inclusion proof, C2SP tlog-proof).
#[utoipa::path(get, path = "/audit/{id}", tag = "extensions", params(Id, GetAudit), responses(
    (status = 200, description = "The audit record, or with x=proof its inclusion proof (text/plain)",
        content((AuditJson = "application/json"), (String = "text/plain"))),
    (status = 400, response = BadRequest), (status = 404, response = NotFound)))]
pub async fn get_audit(ctx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    ctx.caller.require_role(ROLE_ADMIN)?;
    let id = parse_id(&id)?;
    let record = ctx.state.store.audit_record(&id).await?;
    match crate::query::operation(ctx.query.as_deref()).as_deref() {
        None => Ok(ok(&encode(&ctx, &record))),
        Some("proof") => {
            let proof = ctx.state.ledger.proof(ctx.state.store.as_ref(), LeafKind::Audit, &id).await?;
            Ok(([(axum::http::header::CONTENT_TYPE, "text/plain; charset=utf-8")], proof).into_response())
        }
        Some(x) => Err(super::unknown_operation(x, "GET", "/audit/{id}")),
    }
}
