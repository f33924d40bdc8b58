//! Drills (issue 13, a back-office extension): an administrator sends a message marked as a
//! drill through the real channel of every notifying trigger of a service view, and reads
//! per message when it was queued, handed to the channel, delivered (webhook 2xx, XMPP
//! server acknowledgement) and acknowledged by a person through the link it carries.
//!
//! A drill's message is the log entry JSON of any alert (4.2.8, so every receiver parses
//! it), tagged `drill` only, whose result holds one row: the notice that it is a drill and
//! the acknowledgement link. No objective or trigger status changes.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use ctp_model::resources::{DeliveryState, Drill, DrillMessage, Kind};
use ctp_model::tags::ROLE_ADMIN;
use ctp_model::{ResourceId, Timestamp};
use ctp_store::{NewDrill, NewDrillMessage};
use serde::{Deserialize, Serialize};

use super::{created, ok, unknown_operation};
use crate::context::{parse_id, AppState, Ctx};
use crate::encode::{self, DeliveryJson};
use crate::error::{ApiError, ApiResult};
use crate::openapi::params::{DrillAcknowledgement, Id, Page};
use crate::openapi::{BadRequest, NotFound};
use crate::query::CollectionQuery;

/// The body of `POST /serviceViews/{id}/drills` (optional).
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schema(as = NewDrill)]
pub(crate) struct DrillBody {
    /// Why the drill is run, for the record (at most 1000 characters).
    #[serde(default)]
    annotation: String,
}

/// The longest annotation of a drill and the longest name of who acknowledged it.
const MAX_ANNOTATION: usize = 1000;
const MAX_ACKNOWLEDGER: usize = 200;

/// `POST /serviceViews/{id}/drills`: starts a drill on every trigger of the service view
/// that has a notification and that the administrator may see.
#[utoipa::path(post, path = "/serviceViews/{id}/drills", tag = "extensions", params(Id),
    request_body(content = Option<DrillBody>, description = "Why the drill is run (optional)"),
    responses(
        (status = 201, description = "The drill, its messages queued in the outbox", body = DrillJson,
            headers(("Location" = String, description = "The drill's URL"))),
        (status = 400, response = BadRequest), (status = 404, response = NotFound)))]
pub async fn start_drill(ctx: Ctx, Path(id): Path<String>, bytes: Bytes) -> ApiResult<Response> {
    ctx.caller.require_role(ROLE_ADMIN)?;
    if let Some(x) = crate::query::operation(ctx.query.as_deref()) {
        return Err(unknown_operation(&x, "POST", "/serviceViews/{id}/drills"));
    }
    let view_id = parse_id(&id)?;
    let DrillBody { annotation } =
        if bytes.iter().all(u8::is_ascii_whitespace) { DrillBody::default() } else { super::body(&bytes)? };
    if annotation.chars().count() > MAX_ANNOTATION {
        return Err(ApiError::bad_request(format!("annotation: at most {MAX_ANNOTATION} characters")));
    }
    let store = &ctx.state.store;
    let view = store.view(Kind::ServiceView, &view_id).await?;
    ctx.caller.require_access(&view.access_tags, "this service view")?;
    let drill_id = ResourceId::generate();
    let now = Timestamp::now();
    let mut messages = Vec::new();
    for member in store.triggers(&view_id).await? {
        if !ctx.caller.can_see(&member.access_tags) {
            continue;
        }
        let trigger = match store.trigger(&member.id).await {
            Ok(trigger) => trigger,
            Err(ctp_store::StoreError::NotFound(..)) => continue, // deleted meanwhile
            Err(e) => return Err(e.into()),
        };
        if trigger.notification.is_empty() {
            continue;
        }
        let token = crate::auth::generate_token();
        let result = notice(&ctx, &drill_id, &trigger.id, &trigger.header.name, &token, now);
        messages.push(NewDrillMessage { trigger_id: trigger.id, result, token });
    }
    let drill = NewDrill { id: drill_id, view_id, started_by: ctx.caller.account.id.clone(), annotation, messages };
    let drill = store.start_drill(drill, now).await?;
    ctx.state.outbox.wake();
    tracing::info!(drill = %drill.id, view = %drill.view_id, messages = drill.messages.len(),
        by = %ctx.caller.account.id, "drill started");
    Ok(created(drill_link(&ctx.base, &drill.id), &report(&ctx, &drill)))
}

/// The result a drill's log entry carries: one row saying plainly that this is a drill,
/// with the link that acknowledges it.
fn notice(ctx: &Ctx, drill: &ResourceId, trigger: &ResourceId, name: &str, token: &str, now: Timestamp) -> String {
    let acknowledge = format!("{}/ack?token={token}", drill_link(&ctx.base, drill));
    let about = if name.is_empty() { String::new() } else { format!(" of trigger {name:?}") };
    let row = serde_json::json!({
        "drill": drill_link(&ctx.base, drill),
        "trigger": ctx.link(Kind::Trigger, trigger),
        "message": format!(
            "DRILL - this is an incident-response drill, not an alert. Nothing was measured and no status \
             changed: it checks that the alerts{about} reach you. Please acknowledge it: open {acknowledge} \
             (add &by=YOUR-NAME to say who you are)."
        ),
        "acknowledge": acknowledge,
    });
    serde_json::json!({
        "value": [row],
        "updateTime": now.to_string(),
        "authorityId": null,
        "signature": null,
    })
    .to_string()
}

fn drill_link(base: &str, id: &ResourceId) -> String {
    format!("{base}drills/{id}")
}

/// `GET /drills/{id}`: the drill's report.
#[utoipa::path(get, path = "/drills/{id}", tag = "extensions", params(Id), responses(
    (status = 200, description = "The drill and what became of each of its messages", body = DrillJson),
    (status = 400, response = BadRequest), (status = 404, response = NotFound)))]
pub async fn get_drill(ctx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    ctx.caller.require_role(ROLE_ADMIN)?;
    if let Some(x) = crate::query::operation(ctx.query.as_deref()) {
        return Err(unknown_operation(&x, "GET", "/drills/{id}"));
    }
    let drill = ctx.state.store.drill(&parse_id(&id)?).await?;
    let view = ctx.state.store.view(Kind::ServiceView, &drill.view_id).await?;
    ctx.caller.require_access(&view.access_tags, "this drill's service view")?;
    Ok(ok(&report(&ctx, &drill)))
}

/// `GET /drills`: every drill of the service views the administrator may see.
#[utoipa::path(get, path = "/drills", tag = "extensions", params(Page), responses(
    (status = 200, description = "The drills, oldest first, each with its report", body = DrillCollection),
    (status = 400, response = BadRequest)))]
pub async fn list_drills(ctx: Ctx) -> ApiResult<Response> {
    ctx.caller.require_role(ROLE_ADMIN)?;
    list(ctx, None).await
}

/// `GET /serviceViews/{id}/drills`: the drills of one service view.
#[utoipa::path(get, path = "/serviceViews/{id}/drills", tag = "extensions", params(Id, Page), responses(
    (status = 200, description = "The service view's drills, oldest first, each with its report", body = DrillCollection),
    (status = 400, response = BadRequest), (status = 404, response = NotFound)))]
pub async fn list_drills_of_view(ctx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    ctx.caller.require_role(ROLE_ADMIN)?;
    let view_id = parse_id(&id)?;
    let view = ctx.state.store.view(Kind::ServiceView, &view_id).await?;
    ctx.caller.require_access(&view.access_tags, "this service view")?;
    list(ctx, Some(view_id)).await
}

async fn list(ctx: Ctx, view_id: Option<ResourceId>) -> ApiResult<Response> {
    let query = CollectionQuery::parse(ctx.query.as_deref())?;
    let store = &ctx.state.store;
    let mut visible = Vec::new();
    let mut views: std::collections::HashMap<ResourceId, bool> = Default::default();
    for drill in store.drills(view_id.as_ref()).await? {
        let may_see = match views.get(&drill.view_id) {
            Some(may_see) => *may_see,
            None => {
                let tags = store.view(Kind::ServiceView, &drill.view_id).await.map(|v| v.access_tags);
                let may_see = tags.is_ok_and(|tags| ctx.caller.can_see(&tags));
                views.insert(drill.view_id.clone(), may_see);
                may_see
            }
        };
        if may_see {
            visible.push(drill);
        }
    }
    let total = visible.len() as u64;
    let window: Vec<&Drill> = match query.window {
        Some(w) => visible.iter().skip(w.offset as usize).take(w.limit as usize).collect(),
        None => visible.iter().collect(),
    };
    let path = match &view_id {
        Some(id) => format!("serviceViews/{id}/drills"),
        None => "drills".to_owned(),
    };
    Ok(ok(&DrillCollection {
        self_link: ctx.self_link(&path),
        scope: match &view_id {
            Some(id) => ctx.link(Kind::ServiceView, id),
            None => ctx.base.clone(),
        },
        collection_length: total,
        returned_length: window.len() as u64,
        collection_type: "drills",
        collection: window.into_iter().map(|d| report(&ctx, d)).collect(),
    }))
}

/// `GET|POST /drills/{id}/ack?token=...[&by=NAME]`: a person acknowledges a drill's message
/// through the link it carries. No bearer token: the link's secret token is the credential
/// (whoever received the message has it). The first acknowledgement is kept.
#[utoipa::path(get, path = "/drills/{id}/ack", tag = "extensions", security(()), params(Id, DrillAcknowledgement),
    responses(
        (status = 200, description = "The message is acknowledged", body = AcknowledgementJson),
        (status = 400, response = BadRequest), (status = 404, response = NotFound)))]
pub async fn acknowledge_drill(
    State(state): State<AppState>,
    Path(id): Path<String>,
    uri: axum::http::Uri,
) -> ApiResult<Response> {
    let (mut token, mut by) = (None, None);
    for (key, value) in form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()) {
        match key.as_ref() {
            "token" => token = Some(value.into_owned()),
            "by" => by = Some(value.into_owned()),
            _ => {}
        }
    }
    let by = by.map(|b| b.trim().to_owned()).filter(|b| !b.is_empty());
    if let Some(by) = &by {
        if by.chars().count() > MAX_ACKNOWLEDGER || by.chars().any(char::is_control) {
            return Err(ApiError::bad_request(format!(
                "by: a name of at most {MAX_ACKNOWLEDGER} characters, without control characters"
            )));
        }
    }
    let token = token.ok_or_else(|| ApiError::bad_request("this link needs its token (?token=...)"))?;
    let drill_id = parse_id(&id)?;
    // A token that cannot be one, or an unknown drill, costs no write (the link is public).
    if token.len() != 32 || !token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return Err(ctp_store::checks::drill_link_unknown().into());
    }
    let drill = state.store.drill(&drill_id).await.map_err(|_| ctp_store::checks::drill_link_unknown())?;
    ctp_store::checks::drill_message_by_token(&drill.messages, &token)?;
    let message = state.store.acknowledge_drill(&drill_id, &token, by, Timestamp::now()).await?;
    tracing::info!(drill = %drill_id, trigger = %message.trigger_id, by = ?message.acknowledged_by,
        "drill message acknowledged");
    Ok(ok(&AcknowledgementJson {
        message: "Thank you: this drill message is acknowledged. It was a drill, not an alert.",
        acknowledge_time: message.acknowledge_time.map(|t| t.to_string()).unwrap_or_default(),
        acknowledged_by: message.acknowledged_by,
        latency_seconds: message.acknowledge_time.map(|t| seconds_between(drill.creation_time, t)).unwrap_or(0.0),
    }))
}

/// `POST /drills/{id}/ack`: the same as `GET`, for receivers that call the link.
#[utoipa::path(post, path = "/drills/{id}/ack", tag = "extensions", security(()), params(Id, DrillAcknowledgement),
    responses(
        (status = 200, description = "The message is acknowledged", body = AcknowledgementJson),
        (status = 400, response = BadRequest), (status = 404, response = NotFound)))]
pub async fn acknowledge_drill_post(
    state: State<AppState>,
    id: Path<String>,
    uri: axum::http::Uri,
) -> ApiResult<Response> {
    acknowledge_drill(state, id, uri).await
}

/// The answer to an acknowledgement.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = DrillAcknowledgementAnswer)]
pub(crate) struct AcknowledgementJson {
    /// A plain sentence for whoever opened the link.
    message: &'static str,
    /// When the message was acknowledged (the first time).
    #[schema(format = DateTime)]
    acknowledge_time: String,
    /// Who acknowledged it, as they said (`by`), if they did.
    acknowledged_by: Option<String>,
    /// Seconds from the start of the drill to the acknowledgement.
    latency_seconds: f64,
}

fn seconds_between(from: Timestamp, to: Timestamp) -> f64 {
    (to.millis() - from.millis()) as f64 / 1000.0
}

/// A page of drills.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = DrillCollection)]
pub(crate) struct DrillCollection {
    /// The collection's URL, with the query string of the request.
    #[serde(rename = "self")]
    #[schema(format = "uri")]
    self_link: String,
    /// `{CtpBase}`, or the service view.
    #[schema(format = "uri")]
    scope: String,
    /// How many drills match, over all pages.
    collection_length: u64,
    /// How many drills this answer lists.
    returned_length: u64,
    /// `drills`.
    #[schema(value_type = String, pattern = "^drills$")]
    collection_type: &'static str,
    /// The drills, oldest first.
    collection: Vec<DrillJson>,
}

/// A drill and its outcome.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Drill)]
pub(crate) struct DrillJson {
    /// The drill's URL.
    #[serde(rename = "self")]
    #[schema(format = "uri")]
    self_link: String,
    /// The service view drilled.
    #[schema(format = "uri")]
    scope: String,
    /// When it started: its messages were queued in the outbox then.
    #[schema(format = DateTime)]
    creation_time: String,
    /// The administrator who started it.
    #[schema(format = "uri")]
    started_by: String,
    /// Why it was run.
    annotation: String,
    /// `pending` while a message may still be delivered, then `delivered` (every message
    /// reached its channel) or `failed` (one or more could not be delivered).
    #[schema(value_type = String, pattern = "^(pending|delivered|failed)$")]
    outcome: &'static str,
    /// Whether every message was delivered.
    reached_everyone: bool,
    /// Messages sent.
    messages: usize,
    /// Messages delivered to their channel.
    delivered: usize,
    /// Messages a person acknowledged through their link.
    acknowledged: usize,
    /// Each message: to which trigger and channel, and what became of it.
    deliveries: Vec<DrillMessageJson>,
}

/// What became of one message of a drill.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = DrillMessage)]
pub(crate) struct DrillMessageJson {
    /// The trigger whose channel it tested.
    #[schema(format = "uri")]
    trigger: String,
    /// The trigger's name when the drill started.
    trigger_name: String,
    /// The log entry (tag `drill`) the message carries.
    #[schema(format = "uri")]
    log_entry: String,
    /// The delivery job: channel, target, state, attempts, last error, delivery time;
    /// `null` once the job no longer exists.
    job: Option<DeliveryJson>,
    /// When it was queued (the drill's start).
    #[schema(format = DateTime)]
    queued_time: String,
    /// When the attempt that delivered it started: it was handed to the channel.
    #[schema(format = DateTime)]
    handed_over_time: Option<String>,
    /// When the channel acknowledged it: the webhook answered 2xx, the XMPP server
    /// answered the ping sent after it.
    #[schema(format = DateTime)]
    delivery_time: Option<String>,
    /// Seconds from queueing to delivery.
    delivery_latency_seconds: Option<f64>,
    /// When a person acknowledged it through its link.
    #[schema(format = DateTime)]
    acknowledge_time: Option<String>,
    /// Who acknowledged it, as they said.
    acknowledged_by: Option<String>,
    /// Seconds from queueing to the person's acknowledgement.
    acknowledge_latency_seconds: Option<f64>,
}

fn report(ctx: &Ctx, drill: &Drill) -> DrillJson {
    let state = |m: &DrillMessage| m.delivery.as_ref().map(|d| d.state);
    let delivered = drill.messages.iter().filter(|m| state(m) == Some(DeliveryState::Delivered)).count();
    let pending = drill.messages.iter().any(|m| state(m) == Some(DeliveryState::Pending));
    let outcome = if pending {
        "pending"
    } else if delivered == drill.messages.len() {
        "delivered"
    } else {
        "failed"
    };
    DrillJson {
        self_link: drill_link(&ctx.base, &drill.id),
        scope: ctx.link(Kind::ServiceView, &drill.view_id),
        creation_time: drill.creation_time.to_string(),
        started_by: ctx.link(Kind::Account, &drill.started_by),
        annotation: drill.annotation.clone(),
        outcome,
        reached_everyone: delivered == drill.messages.len(),
        messages: drill.messages.len(),
        delivered,
        acknowledged: drill.messages.iter().filter(|m| m.acknowledge_time.is_some()).count(),
        deliveries: drill.messages.iter().map(|m| message(ctx, drill, m)).collect(),
    }
}

fn message(ctx: &Ctx, drill: &Drill, message: &DrillMessage) -> DrillMessageJson {
    let delivery_time = message.delivery.as_ref().and_then(|d| d.delivery_time);
    DrillMessageJson {
        trigger: ctx.link(Kind::Trigger, &message.trigger_id),
        trigger_name: message.trigger_name.clone(),
        log_entry: ctx.link(Kind::Log, &message.log_id),
        job: message.delivery.as_ref().map(|d| encode::delivery(ctx, d)),
        queued_time: drill.creation_time.to_string(),
        handed_over_time: message.handed_over_time.map(|t| t.to_string()),
        delivery_time: delivery_time.map(|t| t.to_string()),
        delivery_latency_seconds: delivery_time.map(|t| seconds_between(drill.creation_time, t)),
        acknowledge_time: message.acknowledge_time.map(|t| t.to_string()),
        acknowledged_by: message.acknowledged_by.clone(),
        acknowledge_latency_seconds: message.acknowledge_time.map(|t| seconds_between(drill.creation_time, t)),
    }
}
