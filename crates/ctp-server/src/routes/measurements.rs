//! Measurements (5.2.9-5.2.11) and their back-office operations: creation, `?x=result`
//! (agents push results), `?x=objective`, `?x=tags`, deletion.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::Path;
use axum::response::Response;
use ctp_model::resources::{Header, Kind, MeasurementState, Ref};
use ctp_model::tags::{ROLE_ADMIN, ROLE_AGENT, ROLE_USER};
use ctp_model::{check_result, ResourceId, Timestamp};
use ctp_store::{NewMeasurement, StoreError};
use ctpscript::Condition;
use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::{body, collection_response, created, delete_resource, get_or_tags, ok, tags_operation, unknown_operation};
use crate::context::{id_from_link, parse_id, Ctx};
use crate::encode::{self, CollectionJson, MeasurementJson};
use crate::error::{ApiError, ApiResult};
use crate::openapi::answers::{MeasurementAnswer, MeasurementOrTags};
use crate::openapi::params::{GetMeasurement, Id, Page, PutMeasurement};
use crate::openapi::schema::{MeasurementStateName, PushedResult, SettableState};
use crate::openapi::{BadRequest, Conflict, NotFound};

/// 5.2.9 `GET /attributes/{id}/measurements`
#[utoipa::path(get, path = "/attributes/{id}/measurements", tag = "client API", params(Id, Page), responses(
    (status = 200, description = "Its measurements", body = CollectionJson),
    (status = 400, response = BadRequest), (status = 404, response = NotFound)))]
pub async fn list_measurements(ctx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    ctx.caller.require_role(ROLE_USER)?;
    let attribute = ctx.state.store.attribute(&parse_id(&id)?).await?;
    ctx.caller.require_access(&attribute.access_tags, "this attribute")?;
    let members = ctx.state.store.measurements(&attribute.id).await?;
    let path = format!("attributes/{}/measurements", attribute.id);
    collection_response(&ctx, &path, ctx.link(Kind::Attribute, &attribute.id), Kind::Measurement, members, false)
}

/// Reads a measurement the caller may read (role `user` and the measurement's tags).
pub(crate) async fn readable(ctx: &Ctx, id: &ResourceId) -> ApiResult<ctp_model::resources::Measurement> {
    ctx.caller.require_role(ROLE_USER)?;
    let measurement = ctx.state.store.measurement(id).await?;
    ctx.caller.require_access(&measurement.access_tags, "this measurement")?;
    Ok(measurement)
}

/// 5.2.10 `GET /measurements/{id}`, and the extensions `?x=tags`, `?x=proof`,
/// `?x=history` and `?x=check`.
#[utoipa::path(get, path = "/measurements/{id}", tag = "client API", params(Id, GetMeasurement), responses(
    (status = 200, description = "The measurement, or with x=tags its access tags, with x=proof the inclusion \
        proof of its current result (text/plain), with x=history its past results and changes of standing, with \
        x=check the verdict on a condition",
        content((MeasurementAnswer = "application/json"), (String = "text/plain"))),
    (status = 400, response = BadRequest), (status = 404, response = NotFound)))]
pub async fn get_measurement(ctx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    // The history's parameters are checked whatever x is: a bad value is never ignored.
    let history_query = super::history::history_query(ctx.query.as_deref())?;
    match crate::query::operation(ctx.query.as_deref()).as_deref() {
        Some("proof") => return super::ledger::proof(&ctx, Kind::Measurement, &id).await,
        Some("check") => return super::conditions::check(&ctx, &readable(&ctx, &id).await?).await,
        Some("history") => return super::history::history(&ctx, &readable(&ctx, &id).await?, history_query).await,
        _ => {}
    }
    get_or_tags(ctx, Ref { kind: Kind::Measurement, id: id.clone() }, |ctx| async move {
        Ok(ok(&encode::measurement(&ctx, &readable(&ctx, &id).await?)))
    })
    .await
}

/// `PUT /measurements/{id}?x=state|result|objective|tags`; 409 for `x=state` on a
/// measurement that is not user-activated and `x=result` on a deactivated one.
#[utoipa::path(put, path = "/measurements/{id}", tag = "back office", params(Id, PutMeasurement),
    request_body(content = PutMeasurementBody, description = "The body of the operation x selects"),
    responses(
        (status = 200, description = "The measurement as it is now, or with x=tags its new access tags",
            body = MeasurementOrTags),
        (status = 400, response = BadRequest), (status = 404, response = NotFound),
        (status = 409, response = Conflict)))]
pub async fn put_measurement(ctx: Ctx, Path(id): Path<String>, bytes: Bytes) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    match super::put_operation(&ctx)?.as_deref() {
        Some("state") => put_state(ctx, id, bytes).await,
        Some("result") => put_result(ctx, id, bytes).await,
        Some("objective") => put_objective(ctx, id, bytes).await,
        Some("signing") => put_signing(ctx, id, bytes).await,
        Some("tags") => tags_operation(&ctx, Ref { kind: Kind::Measurement, id }, Some(&bytes)).await,
        Some(x) => Err(unknown_operation(x, "PUT", "/measurements/{id}")),
        None => Err(ApiError::bad_request(
            "PUT /measurements/{id} needs ?x=state, ?x=result, ?x=objective, ?x=signing or ?x=tags",
        )),
    }
}

/// The body of `PUT /measurements/{id}`: the one `x` selects (documentation only: each
/// operation reads its own).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub(crate) enum PutMeasurementBody {
    /// `x=state`.
    State(StateBody),
    /// `x=result`.
    Result(ResultBody),
    /// `x=objective`.
    Objective(ObjectiveBody),
    /// `x=tags`.
    Tags(super::TagsBody),
    /// `x=signing`.
    Signing(SigningBody),
}

/// The body of `?x=signing` (an extension, issue 14).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schema(as = SigningBody)]
pub(crate) struct SigningBody {
    /// Whether the measurement takes signed results only (its metric may require them too).
    require_signed_results: bool,
}

/// `PUT /measurements/{id}?x=signing`: the provider makes a measurement take signed results
/// only, or not.
async fn put_signing(ctx: Ctx, id: ResourceId, bytes: Bytes) -> ApiResult<Response> {
    ctx.caller.require_role(ROLE_ADMIN)?;
    let measurement = ctx.state.store.measurement(&id).await?;
    ctx.caller.require_access(&measurement.access_tags, "this measurement")?;
    let SigningBody { require_signed_results } = body(&bytes)?;
    ctx.state.store.set_signing_required(&id, require_signed_results).await?;
    Ok(ok(&encode::measurement(&ctx, &ctx.state.store.measurement(&id).await?)))
}

/// The body of `?x=state`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = StateBody)]
pub(crate) struct StateBody {
    /// `activated` (a deactivated measurement becomes pending) or `deactivated` (its
    /// result is cleared).
    #[schema(value_type = SettableState)]
    state: String,
}

/// 5.2.11 `PUT /measurements/{id}?x=state`: a customer activates or deactivates a
/// user-activated measurement.
async fn put_state(ctx: Ctx, id: ResourceId, bytes: Bytes) -> ApiResult<Response> {
    readable(&ctx, &id).await?;
    let StateBody { state } = body(&bytes)?;
    let target = match MeasurementState::parse(&state) {
        Some(s @ (MeasurementState::Activated | MeasurementState::Deactivated)) => s,
        _ => {
            return Err(ApiError::bad_request(format!("state must be \"activated\" or \"deactivated\", got {state:?}")))
        }
    };
    let updated = ctx.state.store.set_state(&id, target).await?;
    Ok(ok(&encode::measurement(&ctx, &updated)))
}

/// The body of `?x=result`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ResultBody)]
pub(crate) struct ResultBody {
    /// The new result, checked against the metric's `resultFormat`.
    #[schema(value_type = PushedResult)]
    result: Box<RawValue>,
}

/// Back office 4.20 `PUT /measurements/{id}?x=result`: an agent pushes a result. It is
/// checked against the metric's result format, stored, and the objective and triggers are
/// evaluated in the same transaction.
async fn put_result(ctx: Ctx, id: ResourceId, bytes: Bytes) -> ApiResult<Response> {
    ctx.caller.require_role(ROLE_AGENT)?;
    let store = &ctx.state.store;
    let measurement = store.measurement(&id).await?;
    ctx.caller.require_access(&measurement.access_tags, "this measurement")?;
    let ResultBody { result } = body(&bytes)?;
    let metric = store.metric(&measurement.metric_id).await?;
    let now = Timestamp::now();
    let mut checked = check_result(result.get(), &metric.result_format, now).map_err(ApiError::bad_request)?;
    let required = measurement.signed_results_required;
    let subject = format!("measurement {id}");
    crate::signing::verify(&ctx.state, required, &subject, result.get(), &mut checked, now).await?;
    let push = crate::push::evaluate_ahead(&ctx.state, &measurement, checked, now).await?;
    let outcome = store.push_result(&id, push.result, now, push.evaluations).await?;
    if !outcome.logs.is_empty() {
        ctx.state.outbox.wake();
    }
    Ok(ok(&encode::measurement(&ctx, &outcome.measurement)))
}

/// The body of `?x=objective`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ObjectiveBody)]
pub(crate) struct ObjectiveBody {
    /// The new objective; `null` (or absent) removes it.
    objective: Option<ObjectiveCondition>,
}

/// An objective in a request body: its `condition`; the `status` and `statusUpdateTime` a
/// `GET` shows are computed by the server and ignored.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schema(as = ObjectiveCondition)]
pub(crate) struct ObjectiveCondition {
    /// A CTPScript expression (5.4); a syntax error is a 400.
    #[schema(examples("value.length == 0"))]
    condition: String,
    /// Ignored (the server computes it).
    #[serde(default, rename = "status")]
    #[schema(value_type = Value)]
    _status: IgnoredAny,
    /// Ignored.
    #[serde(default, rename = "statusUpdateTime")]
    #[schema(value_type = Value)]
    _status_update_time: IgnoredAny,
}

/// Compiles a condition on a blocking thread (compiling large regular expressions costs
/// milliseconds, which must not hold a runtime worker) into the shared cache; a syntax
/// error is a 400 when an objective or trigger is created (the decisions page).
pub(crate) async fn compile_condition(ctx: &Ctx, condition: &str, what: &str) -> ApiResult<Arc<Condition>> {
    let cache = Arc::clone(&ctx.state.conditions);
    let source = condition.to_owned();
    let compiled = tokio::task::spawn_blocking(move || cache.get(&source))
        .await
        .map_err(|e| ApiError::internal(format!("compiling a condition failed: {e}")))?;
    compiled.map_err(|e| ApiError::bad_request(format!("{what}: {e}")))
}

/// Back office 4.21 `PUT /measurements/{id}?x=objective`; `{"objective": null}` removes it.
async fn put_objective(ctx: Ctx, id: ResourceId, bytes: Bytes) -> ApiResult<Response> {
    ctx.caller.require_role(ROLE_ADMIN)?;
    let measurement = ctx.state.store.measurement(&id).await?;
    ctx.caller.require_access(&measurement.access_tags, "this measurement")?;
    let ObjectiveBody { objective } = body(&bytes)?;
    let condition = objective.map(|o| o.condition);
    if let Some(c) = &condition {
        compile_condition(&ctx, c, "objective.condition").await?;
    }
    let updated = ctx.state.store.set_objective(&id, condition, Timestamp::now(), &ctx.state.conditions).await?;
    Ok(ok(&encode::measurement(&ctx, &updated)))
}

/// `DELETE /measurements/{id}`
#[utoipa::path(delete, path = "/measurements/{id}", tag = "back office", params(Id), responses(
    (status = 204, description = "Deleted, with its triggers"),
    (status = 400, response = BadRequest), (status = 404, response = NotFound)))]
pub async fn delete_measurement(ctx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    delete_resource(&ctx, Ref { kind: Kind::Measurement, id: parse_id(&id)? }).await
}

creation_body! {
    /// The body that creates a measurement: a measurement as `GET` returns it (4.2.6), plus
    /// `accessTags`; `self`, `scope` and `changeId` are ignored (back office 4.25).
    #[schema(as = NewMeasurement)]
    pub(crate) struct MeasurementBody {
        /// A name.
        #[serde(default)]
        name: String,
        /// A description.
        #[serde(default)]
        annotation: String,
        /// The metric's link (as the encoding shows it) or its id.
        metric: String,
        /// The first result, checked as a push is; `null` or absent: none yet.
        #[serde(default)]
        #[schema(value_type = Option<PushedResult>)]
        result: Option<Box<RawValue>>,
        /// The provider's objective.
        #[serde(default)]
        objective: Option<ObjectiveCondition>,
        /// Whether customers may create triggers: a boolean, or as the encoding shows it, a
        /// link (allowed) or `null`/`""` (not allowed, 4.2.6).
        #[serde(default)]
        #[schema(schema_with = create_trigger_input)]
        create_trigger: Option<serde_json::Value>,
        /// Whether customers activate it (`PUT ?x=state`); also accepted as `userInitiated`.
        #[serde(default, alias = "userInitiated")]
        user_activated: bool,
        /// The first state (default: `activated` with a result, `deactivated` when
        /// user-activated, else `pending`).
        #[serde(default)]
        #[schema(value_type = Option<MeasurementStateName>)]
        state: Option<String>,
        /// Who may access it (default: the attribute's).
        #[serde(default)]
        access_tags: Option<Vec<String>>,
        /// Whether it takes signed results only (an extension, issue 14).
        #[serde(default)]
        require_signed_results: bool,
    }
    computed { "resultVerification" => _result_verification }
}

/// `createTrigger` in a creation body: a boolean, a link, `""` or `null`.
fn create_trigger_input() -> utoipa::openapi::schema::Object {
    use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
    ObjectBuilder::new().schema_type(SchemaType::from_iter([Type::Boolean, Type::String, Type::Null])).build()
}

/// Whether a measurement's `createTrigger` in a creation body allows triggers.
fn triggers_allowed(create_trigger: Option<&serde_json::Value>) -> ApiResult<bool> {
    use serde_json::Value;
    match create_trigger {
        None | Some(Value::Null) | Some(Value::Bool(false)) => Ok(false),
        Some(Value::String(link)) => Ok(!link.is_empty()),
        Some(Value::Bool(true)) => Ok(true),
        Some(other) => {
            Err(ApiError::bad_request(format!("createTrigger must be true, false, null or a link, got {other}")))
        }
    }
}

/// The first state of a new measurement: the body's, else `activated` with a first result,
/// `deactivated` when user-activated, `pending` otherwise. A deactivated measurement has no
/// result.
fn first_state(new: &MeasurementBody) -> ApiResult<MeasurementState> {
    let has_result = new.result.is_some();
    let state = match new.state.as_deref() {
        None if has_result => MeasurementState::Activated,
        None if new.user_activated => MeasurementState::Deactivated,
        None => MeasurementState::Pending,
        // The first result activates a pending measurement, as a push does.
        Some("pending") if has_result => MeasurementState::Activated,
        Some(text) => MeasurementState::parse(text).ok_or_else(|| {
            ApiError::bad_request(format!("state must be \"activated\", \"deactivated\" or \"pending\", got {text:?}"))
        })?,
    };
    if has_result && state == MeasurementState::Deactivated {
        return Err(ApiError::bad_request(
            "a deactivated measurement has no result: give a result or the state \"deactivated\", not both",
        ));
    }
    Ok(state)
}

/// `POST /attributes/{id}/measurements` (back office 4.25). A `result` in the body is the
/// measurement's first result: checked against the metric as a push is, and evaluated by
/// the objective in the creation's transaction.
#[utoipa::path(post, path = "/attributes/{id}/measurements", tag = "back office", params(Id),
    request_body = MeasurementBody,
    responses(
        (status = 201, description = "The new measurement", body = MeasurementJson,
            headers(("Location" = String, description = "The new measurement's URL"))),
        (status = 400, response = BadRequest), (status = 404, response = NotFound)))]
pub async fn create_measurement(ctx: Ctx, Path(id): Path<String>, bytes: Bytes) -> ApiResult<Response> {
    ctx.caller.require_role(ROLE_ADMIN)?;
    let store = &ctx.state.store;
    let attribute = store.attribute(&parse_id(&id)?).await?;
    ctx.caller.require_access(&attribute.access_tags, "this attribute")?;
    let new: MeasurementBody = body(&bytes)?;
    let metric_id = id_from_link(&new.metric, Kind::Metric)?;
    if let Some(objective) = &new.objective {
        compile_condition(&ctx, &objective.condition, "objective.condition").await?;
    }
    let triggers_allowed = triggers_allowed(new.create_trigger.as_ref())?;
    let state = first_state(&new)?;
    let now = Timestamp::now();
    let result = match new.result.as_deref() {
        None => None,
        Some(pushed) => {
            let metric = store.metric(&metric_id).await.map_err(|e| match e {
                StoreError::NotFound(..) => {
                    ApiError::bad_request(format!("no metric with id {metric_id} (create the metric first)"))
                }
                other => other.into(),
            })?;
            let mut checked = check_result(pushed.get(), &metric.result_format, now).map_err(ApiError::bad_request)?;
            let required = new.require_signed_results;
            crate::signing::verify(&ctx.state, required, "this measurement", pushed.get(), &mut checked, now).await?;
            Some(checked)
        }
    };
    let measurement = store
        .create_measurement(
            &attribute.id,
            NewMeasurement {
                header: Header { name: new.name, annotation: new.annotation },
                metric_id,
                objective: new.objective.map(|o| o.condition),
                result,
                triggers_allowed,
                user_activated: new.user_activated,
                state,
                access_tags: new.access_tags,
                signed_results_required: new.require_signed_results,
            },
            now,
            &ctx.state.conditions,
        )
        .await?;
    Ok(created(ctx.link(Kind::Measurement, &measurement.id), &encode::measurement(&ctx, &measurement)))
}
