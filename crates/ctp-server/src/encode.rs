//! The JSON encodings of section 4.2, with the wire names of the decisions page. Each
//! resource is a struct whose fields are in the specification's order; results are
//! embedded as stored, so that a signature over them still verifies.

use ctp_model::resources::{
    Account, Asset, Attribute, Delivery, DeliveryState, Evaluated, Header, Kind, LogBody, LogEntry, Measurement,
    Member, Metric, Trigger, View,
};
use ctp_model::{Column, MeasurementParameter};
use serde::Serialize;
use serde_json::value::RawValue;
use utoipa::ToSchema;

use crate::context::{link, Ctx};
use crate::openapi::schema::{
    Channel, CollectionType, DeliveryStateName, MeasurementResult, MeasurementStateName, StatusName,
};

/// A whole number prints without a fraction (`60`, not `60.0`).
fn number(n: f64) -> serde_json::Value {
    if n.fract() == 0.0 && n.abs() < 9e15 {
        serde_json::Value::from(n as i64)
    } else {
        serde_json::Value::from(n)
    }
}

/// A stored result, embedded verbatim.
fn raw(text: &str) -> Box<RawValue> {
    RawValue::from_string(text.to_owned())
        .unwrap_or_else(|_| RawValue::from_string("null".to_owned()).expect("null is JSON"))
}

/// The properties every named resource has (4.1.5), first in its encoding.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Common {
    /// The resource's own URL.
    #[serde(rename = "self")]
    #[schema(format = "uri")]
    self_link: String,
    /// The URL of the resource (or entry point) it belongs to.
    #[schema(format = "uri")]
    scope: String,
    /// Changes whenever the resource does. A string of digits (not a number), from one
    /// counter: a resource never sees the same value twice.
    #[schema(pattern = "^[0-9]+$")]
    change_id: String,
    /// A name, possibly empty.
    name: String,
    /// A description, possibly empty.
    annotation: String,
}

impl Common {
    fn new(self_link: String, scope: String, change_id: i64, header: &Header) -> Common {
        Common {
            self_link,
            scope,
            change_id: change_id.to_string(),
            name: header.name.clone(),
            annotation: header.annotation.clone(),
        }
    }
}

/// 4.2.1
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = EntryPoint)]
pub struct EntryPointJson {
    /// `{CtpBase}`.
    #[serde(rename = "self")]
    #[schema(format = "uri")]
    self_link: String,
    /// The server's name.
    name: String,
    /// A description of the server.
    annotation: String,
    /// The version of the client API.
    #[schema(value_type = String, examples("1.0"))]
    version: &'static str,
    /// Who runs the server.
    provider: String,
    /// The URL of the service views.
    #[schema(format = "uri")]
    service_views: String,
    /// The URL of the metrics.
    #[schema(format = "uri")]
    metrics: String,
}

/// The entry point.
pub fn entry_point(ctx: &Ctx) -> EntryPointJson {
    let config = &ctx.state.config;
    EntryPointJson {
        self_link: ctx.base.clone(),
        name: config.name.clone(),
        annotation: config.annotation.clone(),
        version: "1.0",
        provider: config.provider.clone(),
        service_views: format!("{}serviceViews", ctx.base),
        metrics: format!("{}metrics", ctx.base),
    }
}

/// 4.2.2 and 4.2.9: a service view, or a dependency (encoded alike).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ServiceView)]
pub struct ViewJson {
    #[serde(flatten)]
    common: Common,
    /// Who provides the service.
    provider: String,
    /// The URL of its dependencies.
    #[schema(format = "uri")]
    dependencies: String,
    /// The URL of its assets.
    #[schema(format = "uri")]
    assets: String,
    /// The class of service (`iaas`, `paas`, `saas`, ...), `null` when undefined.
    #[schema(required = true)]
    service_class: Option<String>,
    /// The URL of its log entries.
    #[schema(format = "uri")]
    logs: String,
    /// The URL of its triggers.
    #[schema(format = "uri")]
    triggers: String,
}

/// A service view or a dependency.
pub fn view(ctx: &Ctx, view: &View) -> ViewJson {
    let kind = if view.parent.is_some() { Kind::Dependency } else { Kind::ServiceView };
    let scope = match &view.parent {
        None => ctx.base.clone(),
        Some(parent) => ctx.link(parent.kind, &parent.id),
    };
    ViewJson {
        common: Common::new(ctx.link(kind, &view.id), scope, view.change_id, &view.header),
        provider: view.provider.clone(),
        dependencies: ctx.sub_link(kind, &view.id, "dependencies"),
        assets: ctx.sub_link(kind, &view.id, "assets"),
        service_class: view.service_class.clone(),
        logs: ctx.sub_link(kind, &view.id, "logs"),
        triggers: ctx.sub_link(kind, &view.id, "triggers"),
    }
}

/// 4.2.3
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Asset)]
pub struct AssetJson {
    #[serde(flatten)]
    common: Common,
    /// The URL of its attributes.
    #[schema(format = "uri")]
    attributes: String,
    /// The class of asset, `null` when undefined.
    #[schema(required = true)]
    asset_class: Option<String>,
}

/// An asset.
pub fn asset(ctx: &Ctx, asset: &Asset) -> AssetJson {
    AssetJson {
        common: Common::new(
            ctx.link(Kind::Asset, &asset.id),
            ctx.link(Kind::ServiceView, &asset.view_id),
            asset.change_id,
            &asset.header,
        ),
        attributes: ctx.sub_link(Kind::Asset, &asset.id, "attributes"),
        asset_class: asset.asset_class.clone(),
    }
}

/// 4.2.4
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Attribute)]
pub struct AttributeJson {
    #[serde(flatten)]
    common: Common,
    /// The URL of its measurements.
    #[schema(format = "uri")]
    measurements: String,
}

/// An attribute.
pub fn attribute(ctx: &Ctx, attribute: &Attribute) -> AttributeJson {
    AttributeJson {
        common: Common::new(
            ctx.link(Kind::Attribute, &attribute.id),
            ctx.link(Kind::Asset, &attribute.asset_id),
            attribute.change_id,
            &attribute.header,
        ),
        measurements: ctx.sub_link(Kind::Attribute, &attribute.id, "measurements"),
    }
}

/// 4.2.5
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Metric)]
pub struct MetricJson {
    #[serde(flatten)]
    common: Common,
    /// The standard metric this one is based on, possibly empty.
    base_metric: String,
    /// The parameters of the measurement, each a value of its type.
    measurement_parameters: Vec<MeasurementParameter>,
    /// The columns of every row of a result.
    result_format: Vec<Column>,
}

/// A metric.
pub fn metric(ctx: &Ctx, metric: &Metric) -> MetricJson {
    MetricJson {
        common: Common::new(ctx.link(Kind::Metric, &metric.id), ctx.base.clone(), metric.change_id, &metric.header),
        base_metric: metric.base_metric.clone(),
        measurement_parameters: metric.parameters.clone(),
        result_format: metric.result_format.clone(),
    }
}

/// An objective: a condition on the measurement's result, with its status.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Objective)]
pub struct ObjectiveJson {
    /// A CTPScript expression (5.4).
    condition: String,
    /// The outcome of the last evaluation.
    #[schema(value_type = StatusName)]
    status: &'static str,
    /// When the status was last set (RFC 3339, UTC, milliseconds).
    #[schema(format = DateTime)]
    status_update_time: String,
}

fn objective(evaluated: &Evaluated) -> ObjectiveJson {
    ObjectiveJson {
        condition: evaluated.condition.clone(),
        status: evaluated.status.as_str(),
        status_update_time: evaluated.status_update_time.to_string(),
    }
}

/// 4.2.6
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Measurement)]
pub struct MeasurementJson {
    #[serde(flatten)]
    common: Common,
    /// The URL of its metric.
    #[schema(format = "uri")]
    metric: String,
    /// The last result, exactly as pushed; `null` before the first one.
    #[schema(value_type = Option<MeasurementResult>, required = true)]
    result: Option<Box<RawValue>>,
    /// The provider's objective, `null` when it has none.
    #[schema(required = true)]
    objective: Option<ObjectiveJson>,
    /// The URL at which customers create triggers on it (its service view's triggers), or
    /// `null` when it cannot be used in a trigger.
    #[schema(required = true, format = "uri")]
    create_trigger: Option<String>,
    /// Whether customers activate and deactivate it (`PUT ?x=state`).
    user_activated: bool,
    /// Its state.
    #[schema(value_type = MeasurementStateName)]
    state: &'static str,
    /// Whether it (or its metric) takes signed results only (an extension, issue 14).
    require_signed_results: bool,
    /// Whose signature the server verified on the current result; `null` when it was not
    /// signed (an extension, issue 14).
    result_verification: Option<ResultVerificationJson>,
}

/// A measurement.
pub fn measurement(ctx: &Ctx, measurement: &Measurement) -> MeasurementJson {
    MeasurementJson {
        common: Common::new(
            ctx.link(Kind::Measurement, &measurement.id),
            ctx.link(Kind::Attribute, &measurement.attribute_id),
            measurement.change_id,
            &measurement.header,
        ),
        metric: ctx.link(Kind::Metric, &measurement.metric_id),
        result: measurement.result.as_deref().map(raw),
        objective: measurement.objective.as_ref().map(objective),
        create_trigger: measurement
            .triggers_allowed
            .then(|| ctx.sub_link(Kind::ServiceView, &measurement.view_id, "triggers")),
        user_activated: measurement.user_activated,
        state: measurement.state.as_str(),
        require_signed_results: measurement.signed_results_required,
        result_verification: measurement.verification.as_ref().map(|v| ResultVerificationJson {
            authority: format!("{}authorities/{}", ctx.base, v.authority_id),
            key_id: v.key_id.clone(),
            algorithm: v.algorithm.clone(),
        }),
    }
}

/// Whose signature was verified on a result (an extension, issue 14).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ResultVerification)]
pub struct ResultVerificationJson {
    /// The authority whose key verified it (its id is the result's `authorityId`).
    #[schema(format = "uri")]
    authority: String,
    /// The key.
    key_id: String,
    /// The JWS algorithm.
    algorithm: String,
}

/// 4.2.7
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Trigger)]
pub struct TriggerJson {
    #[serde(flatten)]
    common: Common,
    /// The URL of the measurement it watches.
    #[schema(format = "uri")]
    measurement: String,
    /// A CTPScript expression (5.4) on the measurement's result.
    condition: String,
    /// Where alerts go: an `xmpp:` URI, an `http(s)` webhook URL, or empty (log only).
    notification: String,
    /// Seconds during which a condition that holds again raises no new alert.
    #[schema(value_type = f64, minimum = 0)]
    guard_time: serde_json::Value,
    /// Tags copied into its log entries.
    tags: Vec<String>,
    /// The outcome of the last evaluation.
    #[schema(value_type = StatusName)]
    status: &'static str,
    /// When the status was last set (RFC 3339, UTC, milliseconds).
    #[schema(format = DateTime)]
    status_update_time: String,
}

/// A trigger.
pub fn trigger(ctx: &Ctx, trigger: &Trigger) -> TriggerJson {
    TriggerJson {
        common: Common::new(
            ctx.link(Kind::Trigger, &trigger.id),
            ctx.link(Kind::ServiceView, &trigger.view_id),
            trigger.change_id,
            &trigger.header,
        ),
        measurement: ctx.link(Kind::Measurement, &trigger.measurement_id),
        condition: trigger.evaluated.condition.clone(),
        notification: trigger.notification.clone(),
        guard_time: number(trigger.guard_time),
        tags: trigger.tags.clone(),
        status: trigger.evaluated.status.as_str(),
        status_update_time: trigger.evaluated.status_update_time.to_string(),
    }
}

/// 4.2.8, both forms: a normal entry has the `result` that raised the alert, an error entry
/// the `error` message (and the tags `["error"]`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = LogEntry)]
pub struct LogJson {
    /// The entry's URL.
    #[serde(rename = "self")]
    #[schema(format = "uri")]
    self_link: String,
    /// The URL of its service view.
    #[schema(format = "uri")]
    scope: String,
    /// The URL of the trigger that wrote it (which may have been deleted since).
    #[schema(format = "uri")]
    trigger: String,
    /// When it was written (RFC 3339, UTC, milliseconds).
    #[schema(format = DateTime)]
    creation_time: String,
    /// The result that met the condition (normal entries).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<MeasurementResult>, nullable = false)]
    result: Option<Box<RawValue>>,
    /// Why the condition could not be evaluated (error entries).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    error: Option<String>,
    /// The trigger's tags, or `["error"]`.
    tags: Vec<String>,
}

/// A log entry, normal or error, with links under `base` (`{CtpBase}`): the body of
/// `GET /logs/{id}` and of every notification.
pub fn log_entry(base: &str, entry: &LogEntry) -> LogJson {
    let (result, error) = match &entry.body {
        LogBody::Result(text) => (Some(raw(text)), None),
        LogBody::Error(message) => (None, Some(message.clone())),
    };
    LogJson {
        self_link: link(base, Kind::Log, &entry.id),
        scope: link(base, Kind::ServiceView, &entry.view_id),
        trigger: link(base, Kind::Trigger, &entry.trigger_id),
        creation_time: entry.creation_time.to_string(),
        result,
        error,
        tags: entry.tags.clone(),
    }
}

/// An account of the back office (3.2); the token appears only in the answer that creates it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Account)]
pub struct AccountJson {
    /// The account's URL.
    #[serde(rename = "self")]
    #[schema(format = "uri")]
    self_link: String,
    /// Changes whenever the account does (a string of digits).
    #[schema(pattern = "^[0-9]+$")]
    change_id: String,
    /// A name, possibly empty.
    name: String,
    /// A description, possibly empty.
    annotation: String,
    /// Its rights: `role:...` tags, the tags of what it may access, and its own
    /// `account:{id}`.
    account_tags: Vec<String>,
    /// The bearer token: only in the answer that creates the account.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    token: Option<String>,
    /// The secret that signs its webhooks: only in the answer that creates the account.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, pattern = "^whsec_(?:[A-Za-z0-9+/]{4}){8,}(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$")]
    webhook_secret: Option<String>,
}

/// An account, with its token and webhook secret when it was just created.
pub fn account(ctx: &Ctx, account: &Account, token: Option<String>) -> AccountJson {
    let webhook_secret = token.as_ref().and(account.webhook_secret.clone());
    AccountJson {
        self_link: ctx.link(Kind::Account, &account.id),
        change_id: account.change_id.to_string(),
        name: account.header.name.clone(),
        annotation: account.header.annotation.clone(),
        account_tags: account.account_tags.clone(),
        token,
        webhook_secret,
    }
}

/// The webhook secret of an account (`?x=webhookSecret`, an extension).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = WebhookSecret)]
pub struct WebhookSecretJson {
    /// `{account}?x=webhookSecret`.
    #[serde(rename = "self")]
    #[schema(format = "uri")]
    self_link: String,
    /// The secret (Standard Webhooks, `whsec_` and base64), `null` for an account that has
    /// none.
    #[schema(required = true, pattern = "^whsec_(?:[A-Za-z0-9+/]{4}){8,}(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$")]
    webhook_secret: Option<String>,
}

/// An account's webhook secret.
pub fn webhook_secret(ctx: &Ctx, account: &Account) -> WebhookSecretJson {
    WebhookSecretJson {
        self_link: format!("{}?x=webhookSecret", ctx.link(Kind::Account, &account.id)),
        webhook_secret: account.webhook_secret.clone(),
    }
}

/// A tag resource (back office 3.1): the access tags of a resource.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Tags)]
pub struct TagsJson {
    /// `{resource}?x=tags`.
    #[serde(rename = "self")]
    #[schema(format = "uri")]
    self_link: String,
    /// Who may access the resource: an account may when one of its tags matches one of these.
    access_tags: Vec<String>,
}

/// The access tags of a resource.
pub fn tags(self_link: String, access_tags: Vec<String>) -> TagsJson {
    TagsJson { self_link, access_tags }
}

/// One link of a collection.
#[derive(Serialize, ToSchema)]
#[schema(as = Link)]
pub struct LinkJson {
    /// The member's URL.
    #[schema(format = "uri")]
    link: String,
    /// The member's name; absent when it is empty.
    #[serde(skip_serializing_if = "String::is_empty")]
    name: String,
}

/// 4.1.6
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Collection)]
pub struct CollectionJson {
    /// The collection's URL, with the query string of the request.
    #[serde(rename = "self")]
    #[schema(format = "uri")]
    self_link: String,
    /// The URL of the resource (or entry point) it belongs to.
    #[schema(format = "uri")]
    scope: String,
    /// How many members match the request, over all pages.
    collection_length: u64,
    /// How many members this answer lists.
    returned_length: u64,
    /// The kind of the members (dependencies are listed as `serviceViews`, 5.2.4).
    #[schema(value_type = CollectionType)]
    collection_type: &'static str,
    /// The members.
    collection: Vec<LinkJson>,
}

/// What a collection lists, and how it names its type.
#[derive(Debug, Clone, Copy)]
pub struct Listing {
    /// The kind of the members, for their links.
    pub kind: Kind,
    /// The `collectionType` (5.2.4: dependencies are listed as "serviceViews").
    pub collection_type: &'static str,
}

impl Listing {
    /// Members of `kind`, named after it.
    pub fn of(kind: Kind) -> Listing {
        let collection_type = if kind == Kind::Dependency { "serviceViews" } else { kind.segment() };
        Listing { kind, collection_type }
    }
}

/// A collection: `members` are the returned ones, `total` counts the whole collection.
pub fn collection(
    ctx: &Ctx,
    self_link: String,
    scope: String,
    listing: Listing,
    total: u64,
    members: Vec<Member>,
) -> CollectionJson {
    let kind = listing.kind;
    CollectionJson {
        self_link,
        scope,
        collection_length: total,
        returned_length: members.len() as u64,
        collection_type: listing.collection_type,
        collection: members.into_iter().map(|m| LinkJson { link: ctx.link(kind, &m.id), name: m.name }).collect(),
    }
}

/// A notification job of the outbox (back office extension).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Delivery)]
pub struct DeliveryJson {
    /// The job's URL.
    #[serde(rename = "self")]
    #[schema(format = "uri")]
    self_link: String,
    /// The URL of the log entry it delivers (the notification's body).
    #[schema(format = "uri")]
    log_entry: String,
    /// The URL of the trigger that raised it.
    #[schema(format = "uri")]
    trigger: String,
    /// The URL of the service view.
    #[schema(format = "uri")]
    scope: String,
    /// How it is sent; `null` when the target no longer parses.
    #[schema(value_type = Option<Channel>, required = true)]
    channel: Option<&'static str>,
    /// The trigger's notification URI.
    notification: String,
    /// Where it is.
    #[schema(value_type = DeliveryStateName)]
    state: &'static str,
    /// Attempts made in the current series.
    attempts: u32,
    /// When the next attempt is due (pending jobs only).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, format = DateTime)]
    next_attempt: Option<String>,
    /// Why the last attempt failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    last_error: Option<String>,
    /// When the job was written, with its log entry.
    #[schema(format = DateTime)]
    creation_time: String,
    /// When the receiver acknowledged it (delivered jobs only).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, format = DateTime)]
    delivery_time: Option<String>,
}

/// A notification job.
pub fn delivery(ctx: &Ctx, delivery: &Delivery) -> DeliveryJson {
    DeliveryJson {
        self_link: ctx.link(Kind::Delivery, &delivery.id),
        log_entry: ctx.link(Kind::Log, &delivery.log_id),
        trigger: ctx.link(Kind::Trigger, &delivery.trigger_id),
        scope: ctx.link(Kind::ServiceView, &delivery.view_id),
        channel: crate::notify::target::Target::parse(&delivery.target).ok().map(|t| t.channel().as_str()),
        notification: delivery.target.clone(),
        state: delivery.state.as_str(),
        attempts: delivery.attempts,
        next_attempt: (delivery.state == DeliveryState::Pending).then(|| delivery.next_attempt.to_string()),
        last_error: delivery.last_error.clone(),
        creation_time: delivery.creation_time.to_string(),
        delivery_time: delivery.delivery_time.map(|t| t.to_string()),
    }
}
