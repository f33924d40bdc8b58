//! The embedded store of ctpd: one SQLite file in WAL mode.
//!
//! Reads run on a small pool of reader connections, directly in the calling task (point
//! reads by primary key take microseconds). Writes go to the single writer thread of
//! [`writer`], which commits concurrent writes together (group commit) with
//! `synchronous = FULL`: a write is acknowledged only once it is on disk.
//!
//! The modules have the names of the PostgreSQL backend's, so the two read side by side:
//! `accounts`, `hierarchy`, `triggers`, `push`, `logs`, `access`, `outbox`, `transfer`
//! (what each method does, in SQL), `changes` (change identifiers), `rows` (row mapping),
//! `schema` (migrations); `writer` and `cache` are this backend's own.

mod access;
mod accounts;
mod audit;
mod authorities;
mod cache;
mod changes;
mod clock;
mod drills;
mod feed;
mod hierarchy;
mod history;
mod ledger;
mod logs;
mod outbox;
mod push;
mod rows;
mod schema;
mod transfer;
mod triggers;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use ctp_model::history::StatusTimeline;
use ctp_model::resources::{
    Account, Asset, Attribute, AuditRecord, Authority, Delivery, DeliveryState, Drill, DrillMessage, Kind, LogEntry,
    Measurement, MeasurementState, Member, Metric, Ref, Trigger, View,
};
use ctp_model::{ConditionCache, Evaluations, ResourceId, Timestamp};
use ctp_store::dump::Dump;
use ctp_store::{
    AuditFilter, AuthorityChange, ClockRound, ClockWork, DeliveryOutcome, DueDelivery, FeedPosition, HistoryEntry,
    HistoryFilter, LogFilter, NewAccount, NewAsset, NewAttribute, NewAuthority, NewDrill, NewMeasurement, NewMetric,
    NewTrigger, NewView, Push, PushOutcome, Store, StoreError, StoreResult, Window,
};
use rusqlite::{Connection, OpenFlags};

use crate::cache::Caches;
use crate::rows::backend;
use crate::writer::Writer;

/// Reader connections kept open between requests.
const MAX_IDLE_READERS: usize = 16;

/// The embedded store.
pub struct SqliteStore {
    path: PathBuf,
    idle_readers: Mutex<Vec<Connection>>,
    writer: Writer,
    /// Accounts (read on every request) and measurements (polled by customers). One ctpd
    /// writes a database file (SQLite's single writer requires it anyway), so its writer
    /// sees every change and keeps them right (see [`cache`]).
    caches: Arc<Caches>,
}

impl SqliteStore {
    /// Opens (creating when missing, with its folder) the database file at `path` and
    /// applies the schema migrations.
    pub fn open(path: &Path) -> StoreResult<Arc<SqliteStore>> {
        private_file(path).map_err(|e| StoreError::backend(format!("creating {}", path.display()), e))?;
        let mut conn = Connection::open(path).map_err(backend)?;
        schema::configure(&conn).map_err(backend)?;
        schema::migrate(&mut conn).map_err(backend)?;
        let caches = Arc::new(Caches::new());
        let writer = Writer::start(conn, Arc::clone(&caches))?;
        Ok(Arc::new(SqliteStore { path: path.to_owned(), idle_readers: Mutex::new(Vec::new()), writer, caches }))
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs a write on the writer thread: one transaction, durably committed, after which
    /// the caches no longer hold anything it changed.
    async fn write<T: Send + 'static>(
        &self,
        operation: impl FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        self.writer.write(operation).await
    }

    /// Runs a read on a pooled reader connection.
    fn read<T>(&self, query: impl FnOnce(&Connection) -> StoreResult<T>) -> StoreResult<T> {
        let idle = self.idle_readers.lock().expect("reader pool lock").pop();
        let conn = match idle {
            Some(conn) => conn,
            None => {
                let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
                let conn = Connection::open_with_flags(&self.path, flags).map_err(backend)?;
                conn.busy_timeout(std::time::Duration::from_secs(10)).map_err(backend)?;
                conn.set_prepared_statement_cache_capacity(128);
                conn
            }
        };
        let result = query(&conn);
        let mut idle = self.idle_readers.lock().expect("reader pool lock");
        if idle.len() < MAX_IDLE_READERS {
            idle.push(conn);
        }
        result
    }
}

/// Creates the database's folder (0700) and file (0600) when they do not exist, and takes
/// the group's and others' rights away from an existing file: it holds token hashes and
/// webhook secrets. SQLite creates its `-wal` and `-shm` files with the file's mode.
fn private_file(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
    if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::DirBuilder::new().recursive(true).mode(0o700).create(folder)?;
    }
    let file = std::fs::OpenOptions::new().create(true).append(true).mode(0o600).open(path)?;
    let mode = file.metadata()?.permissions().mode();
    if mode & 0o077 != 0 {
        file.set_permissions(std::fs::Permissions::from_mode(mode & 0o700))?;
        for suffix in ["-wal", "-shm"] {
            let mut companion = path.as_os_str().to_owned();
            companion.push(suffix);
            if std::path::Path::new(&companion).exists() {
                std::fs::set_permissions(&companion, std::fs::Permissions::from_mode(0o600))?;
            }
        }
    }
    Ok(())
}

/// The trait, method by method: a read or a write of the module that does it.
#[async_trait]
impl Store for SqliteStore {
    async fn account_by_token_hash(&self, token_hash: &str) -> StoreResult<Option<Account>> {
        self.caches
            .account_by_token_hash(token_hash, || self.read(|conn| rows::account_by_token_hash(conn, token_hash)))
    }

    async fn create_account(&self, account: NewAccount) -> StoreResult<Account> {
        self.write(move |conn| accounts::create(conn, &account)).await
    }

    async fn ensure_account(&self, account: NewAccount) -> StoreResult<Account> {
        self.write(move |conn| accounts::ensure(conn, &account)).await
    }

    async fn account(&self, id: &ResourceId) -> StoreResult<Account> {
        self.read(|conn| rows::load_account(conn, id))
    }

    async fn accounts(&self) -> StoreResult<Vec<Member>> {
        self.read(accounts::list)
    }

    async fn delete_account(&self, id: &ResourceId) -> StoreResult<()> {
        self.delete(&Ref { kind: Kind::Account, id: id.clone() }).await
    }

    async fn view(&self, kind: Kind, id: &ResourceId) -> StoreResult<View> {
        self.read(|conn| rows::load_view(conn, kind, id))
    }

    async fn asset(&self, id: &ResourceId) -> StoreResult<Asset> {
        self.read(|conn| rows::load_asset(conn, id))
    }

    async fn attribute(&self, id: &ResourceId) -> StoreResult<Attribute> {
        self.read(|conn| rows::load_attribute(conn, id))
    }

    async fn measurement(&self, id: &ResourceId) -> StoreResult<Measurement> {
        self.caches.measurement(id, || self.read(|conn| rows::load_measurement(conn, id)))
    }

    async fn metric(&self, id: &ResourceId) -> StoreResult<Metric> {
        self.read(|conn| rows::load_metric(conn, id))
    }

    async fn trigger(&self, id: &ResourceId) -> StoreResult<Trigger> {
        self.read(|conn| rows::load_trigger(conn, id))
    }

    async fn log_entry(&self, id: &ResourceId) -> StoreResult<LogEntry> {
        self.read(|conn| rows::load_log(conn, id))
    }

    async fn service_views(&self) -> StoreResult<Vec<Member>> {
        self.read(hierarchy::service_views)
    }

    async fn dependencies(&self, parent: &Ref) -> StoreResult<Vec<Member>> {
        self.read(|conn| hierarchy::dependencies(conn, parent))
    }

    async fn assets(&self, view_id: &ResourceId) -> StoreResult<Vec<Member>> {
        self.read(|conn| hierarchy::members(conn, Kind::Asset, view_id))
    }

    async fn attributes(&self, asset_id: &ResourceId) -> StoreResult<Vec<Member>> {
        self.read(|conn| hierarchy::members(conn, Kind::Attribute, asset_id))
    }

    async fn measurements(&self, attribute_id: &ResourceId) -> StoreResult<Vec<Member>> {
        self.read(|conn| hierarchy::members(conn, Kind::Measurement, attribute_id))
    }

    async fn metrics(&self) -> StoreResult<Vec<Member>> {
        self.read(hierarchy::metrics)
    }

    async fn triggers(&self, view_id: &ResourceId) -> StoreResult<Vec<Member>> {
        self.read(|conn| hierarchy::members(conn, Kind::Trigger, view_id))
    }

    async fn trigger_conditions(&self, measurement_id: &ResourceId) -> StoreResult<Vec<String>> {
        self.read(|conn| triggers::conditions_on(conn, measurement_id))
    }

    async fn conditions_of_owner(&self, owner_id: &ResourceId) -> StoreResult<Vec<String>> {
        self.read(|conn| triggers::conditions_of_owner(conn, owner_id))
    }

    async fn logs(
        &self,
        view_id: Option<&ResourceId>,
        filter: &LogFilter,
        window: Option<Window>,
    ) -> StoreResult<(u64, Vec<Member>)> {
        self.read(|conn| logs::list(conn, view_id, filter, window))
    }

    async fn create_view(&self, parent: Option<&Ref>, view: NewView) -> StoreResult<View> {
        let parent = parent.cloned();
        self.write(move |conn| hierarchy::create_view(conn, parent.as_ref(), &view)).await
    }

    async fn create_asset(&self, view_id: &ResourceId, asset: NewAsset) -> StoreResult<Asset> {
        let view_id = view_id.clone();
        self.write(move |conn| hierarchy::create_asset(conn, &view_id, &asset)).await
    }

    async fn create_attribute(&self, asset_id: &ResourceId, attribute: NewAttribute) -> StoreResult<Attribute> {
        let asset_id = asset_id.clone();
        self.write(move |conn| hierarchy::create_attribute(conn, &asset_id, &attribute)).await
    }

    async fn create_metric(&self, metric: NewMetric) -> StoreResult<Metric> {
        self.write(move |conn| hierarchy::create_metric(conn, &metric)).await
    }

    async fn create_measurement(
        &self,
        attribute_id: &ResourceId,
        measurement: NewMeasurement,
        now: Timestamp,
        conditions: &Arc<ConditionCache>,
    ) -> StoreResult<Measurement> {
        let (attribute_id, conditions) = (attribute_id.clone(), Arc::clone(conditions));
        self.write(move |conn| hierarchy::create_measurement(conn, &attribute_id, &measurement, now, &conditions)).await
    }

    async fn create_trigger(
        &self,
        view_id: &ResourceId,
        trigger: NewTrigger,
        now: Timestamp,
        evaluations: Arc<Evaluations>,
    ) -> StoreResult<(Trigger, Vec<LogEntry>)> {
        let view_id = view_id.clone();
        self.write(move |conn| triggers::create(conn, &view_id, &trigger, now, &evaluations)).await
    }

    async fn history(
        &self,
        measurement_id: &ResourceId,
        filter: &HistoryFilter,
        window: Option<Window>,
    ) -> StoreResult<(u64, Vec<HistoryEntry>)> {
        self.read(|conn| history::list(conn, measurement_id, filter, window))
    }

    async fn status_timelines(
        &self,
        measurement_ids: &[ResourceId],
        since: Timestamp,
    ) -> StoreResult<Vec<StatusTimeline>> {
        self.read(|conn| history::timelines(conn, measurement_ids, since))
    }

    async fn push_results(
        &self,
        pushes: Vec<Push>,
        positions: Vec<FeedPosition>,
        now: Timestamp,
    ) -> StoreResult<Vec<PushOutcome>> {
        self.write(move |conn| {
            let outcomes = pushes
                .iter()
                .map(|push| push::push_result(conn, &push.measurement_id, &push.result, now, &push.evaluations))
                .collect::<StoreResult<Vec<_>>>()?;
            feed::save_positions(conn, &positions)?;
            Ok(outcomes)
        })
        .await
    }

    async fn feed_positions(&self) -> StoreResult<Vec<FeedPosition>> {
        self.read(feed::positions)
    }

    async fn claim_clock_work(&self, now: Timestamp, next: Timestamp, limit: usize) -> StoreResult<Vec<ClockWork>> {
        self.write(move |conn| clock::claim(conn, now, next, limit)).await
    }

    async fn apply_clock_round(&self, round: ClockRound, now: Timestamp) -> StoreResult<Vec<LogEntry>> {
        self.write(move |conn| clock::apply(conn, &round, now)).await
    }

    async fn set_objective(
        &self,
        measurement_id: &ResourceId,
        condition: Option<String>,
        now: Timestamp,
        conditions: &Arc<ConditionCache>,
    ) -> StoreResult<Measurement> {
        let (measurement_id, conditions) = (measurement_id.clone(), Arc::clone(conditions));
        self.write(move |conn| push::set_objective(conn, &measurement_id, condition.as_deref(), now, &conditions)).await
    }

    async fn set_state(&self, measurement_id: &ResourceId, state: MeasurementState) -> StoreResult<Measurement> {
        let measurement_id = measurement_id.clone();
        self.write(move |conn| push::set_state(conn, &measurement_id, state)).await
    }

    async fn access_tags(&self, resource: &Ref) -> StoreResult<Vec<String>> {
        self.read(|conn| access::get(conn, resource))
    }

    async fn set_access_tags(&self, resource: &Ref, tags: Vec<String>, subtree: bool) -> StoreResult<Vec<String>> {
        let resource = resource.clone();
        self.write(move |conn| access::set(conn, &resource, &tags, subtree)).await
    }

    async fn delete(&self, resource: &Ref) -> StoreResult<()> {
        let resource = resource.clone();
        self.write(move |conn| hierarchy::delete(conn, &resource)).await
    }

    async fn set_webhook_secret(&self, account_id: &ResourceId, secret: String) -> StoreResult<Account> {
        let account_id = account_id.clone();
        self.write(move |conn| accounts::set_webhook_secret(conn, &account_id, &secret)).await
    }

    async fn claim_deliveries(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: usize,
    ) -> StoreResult<Vec<DueDelivery>> {
        self.write(move |conn| outbox::claim(conn, now, lease_until, limit)).await
    }

    async fn finish_delivery(&self, id: &ResourceId, outcome: DeliveryOutcome, now: Timestamp) -> StoreResult<()> {
        let id = id.clone();
        self.write(move |conn| outbox::finish(conn, &id, &outcome, now)).await
    }

    async fn release_claims(&self, now: Timestamp) -> StoreResult<()> {
        self.write(move |conn| outbox::release_claims(conn, now)).await
    }

    async fn next_delivery_time(&self) -> StoreResult<Option<Timestamp>> {
        self.read(outbox::next_time)
    }

    async fn deliveries(&self, state: Option<DeliveryState>) -> StoreResult<Vec<Delivery>> {
        self.read(|conn| outbox::list(conn, state))
    }

    async fn delivery(&self, id: &ResourceId) -> StoreResult<Delivery> {
        self.read(|conn| rows::load_delivery(conn, id))
    }

    async fn retry_delivery(&self, id: &ResourceId, now: Timestamp) -> StoreResult<Delivery> {
        let id = id.clone();
        self.write(move |conn| outbox::retry(conn, &id, now)).await
    }

    async fn prune_deliveries(&self, before: Timestamp) -> StoreResult<u64> {
        self.write(move |conn| outbox::prune(conn, before)).await
    }

    async fn prune_history(&self, before: Timestamp, keep: u64) -> StoreResult<u64> {
        self.write(move |conn| history::prune(conn, before, keep)).await
    }

    async fn create_authority(&self, authority: NewAuthority) -> StoreResult<Authority> {
        self.write(move |conn| authorities::create(conn, &authority)).await
    }

    async fn authority(&self, id: &ResourceId) -> StoreResult<Authority> {
        self.read(|conn| authorities::load(conn, id))
    }

    async fn authorities(&self) -> StoreResult<Vec<Authority>> {
        self.read(authorities::list)
    }

    async fn change_authority(
        &self,
        id: &ResourceId,
        change: AuthorityChange,
        now: Timestamp,
    ) -> StoreResult<Authority> {
        let id = id.clone();
        self.write(move |conn| authorities::change(conn, &id, &change, now)).await
    }

    async fn set_signing_required(&self, id: &ResourceId, required: bool) -> StoreResult<()> {
        let id = id.clone();
        self.write(move |conn| authorities::set_signing_required(conn, &id, required)).await
    }

    async fn ledger_key(&self, origin: String, signer: String) -> StoreResult<(String, String)> {
        self.write(move |conn| ledger::key(conn, &origin, &signer)).await
    }

    async fn ledger_size(&self) -> StoreResult<u64> {
        self.read(ledger::size)
    }

    async fn ledger_hashes(&self, indexes: Vec<u64>) -> StoreResult<Vec<ctp_ledger::Hash>> {
        self.read(|conn| ledger::hashes(conn, &indexes))
    }

    async fn ledger_leaves(&self, start: u64, end: u64) -> StoreResult<Vec<Vec<u8>>> {
        self.read(|conn| ledger::leaves(conn, start, end))
    }

    async fn ledger_leaf_of(
        &self,
        kind: ctp_store::ledger::LeafKind,
        record_id: &ResourceId,
    ) -> StoreResult<Option<(u64, Vec<u8>)>> {
        self.read(|conn| ledger::leaf_of(conn, kind, record_id))
    }

    async fn record_audit(&self, record: AuditRecord) -> StoreResult<()> {
        self.write(move |conn| audit::record(conn, &record)).await
    }

    async fn audit_records(
        &self,
        filter: &AuditFilter,
        window: Option<Window>,
    ) -> StoreResult<(u64, Vec<AuditRecord>)> {
        self.read(|conn| audit::list(conn, filter, window))
    }

    async fn audit_record(&self, id: &ResourceId) -> StoreResult<AuditRecord> {
        self.read(|conn| audit::load(conn, id))
    }

    async fn start_drill(&self, drill: NewDrill, now: Timestamp) -> StoreResult<Drill> {
        self.write(move |conn| drills::start(conn, &drill, now)).await
    }

    async fn drill(&self, id: &ResourceId) -> StoreResult<Drill> {
        self.read(|conn| drills::load(conn, id))
    }

    async fn drills(&self, view_id: Option<&ResourceId>) -> StoreResult<Vec<Drill>> {
        self.read(|conn| drills::list(conn, view_id))
    }

    async fn acknowledge_drill(
        &self,
        drill_id: &ResourceId,
        token: &str,
        by: Option<String>,
        now: Timestamp,
    ) -> StoreResult<DrillMessage> {
        let (drill_id, token) = (drill_id.clone(), token.to_owned());
        self.write(move |conn| drills::acknowledge(conn, &drill_id, &token, by.as_deref(), now)).await
    }

    async fn export(&self) -> StoreResult<Dump> {
        self.read(transfer::export)
    }

    async fn import(&self, dump: Dump) -> StoreResult<()> {
        dump.check().map_err(StoreError::Invalid)?;
        self.write(move |conn| transfer::import(conn, &dump)).await
    }
}
