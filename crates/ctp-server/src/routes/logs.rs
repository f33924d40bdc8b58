//! Log entries (5.2.18, 5.2.19, back office 4.19): of a service view or dependency, all of
//! them for administrators, one by one.

use axum::body::Bytes;
use axum::extract::Path;
use axum::response::Response;
use ctp_model::resources::{Kind, Ref};
use ctp_model::tags::{ROLE_ADMIN, ROLE_USER};
use ctp_model::ResourceId;

use super::views::readable;
use super::{get_or_tags, ok, put_tags_only};
use crate::context::{parse_id, Ctx};
use crate::encode::{self, CollectionJson, Listing, TagsJson};
use crate::error::ApiResult;
use crate::openapi::answers::LogOrTags;
use crate::openapi::params::{GetRecord, Id, LogFilter, PutTags};
use crate::openapi::{BadRequest, NotFound};
use crate::query::CollectionQuery;

/// A log collection: filters and windows run in the store.
async fn list_logs(ctx: &Ctx, view: Option<(Kind, ResourceId)>, path: &str) -> ApiResult<Response> {
    let mut query = CollectionQuery::parse(ctx.query.as_deref())?;
    // Only the entries the caller may see: those of other customers' triggers in a shared
    // view are theirs.
    query.logs.visible_to = ctx.caller.visibility_filter();
    let view_id = view.as_ref().map(|(_, id)| id);
    let (total, members) = ctx.state.store.logs(view_id, &query.logs, query.window).await?;
    let scope = match &view {
        Some((kind, id)) => ctx.link(*kind, id),
        None => ctx.base.clone(),
    };
    Ok(ok(&encode::collection(ctx, ctx.self_link(path), scope, Listing::of(Kind::Log), total, members)))
}

async fn list_logs_of(ctx: Ctx, kind: Kind, id: String) -> ApiResult<Response> {
    let view_id = readable(&ctx, kind, &id).await?.id;
    let path = format!("{}/{view_id}/logs", kind.segment());
    list_logs(&ctx, Some((kind, view_id)), &path).await
}

/// 5.2.18 `GET /serviceViews/{id}/logs`
#[utoipa::path(get, path = "/serviceViews/{id}/logs", tag = "client API", params(Id, LogFilter), responses(
    (status = 200, description = "Its log entries that the caller may see, oldest first", body = CollectionJson),
    (status = 400, response = BadRequest), (status = 404, response = NotFound)))]
pub async fn list_logs_of_view(ctx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    list_logs_of(ctx, Kind::ServiceView, id).await
}

/// `GET /dependencies/{id}/logs`
#[utoipa::path(get, path = "/dependencies/{id}/logs", tag = "client API", params(Id, LogFilter), responses(
    (status = 200, description = "Its log entries that the caller may see, oldest first", body = CollectionJson),
    (status = 400, response = BadRequest), (status = 404, response = NotFound)))]
pub async fn list_logs_of_dependency(ctx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    list_logs_of(ctx, Kind::Dependency, id).await
}

/// Back office 4.19 `GET /logs`: every log entry, for administrators.
#[utoipa::path(get, path = "/logs", tag = "back office", params(LogFilter), responses(
    (status = 200, description = "Every log entry the caller may see, oldest first", body = CollectionJson),
    (status = 400, response = BadRequest)))]
pub async fn list_all_logs(ctx: Ctx) -> ApiResult<Response> {
    ctx.caller.require_role(ROLE_ADMIN)?;
    list_logs(&ctx, None, "logs").await
}

/// 5.2.19 `GET /logs/{id}`, `?x=tags` and `?x=proof`.
#[utoipa::path(get, path = "/logs/{id}", tag = "client API", params(Id, GetRecord), responses(
    (status = 200, description = "The log entry, or with x=tags its access tags, or with x=proof its inclusion \
        proof (text/plain)",
        content((LogOrTags = "application/json"), (String = "text/plain"))),
    (status = 400, response = BadRequest), (status = 404, response = NotFound)))]
pub async fn get_log(ctx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    if crate::query::operation(ctx.query.as_deref()).as_deref() == Some("proof") {
        return super::ledger::proof(&ctx, Kind::Log, &id).await;
    }
    get_or_tags(ctx, Ref { kind: Kind::Log, id: id.clone() }, |ctx| async move {
        ctx.caller.require_role(ROLE_USER)?;
        let entry = ctx.state.store.log_entry(&id).await?;
        ctx.caller.require_access(&entry.access_tags, "this log entry")?;
        Ok(ok(&encode::log_entry(&ctx.base, &entry)))
    })
    .await
}

/// `PUT /logs/{id}?x=tags`
#[utoipa::path(put, path = "/logs/{id}", tag = "back office", params(Id, PutTags), request_body = super::TagsBody,
    responses(
        (status = 200, description = "The new access tags", body = TagsJson),
        (status = 400, response = BadRequest), (status = 404, response = NotFound)))]
pub async fn put_log(ctx: Ctx, Path(id): Path<String>, bytes: Bytes) -> ApiResult<Response> {
    put_tags_only(ctx, Ref { kind: Kind::Log, id: parse_id(&id)? }, bytes).await
}
