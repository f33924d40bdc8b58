//! The storage trait: one method, one transaction.

use std::sync::Arc;

use async_trait::async_trait;
use ctp_model::resources::{
    Account, Asset, Attribute, AuditRecord, Authority, Delivery, DeliveryState, Drill, DrillMessage, Kind, LogEntry,
    Measurement, MeasurementState, Member, Metric, Ref, Trigger, View,
};
use ctp_model::{CheckedResult, ConditionCache, Evaluations, ResourceId, Timestamp};

use crate::dump;
use crate::error::StoreResult;
use crate::inputs::{
    AuditFilter, AuthorityChange, ClockRound, ClockWork, DeliveryOutcome, DueDelivery, FeedPosition, HistoryEntry,
    HistoryFilter, LogFilter, NewAccount, NewAsset, NewAttribute, NewAuthority, NewDrill, NewMeasurement, NewMetric,
    NewTrigger, NewView, Push, PushOutcome, Window,
};

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

    /// The number of entries of a measurement's history within `filter` and the window of
    /// them, oldest first; an unknown measurement is [`crate::StoreError::NotFound`].
    async fn history(
        &self,
        measurement_id: &ResourceId,
        filter: &HistoryFilter,
        window: Option<Window>,
    ) -> StoreResult<(u64, Vec<HistoryEntry>)>;
    /// For each of `measurement_ids` (in that order), its changes of standing at or after
    /// `since` and the last one before (unknown ids give empty timelines).
    async fn status_timelines(
        &self,
        measurement_ids: &[ResourceId],
        since: Timestamp,
    ) -> StoreResult<Vec<ctp_model::history::StatusTimeline>>;

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
    ) -> StoreResult<PushOutcome> {
        let push = Push { measurement_id: measurement_id.clone(), result, evaluations };
        let mut outcomes = self.push_results(vec![push], Vec::new(), now).await?;
        outcomes.pop().ok_or_else(|| crate::StoreError::broken("a push of one result gave no outcome"))
    }
    /// Stores several results as [`Store::push_result`] does each, and the positions of the
    /// feed sources they came from, all in one transaction: all or nothing. Outcomes in the
    /// order of `pushes`.
    async fn push_results(
        &self,
        pushes: Vec<Push>,
        positions: Vec<FeedPosition>,
        now: Timestamp,
    ) -> StoreResult<Vec<PushOutcome>>;
    /// The stored positions of the feed's file sources.
    async fn feed_positions(&self) -> StoreResult<Vec<FeedPosition>>;
    /// Claims up to `limit` measurements whose conditions may read the clock and are due at
    /// `now` (watched since an objective or a trigger was set on them), making them due
    /// again at `next`; on PostgreSQL, rows another instance is claiming are skipped, so each
    /// is evaluated once per round across instances.
    async fn claim_clock_work(&self, now: Timestamp, next: Timestamp, limit: usize) -> StoreResult<Vec<ClockWork>>;
    /// Applies a clock round in one transaction: for each item, the objective (if it reads
    /// the clock) and the clock-reading triggers on the measurement's current result, by the
    /// rules of a push ([`crate::rules::clock_objective`], [`crate::rules::clock_step`]);
    /// statuses that do not change are not written. Returns the log entries written.
    async fn apply_clock_round(&self, round: ClockRound, now: Timestamp) -> StoreResult<Vec<LogEntry>>;
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
    /// everything below it (`ctp_store_sql::below`, [`crate::rules::cascade_tags`]), in one transaction.
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
    /// Deletes the history entries older than `before` and those beyond the newest `keep`
    /// of each measurement; returns how many were deleted.
    async fn prune_history(&self, before: Timestamp, keep: u64) -> StoreResult<u64>;

    // ----- authorities and signed results (issue 14) -----

    /// Registers an authority.
    async fn create_authority(&self, authority: NewAuthority) -> StoreResult<Authority>;
    /// One authority; an unknown id is [`crate::StoreError::Missing`].
    async fn authority(&self, id: &ResourceId) -> StoreResult<Authority>;
    /// Every authority, in registration order.
    async fn authorities(&self) -> StoreResult<Vec<Authority>>;
    /// Adds or retires a key, or retires the authority, in one transaction.
    async fn change_authority(
        &self,
        id: &ResourceId,
        change: AuthorityChange,
        now: Timestamp,
    ) -> StoreResult<Authority>;
    /// Makes a measurement or a metric require signed results, or not.
    async fn set_signing_required(&self, id: &ResourceId, required: bool) -> StoreResult<()>;

    // ----- the transparency log (issue 14) -----

    /// The log's origin and the text of its note signer key: those stored, or on the first
    /// call ever these, stored (so that every instance signs with the same key).
    async fn ledger_key(&self, origin: String, signer: String) -> StoreResult<(String, String)>;
    /// How many leaves the log has.
    async fn ledger_size(&self) -> StoreResult<u64>;
    /// Stored hashes of the tree by index (see `ctp_ledger::stored_hash_index`); each must
    /// exist.
    async fn ledger_hashes(&self, indexes: Vec<u64>) -> StoreResult<Vec<ctp_ledger::Hash>>;
    /// The leaves with indexes `start..end` (those that exist), in order.
    async fn ledger_leaves(&self, start: u64, end: u64) -> StoreResult<Vec<Vec<u8>>>;
    /// The newest leaf recording `record_id` (a measurement's result, a log entry): its
    /// index and bytes.
    async fn ledger_leaf_of(
        &self,
        kind: crate::ledger::LeafKind,
        record_id: &ResourceId,
    ) -> StoreResult<Option<(u64, Vec<u8>)>>;

    // ----- the audit trail (issue 14) -----

    /// Stores an audit record and appends its leaf to the transparency log, in one
    /// transaction.
    async fn record_audit(&self, record: AuditRecord) -> StoreResult<()>;
    /// The number of matching audit records and the window of them, oldest first.
    async fn audit_records(&self, filter: &AuditFilter, window: Option<Window>)
        -> StoreResult<(u64, Vec<AuditRecord>)>;
    /// One audit record; an unknown id is [`crate::StoreError::Missing`].
    async fn audit_record(&self, id: &ResourceId) -> StoreResult<AuditRecord>;

    // ----- drills (issue 13) -----

    /// Starts a drill in one transaction: for each message whose trigger is still in the
    /// service view with a notification, a log entry tagged `drill` (statuses untouched),
    /// its outbox job and the drill's record of it. A drill left without a message is a
    /// 400 and nothing is stored.
    async fn start_drill(&self, drill: NewDrill, now: Timestamp) -> StoreResult<Drill>;
    /// A drill, with each message's delivery job as it stands.
    async fn drill(&self, id: &ResourceId) -> StoreResult<Drill>;
    /// Every drill (of one service view, or all), oldest first.
    async fn drills(&self, view_id: Option<&ResourceId>) -> StoreResult<Vec<Drill>>;
    /// Records that a person acknowledged the message of `drill_id` whose token is `token`
    /// (compared in constant time); the first acknowledgement is kept. An unknown drill or
    /// token is not found.
    async fn acknowledge_drill(
        &self,
        drill_id: &ResourceId,
        token: &str,
        by: Option<String>,
        now: Timestamp,
    ) -> StoreResult<DrillMessage>;

    // ----- moving a store -----

    /// Everything in the store, in the portable form of [`dump`].
    async fn export(&self) -> StoreResult<dump::Dump>;
    /// Loads a dump into this store, which must be empty (no account, service view or
    /// metric), in one transaction.
    async fn import(&self, dump: dump::Dump) -> StoreResult<()>;
}
