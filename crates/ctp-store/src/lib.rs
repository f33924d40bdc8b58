//! The storage interface of ctpd. The HTTP layer talks only to [`Store`]; each backend
//! (`ctp-store-sqlite`, and PostgreSQL next) implements it. Every method is one
//! transaction: a write either happens whole, with every change it implies (change
//! identifiers up the scope hierarchy, trigger processing and log entries for a pushed
//! result), or not at all. The CTP rules themselves live in `ctp-model`, so that every
//! backend applies the same ones.

use std::sync::Arc;

use async_trait::async_trait;
use ctp_model::resources::{
    Account, Asset, Attribute, Delivery, DeliveryState, Header, Kind, LogEntry, Measurement, MeasurementState, Member,
    Metric, Ref, Trigger, View,
};
use ctp_model::{CheckedResult, Column, ConditionCache, Evaluations, MeasurementParameter, ResourceId, Timestamp};

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No such resource (404).
    #[error("no {noun} with id {id}", noun = .0.noun(), id = .1)]
    NotFound(Kind, ResourceId),
    /// The operation contradicts the state of the store (409), for example deleting a
    /// metric still in use.
    #[error("{0}")]
    Conflict(String),
    /// The request names something that cannot be used this way (400), for example a
    /// trigger on a measurement of another service view.
    #[error("{0}")]
    Invalid(String),
    /// The backend failed (500); the message is for the server's log, not for clients.
    #[error("storage failure: {0}")]
    Backend(String),
}

/// A store result.
pub type StoreResult<T> = Result<T, StoreError>;

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

impl Window {
    /// The window as SQL's `OFFSET` and `LIMIT`, which are signed 64-bit integers: an offset
    /// or a limit past `i64::MAX` (`page * items` can be) is clamped to it, never wrapped to
    /// a negative number, which SQLite reads as "no offset" and PostgreSQL refuses.
    pub fn sql_offset_and_limit(self) -> (i64, i64) {
        let clamp = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        (clamp(self.offset), clamp(self.limit))
    }
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
    Delivered,
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

/// The storage of ctpd. See the crate documentation for the transaction guarantee.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    // ----- accounts and authentication -----

    /// The account whose token hashes to `token_hash`.
    async fn account_by_token_hash(&self, token_hash: &str) -> StoreResult<Option<Account>>;
    /// Creates an account; a token hash already in use is a conflict.
    async fn create_account(&self, account: NewAccount) -> StoreResult<Account>;
    /// Makes sure an account with this id, tags and token hash exists (creating or updating it).
    async fn ensure_account(&self, account: NewAccount) -> StoreResult<Account>;
    /// One account.
    async fn account(&self, id: &ResourceId) -> StoreResult<Account>;
    /// Every account.
    async fn accounts(&self) -> StoreResult<Vec<Member>>;
    /// Deletes an account.
    async fn delete_account(&self, id: &ResourceId) -> StoreResult<()>;

    // ----- reads of single resources -----

    /// A service view (`Kind::ServiceView`) or a dependency (`Kind::Dependency`).
    async fn view(&self, kind: Kind, id: &ResourceId) -> StoreResult<View>;
    /// An asset.
    async fn asset(&self, id: &ResourceId) -> StoreResult<Asset>;
    /// An attribute.
    async fn attribute(&self, id: &ResourceId) -> StoreResult<Attribute>;
    /// A measurement.
    async fn measurement(&self, id: &ResourceId) -> StoreResult<Measurement>;
    /// A metric.
    async fn metric(&self, id: &ResourceId) -> StoreResult<Metric>;
    /// A trigger.
    async fn trigger(&self, id: &ResourceId) -> StoreResult<Trigger>;
    /// A log entry.
    async fn log_entry(&self, id: &ResourceId) -> StoreResult<LogEntry>;

    // ----- collections, in a stable order (creation order; logs chronologically) -----

    /// Every service view.
    async fn service_views(&self) -> StoreResult<Vec<Member>>;
    /// The dependencies directly under a service view or a dependency.
    async fn dependencies(&self, parent: &Ref) -> StoreResult<Vec<Member>>;
    /// The assets of a service view.
    async fn assets(&self, view_id: &ResourceId) -> StoreResult<Vec<Member>>;
    /// The attributes of an asset.
    async fn attributes(&self, asset_id: &ResourceId) -> StoreResult<Vec<Member>>;
    /// The measurements of an attribute.
    async fn measurements(&self, attribute_id: &ResourceId) -> StoreResult<Vec<Member>>;
    /// Every metric.
    async fn metrics(&self) -> StoreResult<Vec<Member>>;
    /// The triggers of a service view.
    async fn triggers(&self, view_id: &ResourceId) -> StoreResult<Vec<Member>>;
    /// The distinct conditions of the triggers of a measurement, to evaluate ahead of a push.
    async fn trigger_conditions(&self, measurement_id: &ResourceId) -> StoreResult<Vec<String>>;
    /// The conditions of the triggers an account created, for its limits.
    async fn conditions_of_owner(&self, owner_id: &ResourceId) -> StoreResult<Vec<String>>;
    /// The number of matching log entries (of one service view, or all) and the window of them.
    async fn logs(
        &self,
        view_id: Option<&ResourceId>,
        filter: &LogFilter,
        window: Option<Window>,
    ) -> StoreResult<(u64, Vec<Member>)>;

    // ----- writes -----

    /// Creates a service view, or a dependency under `parent`.
    async fn create_view(&self, parent: Option<&Ref>, view: NewView) -> StoreResult<View>;
    /// Creates an asset in a service view.
    async fn create_asset(&self, view_id: &ResourceId, asset: NewAsset) -> StoreResult<Asset>;
    /// Creates an attribute of an asset.
    async fn create_attribute(&self, asset_id: &ResourceId, attribute: NewAttribute) -> StoreResult<Attribute>;
    /// Creates a metric.
    async fn create_metric(&self, metric: NewMetric) -> StoreResult<Metric>;
    /// Creates a measurement of an attribute, with its first result if it has one, and
    /// evaluates its objective.
    async fn create_measurement(
        &self,
        attribute_id: &ResourceId,
        measurement: NewMeasurement,
        now: Timestamp,
        conditions: &Arc<ConditionCache>,
    ) -> StoreResult<Measurement>;
    /// Creates a trigger in a service view; it starts `"false"` and is evaluated at once by
    /// the `"false"` rule when its measurement has a result (the outcome from
    /// `evaluations`, computed ahead by the caller on that result).
    async fn create_trigger(
        &self,
        view_id: &ResourceId,
        trigger: NewTrigger,
        now: Timestamp,
        evaluations: Arc<Evaluations>,
    ) -> StoreResult<(Trigger, Vec<LogEntry>)>;
    /// Stores a result (checked against the metric by the caller with [`Store::metric`]),
    /// evaluates the objective and processes every trigger of the measurement (5.3.2), all
    /// in one transaction. The conditions' outcomes come from `evaluations`, computed ahead
    /// of the transaction by the caller (see [`Store::trigger_conditions`]).
    async fn push_result(
        &self,
        measurement_id: &ResourceId,
        result: CheckedResult,
        now: Timestamp,
        evaluations: Arc<Evaluations>,
    ) -> StoreResult<PushOutcome>;
    /// Sets (or with `None` removes) the objective of a measurement and evaluates it.
    async fn set_objective(
        &self,
        measurement_id: &ResourceId,
        condition: Option<String>,
        now: Timestamp,
        conditions: &Arc<ConditionCache>,
    ) -> StoreResult<Measurement>;
    /// Activates or deactivates a user-activated measurement (5.2.11).
    async fn set_state(&self, measurement_id: &ResourceId, state: MeasurementState) -> StoreResult<Measurement>;
    /// The access tags of any resource.
    async fn access_tags(&self, resource: &Ref) -> StoreResult<Vec<String>>;
    /// Replaces the access tags of any resource; with `subtree`, also gives them to
    /// everything below it ([`shared::below`], [`shared::cascade_tags`]), in one transaction.
    async fn set_access_tags(&self, resource: &Ref, tags: Vec<String>, subtree: bool) -> StoreResult<Vec<String>>;
    /// Deletes a resource and everything in its scope; a metric still used is a conflict.
    async fn delete(&self, resource: &Ref) -> StoreResult<()>;
    /// Replaces the webhook secret of an account.
    async fn set_webhook_secret(&self, account_id: &ResourceId, secret: String) -> StoreResult<Account>;

    // ----- the notification outbox -----

    /// Claims up to `limit` pending jobs due at `now`, oldest first, by moving their next
    /// attempt to `lease_until`: another worker does not take them, and if this one dies
    /// they are due again when the lease ends.
    async fn claim_deliveries(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: usize,
    ) -> StoreResult<Vec<DueDelivery>>;
    /// Records how an attempt of a claimed job ended.
    async fn finish_delivery(&self, id: &ResourceId, outcome: DeliveryOutcome, now: Timestamp) -> StoreResult<()>;
    /// Makes every claimed job due again; called at start by a backend's only instance
    /// (jobs it had claimed died with it). Backends shared by several instances rely on
    /// the lease instead and do nothing.
    async fn release_claims(&self, now: Timestamp) -> StoreResult<()>;
    /// When the earliest pending job is due.
    async fn next_delivery_time(&self) -> StoreResult<Option<Timestamp>>;
    /// Every job (in one state, or all), oldest first.
    async fn deliveries(&self, state: Option<DeliveryState>) -> StoreResult<Vec<Delivery>>;
    /// One job.
    async fn delivery(&self, id: &ResourceId) -> StoreResult<Delivery>;
    /// Makes a job pending and due at `now` with a fresh series of attempts.
    async fn retry_delivery(&self, id: &ResourceId, now: Timestamp) -> StoreResult<Delivery>;
    /// Deletes delivered jobs acknowledged before `before`; returns how many.
    async fn prune_deliveries(&self, before: Timestamp) -> StoreResult<u64>;

    // ----- moving a store -----

    /// Everything in the store, in the portable form of [`dump`].
    async fn export(&self) -> StoreResult<dump::Dump>;
    /// Loads a dump into this store, which must be empty (no account, service view or
    /// metric), in one transaction.
    async fn import(&self, dump: dump::Dump) -> StoreResult<()>;
}

/// What every backend computes the same way inside its transactions.
pub mod shared {
    use ctp_model::resources::{
        Delivery, DeliveryState, Kind, LogBody, LogEntry, Measurement, MeasurementState, Trigger,
    };
    use ctp_model::trigger_rules::Alert;
    use ctp_model::{Evaluate, ResourceId, Status, Timestamp};

    use crate::{StoreError, StoreResult};

    /// The status of an objective on a result (or `false` without one).
    pub fn objective_status(
        condition: &str,
        result: Option<&serde_json::Value>,
        now: Timestamp,
        conditions: &dyn Evaluate,
    ) -> Status {
        match result {
            Some(value) => Status::of(&conditions.evaluate(condition, value, now.seconds())),
            None => Status::False,
        }
    }

    /// The objective of a new measurement, evaluated on its first result (`false` without
    /// one), with `now` as its status time.
    pub fn first_objective(
        measurement: &crate::NewMeasurement,
        now: Timestamp,
        conditions: &dyn Evaluate,
    ) -> Option<ctp_model::resources::Evaluated> {
        measurement.objective.as_ref().map(|condition| ctp_model::resources::Evaluated {
            condition: condition.clone(),
            status: objective_status(condition, measurement.result.as_ref().map(|r| &r.value), now, conditions),
            status_update_time: now,
        })
    }

    /// Decodes a stored result.
    pub fn decode_result(raw: &str) -> StoreResult<serde_json::Value> {
        serde_json::from_str(raw).map_err(|e| StoreError::Backend(format!("a stored result is not JSON: {e}")))
    }

    /// The log entry a trigger's alert writes (4.2.8): the result and the trigger's tags, or
    /// the error and the tag `error`.
    pub fn log_entry(trigger: &Trigger, alert: Alert, result: &str, now: Timestamp) -> LogEntry {
        let (body, tags) = match alert {
            Alert::Normal => (LogBody::Result(result.to_owned()), trigger.tags.clone()),
            Alert::Error(message) => (LogBody::Error(message), vec!["error".to_owned()]),
        };
        LogEntry {
            id: ResourceId::generate(),
            view_id: trigger.view_id.clone(),
            trigger_id: trigger.id.clone(),
            creation_time: now,
            body,
            tags,
            access_tags: trigger.access_tags.clone(),
        }
    }

    /// The decision of 5.3.2 for one trigger on a new result (the condition is evaluated
    /// only when the rules say so).
    pub fn trigger_step(
        trigger: &Trigger,
        result: &serde_json::Value,
        now: Timestamp,
        conditions: &dyn Evaluate,
    ) -> ctp_model::TriggerStep {
        let state = ctp_model::TriggerState {
            status: trigger.evaluated.status,
            status_update_time: trigger.evaluated.status_update_time,
            guard_time: trigger.guard_time,
        };
        ctp_model::trigger_rules::process(state, now, || {
            conditions.evaluate(&trigger.evaluated.condition, result, now.seconds())
        })
    }

    /// Rows below a resource, of one table: what a change of access tags applied to a
    /// subtree reaches.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Below {
        /// The table.
        pub table: &'static str,
        /// Whether its rows belong to one customer (triggers, their log entries and
        /// deliveries), so that tags added above are not added to them.
        pub private: bool,
        /// Whether its rows have a change identifier to renew.
        pub has_change_id: bool,
        /// The SQL condition on the table's rows, with `{id}` for the resource's id.
        pub condition: String,
    }

    /// Everything below a resource of `kind`, table by table, parents first: a service view
    /// or dependency has its dependencies (recursively), assets, attributes, measurements,
    /// triggers, log entries and deliveries; an asset its attributes and what is below them;
    /// an attribute its measurements...; a trigger its log entries and deliveries; a log
    /// entry its deliveries. Log entries whose trigger was deleted are reached from their
    /// service view only.
    pub fn below(kind: Kind) -> Vec<Below> {
        let row = |table, private, condition: String| Below {
            table,
            private,
            has_change_id: !matches!(table, "logs" | "deliveries"),
            condition,
        };
        // The measurements below the resource, and the triggers on them.
        let measurements = match kind {
            Kind::ServiceView | Kind::Dependency => "SELECT id FROM measurements WHERE view_id = {id}",
            Kind::Asset => {
                "SELECT m.id FROM measurements m JOIN attributes a ON m.attribute_id = a.id WHERE a.asset_id = {id}"
            }
            Kind::Attribute => "SELECT id FROM measurements WHERE attribute_id = {id}",
            Kind::Measurement => "SELECT CAST({id} AS TEXT)",
            Kind::Trigger => {
                return vec![
                    row("logs", true, "trigger_id = {id}".into()),
                    row("deliveries", true, "trigger_id = {id}".into()),
                ]
            }
            Kind::Log => return vec![row("deliveries", true, "log_id = {id}".into())],
            Kind::Metric | Kind::Account | Kind::Delivery => return Vec::new(),
        };
        let triggers = format!("SELECT id FROM triggers WHERE measurement_id IN ({measurements})");
        let mut rows = Vec::new();
        if matches!(kind, Kind::ServiceView | Kind::Dependency) {
            rows.push(row(
                "views",
                false,
                "id IN (WITH RECURSIVE sub(id) AS (SELECT id FROM views WHERE parent_id = {id} \
                 UNION SELECT v.id FROM views v JOIN sub ON v.parent_id = sub.id) SELECT id FROM sub)"
                    .into(),
            ));
            rows.push(row("assets", false, "view_id = {id}".into()));
            rows.push(row("attributes", false, "asset_id IN (SELECT id FROM assets WHERE view_id = {id})".into()));
        }
        if kind == Kind::Asset {
            rows.push(row("attributes", false, "asset_id = {id}".into()));
        }
        if kind != Kind::Measurement {
            rows.push(row("measurements", false, format!("id IN ({measurements})")));
        }
        rows.push(row("triggers", true, format!("id IN ({triggers})")));
        let (logs, deliveries) = if matches!(kind, Kind::ServiceView | Kind::Dependency) {
            ("view_id = {id}".to_owned(), "view_id = {id}".to_owned())
        } else {
            (format!("trigger_id IN ({triggers})"), format!("trigger_id IN ({triggers})"))
        };
        rows.push(row("logs", true, logs));
        rows.push(row("deliveries", true, deliveries));
        rows
    }

    /// The new access tags of a row below a resource whose tags become `new`: a row of the
    /// provider's (an asset, attribute, measurement, dependency) takes them, as it would
    /// have inherited them at creation; a row `private` to a customer (a trigger, its log
    /// entries and deliveries) keeps those of its tags that are in `new`, so that it is never
    /// opened to another customer. `None` when nothing changes.
    pub fn cascade_tags(new: &[String], row_tags: &[String], private: bool) -> Option<Vec<String>> {
        let tags: Vec<String> =
            if private { row_tags.iter().filter(|t| new.contains(t)).cloned().collect() } else { new.to_vec() };
        (tags != row_tags).then_some(tags)
    }

    /// The table of a resource kind (the same in every backend): its path segment, but for
    /// service views and dependencies, which share `views`.
    pub fn table_of(kind: Kind) -> &'static str {
        match kind {
            Kind::ServiceView | Kind::Dependency => "views",
            other => other.segment(),
        }
    }

    /// The measurement a new trigger of `view_id` watches (`found`, looked up by `wanted`)
    /// must exist, be in that service view and allow triggers.
    pub fn trigger_measurement(
        found: StoreResult<Measurement>,
        wanted: &ResourceId,
        view_id: &ResourceId,
    ) -> StoreResult<Measurement> {
        let measurement =
            found.map_err(|_| StoreError::Invalid(format!("no measurement with id {wanted} in this service view")))?;
        if &measurement.view_id != view_id {
            return Err(StoreError::Invalid(format!(
                "measurement {} is not part of service view {view_id}",
                measurement.id
            )));
        }
        if !measurement.triggers_allowed {
            return Err(StoreError::Invalid(format!(
                "measurement {} does not allow triggers (its createTrigger is null)",
                measurement.id
            )));
        }
        Ok(measurement)
    }

    /// A deactivated measurement takes no result (5.2.11).
    pub fn accepts_results(measurement: &Measurement) -> StoreResult<()> {
        if measurement.state == MeasurementState::Deactivated {
            return Err(StoreError::Conflict(format!(
                "measurement {} is deactivated: it takes no result until it is activated",
                measurement.id
            )));
        }
        Ok(())
    }

    /// Only a user-activated measurement changes state through the API.
    pub fn user_activated(measurement: &Measurement) -> StoreResult<()> {
        if !measurement.user_activated {
            return Err(StoreError::Conflict(format!(
                "measurement {} is not user-activated: its state is managed by the provider",
                measurement.id
            )));
        }
        Ok(())
    }

    /// A metric used by `users` measurements cannot be deleted.
    pub fn metric_unused(metric_id: &ResourceId, users: i64) -> StoreResult<()> {
        if users > 0 {
            return Err(StoreError::Conflict(format!(
                "metric {metric_id} is used by {users} measurement(s); delete them first"
            )));
        }
        Ok(())
    }

    /// A delivered job has nothing to retry.
    pub fn retriable(delivery: &Delivery) -> StoreResult<()> {
        if delivery.state == DeliveryState::Delivered {
            return Err(StoreError::Conflict(format!(
                "delivery {} was delivered; there is nothing to retry",
                delivery.id
            )));
        }
        Ok(())
    }

    /// Counts what makes a store non-empty for `import`: accounts, service views, metrics.
    pub const USED_SQL: &str =
        "SELECT (SELECT COUNT(*) FROM accounts) + (SELECT COUNT(*) FROM views) + (SELECT COUNT(*) FROM metrics)";

    /// An import goes only into an empty store (`used` from [`USED_SQL`]).
    pub fn empty_for_import(used: i64) -> StoreResult<()> {
        if used > 0 {
            return Err(StoreError::Conflict("the store is not empty: import into a new database".into()));
        }
        Ok(())
    }

    /// Whether `ensure_account` must rewrite an existing account.
    pub fn account_differs(existing: &ctp_model::resources::Account, wanted: &crate::NewAccount) -> bool {
        existing.header != wanted.header
            || existing.account_tags != wanted.account_tags
            || existing.access_tags != wanted.access_tags
            || existing.token_hash != wanted.token_hash
    }

    /// The user-activation state machine (5.2.11): the new state of a measurement in
    /// `current` asked to be `requested`, and whether its result is cleared.
    pub fn state_transition(current: MeasurementState, requested: MeasurementState) -> (MeasurementState, bool) {
        match (current, requested) {
            (MeasurementState::Deactivated, MeasurementState::Activated) => (MeasurementState::Pending, false),
            (_, MeasurementState::Deactivated) => (MeasurementState::Deactivated, true),
            (current, _) => (current, false),
        }
    }
}

/// The portable form of a whole store (`ctpd export`, `ctpd import`): every table of the
/// schema both backends share, row by row in creation order, and the change counter.
pub mod dump {
    use serde::{Deserialize, Serialize};

    /// The `format` of a dump.
    pub const FORMAT: &str = "ctpd-export";
    /// The version of the dump format this build reads and writes.
    pub const VERSION: u32 = 1;

    /// How a column is represented in a dump (and in each backend).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum ColumnType {
        /// Text (JSON string).
        Text,
        /// A 64-bit integer (JSON number).
        BigInt,
        /// A 32-bit integer (JSON number).
        Int,
        /// A float (JSON number).
        Real,
        /// A boolean (JSON boolean).
        Bool,
    }

    use ColumnType::{BigInt, Bool, Int, Real, Text};

    /// The tables in the order they are loaded (parents first), with their columns. Every
    /// column may be null where the schema allows it.
    pub const TABLES: &[(&str, &[(&str, ColumnType)])] = &[
        (
            "accounts",
            &[
                ("id", Text),
                ("name", Text),
                ("annotation", Text),
                ("account_tags", Text),
                ("access_tags", Text),
                ("token_hash", Text),
                ("change_id", BigInt),
                ("webhook_secret", Text),
            ],
        ),
        (
            "views",
            &[
                ("id", Text),
                ("parent_kind", Text),
                ("parent_id", Text),
                ("name", Text),
                ("annotation", Text),
                ("provider", Text),
                ("service_class", Text),
                ("change_id", BigInt),
                ("access_tags", Text),
            ],
        ),
        (
            "assets",
            &[
                ("id", Text),
                ("view_id", Text),
                ("name", Text),
                ("annotation", Text),
                ("asset_class", Text),
                ("change_id", BigInt),
                ("access_tags", Text),
            ],
        ),
        (
            "attributes",
            &[
                ("id", Text),
                ("asset_id", Text),
                ("name", Text),
                ("annotation", Text),
                ("change_id", BigInt),
                ("access_tags", Text),
            ],
        ),
        (
            "metrics",
            &[
                ("id", Text),
                ("name", Text),
                ("annotation", Text),
                ("base_metric", Text),
                ("parameters", Text),
                ("result_format", Text),
                ("change_id", BigInt),
                ("access_tags", Text),
            ],
        ),
        (
            "measurements",
            &[
                ("id", Text),
                ("attribute_id", Text),
                ("view_id", Text),
                ("metric_id", Text),
                ("name", Text),
                ("annotation", Text),
                ("result", Text),
                ("objective_condition", Text),
                ("objective_status", Text),
                ("objective_time", BigInt),
                ("triggers_allowed", Bool),
                ("user_activated", Bool),
                ("state", Text),
                ("change_id", BigInt),
                ("access_tags", Text),
            ],
        ),
        (
            "triggers",
            &[
                ("id", Text),
                ("view_id", Text),
                ("measurement_id", Text),
                ("name", Text),
                ("annotation", Text),
                ("condition", Text),
                ("status", Text),
                ("status_time", BigInt),
                ("notification", Text),
                ("guard_time", Real),
                ("tags", Text),
                ("change_id", BigInt),
                ("access_tags", Text),
                ("owner_id", Text),
            ],
        ),
        (
            "logs",
            &[
                ("id", Text),
                ("view_id", Text),
                ("trigger_id", Text),
                ("creation_time", BigInt),
                ("result", Text),
                ("error", Text),
                ("tags", Text),
                ("access_tags", Text),
            ],
        ),
        (
            "deliveries",
            &[
                ("id", Text),
                ("log_id", Text),
                ("trigger_id", Text),
                ("view_id", Text),
                ("owner_id", Text),
                ("target", Text),
                ("state", Text),
                ("attempts", Int),
                ("next_attempt", BigInt),
                ("claimed", Bool),
                ("last_error", Text),
                ("creation_time", BigInt),
                ("delivery_time", BigInt),
                ("access_tags", Text),
            ],
        ),
    ];

    /// A whole store.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Dump {
        /// Always [`FORMAT`].
        pub format: String,
        /// [`VERSION`].
        pub version: u32,
        /// The last change identifier handed out.
        pub change_counter: i64,
        /// The tables, in [`TABLES`] order.
        pub tables: Vec<Table>,
    }

    /// One table: its columns (as in [`TABLES`]) and its rows in creation order.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct Table {
        /// The table's name.
        pub name: String,
        /// Its column names.
        pub columns: Vec<String>,
        /// Its rows, each a value per column.
        pub rows: Vec<Vec<serde_json::Value>>,
    }

    /// One value of a dump, typed by its column.
    #[derive(Debug, Clone, PartialEq)]
    pub enum Cell {
        /// NULL.
        Null,
        /// A [`ColumnType::Text`] value.
        Text(String),
        /// A [`ColumnType::BigInt`] or [`ColumnType::Int`] value.
        Int(i64),
        /// A [`ColumnType::Real`] value.
        Real(f64),
        /// A [`ColumnType::Bool`] value.
        Bool(bool),
    }

    impl Cell {
        /// Reads a dump's JSON value as a value of `column_type`, or says why it is not one.
        pub fn from_json(value: &serde_json::Value, column_type: ColumnType) -> Result<Cell, String> {
            use serde_json::Value;
            Ok(match (value, column_type) {
                (Value::Null, _) => Cell::Null,
                (Value::String(s), ColumnType::Text) => Cell::Text(s.clone()),
                (Value::Number(n), ColumnType::BigInt) => Cell::Int(n.as_i64().ok_or("an integer is out of range")?),
                (Value::Number(n), ColumnType::Int) => {
                    Cell::Int(n.as_i64().filter(|v| i32::try_from(*v).is_ok()).ok_or("an integer is out of range")?)
                }
                (Value::Number(n), ColumnType::Real) => Cell::Real(n.as_f64().ok_or("a number is out of range")?),
                (Value::Bool(b), ColumnType::Bool) => Cell::Bool(*b),
                (other, column_type) => return Err(format!("{other} is not a {column_type:?} value")),
            })
        }

        /// The JSON form of a value.
        pub fn into_json(self) -> serde_json::Value {
            match self {
                Cell::Null => serde_json::Value::Null,
                Cell::Text(s) => s.into(),
                Cell::Int(i) => i.into(),
                Cell::Real(f) => serde_json::Number::from_f64(f).map_or(serde_json::Value::Null, Into::into),
                Cell::Bool(b) => b.into(),
            }
        }
    }

    /// `"a, b, c"`: the column list of a table, for SQL.
    pub fn column_list(columns: &[(&str, ColumnType)]) -> String {
        columns.iter().map(|(c, _)| *c).collect::<Vec<_>>().join(", ")
    }

    impl Dump {
        /// Checks that a dump is of this format and version and has the schema's tables and
        /// columns, in order.
        pub fn check(&self) -> Result<(), String> {
            if self.format != FORMAT || self.version != VERSION {
                return Err(format!(
                    "not a {FORMAT} file of version {VERSION} (format {:?}, version {})",
                    self.format, self.version
                ));
            }
            if self.tables.len() != TABLES.len() {
                return Err(format!("a dump has {} tables, this one {}", TABLES.len(), self.tables.len()));
            }
            for (table, (name, columns)) in self.tables.iter().zip(TABLES) {
                let expected: Vec<&str> = columns.iter().map(|(c, _)| *c).collect();
                if table.name != *name || table.columns != expected {
                    return Err(format!("table {:?} does not have the columns of {name:?}: {expected:?}", table.name));
                }
                for row in &table.rows {
                    if row.len() != expected.len() {
                        return Err(format!("a row of {name} has {} values, not {}", row.len(), expected.len()));
                    }
                    for (value, (column, column_type)) in row.iter().zip(columns.iter()) {
                        Cell::from_json(value, *column_type).map_err(|e| format!("{name}.{column}: {e}"))?;
                    }
                }
            }
            Ok(())
        }
    }
}
