//! Assets (5.2.5, 5.2.6), with their back-office creation and deletion.

use axum::body::Bytes;
use axum::extract::Path;
use axum::response::Response;
use ctp_model::resources::{Header, Kind, Ref};
use ctp_model::tags::{ROLE_ADMIN, ROLE_USER};
use ctp_store::NewAsset;

use super::views::readable;
use super::{body, collection_response, created, delete_resource, get_or_tags, ok, put_tags_only};
use crate::context::{parse_id, Ctx};
use crate::encode::{self, AssetJson, CollectionJson, TagsJson};
use crate::error::ApiResult;
use crate::openapi::answers::AssetOrTags;
use crate::openapi::params::{GetTags, Id, Page, PutTags};
use crate::openapi::{BadRequest, NotFound};

async fn list_assets(ctx: Ctx, kind: Kind, id: String) -> ApiResult<Response> {
    let view = readable(&ctx, kind, &id).await?;
    let members = ctx.state.store.assets(&view.id).await?;
    let path = format!("{}/{}/assets", kind.segment(), view.id);
    collection_response(&ctx, &path, ctx.link(kind, &view.id), Kind::Asset, members, false)
}

/// 5.2.5 `GET /serviceViews/{id}/assets`
#[utoipa::path(get, path = "/serviceViews/{id}/assets", tag = "client API", params(Id, Page), responses(
    (status = 200, description = "Its assets", body = CollectionJson),
    (status = 400, response = BadRequest), (status = 404, response = NotFound)))]
pub async fn list_assets_of_view(ctx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    list_assets(ctx, Kind::ServiceView, id).await
}

/// `GET /dependencies/{id}/assets` (a dependency is encoded like a service view).
#[utoipa::path(get, path = "/dependencies/{id}/assets", tag = "client API", params(Id, Page), responses(
    (status = 200, description = "Its assets", body = CollectionJson),
    (status = 400, response = BadRequest), (status = 404, response = NotFound)))]
pub async fn list_assets_of_dependency(ctx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    list_assets(ctx, Kind::Dependency, id).await
}

/// 5.2.6 `GET /assets/{id}` and `?x=tags`.
#[utoipa::path(get, path = "/assets/{id}", tag = "client API", params(Id, GetTags), responses(
    (status = 200, description = "The asset, or with x=tags its access tags", body = AssetOrTags),
    (status = 400, response = BadRequest), (status = 404, response = NotFound)))]
pub async fn get_asset(ctx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    get_or_tags(ctx, Ref { kind: Kind::Asset, id: id.clone() }, |ctx| async move {
        ctx.caller.require_role(ROLE_USER)?;
        let asset = ctx.state.store.asset(&id).await?;
        ctx.caller.require_access(&asset.access_tags, "this asset")?;
        Ok(ok(&encode::asset(&ctx, &asset)))
    })
    .await
}

/// `PUT /assets/{id}?x=tags`
#[utoipa::path(put, path = "/assets/{id}", tag = "back office", params(Id, PutTags), request_body = super::TagsBody,
    responses(
        (status = 200, description = "The new access tags", body = TagsJson),
        (status = 400, response = BadRequest), (status = 404, response = NotFound)))]
pub async fn put_asset(ctx: Ctx, Path(id): Path<String>, bytes: Bytes) -> ApiResult<Response> {
    put_tags_only(ctx, Ref { kind: Kind::Asset, id: parse_id(&id)? }, bytes).await
}

/// `DELETE /assets/{id}`
#[utoipa::path(delete, path = "/assets/{id}", tag = "back office", params(Id), responses(
    (status = 204, description = "Deleted, with everything below it"),
    (status = 400, response = BadRequest), (status = 404, response = NotFound)))]
pub async fn delete_asset(ctx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    delete_resource(&ctx, Ref { kind: Kind::Asset, id: parse_id(&id)? }).await
}

creation_body! {
    /// The body that creates an asset: an asset as `GET` returns it (4.2.3), plus
    /// `accessTags`; `self`, `scope`, `changeId` and `attributes` are ignored (back office 4.23).
    #[schema(as = NewAsset)]
    pub(crate) struct AssetBody {
        /// A name.
        #[serde(default)]
        name: String,
        /// A description.
        #[serde(default)]
        annotation: String,
        /// The class of asset; `null` or `""`: undefined.
        #[serde(default)]
        asset_class: Option<String>,
        /// Who may access it (default: the service view's).
        #[serde(default)]
        access_tags: Option<Vec<String>>,
    }
    computed { "attributes" => _attributes }
}

/// `POST /serviceViews/{id}/assets` (back office 4.23).
#[utoipa::path(post, path = "/serviceViews/{id}/assets", tag = "back office", params(Id), request_body = AssetBody,
    responses(
        (status = 201, description = "The new asset", body = AssetJson,
            headers(("Location" = String, description = "The new asset's URL"))),
        (status = 400, response = BadRequest), (status = 404, response = NotFound)))]
pub async fn create_asset(ctx: Ctx, Path(id): Path<String>, bytes: Bytes) -> ApiResult<Response> {
    ctx.caller.require_role(ROLE_ADMIN)?;
    let view = ctx.state.store.view(Kind::ServiceView, &parse_id(&id)?).await?;
    ctx.caller.require_access(&view.access_tags, "this service view")?;
    let new: AssetBody = body(&bytes)?;
    // An empty assetClass means "undefined", as 4.2.3 encodes it.
    let asset_class = new.asset_class.filter(|c| !c.is_empty());
    let asset = ctx
        .state
        .store
        .create_asset(
            &view.id,
            NewAsset {
                header: Header { name: new.name, annotation: new.annotation },
                asset_class,
                access_tags: new.access_tags,
            },
        )
        .await?;
    Ok(created(ctx.link(Kind::Asset, &asset.id), &encode::asset(&ctx, &asset)))
}
