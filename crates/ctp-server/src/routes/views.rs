//! The entry point (5.2.1), service views (5.2.2, 5.2.3) and dependencies (5.2.4, 5.2.20),
//! with their back-office creation and deletion.

use axum::body::Bytes;
use axum::extract::Path;
use axum::response::Response;
use ctp_model::resources::{Header, Kind, Ref};
use ctp_model::tags::{ROLE_ADMIN, ROLE_USER};
use ctp_store::NewView;

use super::{body, collection_response, created, delete_resource, get_or_tags, ok, put_tags_only};
use crate::context::{parse_id, Ctx};
use crate::encode::{self, CollectionJson, EntryPointJson, TagsJson, ViewJson};
use crate::error::ApiResult;
use crate::openapi::answers::{ServiceViewAnswer, ViewOrTags};
use crate::openapi::params::{GetServiceView, GetTags, Id, Page, PutTags};
use crate::openapi::{BadRequest, NotFound};

/// 5.2.1 `GET {CtpBase}`
#[utoipa::path(get, path = "/", tag = "client API",
    responses((status = 200, description = "The entry point", body = EntryPointJson)))]
pub async fn entry_point(ctx: Ctx) -> ApiResult<Response> {
    ctx.caller.require_role(ROLE_USER)?;
    Ok(ok(&encode::entry_point(&ctx)))
}

/// 5.2.2 `GET /serviceViews`: only those the caller may access.
#[utoipa::path(get, path = "/serviceViews", tag = "client API", params(Page), responses(
    (status = 200, description = "The service views the caller may access", body = CollectionJson),
    (status = 400, response = BadRequest)))]
pub async fn list_service_views(ctx: Ctx) -> ApiResult<Response> {
    ctx.caller.require_role(ROLE_USER)?;
    let members = ctx.state.store.service_views().await?;
    collection_response(&ctx, "serviceViews", ctx.base.clone(), Kind::ServiceView, members, true)
}

/// Reads a service view or dependency the caller may access.
pub(crate) async fn readable(ctx: &Ctx, kind: Kind, id: &str) -> ApiResult<ctp_model::resources::View> {
    ctx.caller.require_role(ROLE_USER)?;
    let view = ctx.state.store.view(kind, &parse_id(id)?).await?;
    ctx.caller.require_access(&view.access_tags, &format!("this {}", kind.noun()))?;
    Ok(view)
}

async fn get_view(ctx: Ctx, kind: Kind, id: String) -> ApiResult<Response> {
    let resource = Ref { kind, id: parse_id(&id)? };
    get_or_tags(ctx, resource, |ctx| async move {
        let view = readable(&ctx, kind, &id).await?;
        Ok(ok(&encode::view(&ctx, &view)))
    })
    .await
}

/// 5.2.3 `GET /serviceViews/{id}`, `?x=tags`, and the extension `?x=overview`.
#[utoipa::path(get, path = "/serviceViews/{id}", tag = "client API", params(Id, GetServiceView), responses(
    (status = 200, description = "The service view, or with x=tags its access tags, or with x=overview the \
        standing and day-by-day history of its measurements", body = ServiceViewAnswer),
    (status = 400, response = BadRequest), (status = 404, response = NotFound)))]
pub async fn get_service_view(ctx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    // The overview's parameters are checked whatever x is: a bad value is never ignored.
    let overview_query = super::history::overview_query(ctx.query.as_deref())?;
    if crate::query::operation(ctx.query.as_deref()).as_deref() == Some("overview") {
        let view = readable(&ctx, Kind::ServiceView, &id).await?;
        return super::history::overview(&ctx, &view, overview_query).await;
    }
    get_view(ctx, Kind::ServiceView, id).await
}

/// 5.2.20 `GET /dependencies/{id}` and `?x=tags`.
#[utoipa::path(get, path = "/dependencies/{id}", tag = "client API", params(Id, GetTags), responses(
    (status = 200, description = "The dependency, or with x=tags its access tags", body = ViewOrTags),
    (status = 400, response = BadRequest), (status = 404, response = NotFound)))]
pub async fn get_dependency(ctx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    get_view(ctx, Kind::Dependency, id).await
}

/// `PUT /serviceViews/{id}?x=tags`.
#[utoipa::path(put, path = "/serviceViews/{id}", tag = "back office", params(Id, PutTags), request_body = super::TagsBody,
    responses(
        (status = 200, description = "The new access tags", body = TagsJson),
        (status = 400, response = BadRequest), (status = 404, response = NotFound)))]
pub async fn put_service_view(ctx: Ctx, Path(id): Path<String>, bytes: Bytes) -> ApiResult<Response> {
    put_tags_only(ctx, Ref { kind: Kind::ServiceView, id: parse_id(&id)? }, bytes).await
}

/// `PUT /dependencies/{id}?x=tags`.
#[utoipa::path(put, path = "/dependencies/{id}", tag = "back office", params(Id, PutTags), request_body = super::TagsBody,
    responses(
        (status = 200, description = "The new access tags", body = TagsJson),
        (status = 400, response = BadRequest), (status = 404, response = NotFound)))]
pub async fn put_dependency(ctx: Ctx, Path(id): Path<String>, bytes: Bytes) -> ApiResult<Response> {
    put_tags_only(ctx, Ref { kind: Kind::Dependency, id: parse_id(&id)? }, bytes).await
}

/// `DELETE /serviceViews/{id}`: the view and everything in it.
#[utoipa::path(delete, path = "/serviceViews/{id}", tag = "back office", params(Id), responses(
    (status = 204, description = "Deleted, with everything below it"),
    (status = 400, response = BadRequest), (status = 404, response = NotFound)))]
pub async fn delete_service_view(ctx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    delete_resource(&ctx, Ref { kind: Kind::ServiceView, id: parse_id(&id)? }).await
}

/// `DELETE /dependencies/{id}`: the dependency and its subtree.
#[utoipa::path(delete, path = "/dependencies/{id}", tag = "back office", params(Id), responses(
    (status = 204, description = "Deleted, with everything below it"),
    (status = 400, response = BadRequest), (status = 404, response = NotFound)))]
pub async fn delete_dependency(ctx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    delete_resource(&ctx, Ref { kind: Kind::Dependency, id: parse_id(&id)? }).await
}

async fn list_dependencies(ctx: Ctx, kind: Kind, id: String) -> ApiResult<Response> {
    let view = readable(&ctx, kind, &id).await?;
    let members = ctx.state.store.dependencies(&Ref { kind, id: view.id.clone() }).await?;
    let path = format!("{}/{}/dependencies", kind.segment(), view.id);
    let scope = ctx.link(kind, &view.id);
    // 5.2.4: the collection type is "serviceViews"; links go to /dependencies/{id}.
    collection_response(&ctx, &path, scope, Kind::Dependency, members, false)
}

/// 5.2.4 `GET /serviceViews/{id}/dependencies`
#[utoipa::path(get, path = "/serviceViews/{id}/dependencies", tag = "client API", params(Id, Page), responses(
    (status = 200, description = "Its dependencies (collectionType serviceViews)", body = CollectionJson),
    (status = 400, response = BadRequest), (status = 404, response = NotFound)))]
pub async fn list_dependencies_of_view(ctx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    list_dependencies(ctx, Kind::ServiceView, id).await
}

/// `GET /dependencies/{id}/dependencies`
#[utoipa::path(get, path = "/dependencies/{id}/dependencies", tag = "client API", params(Id, Page), responses(
    (status = 200, description = "Its dependencies (collectionType serviceViews)", body = CollectionJson),
    (status = 400, response = BadRequest), (status = 404, response = NotFound)))]
pub async fn list_dependencies_of_dependency(ctx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    list_dependencies(ctx, Kind::Dependency, id).await
}

creation_body! {
    /// The body that creates a service view or a dependency: a service view as `GET` returns
    /// it (4.2.2), plus `accessTags`. What the server computes (`self`, `scope`, `changeId`,
    /// the links) is ignored (back office 4.22).
    #[schema(as = NewServiceView)]
    pub(crate) struct ViewBody {
        /// A name.
        #[serde(default)]
        name: String,
        /// A description.
        #[serde(default)]
        annotation: String,
        /// Who provides the service.
        #[serde(default)]
        provider: String,
        /// The class of service; `null` or `""`: undefined.
        #[serde(default)]
        service_class: Option<String>,
        /// Who may access it (default: none for a service view, the parent's for a dependency).
        #[serde(default)]
        access_tags: Option<Vec<String>>,
    }
    computed { "dependencies" => _dependencies, "assets" => _assets, "logs" => _logs, "triggers" => _triggers }
}

impl ViewBody {
    fn into_new(self) -> NewView {
        NewView {
            header: Header { name: self.name, annotation: self.annotation },
            provider: self.provider,
            // An empty serviceClass means "undefined", as the back office prints it.
            service_class: self.service_class.filter(|c| !c.is_empty()),
            access_tags: self.access_tags,
        }
    }
}

/// `POST /serviceViews` (back office 4.22).
#[utoipa::path(post, path = "/serviceViews", tag = "back office", request_body = ViewBody, responses(
    (status = 201, description = "The new service view", body = ViewJson,
        headers(("Location" = String, description = "The new service view's URL"))),
    (status = 400, response = BadRequest)))]
pub async fn create_service_view(ctx: Ctx, bytes: Bytes) -> ApiResult<Response> {
    ctx.caller.require_role(ROLE_ADMIN)?;
    let new: ViewBody = body(&bytes)?;
    let view = ctx.state.store.create_view(None, new.into_new()).await?;
    Ok(created(ctx.link(Kind::ServiceView, &view.id), &encode::view(&ctx, &view)))
}

async fn create_dependency(ctx: Ctx, parent_kind: Kind, id: String, bytes: Bytes) -> ApiResult<Response> {
    ctx.caller.require_role(ROLE_ADMIN)?;
    let parent = ctx.state.store.view(parent_kind, &parse_id(&id)?).await?;
    ctx.caller.require_access(&parent.access_tags, &format!("this {}", parent_kind.noun()))?;
    let new: ViewBody = body(&bytes)?;
    let parent_ref = Ref { kind: parent_kind, id: parent.id };
    let view = ctx.state.store.create_view(Some(&parent_ref), new.into_new()).await?;
    Ok(created(ctx.link(Kind::Dependency, &view.id), &encode::view(&ctx, &view)))
}

/// `POST /serviceViews/{id}/dependencies`
#[utoipa::path(post, path = "/serviceViews/{id}/dependencies", tag = "back office", params(Id), request_body = ViewBody,
    responses(
        (status = 201, description = "The new dependency", body = ViewJson,
            headers(("Location" = String, description = "The new dependency's URL"))),
        (status = 400, response = BadRequest), (status = 404, response = NotFound)))]
pub async fn create_dependency_of_view(ctx: Ctx, Path(id): Path<String>, bytes: Bytes) -> ApiResult<Response> {
    create_dependency(ctx, Kind::ServiceView, id, bytes).await
}

/// `POST /dependencies/{id}/dependencies`
#[utoipa::path(post, path = "/dependencies/{id}/dependencies", tag = "back office", params(Id), request_body = ViewBody,
    responses(
        (status = 201, description = "The new dependency", body = ViewJson,
            headers(("Location" = String, description = "The new dependency's URL"))),
        (status = 400, response = BadRequest), (status = 404, response = NotFound)))]
pub async fn create_dependency_of_dependency(ctx: Ctx, Path(id): Path<String>, bytes: Bytes) -> ApiResult<Response> {
    create_dependency(ctx, Kind::Dependency, id, bytes).await
}
