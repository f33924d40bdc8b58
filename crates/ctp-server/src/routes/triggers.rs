//! Triggers (5.2.14-5.2.17), with their back-office `?x=tags`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::Path;
use axum::response::Response;
use ctp_model::resources::{Header, Kind, Ref};
use ctp_model::tags::ROLE_USER;
use ctp_model::{Evaluations, ResourceId, Timestamp};
use ctp_store::NewTrigger;
use ctpscript::Condition;

use super::measurements::compile_condition;
use super::views::readable;
use super::{body, collection_response, created, get_or_tags, no_content, ok, put_tags_only};
use crate::context::{id_from_link, parse_id, Ctx};
use crate::encode::{self, CollectionJson, TagsJson, TriggerJson};
use crate::error::{ApiError, ApiResult};
use crate::openapi::answers::TriggerOrTags;
use crate::openapi::params::{GetTags, Id, Page, PutTags};
use crate::openapi::{BadRequest, NotFound};

async fn list_triggers(ctx: Ctx, kind: Kind, id: String) -> ApiResult<Response> {
    let view_id = readable(&ctx, kind, &id).await?.id;
    let members = ctx.state.store.triggers(&view_id).await?;
    let path = format!("{}/{view_id}/triggers", kind.segment());
    // Only the triggers the caller may see: other customers' triggers in a shared view are
    // theirs.
    collection_response(&ctx, &path, ctx.link(kind, &view_id), Kind::Trigger, members, true)
}

/// 5.2.14 `GET /serviceViews/{id}/triggers`
#[utoipa::path(get, path = "/serviceViews/{id}/triggers", tag = "client API", params(Id, Page), responses(
    (status = 200, description = "Its triggers that the caller may see", body = CollectionJson),
    (status = 400, response = BadRequest), (status = 404, response = NotFound)))]
pub async fn list_triggers_of_view(ctx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    list_triggers(ctx, Kind::ServiceView, id).await
}

/// `GET /dependencies/{id}/triggers`
#[utoipa::path(get, path = "/dependencies/{id}/triggers", tag = "client API", params(Id, Page), responses(
    (status = 200, description = "Its triggers that the caller may see", body = CollectionJson),
    (status = 400, response = BadRequest), (status = 404, response = NotFound)))]
pub async fn list_triggers_of_dependency(ctx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    list_triggers(ctx, Kind::Dependency, id).await
}

/// 5.2.15 `GET /triggers/{id}` and `?x=tags`.
#[utoipa::path(get, path = "/triggers/{id}", tag = "client API", params(Id, GetTags), responses(
    (status = 200, description = "The trigger, or with x=tags its access tags", body = TriggerOrTags),
    (status = 400, response = BadRequest), (status = 404, response = NotFound)))]
pub async fn get_trigger(ctx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    get_or_tags(ctx, Ref { kind: Kind::Trigger, id: id.clone() }, |ctx| async move {
        ctx.caller.require_role(ROLE_USER)?;
        let trigger = ctx.state.store.trigger(&id).await?;
        ctx.caller.require_access(&trigger.access_tags, "this trigger")?;
        Ok(ok(&encode::trigger(&ctx, &trigger)))
    })
    .await
}

/// `PUT /triggers/{id}?x=tags`
#[utoipa::path(put, path = "/triggers/{id}", tag = "back office", params(Id, PutTags), request_body = super::TagsBody,
    responses(
        (status = 200, description = "The new access tags", body = TagsJson),
        (status = 400, response = BadRequest), (status = 404, response = NotFound)))]
pub async fn put_trigger(ctx: Ctx, Path(id): Path<String>, bytes: Bytes) -> ApiResult<Response> {
    put_tags_only(ctx, Ref { kind: Kind::Trigger, id: parse_id(&id)? }, bytes).await
}

/// 5.2.17 `DELETE /triggers/{id}`: customers remove their own triggers.
#[utoipa::path(delete, path = "/triggers/{id}", tag = "client API", params(Id), responses(
    (status = 204, description = "Deleted (its log entries stay)"),
    (status = 400, response = BadRequest), (status = 404, response = NotFound)))]
pub async fn delete_trigger(ctx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    ctx.caller.require_role(ROLE_USER)?;
    let id = parse_id(&id)?;
    let trigger = ctx.state.store.trigger(&id).await?;
    ctx.caller.require_access(&trigger.access_tags, "this trigger")?;
    ctx.state.store.delete(&Ref { kind: Kind::Trigger, id }).await?;
    Ok(no_content())
}

creation_body! {
    /// The body of `POST /serviceViews/{id}/triggers`: a trigger as `GET` returns it (4.2.7);
    /// `self`, `scope`, `changeId`, `status` and `statusUpdateTime`, which the server sets,
    /// are ignored.
    #[schema(as = NewTrigger)]
    pub(crate) struct TriggerBody {
        /// A name.
        #[serde(default)]
        name: String,
        /// A description.
        #[serde(default)]
        annotation: String,
        /// The link (or id) of a measurement of this service view that allows triggers.
        measurement: String,
        /// A CTPScript expression (5.4); a syntax error is a 400.
        #[schema(examples("value.length > 0", "value[0].level >= 10"))]
        condition: String,
        /// Where alerts go: empty (log only), an `xmpp:` URI or an `http(s)` webhook URL that
        /// the server's webhook policy allows.
        #[serde(default)]
        #[schema(examples("", "https://hooks.example.com/ctp", "xmpp:security-team@example.com"))]
        notification: String,
        /// Seconds during which a condition that holds again raises no new alert.
        #[serde(default)]
        #[schema(minimum = 0)]
        guard_time: f64,
        /// Tags copied into its log entries.
        #[serde(default)]
        tags: Vec<String>,
    }
    computed { "status" => _status, "statusUpdateTime" => _status_update_time }
}

/// 5.2.16 `POST /serviceViews/{id}/triggers`
#[utoipa::path(post, path = "/serviceViews/{id}/triggers", tag = "client API", params(Id), request_body = TriggerBody,
    responses(
        (status = 201, description = "The new trigger, evaluated at once on the measurement's result", body = TriggerJson,
            headers(("Location" = String, description = "The new trigger's URL"))),
        (status = 400, response = BadRequest), (status = 404, response = NotFound)))]
pub async fn create_trigger(ctx: Ctx, Path(id): Path<String>, bytes: Bytes) -> ApiResult<Response> {
    let view_id = readable(&ctx, Kind::ServiceView, &id).await?.id;
    let new: TriggerBody = body(&bytes)?;
    if !(new.guard_time.is_finite() && new.guard_time >= 0.0) {
        return Err(ApiError::bad_request("guardTime must be a number of seconds, 0 or more"));
    }
    if new.tags.iter().any(|t| t == ctp_store::rules::DRILL_TAG) {
        return Err(ApiError::bad_request(format!(
            "tags: {:?} is reserved for the log entries of drills, so that no real alert carries it",
            ctp_store::rules::DRILL_TAG
        )));
    }
    let condition = compile_condition(&ctx, &new.condition, "condition").await?;
    crate::notify::target::validate(&new.notification, &ctx.state.config.webhook_policy)
        .map_err(ApiError::bad_request)?;
    let measurement_id = id_from_link(&new.measurement, Kind::Measurement)?;
    let owner = &ctx.caller.account;
    let now = Timestamp::now();
    let evaluations = limit_and_evaluate_ahead(&ctx, &owner.id, condition, &measurement_id, now).await?;
    let (trigger, logs) = ctx
        .state
        .store
        .create_trigger(
            &view_id,
            NewTrigger {
                header: Header { name: new.name, annotation: new.annotation },
                measurement_id,
                condition: new.condition,
                notification: new.notification,
                guard_time: new.guard_time,
                tags: new.tags,
                owner_id: Some(owner.id.clone()),
                owner_tags: owner.account_tags.clone(),
            },
            now,
            evaluations,
        )
        .await?;
    if !logs.is_empty() {
        ctx.state.outbox.wake();
    }
    Ok(created(ctx.link(Kind::Trigger, &trigger.id), &encode::trigger(&ctx, &trigger)))
}

/// Checks the account's limits for one more trigger with `condition`, and evaluates the
/// condition ahead on the measurement's current result (the `"false"` rule evaluates a new
/// trigger at once), both on a blocking thread: the store's writer never evaluates it.
async fn limit_and_evaluate_ahead(
    ctx: &Ctx,
    owner: &ResourceId,
    condition: Arc<Condition>,
    measurement_id: &ResourceId,
    now: Timestamp,
) -> ApiResult<Arc<Evaluations>> {
    let owned = ctx.state.store.conditions_of_owner(owner).await?;
    // A measurement that is not there, or not the caller's, is refused by the store.
    let result = ctx.state.store.measurement(measurement_id).await.ok().and_then(|m| m.result);
    let cache = Arc::clone(&ctx.state.conditions);
    let limits = ctx.state.config.limits;
    tokio::task::spawn_blocking(move || {
        let sizes: Vec<usize> = owned.iter().map(|c| cache.get(c).map_or(0, |c| c.compiled_size())).collect();
        limits.check_new_trigger(&sizes, condition.compiled_size())?;
        let decoded = result.as_deref().and_then(|raw| serde_json::from_str(raw).ok());
        Ok(Arc::new(match decoded {
            Some(value) => Evaluations::ahead(cache, [condition.source()], &value, now.seconds()),
            None => Evaluations::none(cache),
        }))
    })
    .await
    .map_err(|e| ApiError::internal(format!("checking a new trigger failed: {e}")))?
}
