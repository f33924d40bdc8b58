//! The route table (one place to check against the specification) and the helpers every
//! handler shares. Each submodule is named after the resources it serves (`metrics` the CTP
//! metric resources; `prometheus` the `GET /metrics` counters outside the API); `?x=` selects
//! the back-office operation on a resource URL.

/// Declares the body that creates a resource: the resource as a `GET` returns it (back
/// office 4.22-4.26), plus what the caller may set. The properties the server computes —
/// `self`, `scope`, `changeId`, and the links and statuses listed in `computed` — are
/// accepted whatever their value and ignored, while a property the resource does not define
/// is still refused by name (`deny_unknown_fields`).
macro_rules! creation_body {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident { $($(#[$field_meta:meta])* $field:ident: $type:ty,)* }
        computed { $($json:literal => $computed:ident),* $(,)? }
    ) => {
        #[derive(serde::Deserialize, utoipa::ToSchema)]
        #[serde(deny_unknown_fields, rename_all = "camelCase")]
        $(#[$meta])*
        $vis struct $name {
            $($(#[$field_meta])* $field: $type,)*
            /// Ignored (the server sets it).
            #[serde(default, rename = "self")]
            #[schema(value_type = serde_json::Value)]
            _self: serde::de::IgnoredAny,
            /// Ignored.
            #[serde(default, rename = "scope")]
            #[schema(value_type = serde_json::Value)]
            _scope: serde::de::IgnoredAny,
            /// Ignored.
            #[serde(default, rename = "changeId")]
            #[schema(value_type = serde_json::Value)]
            _change_id: serde::de::IgnoredAny,
            $(
                /// Ignored.
                #[serde(default, rename = $json)]
                #[schema(value_type = serde_json::Value)]
                $computed: serde::de::IgnoredAny,
            )*
        }
    };
}

pub(crate) mod accounts;
pub(crate) mod assets;
pub(crate) mod attributes;
pub(crate) mod audit;
pub(crate) mod authorities;
pub(crate) mod conditions;
pub(crate) mod deliveries;
pub(crate) mod drills;
pub(crate) mod history;
pub(crate) mod ledger;
pub(crate) mod logs;
pub(crate) mod measurements;
pub(crate) mod metrics;
pub(crate) mod ossec;
pub(crate) mod prometheus;
pub(crate) mod triggers;
pub(crate) mod views;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, MethodRouter};
use axum::Router;
use ctp_model::resources::{Kind, Member, Ref};
use ctp_model::tags::ROLE_ADMIN;
use serde::de::{DeserializeOwned, IgnoredAny};
use serde::{Deserialize, Serialize};

use crate::context::{AppState, Ctx};
use crate::encode;
use crate::error::{ApiError, ApiResult};
use crate::query::CollectionQuery;

/// The route table: each path under the base path (`""` is the entry point) with its
/// handlers. `document` is the OpenAPI document, served at `openapi.json`.
fn table(document: Bytes) -> Vec<(&'static str, MethodRouter<AppState>)> {
    vec![
        ("", get(views::entry_point)),
        (crate::openapi::DOCUMENT_PATH, get(move || crate::openapi::serve_document(document.clone()))),
        ("serviceViews", get(views::list_service_views).post(views::create_service_view)),
        (
            "serviceViews/{id}",
            get(views::get_service_view).put(views::put_service_view).delete(views::delete_service_view),
        ),
        (
            "serviceViews/{id}/dependencies",
            get(views::list_dependencies_of_view).post(views::create_dependency_of_view),
        ),
        ("serviceViews/{id}/assets", get(assets::list_assets_of_view).post(assets::create_asset)),
        ("serviceViews/{id}/triggers", get(triggers::list_triggers_of_view).post(triggers::create_trigger)),
        ("serviceViews/{id}/logs", get(logs::list_logs_of_view)),
        ("dependencies/{id}", get(views::get_dependency).put(views::put_dependency).delete(views::delete_dependency)),
        (
            "dependencies/{id}/dependencies",
            get(views::list_dependencies_of_dependency).post(views::create_dependency_of_dependency),
        ),
        ("dependencies/{id}/assets", get(assets::list_assets_of_dependency)),
        ("dependencies/{id}/triggers", get(triggers::list_triggers_of_dependency)),
        ("dependencies/{id}/logs", get(logs::list_logs_of_dependency)),
        ("assets/{id}", get(assets::get_asset).put(assets::put_asset).delete(assets::delete_asset)),
        ("assets/{id}/attributes", get(attributes::list_attributes).post(attributes::create_attribute)),
        (
            "attributes/{id}",
            get(attributes::get_attribute).put(attributes::put_attribute).delete(attributes::delete_attribute),
        ),
        ("attributes/{id}/measurements", get(measurements::list_measurements).post(measurements::create_measurement)),
        (
            "measurements/{id}",
            get(measurements::get_measurement)
                .put(measurements::put_measurement)
                .delete(measurements::delete_measurement),
        ),
        ("metrics", get(metrics::list_metrics).post(metrics::create_metric)),
        ("metrics/{id}", get(metrics::get_metric).put(metrics::put_metric).delete(metrics::delete_metric)),
        ("triggers/{id}", get(triggers::get_trigger).put(triggers::put_trigger).delete(triggers::delete_trigger)),
        ("logs", get(logs::list_all_logs)),
        ("logs/{id}", get(logs::get_log).put(logs::put_log)),
        ("accounts", get(accounts::list_accounts).post(accounts::create_account)),
        ("accounts/{id}", get(accounts::get_account).put(accounts::put_account).delete(accounts::delete_account)),
        ("deliveries", get(deliveries::list_deliveries)),
        ("deliveries/{id}", get(deliveries::get_delivery).put(deliveries::put_delivery)),
        ("ossec/alerts", post(ossec::post_alerts)),
        ("ossec/status", get(ossec::get_status)),
        ("authorities", get(authorities::list_authorities).post(authorities::create_authority)),
        ("authorities/{id}", get(authorities::get_authority).put(authorities::put_authority)),
        ("authorities/{id}/keys", post(authorities::add_key)),
        ("audit", get(audit::list_audit)),
        ("audit/{id}", get(audit::get_audit)),
        ("ledger", get(ledger::get_ledger)),
        ("ledger/checkpoint", get(ledger::get_checkpoint)),
        ("ledger/consistency", get(ledger::get_consistency)),
        ("ledger/tile/{*path}", get(ledger::get_tile)),
        ("serviceViews/{id}/drills", get(drills::list_drills_of_view).post(drills::start_drill)),
        ("drills", get(drills::list_drills)),
        ("drills/{id}", get(drills::get_drill)),
        ("drills/{id}/ack", get(drills::acknowledge_drill).post(drills::acknowledge_drill_post)),
    ]
}

/// All routes of the API under `base_path` (which starts and ends with `/`), with the
/// OpenAPI document of exactly this base path.
pub fn api_routes(base_path: &str) -> Router<AppState> {
    let document = Bytes::from(crate::openapi::document_json(base_path));
    table(document)
        .into_iter()
        .fold(Router::new(), |router, (path, handlers)| router.route(&format!("{base_path}{path}"), handlers))
}

/// The paths of [`api_routes`].
pub fn api_paths(base_path: &str) -> Vec<String> {
    table(Bytes::new()).into_iter().map(|(path, _)| format!("{base_path}{path}")).collect()
}

pub(crate) use prometheus::metrics_text;

/// Names of collections in older drafts of CTP and of its back office, and what ctpd calls
/// them.
const OLD_NAMES: [(&str, &str); 4] =
    [("views", "serviceViews"), ("view", "serviceViews"), ("tokens", "accounts"), ("account", "accounts")];

/// The 404 of a path that no route matches, saying what is wrong with it: a trailing `/`,
/// a path outside the base path, an unknown collection name or sub-collection.
pub(crate) async fn not_found(State(state): State<AppState>, uri: Uri) -> ApiError {
    let base = state.config.base_path.as_str();
    let path = uri.path();
    if path.len() > 1 && path.ends_with('/') && path != base {
        return ApiError::not_found("no such resource (note: paths do not end with '/')");
    }
    let Some(rest) = path.strip_prefix(base) else {
        return ApiError::not_found(format!("no such resource: the API's entry point is {base}"));
    };
    let segments: Vec<&str> = rest.split('/').collect();
    let kind = Kind::from_segment(segments[0]);
    if let (Some(kind), [_, _, sub, ..]) = (kind, segments.as_slice()) {
        let subs = kind.sub_collections();
        let has = if subs.is_empty() { "none".to_owned() } else { subs.join(", ") };
        return ApiError::not_found(format!("{}/{{id}} has no {sub:?}; its sub-collections: {has}", kind.segment()));
    }
    if kind.is_none() || segments.len() == 1 {
        let hint = OLD_NAMES
            .iter()
            .find(|(old, _)| *old == segments[0])
            .map(|(old, new)| format!(" ({old} is an older draft's name of {new})"))
            .unwrap_or_default();
        return ApiError::not_found(format!(
            "no collection {:?}{hint}: the collections are serviceViews, metrics, logs, accounts, \
             deliveries and drills; every resource is at {base}{{kind}}/{{id}}, with kind one of {}",
            segments[0],
            Kind::ALL.map(Kind::segment).join(", ")
        ));
    }
    ApiError::not_found("no such resource")
}

/// 200 with a JSON body.
pub(crate) fn ok<T: Serialize>(value: &T) -> Response {
    json_response(StatusCode::OK, value)
}

/// 201 with the new resource and its `Location`.
pub(crate) fn created<T: Serialize>(location: String, value: &T) -> Response {
    let mut response = json_response(StatusCode::CREATED, value);
    if let Ok(location) = location.parse() {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

/// 204.
pub(crate) fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

fn json_response<T: Serialize>(status: StatusCode, value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => (status, [(header::CONTENT_TYPE, "application/json")], body).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "cannot encode a response");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// Decodes a JSON request body, which must be an object, or says precisely what is wrong
/// with it. (serde would otherwise bind a JSON array to a struct field by field.) A string
/// may not hold U+0000: PostgreSQL cannot store it, so neither backend takes it.
pub(crate) fn body<T: DeserializeOwned>(bytes: &Bytes) -> ApiResult<T> {
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        None => return Err(ApiError::bad_request("this call needs a JSON request body")),
        Some(b'{') => {}
        Some(_) => return Err(ApiError::bad_request("request body: expected a JSON object ({...})")),
    }
    if has_nul_escape(bytes) {
        return Err(ApiError::bad_request("request body: a string holds U+0000 (\\u0000), which is not allowed"));
    }
    serde_json::from_slice(bytes).map_err(|e| ApiError::bad_request(format!("request body: {e}")))
}

/// Whether JSON text holds `\u0000`, the escape of U+0000 (JSON has no other way to put it
/// in a string): a `u` after an odd number of backslashes, then `0000`.
fn has_nul_escape(json: &[u8]) -> bool {
    let mut backslashes = 0usize;
    for (i, &byte) in json.iter().enumerate() {
        match byte {
            b'\\' => backslashes += 1,
            b'u' if backslashes % 2 == 1 && json[i + 1..].starts_with(b"0000") => return true,
            _ => backslashes = 0,
        }
    }
    false
}

/// An operation `x` that a URL does not have.
pub(crate) fn unknown_operation(x: &str, method: &str, path: &str) -> ApiError {
    ApiError::bad_request(format!("x={x} is not an operation of {method} {path}"))
}

/// Filters a collection to the members the caller may see (for global collections), then
/// applies `name`, `page` and `items`, and encodes it.
pub(crate) fn collection_response(
    ctx: &Ctx,
    path: &str,
    scope: String,
    kind: Kind,
    members: Vec<Member>,
    visible_only: bool,
) -> ApiResult<Response> {
    let query = CollectionQuery::parse(ctx.query.as_deref())?;
    let selected: Vec<Member> = members
        .into_iter()
        .filter(|m| !visible_only || ctx.caller.can_see(&m.access_tags))
        .filter(|m| query.name.as_ref().is_none_or(|name| &m.name == name))
        .collect();
    let total = selected.len() as u64;
    let returned = match query.window {
        Some(window) => selected
            .into_iter()
            .skip(usize::try_from(window.offset).unwrap_or(usize::MAX))
            .take(usize::try_from(window.limit).unwrap_or(usize::MAX))
            .collect(),
        None => selected,
    };
    Ok(ok(&encode::collection(ctx, ctx.self_link(path), scope, encode::Listing::of(kind), total, returned)))
}

/// The body of `PUT ?x=tags`: a tag resource (back office 3.1), whose `self` is ignored.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schema(as = TagsBody)]
pub(crate) struct TagsBody {
    /// The new access tags.
    access_tags: Vec<String>,
    /// Ignored.
    #[serde(default, rename = "self")]
    #[schema(value_type = Value)]
    _self: IgnoredAny,
}

/// `GET ?x=tags` and `PUT ?x=tags` on any resource (back office 4.1-4.18): administrators
/// only, and the resource's own tags must match theirs too. `PUT ?x=tags&subtree=true`
/// applies the change to everything below the resource as well (revocation in one call).
pub(crate) async fn tags_operation(ctx: &Ctx, resource: Ref, put: Option<&Bytes>) -> ApiResult<Response> {
    ctx.caller.require_role(ROLE_ADMIN)?;
    let store = &ctx.state.store;
    let current = store.access_tags(&resource).await?;
    ctx.caller.require_access(&current, &format!("this {}", resource.kind.noun()))?;
    let self_link = format!("{}?x=tags", ctx.link(resource.kind, &resource.id));
    let tags = match put {
        None => current,
        Some(bytes) => {
            let TagsBody { access_tags, .. } = body(bytes)?;
            let subtree = crate::query::subtree(ctx.query.as_deref())?;
            store.set_access_tags(&resource, access_tags, subtree).await?
        }
    };
    Ok(ok(&encode::tags(self_link, tags)))
}

/// Dispatches `GET` on a resource URL: the resource itself, or `?x=tags`.
pub(crate) async fn get_or_tags<F, Fut>(ctx: Ctx, resource: Ref, get: F) -> ApiResult<Response>
where
    F: FnOnce(Ctx) -> Fut,
    Fut: std::future::Future<Output = ApiResult<Response>>,
{
    match crate::query::operation(ctx.query.as_deref()).as_deref() {
        None => get(ctx).await,
        Some("tags") => tags_operation(&ctx, resource, None).await,
        Some(x) => Err(unknown_operation(x, "GET", &format!("/{}/{{id}}", resource.kind.segment()))),
    }
}

/// The `x` of a `PUT` on a resource URL, once its `subtree` is checked: the OpenAPI document
/// gives every such `PUT` a boolean `subtree` (which only `x=tags` uses), so another value is
/// a 400 whatever `x` is, never silently ignored.
pub(crate) fn put_operation(ctx: &Ctx) -> ApiResult<Option<String>> {
    crate::query::subtree(ctx.query.as_deref())?;
    Ok(crate::query::operation(ctx.query.as_deref()))
}

/// `PUT` on a resource URL that only has `?x=tags`.
pub(crate) async fn put_tags_only(ctx: Ctx, resource: Ref, bytes: Bytes) -> ApiResult<Response> {
    match put_operation(&ctx)?.as_deref() {
        Some("tags") => tags_operation(&ctx, resource, Some(&bytes)).await,
        Some(x) => Err(unknown_operation(x, "PUT", &format!("/{}/{{id}}", resource.kind.segment()))),
        None => Err(ApiError::bad_request(format!("PUT /{}/{{id}} needs ?x=tags", resource.kind.segment()))),
    }
}

/// `DELETE` of a resource by an administrator whose tags match the resource's.
pub(crate) async fn delete_resource(ctx: &Ctx, resource: Ref) -> ApiResult<Response> {
    ctx.caller.require_role(ROLE_ADMIN)?;
    let tags = ctx.state.store.access_tags(&resource).await?;
    ctx.caller.require_access(&tags, &format!("this {}", resource.kind.noun()))?;
    ctx.state.store.delete(&resource).await?;
    Ok(no_content())
}
