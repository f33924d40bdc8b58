//! Metrics (5.2.12, 5.2.13) and their back-office creation and deletion.

use axum::body::Bytes;
use axum::extract::Path;
use axum::response::Response;
use ctp_model::metric::check_metric;
use ctp_model::resources::{Header, Kind, Ref};
use ctp_model::tags::{ROLE_ADMIN, ROLE_USER};
use ctp_model::{Column, MeasurementParameter};
use ctp_store::NewMetric;

use super::{body, collection_response, created, delete_resource, get_or_tags, ok, put_tags_only};
use crate::context::{parse_id, Ctx};
use crate::encode::{self, CollectionJson, MetricJson, TagsJson};
use crate::error::{ApiError, ApiResult};
use crate::openapi::answers::MetricOrTags;
use crate::openapi::params::{GetTags, Id, Page, PutTags};
use crate::openapi::{BadRequest, Conflict, NotFound};

/// 5.2.12 `GET /metrics`: only those the caller may access.
#[utoipa::path(get, path = "/metrics", tag = "client API", params(Page), responses(
    (status = 200, description = "The metrics the caller may access", body = CollectionJson),
    (status = 400, response = BadRequest)))]
pub async fn list_metrics(ctx: Ctx) -> ApiResult<Response> {
    ctx.caller.require_role(ROLE_USER)?;
    let members = ctx.state.store.metrics().await?;
    collection_response(&ctx, "metrics", ctx.base.clone(), Kind::Metric, members, true)
}

/// 5.2.13 `GET /metrics/{id}` and `?x=tags`.
#[utoipa::path(get, path = "/metrics/{id}", tag = "client API", params(Id, GetTags), responses(
    (status = 200, description = "The metric, or with x=tags its access tags", body = MetricOrTags),
    (status = 400, response = BadRequest), (status = 404, response = NotFound)))]
pub async fn get_metric(ctx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    get_or_tags(ctx, Ref { kind: Kind::Metric, id: id.clone() }, |ctx| async move {
        ctx.caller.require_role(ROLE_USER)?;
        let metric = ctx.state.store.metric(&id).await?;
        ctx.caller.require_access(&metric.access_tags, "this metric")?;
        Ok(ok(&encode::metric(&ctx, &metric)))
    })
    .await
}

/// `PUT /metrics/{id}?x=tags`
#[utoipa::path(put, path = "/metrics/{id}", tag = "back office", params(Id, PutTags), request_body = super::TagsBody,
    responses(
        (status = 200, description = "The new access tags", body = TagsJson),
        (status = 400, response = BadRequest), (status = 404, response = NotFound)))]
pub async fn put_metric(ctx: Ctx, Path(id): Path<String>, bytes: Bytes) -> ApiResult<Response> {
    put_tags_only(ctx, Ref { kind: Kind::Metric, id: parse_id(&id)? }, bytes).await
}

/// `DELETE /metrics/{id}`: a metric still used by a measurement is a 409.
#[utoipa::path(delete, path = "/metrics/{id}", tag = "back office", params(Id), responses(
    (status = 204, description = "Deleted"),
    (status = 400, response = BadRequest), (status = 404, response = NotFound), (status = 409, response = Conflict)))]
pub async fn delete_metric(ctx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    delete_resource(&ctx, Ref { kind: Kind::Metric, id: parse_id(&id)? }).await
}

creation_body! {
    /// The body that creates a metric: a metric as `GET` returns it (4.2.5), plus
    /// `accessTags`; `self`, `scope` and `changeId` are ignored (back office 4.26).
    #[schema(as = NewMetric)]
    pub(crate) struct MetricBody {
        /// A name.
        #[serde(default)]
        name: String,
        /// A description.
        #[serde(default)]
        annotation: String,
        /// The standard metric it is based on.
        #[serde(default)]
        base_metric: String,
        /// Parameters, each a value of its declared type, with distinct names.
        #[serde(default)]
        measurement_parameters: Vec<MeasurementParameter>,
        /// The columns of every row of a result: at least one.
        #[schema(min_items = 1)]
        result_format: Vec<Column>,
        /// Who may access it (default: `["role:user"]`).
        #[serde(default)]
        access_tags: Option<Vec<String>>,
        /// Whether its measurements take signed results only (an extension, issue 14).
        #[serde(default)]
        require_signed_results: bool,
    }
    computed {  }
}

/// `POST /metrics` (back office 4.26).
#[utoipa::path(post, path = "/metrics", tag = "back office", request_body = MetricBody, responses(
    (status = 201, description = "The new metric", body = MetricJson,
        headers(("Location" = String, description = "The new metric's URL"))),
    (status = 400, response = BadRequest)))]
pub async fn create_metric(ctx: Ctx, bytes: Bytes) -> ApiResult<Response> {
    ctx.caller.require_role(ROLE_ADMIN)?;
    let new: MetricBody = body(&bytes)?;
    check_metric(&new.measurement_parameters, &new.result_format).map_err(ApiError::bad_request)?;
    let metric = ctx
        .state
        .store
        .create_metric(NewMetric {
            header: Header { name: new.name, annotation: new.annotation },
            base_metric: new.base_metric,
            parameters: new.measurement_parameters,
            result_format: new.result_format,
            access_tags: new.access_tags,
            signed_results_required: new.require_signed_results,
        })
        .await?;
    Ok(created(ctx.link(Kind::Metric, &metric.id), &encode::metric(&ctx, &metric)))
}
