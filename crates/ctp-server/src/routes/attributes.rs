//! Attributes (5.2.7-5.2.9), with their back-office creation and deletion.

use axum::body::Bytes;
use axum::extract::Path;
use axum::response::Response;
use ctp_model::resources::{Header, Kind, Ref};
use ctp_model::tags::{ROLE_ADMIN, ROLE_USER};
use ctp_store::NewAttribute;

use super::{body, collection_response, created, delete_resource, get_or_tags, ok, put_tags_only};
use crate::context::{parse_id, Ctx};
use crate::encode::{self, AttributeJson, CollectionJson, TagsJson};
use crate::error::ApiResult;
use crate::openapi::answers::AttributeOrTags;
use crate::openapi::params::{GetTags, Id, Page, PutTags};
use crate::openapi::{BadRequest, NotFound};

/// 5.2.7 `GET /assets/{id}/attributes`
#[utoipa::path(get, path = "/assets/{id}/attributes", tag = "client API", params(Id, Page), responses(
    (status = 200, description = "Its attributes", body = CollectionJson),
    (status = 400, response = BadRequest), (status = 404, response = NotFound)))]
pub async fn list_attributes(ctx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    ctx.caller.require_role(ROLE_USER)?;
    let asset = ctx.state.store.asset(&parse_id(&id)?).await?;
    ctx.caller.require_access(&asset.access_tags, "this asset")?;
    let members = ctx.state.store.attributes(&asset.id).await?;
    let path = format!("assets/{}/attributes", asset.id);
    collection_response(&ctx, &path, ctx.link(Kind::Asset, &asset.id), Kind::Attribute, members, false)
}

/// 5.2.8 `GET /attributes/{id}` and `?x=tags`.
#[utoipa::path(get, path = "/attributes/{id}", tag = "client API", params(Id, GetTags), responses(
    (status = 200, description = "The attribute, or with x=tags its access tags", body = AttributeOrTags),
    (status = 400, response = BadRequest), (status = 404, response = NotFound)))]
pub async fn get_attribute(ctx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    get_or_tags(ctx, Ref { kind: Kind::Attribute, id: id.clone() }, |ctx| async move {
        ctx.caller.require_role(ROLE_USER)?;
        let attribute = ctx.state.store.attribute(&id).await?;
        ctx.caller.require_access(&attribute.access_tags, "this attribute")?;
        Ok(ok(&encode::attribute(&ctx, &attribute)))
    })
    .await
}

/// `PUT /attributes/{id}?x=tags`
#[utoipa::path(put, path = "/attributes/{id}", tag = "back office", params(Id, PutTags), request_body = super::TagsBody,
    responses(
        (status = 200, description = "The new access tags", body = TagsJson),
        (status = 400, response = BadRequest), (status = 404, response = NotFound)))]
pub async fn put_attribute(ctx: Ctx, Path(id): Path<String>, bytes: Bytes) -> ApiResult<Response> {
    put_tags_only(ctx, Ref { kind: Kind::Attribute, id: parse_id(&id)? }, bytes).await
}

/// `DELETE /attributes/{id}`
#[utoipa::path(delete, path = "/attributes/{id}", tag = "back office", params(Id), responses(
    (status = 204, description = "Deleted, with everything below it"),
    (status = 400, response = BadRequest), (status = 404, response = NotFound)))]
pub async fn delete_attribute(ctx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    delete_resource(&ctx, Ref { kind: Kind::Attribute, id: parse_id(&id)? }).await
}

creation_body! {
    /// The body that creates an attribute: an attribute as `GET` returns it (4.2.4), plus
    /// `accessTags`; `self`, `scope`, `changeId` and `measurements` are ignored (back office
    /// 4.24).
    #[schema(as = NewAttribute)]
    pub(crate) struct AttributeBody {
        /// A name.
        #[serde(default)]
        name: String,
        /// A description.
        #[serde(default)]
        annotation: String,
        /// Who may access it (default: the asset's).
        #[serde(default)]
        access_tags: Option<Vec<String>>,
    }
    computed { "measurements" => _measurements }
}

/// `POST /assets/{id}/attributes` (back office 4.24).
#[utoipa::path(post, path = "/assets/{id}/attributes", tag = "back office", params(Id), request_body = AttributeBody,
    responses(
        (status = 201, description = "The new attribute", body = AttributeJson,
            headers(("Location" = String, description = "The new attribute's URL"))),
        (status = 400, response = BadRequest), (status = 404, response = NotFound)))]
pub async fn create_attribute(ctx: Ctx, Path(id): Path<String>, bytes: Bytes) -> ApiResult<Response> {
    ctx.caller.require_role(ROLE_ADMIN)?;
    let asset = ctx.state.store.asset(&parse_id(&id)?).await?;
    ctx.caller.require_access(&asset.access_tags, "this asset")?;
    let new: AttributeBody = body(&bytes)?;
    let attribute = ctx
        .state
        .store
        .create_attribute(
            &asset.id,
            NewAttribute {
                header: Header { name: new.name, annotation: new.annotation },
                access_tags: new.access_tags,
            },
        )
        .await?;
    Ok(created(ctx.link(Kind::Attribute, &attribute.id), &encode::attribute(&ctx, &attribute)))
}
