//! The notification outbox in the back office (an extension): administrators list the
//! delivery jobs they may see, read one, and retry a failed one. The worker's counters are
//! in `prometheus.rs`.

use axum::extract::Path;
use axum::response::Response;
use ctp_model::resources::DeliveryState;
use ctp_model::tags::ROLE_ADMIN;
use ctp_model::Timestamp;
use serde::Serialize;

use super::{ok, unknown_operation};
use crate::context::{parse_id, Ctx};
use crate::encode::{self, DeliveryJson};
use crate::error::{ApiError, ApiResult};
use crate::openapi::params::{DeliveryFilter, Id, PutDelivery};
use crate::openapi::{BadRequest, Conflict, NotFound};
use crate::query::CollectionQuery;

/// A page of jobs, shaped like the other collections (4.1.6), with the jobs themselves.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = DeliveryCollection)]
pub(crate) struct DeliveryCollection {
    /// The collection's URL, with the query string of the request.
    #[serde(rename = "self")]
    #[schema(format = "uri")]
    self_link: String,
    /// `{CtpBase}`.
    #[schema(format = "uri")]
    scope: String,
    /// How many jobs match, over all pages.
    collection_length: u64,
    /// How many jobs this answer lists.
    returned_length: u64,
    /// `deliveries`.
    #[schema(value_type = String, pattern = "^deliveries$")]
    collection_type: &'static str,
    /// The jobs, oldest first.
    collection: Vec<DeliveryJson>,
}

/// `GET /deliveries[?state=pending|delivered|failed][&page=P&items=N]`
#[utoipa::path(get, path = "/deliveries", tag = "extensions", params(DeliveryFilter), responses(
    (status = 200, description = "The notification jobs the caller may see", body = DeliveryCollection),
    (status = 400, response = BadRequest)))]
pub async fn list_deliveries(ctx: Ctx) -> ApiResult<Response> {
    ctx.caller.require_role(ROLE_ADMIN)?;
    let mut state = None;
    let mut others = Vec::new();
    for (key, value) in form_urlencoded::parse(ctx.query.as_deref().unwrap_or("").as_bytes()) {
        if key == "state" {
            state = Some(DeliveryState::parse(&value).ok_or_else(|| {
                ApiError::bad_request(format!("state {value:?} is not one of pending, delivered, failed"))
            })?);
        } else {
            others.push((key.into_owned(), value.into_owned()));
        }
    }
    let rest = form_urlencoded::Serializer::new(String::new()).extend_pairs(others).finish();
    let query = CollectionQuery::parse(Some(&rest).filter(|r| !r.is_empty()).map(String::as_str))?;
    let visible: Vec<_> =
        ctx.state.store.deliveries(state).await?.into_iter().filter(|d| ctx.caller.can_see(&d.access_tags)).collect();
    let total = visible.len() as u64;
    let window: Vec<_> = match query.window {
        Some(w) => visible.iter().skip(w.offset as usize).take(w.limit as usize).collect(),
        None => visible.iter().collect(),
    };
    Ok(ok(&DeliveryCollection {
        self_link: ctx.self_link("deliveries"),
        scope: ctx.base.clone(),
        collection_length: total,
        returned_length: window.len() as u64,
        collection_type: "deliveries",
        collection: window.into_iter().map(|d| encode::delivery(&ctx, d)).collect(),
    }))
}

/// `GET /deliveries/{id}`
#[utoipa::path(get, path = "/deliveries/{id}", tag = "extensions", params(Id), responses(
    (status = 200, description = "The notification job", body = DeliveryJson),
    (status = 400, response = BadRequest), (status = 404, response = NotFound)))]
pub async fn get_delivery(ctx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    ctx.caller.require_role(ROLE_ADMIN)?;
    if let Some(x) = crate::query::operation(ctx.query.as_deref()) {
        return Err(unknown_operation(&x, "GET", "/deliveries/{id}"));
    }
    let delivery = ctx.state.store.delivery(&parse_id(&id)?).await?;
    ctx.caller.require_access(&delivery.access_tags, "this delivery")?;
    Ok(ok(&encode::delivery(&ctx, &delivery)))
}

/// `PUT /deliveries/{id}?x=retry`: a failed (or pending) job is attempted again at once,
/// with a fresh series of attempts.
#[utoipa::path(put, path = "/deliveries/{id}", tag = "extensions", params(Id, PutDelivery), responses(
    (status = 200, description = "The job, due again at once", body = DeliveryJson),
    (status = 400, response = BadRequest), (status = 404, response = NotFound),
    (status = 409, response = Conflict)))]
pub async fn put_delivery(ctx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    ctx.caller.require_role(ROLE_ADMIN)?;
    match crate::query::operation(ctx.query.as_deref()).as_deref() {
        Some("retry") => {}
        Some(x) => return Err(unknown_operation(x, "PUT", "/deliveries/{id}")),
        None => return Err(ApiError::bad_request("PUT /deliveries/{id} needs ?x=retry")),
    }
    let id = parse_id(&id)?;
    let delivery = ctx.state.store.delivery(&id).await?;
    ctx.caller.require_access(&delivery.access_tags, "this delivery")?;
    let delivery = ctx.state.store.retry_delivery(&id, Timestamp::now()).await?;
    ctx.state.outbox.wake();
    tracing::info!(delivery = %id, by = %ctx.caller.account.id, "notification retried by an administrator");
    Ok(ok(&encode::delivery(&ctx, &delivery)))
}
