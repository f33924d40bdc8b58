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

use crate::context::{link, Ctx};

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
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Common {
    #[serde(rename = "self")]
    self_link: String,
    scope: String,
    change_id: String,
    name: String,
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
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EntryPointJson {
    #[serde(rename = "self")]
    self_link: String,
    name: String,
    annotation: String,
    version: &'static str,
    provider: String,
    service_views: String,
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

/// 4.2.2 and 4.2.9
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ViewJson {
    #[serde(flatten)]
    common: Common,
    provider: String,
    dependencies: String,
    assets: String,
    service_class: Option<String>,
    logs: String,
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
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AssetJson {
    #[serde(flatten)]
    common: Common,
    attributes: String,
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
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AttributeJson {
    #[serde(flatten)]
    common: Common,
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
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricJson {
    #[serde(flatten)]
    common: Common,
    base_metric: String,
    measurement_parameters: Vec<MeasurementParameter>,
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

/// An objective or a trigger's condition with its status.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectiveJson {
    condition: String,
    status: &'static str,
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
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MeasurementJson {
    #[serde(flatten)]
    common: Common,
    metric: String,
    result: Option<Box<RawValue>>,
    objective: Option<ObjectiveJson>,
    create_trigger: Option<String>,
    user_activated: bool,
    state: &'static str,
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
    }
}

/// 4.2.7
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TriggerJson {
    #[serde(flatten)]
    common: Common,
    measurement: String,
    condition: String,
    notification: String,
    guard_time: serde_json::Value,
    tags: Vec<String>,
    status: &'static str,
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

/// 4.2.8, both forms.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogJson {
    #[serde(rename = "self")]
    self_link: String,
    scope: String,
    trigger: String,
    creation_time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    result: Option<Box<RawValue>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
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
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountJson {
    #[serde(rename = "self")]
    self_link: String,
    change_id: String,
    name: String,
    annotation: String,
    account_tags: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
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

/// A tag resource (back office 3.1).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TagsJson {
    #[serde(rename = "self")]
    self_link: String,
    access_tags: Vec<String>,
}

/// The access tags of a resource.
pub fn tags(self_link: String, access_tags: Vec<String>) -> TagsJson {
    TagsJson { self_link, access_tags }
}

/// One link of a collection.
#[derive(Serialize)]
pub struct LinkJson {
    link: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    name: String,
}

/// 4.1.6
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CollectionJson {
    #[serde(rename = "self")]
    self_link: String,
    scope: String,
    collection_length: u64,
    returned_length: u64,
    collection_type: &'static str,
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
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryJson {
    #[serde(rename = "self")]
    self_link: String,
    log_entry: String,
    trigger: String,
    scope: String,
    channel: Option<&'static str>,
    notification: String,
    state: &'static str,
    attempts: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_attempt: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_error: Option<String>,
    creation_time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
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
