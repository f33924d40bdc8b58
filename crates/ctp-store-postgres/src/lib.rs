//! The PostgreSQL store of ctpd: a database that several ctpd instances share.
//!
//! Every method runs in one transaction (READ COMMITTED) taken from a connection pool.
//! Where instances could race, rows are locked: a push, a new trigger or a state change
//! locks its measurement (`FOR UPDATE`), so the rules of 5.3.2 see the triggers of a
//! measurement as one server would; outbox jobs are claimed with `FOR UPDATE SKIP LOCKED`,
//! so each is attempted by one instance at a time. Change identifiers come from one
//! sequence, so no value is ever handed out twice.
//!
//! This file holds the store, its connection and transaction plumbing, and the `Store`
//! methods as calls into the modules, which the SQLite store has under the same names:
//! `schema` (migrations), `rows` (rows to records), `changes` (change identifiers),
//! `accounts`, `hierarchy` (views to measurements, deletion), `triggers` (5.3.2),
//! `push` (results, objectives, states), `logs`, `access` (access tags), `outbox`
//! (notification jobs) and `transfer` (export and import).

mod access;
mod accounts;
mod changes;
mod hierarchy;
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

use async_trait::async_trait;
use ctp_model::resources::{
    Account, Asset, Attribute, Delivery, DeliveryState, Kind, LogEntry, Measurement, MeasurementState, Member, Metric,
    Ref, Trigger, View,
};
use ctp_model::{CheckedResult, ConditionCache, Evaluations, ResourceId, Timestamp};
use ctp_store::dump::Dump;
use ctp_store::{
    DeliveryOutcome, DueDelivery, LogFilter, NewAccount, NewAsset, NewAttribute, NewMeasurement, NewMetric, NewTrigger,
    NewView, PushOutcome, Store, StoreError, StoreResult, Window,
};
use deadpool_postgres::{Object, Pool};
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

/// The PostgreSQL store.
pub struct PostgresStore {
    pool: Pool,
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
    /// fails.
    async fn transaction<'env, T, F>(&self, body: F) -> StoreResult<T>
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

    async fn push_result(
        &self,
        measurement_id: &ResourceId,
        result: CheckedResult,
        now: Timestamp,
        evaluations: Arc<Evaluations>,
    ) -> StoreResult<PushOutcome> {
        let conditions = evaluations.as_ref();
        self.transaction(|tx, _| Box::pin(push::push_result(tx, measurement_id, &result, now, conditions))).await
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

    async fn export(&self) -> StoreResult<Dump> {
        self.transaction(|tx, _| Box::pin(transfer::export(tx))).await
    }

    async fn import(&self, dump: Dump) -> StoreResult<()> {
        dump.check().map_err(StoreError::Invalid)?;
        self.transaction(|tx, _| Box::pin(transfer::import(tx, &dump))).await
    }
}
