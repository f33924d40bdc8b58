//! The CTP resources as ctpd stores them (4.2), independent of their JSON encoding.

use serde::{Deserialize, Serialize};

use crate::id::ResourceId;
use crate::metric::{Column, MeasurementParameter};
use crate::status::Status;
use crate::time::Timestamp;

/// A change identifier (4.1.5): a number drawn from one increasing sequence per store, so
/// a resource never sees the same value twice. On the wire it is a string.
pub type ChangeId = i64;

/// The kinds of resources, as they appear in URL paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Kind {
    /// `/serviceViews/{id}`
    ServiceView,
    /// `/dependencies/{id}`
    Dependency,
    /// `/assets/{id}`
    Asset,
    /// `/attributes/{id}`
    Attribute,
    /// `/measurements/{id}`
    Measurement,
    /// `/metrics/{id}`
    Metric,
    /// `/triggers/{id}`
    Trigger,
    /// `/logs/{id}`
    Log,
    /// `/accounts/{id}`
    Account,
    /// `/deliveries/{id}` (notification jobs, back office)
    Delivery,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 10] = [
        Kind::ServiceView,
        Kind::Dependency,
        Kind::Asset,
        Kind::Attribute,
        Kind::Measurement,
        Kind::Metric,
        Kind::Trigger,
        Kind::Log,
        Kind::Account,
        Kind::Delivery,
    ];

    /// The path segment of the kind: `serviceViews`, `assets`...
    pub fn segment(self) -> &'static str {
        match self {
            Kind::ServiceView => "serviceViews",
            Kind::Dependency => "dependencies",
            Kind::Asset => "assets",
            Kind::Attribute => "attributes",
            Kind::Measurement => "measurements",
            Kind::Metric => "metrics",
            Kind::Trigger => "triggers",
            Kind::Log => "logs",
            Kind::Account => "accounts",
            Kind::Delivery => "deliveries",
        }
    }

    /// The kind of a path segment.
    pub fn from_segment(segment: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.segment() == segment)
    }

    /// The collections under a resource of this kind (`/{kind}/{id}/{collection}`).
    pub fn sub_collections(self) -> &'static [&'static str] {
        match self {
            Kind::ServiceView | Kind::Dependency => &["dependencies", "assets", "triggers", "logs"],
            Kind::Asset => &["attributes"],
            Kind::Attribute => &["measurements"],
            _ => &[],
        }
    }

    /// A singular name for messages: "service view", "asset"...
    pub fn noun(self) -> &'static str {
        match self {
            Kind::ServiceView => "service view",
            Kind::Dependency => "dependency",
            Kind::Asset => "asset",
            Kind::Attribute => "attribute",
            Kind::Measurement => "measurement",
            Kind::Metric => "metric",
            Kind::Trigger => "trigger",
            Kind::Log => "log entry",
            Kind::Account => "account",
            Kind::Delivery => "delivery",
        }
    }
}

/// A reference to one resource.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Ref {
    /// Its kind.
    pub kind: Kind,
    /// Its identifier.
    pub id: ResourceId,
}

/// The fields every named resource has.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Header {
    /// The alternate identifier (4.1.5), possibly empty.
    pub name: String,
    /// Human-readable text, possibly empty.
    pub annotation: String,
}

/// A service view or a dependency (4.2.2, 4.2.9): a dependency is encoded like a service
/// view, with its parent as scope.
#[derive(Debug, Clone, PartialEq)]
pub struct View {
    /// Identifier.
    pub id: ResourceId,
    /// `None` for a service view; the service view or dependency a dependency belongs to.
    pub parent: Option<Ref>,
    /// Name and annotation.
    pub header: Header,
    /// Who is legally responsible for the service.
    pub provider: String,
    /// The service class, if any.
    pub service_class: Option<String>,
    /// The change identifier.
    pub change_id: ChangeId,
    /// Who may access it.
    pub access_tags: Vec<String>,
}

/// An asset (4.2.3).
#[derive(Debug, Clone, PartialEq)]
pub struct Asset {
    /// Identifier.
    pub id: ResourceId,
    /// The service view it belongs to.
    pub view_id: ResourceId,
    /// Name and annotation.
    pub header: Header,
    /// The asset class, if any.
    pub asset_class: Option<String>,
    /// The change identifier.
    pub change_id: ChangeId,
    /// Who may access it.
    pub access_tags: Vec<String>,
}

/// A security attribute (4.2.4).
#[derive(Debug, Clone, PartialEq)]
pub struct Attribute {
    /// Identifier.
    pub id: ResourceId,
    /// The asset it applies to.
    pub asset_id: ResourceId,
    /// Name and annotation.
    pub header: Header,
    /// The change identifier.
    pub change_id: ChangeId,
    /// Who may access it.
    pub access_tags: Vec<String>,
}

/// A metric (4.2.5).
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    /// Identifier.
    pub id: ResourceId,
    /// Name and annotation.
    pub header: Header,
    /// The document that standardizes the metric.
    pub base_metric: String,
    /// Parameter values.
    pub parameters: Vec<MeasurementParameter>,
    /// The columns of every result.
    pub result_format: Vec<Column>,
    /// The change identifier.
    pub change_id: ChangeId,
    /// Who may access it.
    pub access_tags: Vec<String>,
}

/// The monitoring state of a measurement (4.2.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MeasurementState {
    /// Monitored: results may be pushed and read.
    Activated,
    /// Not monitored: no result.
    Deactivated,
    /// Activated, waiting for its first result.
    Pending,
}

impl MeasurementState {
    /// The wire string.
    pub fn as_str(self) -> &'static str {
        match self {
            MeasurementState::Activated => "activated",
            MeasurementState::Deactivated => "deactivated",
            MeasurementState::Pending => "pending",
        }
    }

    /// Reads the wire string.
    pub fn parse(text: &str) -> Option<MeasurementState> {
        match text {
            "activated" => Some(MeasurementState::Activated),
            "deactivated" => Some(MeasurementState::Deactivated),
            "pending" => Some(MeasurementState::Pending),
            _ => None,
        }
    }
}

/// A condition with the status of its last evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluated {
    /// The CTPScript condition.
    pub condition: String,
    /// The status of the last evaluation (`false` before the first).
    pub status: Status,
    /// When the status was last updated (the creation time before the first evaluation).
    pub status_update_time: Timestamp,
}

/// A measurement (4.2.6).
#[derive(Debug, Clone, PartialEq)]
pub struct Measurement {
    /// Identifier.
    pub id: ResourceId,
    /// The attribute it measures.
    pub attribute_id: ResourceId,
    /// The service view it is part of (through its attribute and asset).
    pub view_id: ResourceId,
    /// The metric it implements.
    pub metric_id: ResourceId,
    /// Name and annotation.
    pub header: Header,
    /// The current result, as stored (see `ctp_model::result`); `None` when there is none.
    pub result: Option<String>,
    /// The objective, if any.
    pub objective: Option<Evaluated>,
    /// Whether customers may create triggers on it.
    pub triggers_allowed: bool,
    /// Whether customers activate it themselves (`PUT ?x=state`).
    pub user_activated: bool,
    /// Its monitoring state.
    pub state: MeasurementState,
    /// The change identifier.
    pub change_id: ChangeId,
    /// Who may access it.
    pub access_tags: Vec<String>,
    /// Whose signature was verified on the current result, if it was signed.
    pub verification: Option<ResultVerification>,
    /// Whether it (or its metric) takes signed results only.
    pub signed_results_required: bool,
}

/// The signature verified on a stored result (issue 14): by which authority's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultVerification {
    /// The authority.
    pub authority_id: ResourceId,
    /// Its key that verified the signature.
    pub key_id: String,
    /// The JWS algorithm (`RS256`, `ES256`, `EdDSA`).
    pub algorithm: String,
}

/// An authority (issue 14): who measures and signs results, with its public keys.
#[derive(Debug, Clone, PartialEq)]
pub struct Authority {
    /// Identifier (a result's `authorityId`).
    pub id: ResourceId,
    /// Name and annotation.
    pub header: Header,
    /// Its keys, in the order they were added; a retired key keeps its place.
    pub keys: Vec<AuthorityKey>,
    /// When it was retired (no result it signs is accepted since).
    pub retired: Option<Timestamp>,
}

/// A public key of an authority.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorityKey {
    /// Its key id (the JWS header's `kid`).
    pub kid: String,
    /// The JWS algorithm it is for.
    pub algorithm: String,
    /// The public key as a JWK.
    pub jwk: serde_json::Map<String, serde_json::Value>,
    /// Valid from (milliseconds since the epoch), if bounded.
    pub not_before: Option<i64>,
    /// Valid until (milliseconds since the epoch), if bounded; set when the key is retired.
    pub not_after: Option<i64>,
}

/// A trigger (4.2.7).
#[derive(Debug, Clone, PartialEq)]
pub struct Trigger {
    /// Identifier.
    pub id: ResourceId,
    /// The service view it is defined in.
    pub view_id: ResourceId,
    /// The measurement it watches.
    pub measurement_id: ResourceId,
    /// Name and annotation.
    pub header: Header,
    /// The condition and its status.
    pub evaluated: Evaluated,
    /// Where alerts are sent: an `xmpp:` or `http(s):` URI, or empty.
    pub notification: String,
    /// Seconds between two alerts.
    pub guard_time: f64,
    /// Tags copied into its normal log entries.
    pub tags: Vec<String>,
    /// The change identifier.
    pub change_id: ChangeId,
    /// Who may access it.
    pub access_tags: Vec<String>,
    /// The account that created it, whose webhook secret signs its notifications.
    pub owner_id: Option<ResourceId>,
}

/// What a log entry records (4.2.8).
#[derive(Debug, Clone, PartialEq)]
pub enum LogBody {
    /// A normal entry: the result (as stored) that made the condition true.
    Result(String),
    /// An error entry: why the condition could not be evaluated.
    Error(String),
}

/// A log entry (4.2.8).
#[derive(Debug, Clone, PartialEq)]
pub struct LogEntry {
    /// Identifier.
    pub id: ResourceId,
    /// The service view it belongs to.
    pub view_id: ResourceId,
    /// The trigger that wrote it.
    pub trigger_id: ResourceId,
    /// When it was written.
    pub creation_time: Timestamp,
    /// The result or the error.
    pub body: LogBody,
    /// The trigger's tags, or `["error"]`.
    pub tags: Vec<String>,
    /// Who may access it.
    pub access_tags: Vec<String>,
}

/// An account of the back office (3.2): a hashed token and the tags it grants.
#[derive(Debug, Clone, PartialEq)]
pub struct Account {
    /// Identifier.
    pub id: ResourceId,
    /// Name and annotation.
    pub header: Header,
    /// What the principal may access (always includes `account:{id}`).
    pub account_tags: Vec<String>,
    /// Who may read or delete the account itself.
    pub access_tags: Vec<String>,
    /// SHA-256 of the token, hex; the token itself is never stored.
    pub token_hash: String,
    /// The change identifier.
    pub change_id: ChangeId,
    /// The secret that signs webhooks of the account's triggers (`whsec_` and base64);
    /// kept in clear because signing needs it.
    pub webhook_secret: Option<String>,
}

/// One member of a collection: enough to list and to check access, without the whole
/// resource.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    /// Identifier.
    pub id: ResourceId,
    /// The alternate identifier, omitted from the listing when empty.
    pub name: String,
    /// Who may access it (global collections list only what the caller may see).
    pub access_tags: Vec<String>,
}

/// Where a notification job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    /// Waiting for its next attempt (or being attempted).
    Pending,
    /// The receiver acknowledged it.
    Delivered,
    /// Every attempt failed; an administrator may retry it.
    Failed,
}

impl DeliveryState {
    /// The wire and storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Failed => "failed",
        }
    }

    /// Parses a wire or storage name.
    pub fn parse(text: &str) -> Option<DeliveryState> {
        match text {
            "pending" => Some(DeliveryState::Pending),
            "delivered" => Some(DeliveryState::Delivered),
            "failed" => Some(DeliveryState::Failed),
            _ => None,
        }
    }
}

/// A notification job of the outbox: one log entry to send to one trigger's
/// `notification` URI, written in the transaction that wrote the log entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// Identifier.
    pub id: ResourceId,
    /// The log entry it carries.
    pub log_id: ResourceId,
    /// The trigger that wrote the log entry.
    pub trigger_id: ResourceId,
    /// The service view of the trigger.
    pub view_id: ResourceId,
    /// The account whose webhook secret signs it.
    pub owner_id: Option<ResourceId>,
    /// Where it goes: the trigger's `notification` URI when the entry was written.
    pub target: String,
    /// Where it stands.
    pub state: DeliveryState,
    /// Attempts made since it was created or last retried by an administrator.
    pub attempts: u32,
    /// When it is next attempted (pending jobs); a claimed job's lease ends then.
    pub next_attempt: Timestamp,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When the log entry was written.
    pub creation_time: Timestamp,
    /// When the receiver acknowledged it.
    pub delivery_time: Option<Timestamp>,
    /// Who may see it: the log entry's access tags.
    pub access_tags: Vec<String>,
}

/// A drill (issue 13): a message marked as a drill sent through the real channel of every
/// trigger of a service view that notifies, so that the incident-response team rehearses
/// receiving an alert. It changes no status; its log entries carry the tag `drill`.
#[derive(Debug, Clone, PartialEq)]
pub struct Drill {
    /// Identifier.
    pub id: ResourceId,
    /// The service view drilled.
    pub view_id: ResourceId,
    /// When it started (its messages were queued in the outbox then).
    pub creation_time: Timestamp,
    /// The administrator who started it.
    pub started_by: ResourceId,
    /// Why, for the record.
    pub annotation: String,
    /// One message per notifying trigger, in the triggers' creation order.
    pub messages: Vec<DrillMessage>,
}

/// The message of one drill to one trigger's notification target, and what became of it.
#[derive(Debug, Clone, PartialEq)]
pub struct DrillMessage {
    /// The delivery job that carries it (also the message's identifier).
    pub delivery_id: ResourceId,
    /// The trigger (which may have been deleted since).
    pub trigger_id: ResourceId,
    /// The trigger's name when the drill started.
    pub trigger_name: String,
    /// Where it went: the trigger's `notification` URI.
    pub target: String,
    /// The log entry (tag `drill`) the message carries.
    pub log_id: ResourceId,
    /// The secret of its acknowledgement link.
    pub token: String,
    /// When the attempt that delivered it started: the message was handed to the channel.
    pub handed_over_time: Option<Timestamp>,
    /// The delivery job as it stands (`None` once it no longer exists).
    pub delivery: Option<Delivery>,
    /// When a person acknowledged it through its link.
    pub acknowledge_time: Option<Timestamp>,
    /// Who acknowledged it, as they said.
    pub acknowledged_by: Option<String>,
}

/// A change attempted through the API (issue 14's audit trail): who, what, when, and the
/// outcome. Kept in the store and appended to the transparency log; never edited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// Identifier.
    pub id: ResourceId,
    /// The account that asked (`None`: no or an unknown token, or a public link).
    pub account_id: Option<ResourceId>,
    /// The HTTP method.
    pub method: String,
    /// The path and query asked for, under the API's base path.
    pub resource: String,
    /// SHA-256 of the request body, hex (of nothing for an empty body).
    pub body_sha256: String,
    /// The HTTP status of the answer.
    pub status: u16,
    /// When it was answered.
    pub time: Timestamp,
}
