//! The transparency log over HTTP (issue 14, an extension): `GET {base}ledger` (origin,
//! public key), `ledger/checkpoint` (a signed C2SP checkpoint), `ledger/tile/...` (C2SP
//! tlog-tiles), `ledger/consistency?old=&new=`, and `?x=proof` on a measurement (its current
//! result) or a log entry (C2SP tlog-proof). Any account may read checkpoints, hash tiles
//! and consistency proofs, and the proofs of what it may read; entry bundles, which list
//! every record's id and time, only administrators (other tenants' activity is not public).

use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use ctp_model::resources::Kind;
use ctp_model::tags::{ROLE_ADMIN, ROLE_USER};
use ctp_model::ResourceId;
use ctp_store::ledger::LeafKind;
use serde::Serialize;

use super::ok;
use crate::context::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::openapi::params::ConsistencyQuery;
use crate::openapi::{BadRequest, NotFound};

/// Where a customer finds the log: its origin and the key its checkpoints are signed with.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Ledger)]
pub(crate) struct LedgerJson {
    /// `{CtpBase}ledger`.
    #[serde(rename = "self")]
    #[schema(format = "uri")]
    self_link: String,
    /// The checkpoints' origin line (the log's name).
    origin: String,
    /// The C2SP signed-note verifier key of the checkpoints (`name+keyid+base64`).
    public_key: String,
    /// The signed checkpoint of the log as it is now (text/plain).
    #[schema(format = "uri")]
    checkpoint: String,
    /// The prefix of the tiles (`{this}tile/...`, C2SP tlog-tiles).
    #[schema(format = "uri")]
    tiles: String,
    /// How many leaves the log has now.
    size: u64,
}

fn text(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response()
}

/// `GET /ledger`
#[utoipa::path(get, path = "/ledger", tag = "extensions", responses(
    (status = 200, description = "The transparency log's origin and public key", body = LedgerJson)))]
pub async fn get_ledger(ctx: Ctx) -> ApiResult<Response> {
    let store = ctx.state.store.as_ref();
    let signer = ctx.state.ledger.signer(store).await?;
    Ok(ok(&LedgerJson {
        self_link: format!("{}ledger", ctx.base),
        origin: signer.name().to_owned(),
        public_key: signer.verifier().key_text(),
        checkpoint: format!("{}ledger/checkpoint", ctx.base),
        tiles: format!("{}ledger/", ctx.base),
        size: store.ledger_size().await?,
    }))
}

/// `GET /ledger/checkpoint`: C2SP tlog-checkpoint, signed (C2SP signed-note).
#[utoipa::path(get, path = "/ledger/checkpoint", tag = "extensions", responses(
    (status = 200, description = "The signed checkpoint of the log as it is now", body = String,
        content_type = "text/plain")))]
pub async fn get_checkpoint(ctx: Ctx) -> ApiResult<Response> {
    Ok(text(ctx.state.ledger.checkpoint(ctx.state.store.as_ref()).await?.note))
}

/// `GET /ledger/tile/{path}`: a tile of hashes, or (administrators) an entry bundle.
#[utoipa::path(get, path = "/ledger/tile/{path}", tag = "extensions",
    params(("path" = String, Path, description = "`<L>/<N>[.p/<W>]` or `entries/<N>[.p/<W>]`, N in 3-digit groups")),
    responses(
        (status = 200, description = "The tile's bytes", body = Vec<u8>, content_type = "application/octet-stream"),
        (status = 404, response = NotFound)))]
pub async fn get_tile(ctx: Ctx, Path(path): Path<String>) -> ApiResult<Response> {
    if path.starts_with("entries/") {
        ctx.caller.require_role(ROLE_ADMIN)?;
    }
    let bytes = crate::ledger::tile(ctx.state.store.as_ref(), &format!("tile/{path}")).await?;
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response())
}

/// `GET /ledger/consistency?old=N&new=M`: the RFC 6962 consistency proof between the trees
/// of N and M leaves, one base64 hash a line.
#[utoipa::path(get, path = "/ledger/consistency", tag = "extensions", params(ConsistencyQuery), responses(
    (status = 200, description = "The proof's hashes, one base64 hash a line", body = String,
        content_type = "text/plain"),
    (status = 400, response = BadRequest)))]
pub async fn get_consistency(ctx: Ctx) -> ApiResult<Response> {
    let (mut old, mut new) = (None, None);
    for (key, value) in form_urlencoded::parse(ctx.query.as_deref().unwrap_or("").as_bytes()) {
        let parsed =
            || value.parse::<u64>().map_err(|_| ApiError::bad_request(format!("{key}: a tree size, got {value:?}")));
        match key.as_ref() {
            "old" => old = Some(parsed()?),
            "new" => new = Some(parsed()?),
            _ => {}
        }
    }
    let (Some(old), Some(new)) = (old, new) else {
        return Err(ApiError::bad_request("consistency needs ?old=N&new=M (tree sizes)"));
    };
    let hashes = crate::ledger::consistency(ctx.state.store.as_ref(), old, new).await?;
    Ok(text(hashes.iter().map(|h| format!("{}\n", h.to_base64())).collect()))
}

/// `GET /measurements/{id}?x=proof` and `GET /logs/{id}?x=proof`: the inclusion proof of the
/// measurement's current result or of the log entry, for whoever may read it.
pub(crate) async fn proof(ctx: &Ctx, kind: Kind, id: &ResourceId) -> ApiResult<Response> {
    ctx.caller.require_role(ROLE_USER)?;
    let store = ctx.state.store.as_ref();
    let leaf_kind = match kind {
        Kind::Measurement => {
            let measurement = store.measurement(id).await?;
            ctx.caller.require_access(&measurement.access_tags, "this measurement")?;
            if measurement.result.is_none() {
                return Err(ApiError::not_found("this measurement has no result to prove"));
            }
            LeafKind::Result
        }
        _ => {
            let entry = store.log_entry(id).await?;
            ctx.caller.require_access(&entry.access_tags, "this log entry")?;
            LeafKind::Log
        }
    };
    Ok(text(ctx.state.ledger.proof(store, leaf_kind, id).await?))
}
