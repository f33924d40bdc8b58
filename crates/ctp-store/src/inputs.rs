//! What callers hand to the store: new resources, filters, windows, and what a push or a
//! delivery attempt gives back.

use ctp_model::resources::{Delivery, Header, LogEntry, Measurement, MeasurementState};
use ctp_model::{CheckedResult, Column, MeasurementParameter, ResourceId, Timestamp};

/// A new service view or dependency.
#[derive(Debug, Clone, Default)]
pub struct NewView {
    /// Name and annotation.
    pub header: Header,
    /// The provider responsible for it.
    pub provider: String,
    /// The service class, if any.
    pub service_class: Option<String>,
    /// Access tags; `None` takes the default (none for a service view, the parent's for a
    /// dependency).
    pub access_tags: Option<Vec<String>>,
}

/// A new asset.
#[derive(Debug, Clone, Default)]
pub struct NewAsset {
    /// Name and annotation.
    pub header: Header,
    /// The asset class, if any.
    pub asset_class: Option<String>,
    /// Access tags; `None` inherits the service view's.
    pub access_tags: Option<Vec<String>>,
}

/// A new attribute.
#[derive(Debug, Clone, Default)]
pub struct NewAttribute {
    /// Name and annotation.
    pub header: Header,
    /// Access tags; `None` inherits the asset's.
    pub access_tags: Option<Vec<String>>,
}

/// A new metric.
#[derive(Debug, Clone, Default)]
pub struct NewMetric {
    /// Name and annotation.
    pub header: Header,
    /// The document that standardizes it.
    pub base_metric: String,
    /// Parameter values.
    pub parameters: Vec<MeasurementParameter>,
    /// Result columns.
    pub result_format: Vec<Column>,
    /// Access tags; `None` gives `role:user`.
    pub access_tags: Option<Vec<String>>,
    /// Whether its measurements take signed results only (issue 14).
    pub signed_results_required: bool,
}

/// A new measurement.
#[derive(Debug, Clone)]
pub struct NewMeasurement {
    /// Name and annotation.
    pub header: Header,
    /// The metric it implements.
    pub metric_id: ResourceId,
    /// An objective condition, already compiled once to reject syntax errors.
    pub objective: Option<String>,
    /// Its first result (checked against the metric by the caller), or none yet.
    pub result: Option<CheckedResult>,
    /// Whether customers may create triggers on it.
    pub triggers_allowed: bool,
    /// Whether customers activate it.
    pub user_activated: bool,
    /// Its first state.
    pub state: MeasurementState,
    /// Access tags; `None` inherits the attribute's.
    pub access_tags: Option<Vec<String>>,
    /// Whether it takes signed results only (issue 14).
    pub signed_results_required: bool,
}

/// A new trigger.
#[derive(Debug, Clone)]
pub struct NewTrigger {
    /// Name and annotation.
    pub header: Header,
    /// The measurement it watches, which must be in the service view and allow triggers.
    pub measurement_id: ResourceId,
    /// The condition, already compiled once to reject syntax errors.
    pub condition: String,
    /// Where alerts go.
    pub notification: String,
    /// Seconds between two alerts.
    pub guard_time: f64,
    /// Tags for its log entries.
    pub tags: Vec<String>,
    /// The account creating it.
    pub owner_id: Option<ResourceId>,
    /// The creator's account tags: the trigger's access tags are those of its
    /// measurement's tags that these hold ([`ctp_model::tags::held_tags`]).
    pub owner_tags: Vec<String>,
}

/// A new account; the token is hashed by the caller.
#[derive(Debug, Clone)]
pub struct NewAccount {
    /// Identifier (given, so that the caller can add `account:{id}` to the tags).
    pub id: ResourceId,
    /// Name and annotation.
    pub header: Header,
    /// What the principal may access.
    pub account_tags: Vec<String>,
    /// Who may read the account.
    pub access_tags: Vec<String>,
    /// SHA-256 of the token, hex.
    pub token_hash: String,
    /// The secret that signs its webhooks.
    pub webhook_secret: String,
}

/// Filters of a log collection (5.2.18).
#[derive(Debug, Clone, Default)]
pub struct LogFilter {
    /// Only entries created at or after this instant.
    pub oldest: Option<Timestamp>,
    /// Only entries created before this instant.
    pub newest: Option<Timestamp>,
    /// Only entries carrying every one of these tags.
    pub tags: Vec<String>,
    /// Only entries whose access tags include one of these (a caller's account tags, and
    /// `*`); `None`: every entry (a caller with the wildcard).
    pub visible_to: Option<Vec<String>>,
}

/// A slice of a collection: `items` members from index `page * items`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Index of the first member.
    pub offset: u64,
    /// How many members at most.
    pub limit: u64,
}

/// A result to store, one of a batch ([`crate::Store::push_results`]).
#[derive(Clone)]
pub struct Push {
    /// The measurement.
    pub measurement_id: ResourceId,
    /// The result, checked against the metric by the caller.
    pub result: CheckedResult,
    /// The outcomes of its objective's and triggers' conditions on it, computed ahead.
    pub evaluations: std::sync::Arc<ctp_model::Evaluations>,
}

/// Where a followed alert file stands (the OSSEC/Wazuh feed): stored with the results its
/// alerts produced, so that the feed resumes there after a restart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedPosition {
    /// The source's name.
    pub source: String,
    /// The file.
    pub path: String,
    /// What identifies the file's content (opaque to the store).
    pub fingerprint: String,
    /// The byte offset where reading resumes.
    pub offset: u64,
    /// The line number there.
    pub line: u64,
    /// When it was stored.
    pub update_time: Timestamp,
}

/// A measurement due for a clock round, with its triggers ([`crate::Store::claim_clock_work`]).
#[derive(Debug, Clone)]
pub struct ClockWork {
    /// The measurement, with its current result and objective.
    pub measurement: Measurement,
    /// Its triggers.
    pub triggers: Vec<ctp_model::resources::Trigger>,
}

/// One measurement's part of a clock round: which of its conditions read the clock, and
/// their outcomes on its current result at the round's time, computed ahead.
#[derive(Clone)]
pub struct ClockItem {
    /// The measurement.
    pub measurement_id: ResourceId,
    /// Whether its objective reads the clock (and so is re-evaluated).
    pub objective: bool,
    /// Its triggers whose condition reads the clock.
    pub triggers: Vec<ResourceId>,
    /// The outcomes.
    pub evaluations: std::sync::Arc<ctp_model::Evaluations>,
}

/// What a clock round applies, in one transaction.
#[derive(Clone, Default)]
pub struct ClockRound {
    /// Measurements with clock-reading conditions, re-evaluated.
    pub items: Vec<ClockItem>,
    /// Measurements found to have no clock-reading condition: no longer watched (until an
    /// objective or a trigger is set on them again).
    pub unwatch: Vec<ResourceId>,
}

/// What a pushed result changed.
#[derive(Debug, Clone)]
pub struct PushOutcome {
    /// The measurement with its new result.
    pub measurement: Measurement,
    /// The log entries the measurement's triggers wrote.
    pub logs: Vec<LogEntry>,
}

/// A notification job claimed for an attempt, with what sending it needs.
#[derive(Debug, Clone)]
pub struct DueDelivery {
    /// The job.
    pub delivery: Delivery,
    /// The log entry it carries.
    pub log: LogEntry,
    /// The webhook secret of the trigger's owner, if the account still exists.
    pub webhook_secret: Option<String>,
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq)]
pub enum DeliveryOutcome {
    /// The receiver acknowledged the message.
    Delivered {
        /// When the attempt that delivered it started (the message was handed to the channel).
        handed_over: Timestamp,
    },
    /// The attempt failed; try again at `at`.
    Retry {
        /// When to try again.
        at: Timestamp,
        /// Why it failed.
        error: String,
    },
    /// The attempt failed and was the last one.
    Failed {
        /// Why it failed.
        error: String,
    },
    /// Not attempted (the worker had no slot for it): due again at `at`, with its attempts
    /// and last error unchanged.
    Deferred {
        /// When it is due again.
        at: Timestamp,
    },
}

/// A drill to start ([`crate::Store::start_drill`]): its messages were composed by the
/// caller, one per notifying trigger of the service view.
#[derive(Debug, Clone)]
pub struct NewDrill {
    /// Identifier (made by the caller, which puts it in the messages' links).
    pub id: ResourceId,
    /// The service view drilled.
    pub view_id: ResourceId,
    /// The administrator starting it.
    pub started_by: ResourceId,
    /// Why, for the record.
    pub annotation: String,
    /// The messages.
    pub messages: Vec<NewDrillMessage>,
}

/// The message of a new drill to one trigger.
#[derive(Debug, Clone)]
pub struct NewDrillMessage {
    /// The trigger; if it was deleted or lost its notification meanwhile, the message is
    /// not sent.
    pub trigger_id: ResourceId,
    /// The result its log entry carries: the drill's notice, as a result with one row.
    pub result: String,
    /// The secret of its acknowledgement link.
    pub token: String,
}

/// A new authority (issue 14).
#[derive(Debug, Clone)]
pub struct NewAuthority {
    /// Name and annotation.
    pub header: Header,
    /// Its first keys (distinct key ids), checked by the caller.
    pub keys: Vec<ctp_model::resources::AuthorityKey>,
}

/// A change to an authority: keys rotate by adding the new one and retiring the old one,
/// which stays listed (with its end of validity) so that old signatures can be checked.
#[derive(Debug, Clone)]
pub enum AuthorityChange {
    /// Adds a key (its key id must be new to the authority).
    AddKey(ctp_model::resources::AuthorityKey),
    /// Ends a key's validity now (if it did not end earlier).
    RetireKey {
        /// Its key id.
        kid: String,
    },
    /// Retires the authority: no result it signs is accepted any more.
    Retire,
}

/// Which audit records to list.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only those of this account.
    pub account_id: Option<ResourceId>,
    /// Only those whose resource starts with this (a path under the base path).
    pub resource_prefix: Option<String>,
    /// Only those at or after this instant.
    pub oldest: Option<Timestamp>,
    /// Only those before this instant.
    pub newest: Option<Timestamp>,
}

/// One entry of a measurement's history (issue 15): a pushed result, or a change of its
/// objective's status without a new result (a new objective, a clock round).
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEntry {
    /// When.
    pub time: Timestamp,
    /// The result pushed then, as stored; `None` for a change of status alone.
    pub result: Option<String>,
    /// The objective's status from then on (`None`: no objective).
    pub objective_status: Option<ctp_model::Status>,
    /// Where the measurement stands from then on.
    pub standing: ctp_model::history::Standing,
    /// Whether the standing differs from the entry before.
    pub status_changed: bool,
}

/// Which entries of a measurement's history to list.
#[derive(Debug, Clone, Copy, Default)]
pub struct HistoryFilter {
    /// Only those at or after this instant.
    pub oldest: Option<Timestamp>,
    /// Only those before this instant.
    pub newest: Option<Timestamp>,
}
