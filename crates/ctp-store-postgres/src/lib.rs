//! The PostgreSQL store of ctpd: a database that several ctpd instances share.
//!
//! Every method runs in one transaction (READ COMMITTED) taken from a connection pool.
//! Where instances could race, rows are locked: a push, a new trigger or a state change
//! locks its measurement (`FOR UPDATE`), so the rules of 5.3.2 see the triggers of a
//! measurement as one server would; outbox jobs are claimed with `FOR UPDATE SKIP LOCKED`,
//! so each is attempted by one instance at a time. Change identifiers come from one
//! sequence, so no value is ever handed out twice.
//!
//! Writes that take row locks in different orders (a push locks its measurement, then
//! its ancestors; a deletion its ancestors, then what it deletes) can deadlock: PostgreSQL
//! aborts one of them, and the store runs that transaction again ([`retriable`]), so a
//! caller never sees a deadlock or a serialization failure.
//!
//! This file holds the store, its connection and transaction plumbing, and the `Store`
//! methods as calls into the modules, which the SQLite store has under the same names:
//! `schema` (migrations), `rows` (rows to records), `changes` (change identifiers),
//! `accounts`, `hierarchy` (views to measurements, deletion), `triggers` (5.3.2),
//! `push` (results, objectives, states), `logs`, `access` (access tags), `outbox`
//! (notification jobs) and `transfer` (export and import).

mod access;
mod accounts;
mod audit;
mod authorities;
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

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

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
use deadpool_postgres::{Object, Pool};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

/// The PostgreSQL store.
pub struct PostgresStore {
    pool: Pool,
}

/// How many times a transaction is tried when PostgreSQL aborts it as a deadlock or a
/// serialization failure.
const ATTEMPTS: u32 = 5;

/// Whether `error` is one PostgreSQL asks to retry: a serialization failure (SQLSTATE
/// 40001) or a deadlock (40P01) aborted a transaction that would succeed if run again.
pub fn retriable(error: &StoreError) -> bool {
    let StoreError::Backend { cause: Some(cause), .. } = error else { return false };
    let code = cause.downcast_ref::<tokio_postgres::Error>().and_then(tokio_postgres::Error::code);
    code.is_some_and(|code| [SqlState::T_R_SERIALIZATION_FAILURE, SqlState::T_R_DEADLOCK_DETECTED].contains(code))
}

/// The pause after failed attempt `attempt` (1, 2...): a few milliseconds, doubling,
/// randomized so that the transactions that collided do not collide again.
fn backoff(attempt: u32) -> Duration {
    use std::hash::{BuildHasher, Hasher};
    let base = 2u64 << attempt.min(4); // 4, 8, 16, 32 ms
    let random = std::hash::RandomState::new().build_hasher().finish();
    Duration::from_millis(base / 2 + random % base)
}

/// What a transaction body may borrow: what its caller holds (`'env`), for as long as the
/// transaction (`'a`) lasts. Zero-sized; it only tells the compiler that `'env: 'a`.
type Scope<'a, 'env> = PhantomData<&'a &'env ()>;

/// The future of a transaction body.
type Body<'a, T> = Pin<Box<dyn Future<Output = StoreResult<T>> + Send + 'a>>;

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://user@host/db`) and applies the
    /// schema migrations.
    pub async fn open(url: &str) -> StoreResult<Arc<PostgresStore>> {
        let store = PostgresStore::connect(url)?;
        schema::migrate(&store.pool).await?;
        Ok(Arc::new(store))
    }

    /// Applies the schema migrations only (`ctpd migrate`); returns how many were applied.
    pub async fn migrate(url: &str) -> StoreResult<usize> {
        schema::migrate(&PostgresStore::connect(url)?.pool).await
    }

    fn connect(url: &str) -> StoreResult<PostgresStore> {
        let mut config = deadpool_postgres::Config::new();
        config.url = Some(url.to_owned());
        config.pool = Some(deadpool_postgres::PoolConfig::new(16));
        let pool = config
            .create_pool(Some(deadpool_postgres::Runtime::Tokio1), tokio_postgres::NoTls)
            .map_err(|e| StoreError::backend("reading the database URL", e))?;
        Ok(PostgresStore { pool })
    }

    async fn client(&self) -> StoreResult<Object> {
        self.pool.get().await.map_err(|e| StoreError::backend("connecting to PostgreSQL", e))
    }

    /// Runs `body` in a transaction, committed when it succeeds and rolled back when it
    /// fails; when PostgreSQL aborted it as a deadlock or a serialization failure, runs it
    /// again (up to [`ATTEMPTS`] times, after a short random pause). So `body` must be
    /// runnable again: it borrows its inputs.
    async fn transaction<'env, T, F>(&self, body: F) -> StoreResult<T>
    where
        F: for<'a> Fn(&'a Tx<'a>, Scope<'a, 'env>) -> Body<'a, T> + Send + Sync,
        T: Send,
    {
        let mut attempt = 1;
        loop {
            match self.attempt(&body).await {
                Err(error) if attempt < ATTEMPTS && retriable(&error) => {
                    tokio::time::sleep(backoff(attempt)).await;
                    attempt += 1;
                }
                outcome => return outcome,
            }
        }
    }

    async fn attempt<'env, T, F>(&self, body: &F) -> StoreResult<T>
    where
        F: for<'a> Fn(&'a Tx<'a>, Scope<'a, 'env>) -> Body<'a, T> + Send + Sync,
        T: Send,
    {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.context("beginning a transaction")?;
        let outcome = body(&Tx::Transaction(&transaction), PhantomData).await;
        if outcome.is_ok() {
            transaction.commit().await.context("committing")?;
        }
        // Dropped uncommitted, the transaction is rolled back.
        outcome
    }

    /// Runs `body` on a pooled connection without a transaction: for reads of a single
    /// statement, which are atomic anyway.
    async fn read<'env, T, F>(&self, body: F) -> StoreResult<T>
    where
        F: for<'a> Fn(&'a Tx<'a>, Scope<'a, 'env>) -> Body<'a, T> + Send + Sync,
        T: Send,
    {
        let client = self.client().await?;
        body(&Tx::Client(&client), PhantomData).await
    }
}

/// Where queries run: a transaction, or (for reads of one statement) a connection of the
/// pool directly, which saves the BEGIN and COMMIT round trips. Both cache statements.
pub(crate) enum Tx<'a> {
    /// Autocommit on a pooled connection.
    Client(&'a deadpool_postgres::ClientWrapper),
    /// A transaction.
    Transaction(&'a deadpool_postgres::Transaction<'a>),
}

/// Query parameters.
pub(crate) type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// The driver's error turned into a backend failure, with what the store was doing.
pub(crate) trait Context<T> {
    /// A backend failure while doing `what`, caused by the driver's error.
    fn context(self, what: &str) -> StoreResult<T>;
}

impl<T> Context<T> for Result<T, tokio_postgres::Error> {
    fn context(self, what: &str) -> StoreResult<T> {
        self.map_err(|e| StoreError::backend(what, e))
    }
}

impl Tx<'_> {
    async fn statement(&self, sql: &str) -> Result<tokio_postgres::Statement, tokio_postgres::Error> {
        match self {
            Tx::Client(client) => client.prepare_cached(sql).await,
            Tx::Transaction(tx) => tx.prepare_cached(sql).await,
        }
    }

    /// The rows `sql` selects.
    pub(crate) async fn query(&self, sql: &str, params: Params<'_>) -> Result<Vec<Row>, tokio_postgres::Error> {
        let statement = self.statement(sql).await?;
        match self {
            Tx::Client(client) => client.query(&statement, params).await,
            Tx::Transaction(tx) => tx.query(&statement, params).await,
        }
    }

    /// The row `sql` selects, if any (more than one is an error).
    pub(crate) async fn query_opt(&self, sql: &str, params: Params<'_>) -> Result<Option<Row>, tokio_postgres::Error> {
        let statement = self.statement(sql).await?;
        match self {
            Tx::Client(client) => client.query_opt(&statement, params).await,
            Tx::Transaction(tx) => tx.query_opt(&statement, params).await,
        }
    }

    /// The one row `sql` selects (an aggregate).
    pub(crate) async fn query_one(&self, sql: &str, params: Params<'_>) -> Result<Row, tokio_postgres::Error> {
        let statement = self.statement(sql).await?;
        match self {
            Tx::Client(client) => client.query_one(&statement, params).await,
            Tx::Transaction(tx) => tx.query_one(&statement, params).await,
        }
    }

    /// Runs `sql`; returns how many rows it changed.
    pub(crate) async fn execute(&self, sql: &str, params: Params<'_>) -> Result<u64, tokio_postgres::Error> {
        let statement = self.statement(sql).await?;
        match self {
            Tx::Client(client) => client.execute(&statement, params).await,
            Tx::Transaction(tx) => tx.execute(&statement, params).await,
        }
    }

    /// Runs statements without parameters, such as a migration's text.
    pub(crate) async fn batch(&self, sql: &str) -> Result<(), tokio_postgres::Error> {
        match self {
            Tx::Client(client) => client.batch_execute(sql).await,
            Tx::Transaction(tx) => tx.batch_execute(sql).await,
        }
    }
}

#[async_trait]
impl Store for PostgresStore {
    async fn account_by_token_hash(&self, token_hash: &str) -> StoreResult<Option<Account>> {
        self.read(|tx, _| Box::pin(rows::account_by_token_hash(tx, token_hash))).await
    }

    async fn create_account(&self, account: NewAccount) -> StoreResult<Account> {
        self.transaction(|tx, _| Box::pin(accounts::create(tx, &account))).await
    }

    async fn ensure_account(&self, account: NewAccount) -> StoreResult<Account> {
        self.transaction(|tx, _| Box::pin(accounts::ensure(tx, &account))).await
    }

    async fn account(&self, id: &ResourceId) -> StoreResult<Account> {
        self.read(|tx, _| Box::pin(rows::load_account(tx, id))).await
    }

    async fn accounts(&self) -> StoreResult<Vec<Member>> {
        self.read(|tx, _| Box::pin(accounts::list(tx))).await
    }

    async fn delete_account(&self, id: &ResourceId) -> StoreResult<()> {
        self.delete(&Ref { kind: Kind::Account, id: id.clone() }).await
    }

    async fn view(&self, kind: Kind, id: &ResourceId) -> StoreResult<View> {
        self.read(|tx, _| Box::pin(rows::load_view(tx, kind, id))).await
    }

    async fn asset(&self, id: &ResourceId) -> StoreResult<Asset> {
        self.read(|tx, _| Box::pin(rows::load_asset(tx, id))).await
    }

    async fn attribute(&self, id: &ResourceId) -> StoreResult<Attribute> {
        self.read(|tx, _| Box::pin(rows::load_attribute(tx, id))).await
    }

    async fn measurement(&self, id: &ResourceId) -> StoreResult<Measurement> {
        self.read(|tx, _| Box::pin(rows::load_measurement(tx, id))).await
    }

    async fn metric(&self, id: &ResourceId) -> StoreResult<Metric> {
        self.read(|tx, _| Box::pin(rows::load_metric(tx, id))).await
    }

    async fn trigger(&self, id: &ResourceId) -> StoreResult<Trigger> {
        self.read(|tx, _| Box::pin(rows::load_trigger(tx, id))).await
    }

    async fn log_entry(&self, id: &ResourceId) -> StoreResult<LogEntry> {
        self.read(|tx, _| Box::pin(logs::entry(tx, id))).await
    }

    async fn service_views(&self) -> StoreResult<Vec<Member>> {
        self.read(|tx, _| Box::pin(hierarchy::service_views(tx))).await
    }

    async fn dependencies(&self, parent: &Ref) -> StoreResult<Vec<Member>> {
        self.read(|tx, _| Box::pin(hierarchy::dependencies(tx, parent))).await
    }

    async fn assets(&self, view_id: &ResourceId) -> StoreResult<Vec<Member>> {
        self.read(|tx, _| Box::pin(hierarchy::members(tx, Kind::Asset, view_id))).await
    }

    async fn attributes(&self, asset_id: &ResourceId) -> StoreResult<Vec<Member>> {
        self.read(|tx, _| Box::pin(hierarchy::members(tx, Kind::Attribute, asset_id))).await
    }

    async fn measurements(&self, attribute_id: &ResourceId) -> StoreResult<Vec<Member>> {
        self.read(|tx, _| Box::pin(hierarchy::members(tx, Kind::Measurement, attribute_id))).await
    }

    async fn metrics(&self) -> StoreResult<Vec<Member>> {
        self.read(|tx, _| Box::pin(hierarchy::metrics(tx))).await
    }

    async fn triggers(&self, view_id: &ResourceId) -> StoreResult<Vec<Member>> {
        self.read(|tx, _| Box::pin(hierarchy::members(tx, Kind::Trigger, view_id))).await
    }

    async fn trigger_conditions(&self, measurement_id: &ResourceId) -> StoreResult<Vec<String>> {
        self.read(|tx, _| Box::pin(triggers::trigger_conditions(tx, measurement_id))).await
    }

    async fn conditions_of_owner(&self, owner_id: &ResourceId) -> StoreResult<Vec<String>> {
        self.read(|tx, _| Box::pin(triggers::conditions_of_owner(tx, owner_id))).await
    }

    async fn logs(
        &self,
        view_id: Option<&ResourceId>,
        filter: &LogFilter,
        window: Option<Window>,
    ) -> StoreResult<(u64, Vec<Member>)> {
        self.transaction(|tx, _| Box::pin(logs::list(tx, view_id, filter, window))).await
    }

    async fn create_view(&self, parent: Option<&Ref>, view: NewView) -> StoreResult<View> {
        self.transaction(|tx, _| Box::pin(hierarchy::create_view(tx, parent, &view))).await
    }

    async fn create_asset(&self, view_id: &ResourceId, asset: NewAsset) -> StoreResult<Asset> {
        self.transaction(|tx, _| Box::pin(hierarchy::create_asset(tx, view_id, &asset))).await
    }

    async fn create_attribute(&self, asset_id: &ResourceId, attribute: NewAttribute) -> StoreResult<Attribute> {
        self.transaction(|tx, _| Box::pin(hierarchy::create_attribute(tx, asset_id, &attribute))).await
    }

    async fn create_metric(&self, metric: NewMetric) -> StoreResult<Metric> {
        self.transaction(|tx, _| Box::pin(hierarchy::create_metric(tx, &metric))).await
    }

    async fn create_measurement(
        &self,
        attribute_id: &ResourceId,
        measurement: NewMeasurement,
        now: Timestamp,
        conditions: &Arc<ConditionCache>,
    ) -> StoreResult<Measurement> {
        let conditions = conditions.as_ref();
        self.transaction(|tx, _| {
            Box::pin(hierarchy::create_measurement(tx, attribute_id, &measurement, now, conditions))
        })
        .await
    }

    async fn create_trigger(
        &self,
        view_id: &ResourceId,
        trigger: NewTrigger,
        now: Timestamp,
        evaluations: Arc<Evaluations>,
    ) -> StoreResult<(Trigger, Vec<LogEntry>)> {
        let conditions = evaluations.as_ref();
        self.transaction(|tx, _| Box::pin(triggers::create_trigger(tx, view_id, &trigger, now, conditions))).await
    }

    async fn history(
        &self,
        measurement_id: &ResourceId,
        filter: &HistoryFilter,
        window: Option<Window>,
    ) -> StoreResult<(u64, Vec<HistoryEntry>)> {
        self.transaction(|tx, _| Box::pin(history::list(tx, measurement_id, filter, window))).await
    }

    async fn status_timelines(
        &self,
        measurement_ids: &[ResourceId],
        since: Timestamp,
    ) -> StoreResult<Vec<StatusTimeline>> {
        self.read(|tx, _| Box::pin(history::timelines(tx, measurement_ids, since))).await
    }

    async fn push_results(
        &self,
        pushes: Vec<Push>,
        positions: Vec<FeedPosition>,
        now: Timestamp,
    ) -> StoreResult<Vec<PushOutcome>> {
        let (pushes, positions) = (&pushes, &positions);
        self.transaction(|tx, _| {
            Box::pin(async move {
                let mut outcomes = Vec::with_capacity(pushes.len());
                for push in pushes {
                    let conditions = push.evaluations.as_ref();
                    outcomes.push(push::push_result(tx, &push.measurement_id, &push.result, now, conditions).await?);
                }
                feed::save_positions(tx, positions).await?;
                Ok(outcomes)
            })
        })
        .await
    }

    async fn feed_positions(&self) -> StoreResult<Vec<FeedPosition>> {
        self.read(|tx, _| Box::pin(feed::positions(tx))).await
    }

    async fn claim_clock_work(&self, now: Timestamp, next: Timestamp, limit: usize) -> StoreResult<Vec<ClockWork>> {
        self.transaction(|tx, _| Box::pin(clock::claim(tx, now, next, limit))).await
    }

    async fn apply_clock_round(&self, round: ClockRound, now: Timestamp) -> StoreResult<Vec<LogEntry>> {
        let round = &round;
        self.transaction(|tx, _| Box::pin(clock::apply(tx, round, now))).await
    }

    async fn set_objective(
        &self,
        measurement_id: &ResourceId,
        condition: Option<String>,
        now: Timestamp,
        conditions: &Arc<ConditionCache>,
    ) -> StoreResult<Measurement> {
        let (condition, conditions) = (condition.as_deref(), conditions.as_ref());
        self.transaction(|tx, _| Box::pin(push::set_objective(tx, measurement_id, condition, now, conditions))).await
    }

    async fn set_state(&self, measurement_id: &ResourceId, state: MeasurementState) -> StoreResult<Measurement> {
        self.transaction(|tx, _| Box::pin(push::set_state(tx, measurement_id, state))).await
    }

    async fn access_tags(&self, resource: &Ref) -> StoreResult<Vec<String>> {
        self.transaction(|tx, _| Box::pin(access::access_tags(tx, resource))).await
    }

    async fn set_access_tags(&self, resource: &Ref, tags: Vec<String>, subtree: bool) -> StoreResult<Vec<String>> {
        self.transaction(|tx, _| Box::pin(access::set_access_tags(tx, resource, &tags, subtree))).await?;
        Ok(tags)
    }

    async fn delete(&self, resource: &Ref) -> StoreResult<()> {
        self.transaction(|tx, _| Box::pin(hierarchy::delete(tx, resource))).await
    }

    async fn set_webhook_secret(&self, account_id: &ResourceId, secret: String) -> StoreResult<Account> {
        self.transaction(|tx, _| Box::pin(accounts::set_webhook_secret(tx, account_id, &secret))).await
    }

    async fn claim_deliveries(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: usize,
    ) -> StoreResult<Vec<DueDelivery>> {
        self.transaction(|tx, _| Box::pin(outbox::claim(tx, now, lease_until, limit))).await
    }

    async fn finish_delivery(&self, id: &ResourceId, outcome: DeliveryOutcome, now: Timestamp) -> StoreResult<()> {
        self.transaction(|tx, _| Box::pin(outbox::finish(tx, id, &outcome, now))).await
    }

    /// Several instances share this store: a job claimed by a dead instance is due again
    /// when its lease ends, and one instance's start must not take the others' jobs.
    async fn release_claims(&self, _now: Timestamp) -> StoreResult<()> {
        Ok(())
    }

    async fn next_delivery_time(&self) -> StoreResult<Option<Timestamp>> {
        self.read(|tx, _| Box::pin(outbox::next_time(tx))).await
    }

    async fn deliveries(&self, state: Option<DeliveryState>) -> StoreResult<Vec<Delivery>> {
        self.read(|tx, _| Box::pin(outbox::list(tx, state))).await
    }

    async fn delivery(&self, id: &ResourceId) -> StoreResult<Delivery> {
        self.read(|tx, _| Box::pin(rows::load_delivery(tx, id))).await
    }

    async fn retry_delivery(&self, id: &ResourceId, now: Timestamp) -> StoreResult<Delivery> {
        self.transaction(|tx, _| Box::pin(outbox::retry(tx, id, now))).await
    }

    async fn prune_deliveries(&self, before: Timestamp) -> StoreResult<u64> {
        self.transaction(|tx, _| Box::pin(outbox::prune(tx, before))).await
    }

    async fn prune_history(&self, before: Timestamp, keep: u64) -> StoreResult<u64> {
        self.transaction(|tx, _| Box::pin(history::prune(tx, before, keep))).await
    }

    async fn create_authority(&self, authority: NewAuthority) -> StoreResult<Authority> {
        let authority = &authority;
        self.transaction(|tx, _| Box::pin(authorities::create(tx, authority))).await
    }

    async fn authority(&self, id: &ResourceId) -> StoreResult<Authority> {
        self.read(|tx, _| Box::pin(authorities::load(tx, id, false))).await
    }

    async fn authorities(&self) -> StoreResult<Vec<Authority>> {
        self.read(|tx, _| Box::pin(authorities::list(tx))).await
    }

    async fn change_authority(
        &self,
        id: &ResourceId,
        change: AuthorityChange,
        now: Timestamp,
    ) -> StoreResult<Authority> {
        let change = &change;
        self.transaction(|tx, _| Box::pin(authorities::change(tx, id, change, now))).await
    }

    async fn set_signing_required(&self, id: &ResourceId, required: bool) -> StoreResult<()> {
        self.transaction(|tx, _| Box::pin(authorities::set_signing_required(tx, id, required))).await
    }

    async fn ledger_key(&self, origin: String, signer: String) -> StoreResult<(String, String)> {
        let (origin, signer) = (&origin, &signer);
        self.transaction(|tx, _| Box::pin(ledger::key(tx, origin, signer))).await
    }

    async fn ledger_size(&self) -> StoreResult<u64> {
        self.read(|tx, _| Box::pin(ledger::size(tx))).await
    }

    async fn ledger_hashes(&self, indexes: Vec<u64>) -> StoreResult<Vec<ctp_ledger::Hash>> {
        let indexes = &indexes;
        self.read(|tx, _| Box::pin(ledger::hashes(tx, indexes))).await
    }

    async fn ledger_leaves(&self, start: u64, end: u64) -> StoreResult<Vec<Vec<u8>>> {
        self.read(|tx, _| Box::pin(ledger::leaves(tx, start, end))).await
    }

    async fn ledger_leaf_of(
        &self,
        kind: ctp_store::ledger::LeafKind,
        record_id: &ResourceId,
    ) -> StoreResult<Option<(u64, Vec<u8>)>> {
        self.read(|tx, _| Box::pin(ledger::leaf_of(tx, kind, record_id))).await
    }

    async fn record_audit(&self, record: AuditRecord) -> StoreResult<()> {
        let record = &record;
        self.transaction(|tx, _| Box::pin(audit::record(tx, record))).await
    }

    async fn audit_records(
        &self,
        filter: &AuditFilter,
        window: Option<Window>,
    ) -> StoreResult<(u64, Vec<AuditRecord>)> {
        self.read(|tx, _| Box::pin(audit::list(tx, filter, window))).await
    }

    async fn audit_record(&self, id: &ResourceId) -> StoreResult<AuditRecord> {
        self.read(|tx, _| Box::pin(audit::load(tx, id))).await
    }

    async fn start_drill(&self, drill: NewDrill, now: Timestamp) -> StoreResult<Drill> {
        let drill = &drill;
        self.transaction(|tx, _| Box::pin(drills::start(tx, drill, now))).await
    }

    async fn drill(&self, id: &ResourceId) -> StoreResult<Drill> {
        self.read(|tx, _| Box::pin(drills::load(tx, id))).await
    }

    async fn drills(&self, view_id: Option<&ResourceId>) -> StoreResult<Vec<Drill>> {
        self.read(|tx, _| Box::pin(drills::list(tx, view_id))).await
    }

    async fn acknowledge_drill(
        &self,
        drill_id: &ResourceId,
        token: &str,
        by: Option<String>,
        now: Timestamp,
    ) -> StoreResult<DrillMessage> {
        let by = by.as_deref();
        self.transaction(|tx, _| Box::pin(drills::acknowledge(tx, drill_id, token, by, now))).await
    }

    async fn export(&self) -> StoreResult<Dump> {
        self.transaction(|tx, _| Box::pin(transfer::export(tx))).await
    }

    async fn import(&self, dump: Dump) -> StoreResult<()> {
        dump.check().map_err(StoreError::Invalid)?;
        self.transaction(|tx, _| Box::pin(transfer::import(tx, &dump))).await
    }
}

#[cfg(test)]
pub(crate) mod tests {
    //! Tests on the PostgreSQL server of `CTPD_TEST_POSTGRES_URL` (a URL of any database
    //! there, with the right to create databases; `scripts/test` sets it): each test makes
    //! its own database.

    use std::sync::atomic::{AtomicU32, Ordering};

    use ctp_model::resources::Header;
    use ctp_model::{check_result, Column, ValueType};
    use tokio_postgres::{Client, NoTls};

    use super::*;

    /// Creates a database for one test and returns its URL.
    pub(crate) async fn fresh_database() -> String {
        let server = std::env::var("CTPD_TEST_POSTGRES_URL")
            .expect("the tests of ctp-store-postgres need CTPD_TEST_POSTGRES_URL (scripts/test sets it)");
        let name = format!("ctpd_unit_{}", ResourceId::generate().as_str().to_lowercase().replace(['-', '_'], ""));
        connect(&server).await.batch_execute(&format!("CREATE DATABASE {name}")).await.expect("CREATE DATABASE");
        let (address, query) = server.split_once('?').map_or((server.as_str(), None), |(a, q)| (a, Some(q)));
        let base = address.rsplit_once('/').map_or(address, |(base, _)| base);
        match query {
            Some(query) => format!("{base}/{name}?{query}"),
            None => format!("{base}/{name}"),
        }
    }

    /// A connection of its own, outside the store's pool.
    pub(crate) async fn connect(url: &str) -> Client {
        let (client, connection) = tokio_postgres::connect(url, NoTls).await.expect("the test server answers");
        tokio::spawn(connection);
        client
    }

    /// Waits until `count` sessions of the database `url` wait for a lock.
    async fn lock_waiters(url: &str, count: i64) {
        let observer = connect(url).await;
        let sql =
            "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'";
        for _ in 0..500 {
            if observer.query_one(sql, &[]).await.unwrap().get::<_, i64>(0) >= count {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("no session waits for a lock");
    }

    /// A statement that fails with the SQLSTATE `condition` (a PL/pgSQL condition name).
    fn raise(condition: &str) -> String {
        format!("DO $$ BEGIN RAISE EXCEPTION 'provoked' USING ERRCODE = '{condition}'; END $$")
    }

    #[tokio::test]
    async fn a_real_deadlock_and_a_real_serialization_failure_are_retriable_other_failures_not() {
        let url = fresh_database().await;
        let (a, b) = (connect(&url).await, connect(&url).await);
        a.batch_execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER); INSERT INTO t VALUES (1, 0), (2, 0)")
            .await
            .unwrap();

        // A deadlock: each holds a row the other wants.
        a.batch_execute("BEGIN; UPDATE t SET v = 1 WHERE id = 1").await.unwrap();
        b.batch_execute("BEGIN; UPDATE t SET v = 1 WHERE id = 2").await.unwrap();
        let (first, second) = tokio::join!(a.batch_execute("UPDATE t SET v = 2 WHERE id = 2"), async {
            lock_waiters(&url, 1).await;
            b.batch_execute("UPDATE t SET v = 2 WHERE id = 1").await
        });
        let deadlock = first.err().or(second.err()).expect("PostgreSQL broke the deadlock");
        assert_eq!(deadlock.code(), Some(&SqlState::T_R_DEADLOCK_DETECTED));
        assert!(retriable(&StoreError::backend("pushing a result", deadlock)));
        a.batch_execute("ROLLBACK").await.unwrap();
        b.batch_execute("ROLLBACK").await.unwrap();

        // A serialization failure: a snapshot's row changed by a later commit.
        a.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT v FROM t WHERE id = 1").await.unwrap();
        b.batch_execute("UPDATE t SET v = 3 WHERE id = 1").await.unwrap();
        let failure = a.batch_execute("UPDATE t SET v = 4 WHERE id = 1").await.unwrap_err();
        assert_eq!(failure.code(), Some(&SqlState::T_R_SERIALIZATION_FAILURE));
        assert!(retriable(&StoreError::backend("pushing a result", failure)));
        a.batch_execute("ROLLBACK").await.unwrap();

        let duplicate = a.batch_execute("INSERT INTO t VALUES (1, 0)").await.unwrap_err();
        assert!(!retriable(&StoreError::backend("inserting", duplicate)));
        assert!(!retriable(&StoreError::broken("the store is closing")));
        assert!(!retriable(&StoreError::Conflict("a conflict".into())));
    }

    /// Counts its attempt and writes it, then fails with `condition` while it is among the
    /// first `failures`.
    async fn flaky(tx: &Tx<'_>, attempts: &AtomicU32, condition: &str, failures: u32) -> StoreResult<u32> {
        let attempt = attempts.fetch_add(1, Ordering::SeqCst) + 1;
        tx.execute("INSERT INTO t VALUES ($1)", &[&(attempt as i32)]).await.context("inserting")?;
        if attempt <= failures {
            tx.batch(&raise(condition)).await.context("failing")?;
        }
        Ok(attempt)
    }

    async fn count(tx: &Tx<'_>) -> StoreResult<i64> {
        rows::get(&tx.query_one("SELECT COUNT(*) FROM t", &[]).await.context("counting")?, 0)
    }

    #[tokio::test]
    async fn a_transaction_aborted_as_a_deadlock_runs_again_up_to_five_times() {
        let store = PostgresStore::open(&fresh_database().await).await.unwrap();
        let create = "CREATE TABLE t (n INTEGER)";
        store.transaction(|tx, _| Box::pin(async move { tx.batch(create).await.context("creating") })).await.unwrap();
        let attempts = AtomicU32::new(0);
        let outcome = store.transaction(|tx, _| Box::pin(flaky(tx, &attempts, "deadlock_detected", 2))).await;
        assert_eq!(outcome.unwrap(), 3, "two deadlocks, then a success");
        let count = store.read(|tx, _| Box::pin(count(tx))).await.unwrap();
        assert_eq!(count, 1, "the failed attempts were rolled back");

        attempts.store(0, Ordering::SeqCst);
        let error = store
            .transaction(|tx, _| Box::pin(flaky(tx, &attempts, "serialization_failure", u32::MAX)))
            .await
            .unwrap_err();
        assert!(retriable(&error), "{}", error.chain());
        assert_eq!(attempts.load(Ordering::SeqCst), ATTEMPTS, "bounded");

        attempts.store(0, Ordering::SeqCst);
        let error =
            store.transaction(|tx, _| Box::pin(flaky(tx, &attempts, "unique_violation", u32::MAX))).await.unwrap_err();
        assert!(error.chain().contains("provoked"), "the cause is kept: {}", error.chain());
        assert_eq!(attempts.load(Ordering::SeqCst), 1, "another failure is not retried");
    }

    #[tokio::test]
    async fn ensuring_an_account_rewrites_it_in_place_and_only_when_it_differs() {
        let store = PostgresStore::open(&fresh_database().await).await.unwrap();
        let account = |id: &str, tags: &[&str], secret: &str| NewAccount {
            id: ResourceId::parse(id).unwrap(),
            header: Header::default(),
            account_tags: tags.iter().map(|t| (*t).to_owned()).collect(),
            access_tags: Vec::new(),
            token_hash: format!("hash-{id}"),
            webhook_secret: secret.into(),
        };
        let first = store.ensure_account(account("a1", &["role:user"], "whsec_1")).await.unwrap();
        store.create_account(account("a2", &[], "whsec_2")).await.unwrap();
        let same = store.ensure_account(account("a1", &["role:user"], "whsec_other")).await.unwrap();
        assert_eq!(same.change_id, first.change_id, "nothing changed");
        let changed = store.ensure_account(account("a1", &["role:agent"], "whsec_other")).await.unwrap();
        assert_eq!(changed.account_tags, ["role:agent"]);
        assert!(changed.change_id > first.change_id);
        assert_eq!(changed.webhook_secret.as_deref(), Some("whsec_1"), "the secret is kept");
        let order: Vec<_> = store.accounts().await.unwrap().into_iter().map(|m| m.id.as_str().to_owned()).collect();
        assert_eq!(order, ["a1", "a2"], "and its place");
    }

    #[tokio::test]
    async fn a_push_that_deadlocks_with_another_transaction_is_run_again_and_succeeds() {
        let url = fresh_database().await;
        let store = PostgresStore::open(&url).await.unwrap();
        let conditions = Arc::new(ConditionCache::default());
        let header = Header::default();
        let view = store.create_view(None, NewView { provider: "Acme".into(), ..NewView::default() }).await.unwrap();
        let asset = store.create_asset(&view.id, NewAsset::default()).await.unwrap();
        let attribute = store.create_attribute(&asset.id, NewAttribute::default()).await.unwrap();
        let columns = vec![Column { name: "level".into(), value_type: ValueType::Number }];
        let metric =
            store.create_metric(NewMetric { result_format: columns.clone(), ..NewMetric::default() }).await.unwrap();
        let new = NewMeasurement {
            header,
            metric_id: metric.id,
            objective: None,
            result: None,
            triggers_allowed: true,
            user_activated: false,
            state: MeasurementState::Pending,
            access_tags: None,
            signed_results_required: false,
        };
        let now = Timestamp::from_millis(1_795_000_000_000).unwrap();
        let measurement = store.create_measurement(&attribute.id, new, now, &conditions).await.unwrap();

        // Another transaction holds the service view, which the push renews after locking
        // its measurement, and then wants the measurement: a deadlock, which PostgreSQL
        // finds in the push's session (the other one waits ten times longer first).
        let other = connect(&url).await;
        other.batch_execute("SET deadlock_timeout = '10s'").await.unwrap();
        other.batch_execute(&format!("BEGIN; UPDATE views SET name = 'x' WHERE id = '{}'", view.id)).await.unwrap();
        let push = tokio::spawn({
            let (store, id) = (Arc::clone(&store), measurement.id.clone());
            let result = check_result(r#"{"value": [{"level": 3}]}"#, &columns, now).unwrap();
            let evaluations = Arc::new(Evaluations::none(conditions));
            async move { store.push_result(&id, result, now, evaluations).await }
        });
        lock_waiters(&url, 1).await;
        let sql = format!("SELECT id FROM measurements WHERE id = '{}' FOR UPDATE", measurement.id);
        other.batch_execute(&sql).await.expect("the push's first attempt was aborted, releasing the measurement");
        other.batch_execute("COMMIT").await.unwrap();
        let pushed = push.await.unwrap().expect("the push ran again and succeeded");
        assert_eq!(pushed.measurement.result.as_deref().map(|r| r.contains(r#""level": 3"#)), Some(true));
        assert_eq!(store.view(Kind::ServiceView, &view.id).await.unwrap().change_id, pushed.measurement.change_id);
    }
}
