//! The PostgreSQL store of ctpd: a database that several ctpd instances share.
//!
//! Every method runs in one transaction (READ COMMITTED) taken from a connection pool.
//! Where instances could race, rows are locked: a push, a new trigger or a state change
//! locks its measurement (`FOR UPDATE`), so the rules of 5.3.2 see the triggers of a
//! measurement as one server would; outbox jobs are claimed with `FOR UPDATE SKIP LOCKED`,
//! so each is attempted by one instance at a time. Change identifiers come from one
//! sequence, so no value is ever handed out twice.

mod rows;
mod schema;

use std::sync::Arc;

use async_trait::async_trait;
use ctp_model::resources::{
    Account, Asset, Attribute, Delivery, DeliveryState, Evaluated, Kind, LogBody, LogEntry, Measurement,
    MeasurementState, Member, Metric, Ref, Trigger, View,
};
use ctp_model::trigger_rules::Alert;
use ctp_model::{tags, CheckedResult, ConditionCache, Evaluate, Evaluations, ResourceId, Status, Timestamp};
use ctp_store::dump::{self, Cell, ColumnType, Dump};
use ctp_store::{
    checks, rules, DeliveryOutcome, DueDelivery, LogFilter, NewAccount, NewAsset, NewAttribute, NewMeasurement,
    NewMetric, NewTrigger, NewView, PushOutcome, Store, StoreError, StoreResult, Window,
};
use deadpool_postgres::{Object, Pool};

use crate::rows::{backend, execute, query_opt, tags_to_text, Tx};

/// The PostgreSQL store.
pub struct PostgresStore {
    pool: Pool,
}

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://user@host/db`) and applies the
    /// schema migrations.
    pub async fn open(url: &str) -> StoreResult<Arc<PostgresStore>> {
        let store = PostgresStore::connect(url)?;
        schema::migrate(&store.pool).await.map_err(StoreError::broken)?;
        Ok(Arc::new(store))
    }

    /// Applies the schema migrations only (`ctpd migrate`); returns how many were applied.
    pub async fn migrate(url: &str) -> StoreResult<usize> {
        let store = PostgresStore::connect(url)?;
        schema::migrate(&store.pool).await.map_err(StoreError::broken)
    }

    fn connect(url: &str) -> StoreResult<PostgresStore> {
        let mut config = deadpool_postgres::Config::new();
        config.url = Some(url.to_owned());
        config.pool = Some(deadpool_postgres::PoolConfig::new(16));
        let pool = config
            .create_pool(Some(deadpool_postgres::Runtime::Tokio1), tokio_postgres::NoTls)
            .map_err(|e| StoreError::broken(format!("invalid database URL: {e}")))?;
        Ok(PostgresStore { pool })
    }

    async fn client(&self) -> StoreResult<Object> {
        self.pool.get().await.map_err(|e| StoreError::broken(format!("cannot connect to PostgreSQL: {e}")))
    }
}

/// Runs `$body` (which uses `$tx`) in a transaction of `$store`, committed when it
/// succeeds and rolled back (dropped) when it fails.
macro_rules! transaction {
    ($store:expr, |$tx:ident| $body:expr) => {{
        let mut client = $store.client().await?;
        let transaction = client.transaction().await.map_err(backend)?;
        // An async block, so that `return` and `?` in the body end the body, not the method:
        // an error rolls back (the transaction is dropped), anything else commits.
        let outcome = async {
            let $tx = Tx::Transaction(&transaction);
            $body
        }
        .await;
        if outcome.is_ok() {
            transaction.commit().await.map_err(backend)?;
        }
        outcome
    }};
}

/// Runs `$body` (which uses `$tx`) on a pooled connection without a transaction: for reads
/// of a single statement, which are atomic anyway.
macro_rules! read {
    ($store:expr, |$tx:ident| $body:expr) => {{
        let client = $store.client().await?;
        let $tx = Tx::Client(&client);
        $body
    }};
}

/// Writes a log entry for a trigger's alert, and its outbox job if the trigger notifies.
async fn insert_log(
    tx: &Tx<'_>,
    trigger: &Trigger,
    alert: Alert,
    result: &str,
    now: Timestamp,
) -> StoreResult<LogEntry> {
    let entry = rules::log_entry(trigger, alert, result, now);
    let (result_text, error_text) = match &entry.body {
        LogBody::Result(r) => (Some(r.as_str()), None),
        LogBody::Error(e) => (None, Some(e.as_str())),
    };
    execute(
        tx,
        "INSERT INTO logs (id, view_id, trigger_id, creation_time, result, error, tags, access_tags) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            &entry.id.as_str(),
            &entry.view_id.as_str(),
            &entry.trigger_id.as_str(),
            &now.millis(),
            &result_text,
            &error_text,
            &tags_to_text(&entry.tags),
            &tags_to_text(&entry.access_tags),
        ],
    )
    .await?;
    if !trigger.notification.is_empty() {
        execute(
            tx,
            "INSERT INTO deliveries (id, log_id, trigger_id, view_id, owner_id, target, state, attempts, next_attempt, \
             claimed, creation_time, access_tags) VALUES ($1, $2, $3, $4, $5, $6, 'pending', 0, $7, FALSE, $7, $8)",
            &[
                &ResourceId::generate().as_str(),
                &entry.id.as_str(),
                &trigger.id.as_str(),
                &entry.view_id.as_str(),
                &trigger.owner_id.as_ref().map(ResourceId::as_str),
                &trigger.notification,
                &entry.creation_time.millis(),
                &tags_to_text(&entry.access_tags),
            ],
        )
        .await?;
    }
    Ok(entry)
}

/// Applies 5.3.2 to `triggers` (of one measurement, so of one service view, whose changeId
/// the caller has already set to `change`) on `result`: their new statuses in one
/// statement, and a log entry (with its outbox job) per alert.
async fn process_triggers(
    tx: &Tx<'_>,
    triggers: &[Trigger],
    result_raw: &str,
    result_value: &serde_json::Value,
    now: Timestamp,
    change: i64,
    conditions: &dyn Evaluate,
) -> StoreResult<Vec<LogEntry>> {
    let (mut ids, mut statuses, mut times) = (Vec::new(), Vec::new(), Vec::new());
    let mut logs = Vec::new();
    for trigger in triggers {
        let step = rules::trigger_step(trigger, result_value, now, conditions);
        if let Some((status, time)) = step.new_status {
            ids.push(trigger.id.as_str());
            statuses.push(status.as_str());
            times.push(time.millis());
        }
        if let Some(alert) = step.alert {
            logs.push(insert_log(tx, trigger, alert, result_raw, now).await?);
        }
    }
    if !ids.is_empty() {
        execute(
            tx,
            "UPDATE triggers AS t SET status = v.status, status_time = v.time, change_id = $4 \
             FROM UNNEST($1::TEXT[], $2::TEXT[], $3::BIGINT[]) AS v(id, status, time) WHERE t.id = v.id",
            &[&ids, &statuses, &times, &change],
        )
        .await?;
    }
    Ok(logs)
}

/// Makes sure a resource exists (of the right kind, for views), or answers `NotFound`.
/// The ids and access tags of the rows a query (of `id`, `access_tags`, with `$1` for `id`)
/// selects.
async fn row_tags(tx: &Tx<'_>, sql: &str, id: &ResourceId) -> StoreResult<Vec<(String, Vec<String>)>> {
    rows::query(tx, sql, &[&id.as_str()])
        .await?
        .iter()
        .map(|row| Ok((row.get::<_, String>(0), serde_json::from_str(row.get::<_, &str>(1)).map_err(backend)?)))
        .collect()
}

/// Sets the access tags of one row, and its change identifier when the table has one.
async fn set_row_tags(
    tx: &Tx<'_>,
    table: &str,
    has_change_id: bool,
    id: &str,
    tags: &[String],
    change: i64,
) -> StoreResult<()> {
    let text = tags_to_text(tags);
    if has_change_id {
        execute(
            tx,
            &format!("UPDATE {table} SET access_tags = $1, change_id = $2 WHERE id = $3"),
            &[&text, &change, &id],
        )
        .await?;
    } else {
        execute(tx, &format!("UPDATE {table} SET access_tags = $1 WHERE id = $2"), &[&text, &id]).await?;
    }
    Ok(())
}

async fn require(tx: &Tx<'_>, resource: &Ref) -> StoreResult<()> {
    match resource.kind {
        Kind::ServiceView | Kind::Dependency => rows::load_view(tx, resource.kind, &resource.id).await.map(drop),
        kind => {
            let sql = format!("SELECT 1 FROM {} WHERE id = $1", ctp_store_sql::table_of(kind));
            match query_opt(tx, &sql, &[&resource.id.as_str()]).await? {
                Some(_) => Ok(()),
                None => Err(StoreError::NotFound(kind, resource.id.clone())),
            }
        }
    }
}

async fn insert_account(tx: &Tx<'_>, account: &NewAccount) -> StoreResult<()> {
    let change = rows::next_change_id(tx).await?;
    execute(
        tx,
        "INSERT INTO accounts (id, name, annotation, account_tags, access_tags, token_hash, change_id, webhook_secret) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            &account.id.as_str(),
            &account.header.name,
            &account.header.annotation,
            &tags_to_text(&account.account_tags),
            &tags_to_text(&account.access_tags),
            &account.token_hash,
            &change,
            &account.webhook_secret,
        ],
    )
    .await?;
    Ok(())
}

#[async_trait]
impl Store for PostgresStore {
    async fn account_by_token_hash(&self, token_hash: &str) -> StoreResult<Option<Account>> {
        read!(self, |tx| rows::account_by_token_hash(&tx, token_hash).await)
    }

    async fn create_account(&self, account: NewAccount) -> StoreResult<Account> {
        transaction!(self, |tx| {
            if rows::account_by_token_hash(&tx, &account.token_hash).await?.is_some() {
                Err(StoreError::Conflict("an account already has this token".into()))
            } else if rows::load_account(&tx, &account.id).await.is_ok() {
                Err(StoreError::Conflict(format!("an account with id {} exists", account.id)))
            } else {
                insert_account(&tx, &account).await?;
                rows::load_account(&tx, &account.id).await
            }
        })
    }

    async fn ensure_account(&self, account: NewAccount) -> StoreResult<Account> {
        transaction!(self, |tx| {
            // An existing account keeps its place, its webhook secret and, when nothing
            // changes, its changeId.
            execute(
                &tx,
                "DELETE FROM accounts WHERE token_hash = $1 AND id <> $2",
                &[&account.token_hash, &account.id.as_str()],
            )
            .await?;
            if let Ok(existing) = rows::load_account(&tx, &account.id).await {
                if !checks::account_differs(&existing, &account) {
                    return Ok(existing);
                }
                let change = rows::next_change_id(&tx).await?;
                execute(
                    &tx,
                    "UPDATE accounts SET name = $1, annotation = $2, account_tags = $3, access_tags = $4, \
                     token_hash = $5, change_id = $6 WHERE id = $7",
                    &[
                        &account.header.name,
                        &account.header.annotation,
                        &tags_to_text(&account.account_tags),
                        &tags_to_text(&account.access_tags),
                        &account.token_hash,
                        &change,
                        &account.id.as_str(),
                    ],
                )
                .await?;
                return rows::load_account(&tx, &account.id).await;
            }
            insert_account(&tx, &account).await?;
            rows::load_account(&tx, &account.id).await
        })
    }

    async fn account(&self, id: &ResourceId) -> StoreResult<Account> {
        read!(self, |tx| rows::load_account(&tx, id).await)
    }

    async fn accounts(&self) -> StoreResult<Vec<Member>> {
        read!(self, |tx| rows::members(&tx, "SELECT id, name, access_tags FROM accounts ORDER BY seq", &[]).await)
    }

    async fn delete_account(&self, id: &ResourceId) -> StoreResult<()> {
        self.delete(&Ref { kind: Kind::Account, id: id.clone() }).await
    }

    async fn view(&self, kind: Kind, id: &ResourceId) -> StoreResult<View> {
        read!(self, |tx| rows::load_view(&tx, kind, id).await)
    }

    async fn asset(&self, id: &ResourceId) -> StoreResult<Asset> {
        read!(self, |tx| rows::load_asset(&tx, id).await)
    }

    async fn attribute(&self, id: &ResourceId) -> StoreResult<Attribute> {
        read!(self, |tx| rows::load_attribute(&tx, id).await)
    }

    async fn measurement(&self, id: &ResourceId) -> StoreResult<Measurement> {
        read!(self, |tx| rows::load_measurement(&tx, id).await)
    }

    async fn metric(&self, id: &ResourceId) -> StoreResult<Metric> {
        read!(self, |tx| rows::load_metric(&tx, id).await)
    }

    async fn trigger(&self, id: &ResourceId) -> StoreResult<Trigger> {
        read!(self, |tx| rows::load_trigger(&tx, id).await)
    }

    async fn log_entry(&self, id: &ResourceId) -> StoreResult<LogEntry> {
        read!(self, |tx| rows::load_log(&tx, id).await)
    }

    async fn service_views(&self) -> StoreResult<Vec<Member>> {
        let sql = "SELECT id, name, access_tags FROM views WHERE parent_kind IS NULL ORDER BY seq";
        read!(self, |tx| rows::members(&tx, sql, &[]).await)
    }

    async fn dependencies(&self, parent: &Ref) -> StoreResult<Vec<Member>> {
        let sql = "SELECT id, name, access_tags FROM views WHERE parent_kind = $1 AND parent_id = $2 ORDER BY seq";
        read!(self, |tx| rows::members(&tx, sql, &[&parent.kind.segment(), &parent.id.as_str()]).await)
    }

    async fn assets(&self, view_id: &ResourceId) -> StoreResult<Vec<Member>> {
        let sql = "SELECT id, name, access_tags FROM assets WHERE view_id = $1 ORDER BY seq";
        read!(self, |tx| rows::members(&tx, sql, &[&view_id.as_str()]).await)
    }

    async fn attributes(&self, asset_id: &ResourceId) -> StoreResult<Vec<Member>> {
        let sql = "SELECT id, name, access_tags FROM attributes WHERE asset_id = $1 ORDER BY seq";
        read!(self, |tx| rows::members(&tx, sql, &[&asset_id.as_str()]).await)
    }

    async fn measurements(&self, attribute_id: &ResourceId) -> StoreResult<Vec<Member>> {
        let sql = "SELECT id, name, access_tags FROM measurements WHERE attribute_id = $1 ORDER BY seq";
        read!(self, |tx| rows::members(&tx, sql, &[&attribute_id.as_str()]).await)
    }

    async fn metrics(&self) -> StoreResult<Vec<Member>> {
        read!(self, |tx| rows::members(&tx, "SELECT id, name, access_tags FROM metrics ORDER BY seq", &[]).await)
    }

    async fn triggers(&self, view_id: &ResourceId) -> StoreResult<Vec<Member>> {
        let sql = "SELECT id, name, access_tags FROM triggers WHERE view_id = $1 ORDER BY seq";
        read!(self, |tx| rows::members(&tx, sql, &[&view_id.as_str()]).await)
    }

    async fn trigger_conditions(&self, measurement_id: &ResourceId) -> StoreResult<Vec<String>> {
        let sql = "SELECT DISTINCT condition FROM triggers WHERE measurement_id = $1";
        read!(self, |tx| rows::query(&tx, sql, &[&measurement_id.as_str()])
            .await
            .map(|found| { found.iter().map(|row| row.get::<_, String>(0)).collect() }))
    }

    async fn conditions_of_owner(&self, owner_id: &ResourceId) -> StoreResult<Vec<String>> {
        let sql = "SELECT condition FROM triggers WHERE owner_id = $1";
        read!(self, |tx| rows::query(&tx, sql, &[&owner_id.as_str()])
            .await
            .map(|found| { found.iter().map(|row| row.get::<_, String>(0)).collect() }))
    }

    async fn logs(
        &self,
        view_id: Option<&ResourceId>,
        filter: &LogFilter,
        window: Option<Window>,
    ) -> StoreResult<(u64, Vec<Member>)> {
        // The tag filter needs every tag: JSON containment.
        let filter_sql = "($1::TEXT IS NULL OR view_id = $1) AND ($2::BIGINT IS NULL OR creation_time >= $2) \
                          AND ($3::BIGINT IS NULL OR creation_time < $3) AND tags::JSONB @> $4::TEXT::JSONB \
                          AND ($5::TEXT[] IS NULL OR access_tags::JSONB ?| $5::TEXT[])";
        let wanted = tags_to_text(&filter.tags);
        let visible_to = &filter.visible_to;
        let view = view_id.map(ResourceId::as_str);
        let oldest = filter.oldest.map(Timestamp::millis);
        let newest = filter.newest.map(Timestamp::millis);
        let (offset, limit) = window.map_or((0, None), |w| {
            let (offset, limit) = ctp_store_sql::offset_and_limit(w);
            (offset, Some(limit))
        });
        transaction!(self, |tx| {
            let total: i64 = rows::query(
                &tx,
                &format!("SELECT COUNT(*) FROM logs WHERE {filter_sql}"),
                &[&view, &oldest, &newest, &wanted, visible_to],
            )
            .await?[0]
                .get(0);
            let listed = rows::members(
                &tx,
                &format!(
                    "SELECT id, '' AS name, access_tags FROM logs WHERE {filter_sql} \
                     ORDER BY creation_time, seq LIMIT $7 OFFSET $6"
                ),
                &[&view, &oldest, &newest, &wanted, visible_to, &offset, &limit],
            )
            .await;
            listed.map(|listed| (total as u64, listed))
        })
    }

    async fn create_view(&self, parent: Option<&Ref>, view: NewView) -> StoreResult<View> {
        transaction!(self, |tx| {
            let inherited = match parent {
                None => Vec::new(),
                Some(p) => rows::load_view(&tx, p.kind, &p.id).await?.access_tags,
            };
            let id = ResourceId::generate();
            let change = rows::next_change_id(&tx).await?;
            execute(
                &tx,
                "INSERT INTO views (id, parent_kind, parent_id, name, annotation, provider, service_class, change_id, \
                 access_tags) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                &[
                    &id.as_str(),
                    &parent.map(|p| p.kind.segment()),
                    &parent.map(|p| p.id.as_str()),
                    &view.header.name,
                    &view.header.annotation,
                    &view.provider,
                    &view.service_class,
                    &change,
                    &tags_to_text(view.access_tags.as_ref().unwrap_or(&inherited)),
                ],
            )
            .await?;
            if let Some(p) = parent {
                rows::touch_view(&tx, &p.id, change).await?;
            }
            let kind = if parent.is_some() { Kind::Dependency } else { Kind::ServiceView };
            rows::load_view(&tx, kind, &id).await
        })
    }

    async fn create_asset(&self, view_id: &ResourceId, asset: NewAsset) -> StoreResult<Asset> {
        transaction!(self, |tx| {
            let view = rows::load_any_view(&tx, view_id).await?;
            let id = ResourceId::generate();
            let change = rows::next_change_id(&tx).await?;
            execute(
                &tx,
                "INSERT INTO assets (id, view_id, name, annotation, asset_class, change_id, access_tags) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[
                    &id.as_str(),
                    &view_id.as_str(),
                    &asset.header.name,
                    &asset.header.annotation,
                    &asset.asset_class,
                    &change,
                    &tags_to_text(asset.access_tags.as_ref().unwrap_or(&view.access_tags)),
                ],
            )
            .await?;
            rows::touch_view(&tx, view_id, change).await?;
            rows::load_asset(&tx, &id).await
        })
    }

    async fn create_attribute(&self, asset_id: &ResourceId, attribute: NewAttribute) -> StoreResult<Attribute> {
        transaction!(self, |tx| {
            let asset = rows::load_asset(&tx, asset_id).await?;
            let id = ResourceId::generate();
            let change = rows::next_change_id(&tx).await?;
            execute(
                &tx,
                "INSERT INTO attributes (id, asset_id, name, annotation, change_id, access_tags) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &[
                    &id.as_str(),
                    &asset_id.as_str(),
                    &attribute.header.name,
                    &attribute.header.annotation,
                    &change,
                    &tags_to_text(attribute.access_tags.as_ref().unwrap_or(&asset.access_tags)),
                ],
            )
            .await?;
            rows::touch_asset(&tx, &asset, change).await?;
            rows::load_attribute(&tx, &id).await
        })
    }

    async fn create_metric(&self, metric: NewMetric) -> StoreResult<Metric> {
        let parameters = serde_json::to_string(&metric.parameters).map_err(backend)?;
        let result_format = serde_json::to_string(&metric.result_format).map_err(backend)?;
        let default_tags = vec![tags::ROLE_USER.to_owned()];
        transaction!(self, |tx| {
            let id = ResourceId::generate();
            let change = rows::next_change_id(&tx).await?;
            execute(
                &tx,
                "INSERT INTO metrics (id, name, annotation, base_metric, parameters, result_format, change_id, \
                 access_tags) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                &[
                    &id.as_str(),
                    &metric.header.name,
                    &metric.header.annotation,
                    &metric.base_metric,
                    &parameters,
                    &result_format,
                    &change,
                    &tags_to_text(metric.access_tags.as_ref().unwrap_or(&default_tags)),
                ],
            )
            .await?;
            rows::load_metric(&tx, &id).await
        })
    }

    async fn create_measurement(
        &self,
        attribute_id: &ResourceId,
        measurement: NewMeasurement,
        now: Timestamp,
        conditions: &Arc<ConditionCache>,
    ) -> StoreResult<Measurement> {
        transaction!(self, |tx| {
            let attribute = rows::load_attribute(&tx, attribute_id).await?;
            let asset = rows::load_asset(&tx, &attribute.asset_id).await?;
            if rows::load_metric(&tx, &measurement.metric_id).await.is_err() {
                return Err(StoreError::Invalid(format!(
                    "no metric with id {} (create the metric first)",
                    measurement.metric_id
                )));
            }
            let id = ResourceId::generate();
            let change = rows::next_change_id(&tx).await?;
            let objective = rules::first_objective(&measurement, now, conditions);
            let objective_status = objective.as_ref().map(|o| o.status.as_str());
            let objective_time = objective.as_ref().map(|o| o.status_update_time.millis());
            let result = measurement.result.as_ref().map(|r| r.raw.as_str());
            execute(
                &tx,
                "INSERT INTO measurements (id, attribute_id, view_id, metric_id, name, annotation, result, \
                 objective_condition, objective_status, objective_time, triggers_allowed, user_activated, state, \
                 change_id, access_tags) VALUES ($1, $2, $3, $4, $5, $6, $15, $7, $8, $9, $10, $11, $12, $13, $14)",
                &[
                    &id.as_str(),
                    &attribute_id.as_str(),
                    &asset.view_id.as_str(),
                    &measurement.metric_id.as_str(),
                    &measurement.header.name,
                    &measurement.header.annotation,
                    &measurement.objective,
                    &objective_status,
                    &objective_time,
                    &measurement.triggers_allowed,
                    &measurement.user_activated,
                    &measurement.state.as_str(),
                    &change,
                    &tags_to_text(measurement.access_tags.as_ref().unwrap_or(&attribute.access_tags)),
                    &result,
                ],
            )
            .await?;
            rows::touch_attribute(&tx, &attribute, change).await?;
            rows::load_measurement(&tx, &id).await
        })
    }

    async fn create_trigger(
        &self,
        view_id: &ResourceId,
        trigger: NewTrigger,
        now: Timestamp,
        evaluations: Arc<Evaluations>,
    ) -> StoreResult<(Trigger, Vec<LogEntry>)> {
        let conditions = evaluations.as_ref();
        transaction!(self, |tx| {
            rows::load_any_view(&tx, view_id).await?;
            let found = rows::lock_measurement(&tx, &trigger.measurement_id).await;
            let measurement = checks::trigger_measurement(found, &trigger.measurement_id, view_id)?;
            let id = ResourceId::generate();
            let change = rows::next_change_id(&tx).await?;
            execute(
                &tx,
                "INSERT INTO triggers (id, view_id, measurement_id, name, annotation, condition, status, status_time, \
                 notification, guard_time, tags, change_id, access_tags, owner_id) \
                 VALUES ($1, $2, $3, $4, $5, $6, 'false', $7, $8, $9, $10, $11, $12, $13)",
                &[
                    &id.as_str(),
                    &view_id.as_str(),
                    &measurement.id.as_str(),
                    &trigger.header.name,
                    &trigger.header.annotation,
                    &trigger.condition,
                    &now.millis(),
                    &trigger.notification,
                    &trigger.guard_time,
                    &tags_to_text(&trigger.tags),
                    &change,
                    &tags_to_text(&tags::held_tags(&measurement.access_tags, &trigger.owner_tags)),
                    &trigger.owner_id.as_ref().map(ResourceId::as_str),
                ],
            )
            .await?;
            rows::touch_view(&tx, view_id, change).await?;
            let created = rows::load_trigger(&tx, &id).await?;
            let logs = match &measurement.result {
                Some(raw) => {
                    let value = rules::decode_result(raw)?;
                    process_triggers(&tx, std::slice::from_ref(&created), raw, &value, now, change, conditions).await?
                }
                None => Vec::new(),
            };
            rows::load_trigger(&tx, &id).await.map(|t| (t, logs))
        })
    }

    async fn push_result(
        &self,
        measurement_id: &ResourceId,
        result: CheckedResult,
        now: Timestamp,
        evaluations: Arc<Evaluations>,
    ) -> StoreResult<PushOutcome> {
        let conditions = evaluations.as_ref();
        transaction!(self, |tx| {
            let measurement = rows::lock_measurement(&tx, measurement_id).await?;
            checks::accepts_results(&measurement)?;
            let change = rows::next_change_id(&tx).await?;
            let objective = measurement.objective.as_ref().map(|o| Evaluated {
                condition: o.condition.clone(),
                status: rules::objective_status(&o.condition, Some(&result.value), now, conditions),
                status_update_time: now,
            });
            execute(
                &tx,
                "UPDATE measurements SET result = $1, state = 'activated', objective_status = $2, \
                 objective_time = $3, change_id = $4 WHERE id = $5",
                &[
                    &result.raw,
                    &objective.as_ref().map(|o| o.status.as_str()),
                    &objective.as_ref().map(|o| o.status_update_time.millis()),
                    &change,
                    &measurement_id.as_str(),
                ],
            )
            .await?;
            rows::touch_measurement(&tx, &measurement, change).await?;
            let triggers = rows::triggers_of_measurement(&tx, measurement_id).await?;
            let logs = process_triggers(&tx, &triggers, &result.raw, &result.value, now, change, conditions).await?;
            Ok(PushOutcome {
                measurement: Measurement {
                    result: Some(result.raw.clone()),
                    state: MeasurementState::Activated,
                    objective,
                    change_id: change,
                    ..measurement
                },
                logs,
            })
        })
    }

    async fn set_objective(
        &self,
        measurement_id: &ResourceId,
        condition: Option<String>,
        now: Timestamp,
        conditions: &Arc<ConditionCache>,
    ) -> StoreResult<Measurement> {
        transaction!(self, |tx| {
            let measurement = rows::lock_measurement(&tx, measurement_id).await?;
            let change = rows::next_change_id(&tx).await?;
            let status = match (&condition, &measurement.result) {
                (Some(c), Some(raw)) => {
                    Some(rules::objective_status(c, Some(&rules::decode_result(raw)?), now, conditions))
                }
                (Some(_), None) => Some(Status::False),
                (None, _) => None,
            };
            execute(
                &tx,
                "UPDATE measurements SET objective_condition = $1, objective_status = $2, objective_time = $3, \
                 change_id = $4 WHERE id = $5",
                &[
                    &condition,
                    &status.map(Status::as_str),
                    &status.map(|_| now.millis()),
                    &change,
                    &measurement_id.as_str(),
                ],
            )
            .await?;
            rows::touch_measurement(&tx, &measurement, change).await?;
            rows::load_measurement(&tx, measurement_id).await
        })
    }

    async fn set_state(&self, measurement_id: &ResourceId, state: MeasurementState) -> StoreResult<Measurement> {
        transaction!(self, |tx| {
            let measurement = rows::lock_measurement(&tx, measurement_id).await?;
            checks::user_activated(&measurement)?;
            let (new_state, clear_result) = rules::state_transition(measurement.state, state);
            if new_state == measurement.state && !clear_result {
                return Ok(measurement);
            }
            let change = rows::next_change_id(&tx).await?;
            execute(
                &tx,
                "UPDATE measurements SET state = $1, result = CASE WHEN $2 THEN NULL ELSE result END, \
                 change_id = $3 WHERE id = $4",
                &[&new_state.as_str(), &clear_result, &change, &measurement_id.as_str()],
            )
            .await?;
            rows::touch_measurement(&tx, &measurement, change).await?;
            rows::load_measurement(&tx, measurement_id).await
        })
    }

    async fn access_tags(&self, resource: &Ref) -> StoreResult<Vec<String>> {
        transaction!(self, |tx| {
            require(&tx, resource).await?;
            let sql = format!("SELECT access_tags FROM {} WHERE id = $1", ctp_store_sql::table_of(resource.kind));
            let row = query_opt(&tx, &sql, &[&resource.id.as_str()]).await?;
            let text: String = row.ok_or_else(|| StoreError::NotFound(resource.kind, resource.id.clone()))?.get(0);
            serde_json::from_str(&text).map_err(backend)
        })
    }

    async fn set_access_tags(&self, resource: &Ref, tags: Vec<String>, subtree: bool) -> StoreResult<Vec<String>> {
        transaction!(self, |tx| {
            require(&tx, resource).await?;
            let table = ctp_store_sql::table_of(resource.kind);
            let change = rows::next_change_id(&tx).await?;
            set_row_tags(&tx, table, resource.kind != Kind::Log, resource.id.as_str(), &tags, change).await?;
            if subtree {
                for below in ctp_store_sql::below(resource.kind) {
                    let sql = format!(
                        "SELECT id, access_tags FROM {} WHERE {}",
                        below.table,
                        below.condition.replace("{id}", "$1")
                    );
                    for (id, row_tags) in row_tags(&tx, &sql, &resource.id).await? {
                        if let Some(new) = rules::cascade_tags(&tags, &row_tags, below.private) {
                            set_row_tags(&tx, below.table, below.has_change_id, &id, &new, change).await?;
                        }
                    }
                }
            }
            Ok(tags)
        })
    }

    async fn delete(&self, resource: &Ref) -> StoreResult<()> {
        transaction!(self, |tx| {
            require(&tx, resource).await?;
            let change = rows::next_change_id(&tx).await?;
            // The parents whose collections change, for their change identifiers.
            match resource.kind {
                Kind::Dependency => {
                    let view = rows::load_view(&tx, Kind::Dependency, &resource.id).await?;
                    if let Some(parent) = view.parent {
                        rows::touch_view(&tx, &parent.id, change).await?;
                    }
                }
                Kind::Asset => {
                    let asset = rows::load_asset(&tx, &resource.id).await?;
                    rows::touch_view(&tx, &asset.view_id, change).await?;
                }
                Kind::Attribute => {
                    let attribute = rows::load_attribute(&tx, &resource.id).await?;
                    rows::touch_asset(&tx, &rows::load_asset(&tx, &attribute.asset_id).await?, change).await?;
                }
                Kind::Measurement => {
                    let measurement = rows::load_measurement(&tx, &resource.id).await?;
                    let attribute = rows::load_attribute(&tx, &measurement.attribute_id).await?;
                    rows::touch_attribute(&tx, &attribute, change).await?;
                }
                Kind::Trigger => {
                    let trigger = rows::load_trigger(&tx, &resource.id).await?;
                    rows::touch_view(&tx, &trigger.view_id, change).await?;
                }
                Kind::Metric => {
                    let users: i64 = rows::query(
                        &tx,
                        "SELECT COUNT(*) FROM measurements WHERE metric_id = $1",
                        &[&resource.id.as_str()],
                    )
                    .await?[0]
                        .get(0);
                    checks::metric_unused(&resource.id, users)?;
                }
                Kind::ServiceView | Kind::Log | Kind::Account | Kind::Delivery => {}
            }
            // Cascades follow from the schema's foreign keys.
            let sql = format!("DELETE FROM {} WHERE id = $1", ctp_store_sql::table_of(resource.kind));
            execute(&tx, &sql, &[&resource.id.as_str()]).await.map(drop)
        })
    }

    async fn set_webhook_secret(&self, account_id: &ResourceId, secret: String) -> StoreResult<Account> {
        transaction!(self, |tx| {
            let change = rows::next_change_id(&tx).await?;
            let changed = execute(
                &tx,
                "UPDATE accounts SET webhook_secret = $1, change_id = $2 WHERE id = $3",
                &[&secret, &change, &account_id.as_str()],
            )
            .await?;
            if changed == 0 {
                return Err(StoreError::NotFound(Kind::Account, account_id.clone()));
            }
            rows::load_account(&tx, account_id).await
        })
    }

    async fn claim_deliveries(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: usize,
    ) -> StoreResult<Vec<DueDelivery>> {
        transaction!(self, |tx| {
            let mut claimed = Vec::new();
            for delivery in rows::claim_due(&tx, now, lease_until, limit as i64).await? {
                let log = rows::load_log(&tx, &delivery.log_id).await?;
                let webhook_secret = match &delivery.owner_id {
                    Some(owner) => rows::load_account(&tx, owner).await.ok().and_then(|a| a.webhook_secret),
                    None => None,
                };
                claimed.push(DueDelivery { delivery, log, webhook_secret });
            }
            Ok(claimed)
        })
    }

    async fn finish_delivery(&self, id: &ResourceId, outcome: DeliveryOutcome, now: Timestamp) -> StoreResult<()> {
        transaction!(self, |tx| {
            // A job deleted meanwhile (with its service view) has nothing left to record.
            match outcome {
                DeliveryOutcome::Delivered => {
                    execute(
                        &tx,
                        "UPDATE deliveries SET state = 'delivered', attempts = attempts + 1, claimed = FALSE, \
                         delivery_time = $1, last_error = NULL WHERE id = $2",
                        &[&now.millis(), &id.as_str()],
                    )
                    .await
                }
                DeliveryOutcome::Retry { at, error } => {
                    execute(
                        &tx,
                        "UPDATE deliveries SET attempts = attempts + 1, claimed = FALSE, next_attempt = $1, \
                         last_error = $2 WHERE id = $3",
                        &[&at.millis(), &error, &id.as_str()],
                    )
                    .await
                }
                DeliveryOutcome::Failed { error } => {
                    execute(
                        &tx,
                        "UPDATE deliveries SET state = 'failed', attempts = attempts + 1, claimed = FALSE, \
                         last_error = $1 WHERE id = $2",
                        &[&error, &id.as_str()],
                    )
                    .await
                }
                DeliveryOutcome::Deferred { at } => {
                    execute(
                        &tx,
                        "UPDATE deliveries SET claimed = FALSE, next_attempt = $1 WHERE id = $2 AND state = 'pending'",
                        &[&at.millis(), &id.as_str()],
                    )
                    .await
                }
            }
            .map(drop)
        })
    }

    /// Several instances share this store: a job claimed by a dead instance is due again
    /// when its lease ends, and one instance's start must not take the others' jobs.
    async fn release_claims(&self, _now: Timestamp) -> StoreResult<()> {
        Ok(())
    }

    async fn next_delivery_time(&self) -> StoreResult<Option<Timestamp>> {
        transaction!(self, |tx| {
            let row = query_opt(&tx, "SELECT MIN(next_attempt) FROM deliveries WHERE state = 'pending'", &[]).await?;
            let millis: Option<i64> = row.and_then(|r| r.get(0));
            Ok(millis.and_then(Timestamp::from_millis))
        })
    }

    async fn deliveries(&self, state: Option<DeliveryState>) -> StoreResult<Vec<Delivery>> {
        read!(self, |tx| match state {
            Some(state) => rows::deliveries_where(&tx, "WHERE state = $1 ORDER BY seq", &[&state.as_str()]).await,
            None => rows::deliveries_where(&tx, "ORDER BY seq", &[]).await,
        })
    }

    async fn delivery(&self, id: &ResourceId) -> StoreResult<Delivery> {
        read!(self, |tx| rows::load_delivery(&tx, id).await)
    }

    async fn retry_delivery(&self, id: &ResourceId, now: Timestamp) -> StoreResult<Delivery> {
        transaction!(self, |tx| {
            checks::retriable(&rows::load_delivery(&tx, id).await?)?;
            execute(
                &tx,
                "UPDATE deliveries SET state = 'pending', attempts = 0, claimed = FALSE, next_attempt = $1 WHERE id = $2",
                &[&now.millis(), &id.as_str()],
            )
            .await?;
            rows::load_delivery(&tx, id).await
        })
    }

    async fn export(&self) -> StoreResult<Dump> {
        transaction!(self, |tx| {
            // One snapshot of every table.
            execute(&tx, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY", &[]).await?;
            let counter = rows::query(&tx, "SELECT last_value, is_called FROM change_ids", &[]).await?;
            let change_counter: i64 = if counter[0].get::<_, bool>(1) { counter[0].get(0) } else { 0 };
            let mut tables = Vec::new();
            for (name, columns) in dump::TABLES {
                let sql = format!("SELECT {} FROM {name} ORDER BY seq", ctp_store_sql::column_list(columns));
                let mut rows = Vec::new();
                for row in rows::query(&tx, &sql, &[]).await? {
                    let mut values = Vec::with_capacity(columns.len());
                    for (i, (_, column_type)) in columns.iter().enumerate() {
                        let cell = match column_type {
                            ColumnType::Text => {
                                row.try_get::<_, Option<String>>(i).map(|v| v.map_or(Cell::Null, Cell::Text))
                            }
                            ColumnType::BigInt => {
                                row.try_get::<_, Option<i64>>(i).map(|v| v.map_or(Cell::Null, Cell::Int))
                            }
                            ColumnType::Int => {
                                row.try_get::<_, Option<i32>>(i).map(|v| v.map_or(Cell::Null, |v| Cell::Int(v.into())))
                            }
                            ColumnType::Real => {
                                row.try_get::<_, Option<f64>>(i).map(|v| v.map_or(Cell::Null, Cell::Real))
                            }
                            ColumnType::Bool => {
                                row.try_get::<_, Option<bool>>(i).map(|v| v.map_or(Cell::Null, Cell::Bool))
                            }
                        };
                        values.push(cell.map_err(backend)?.into_json());
                    }
                    rows.push(values);
                }
                let columns = columns.iter().map(|(c, _)| (*c).to_owned()).collect();
                tables.push(dump::Table { name: (*name).to_owned(), columns, rows });
            }
            Ok(Dump { format: dump::FORMAT.into(), version: dump::VERSION, change_counter, tables })
        })
    }

    async fn import(&self, dump: Dump) -> StoreResult<()> {
        dump.check().map_err(StoreError::Invalid)?;
        transaction!(self, |tx| {
            let used: i64 = rows::query(&tx, ctp_store_sql::USED, &[]).await?[0].get(0);
            checks::empty_for_import(used)?;
            for (table, (name, columns)) in dump.tables.iter().zip(dump::TABLES) {
                let placeholders = (1..=columns.len()).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ");
                let sql =
                    format!("INSERT INTO {name} ({}) VALUES ({placeholders})", ctp_store_sql::column_list(columns));
                for row in &table.rows {
                    let mut values: Vec<Box<dyn tokio_postgres::types::ToSql + Sync + Send>> = Vec::new();
                    for (value, (_, column_type)) in row.iter().zip(columns.iter()) {
                        let cell = Cell::from_json(value, *column_type).map_err(StoreError::Invalid)?;
                        values.push(match (cell, column_type) {
                            (Cell::Text(s), _) => Box::new(Some(s)),
                            (Cell::Int(i), ColumnType::Int) => Box::new(Some(i as i32)),
                            (Cell::Int(i), _) => Box::new(Some(i)),
                            (Cell::Real(f), _) => Box::new(Some(f)),
                            (Cell::Bool(b), _) => Box::new(Some(b)),
                            (Cell::Null, ColumnType::Text) => Box::new(None::<String>),
                            (Cell::Null, ColumnType::BigInt) => Box::new(None::<i64>),
                            (Cell::Null, ColumnType::Int) => Box::new(None::<i32>),
                            (Cell::Null, ColumnType::Real) => Box::new(None::<f64>),
                            (Cell::Null, ColumnType::Bool) => Box::new(None::<bool>),
                        });
                    }
                    let params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> =
                        values.iter().map(|v| v.as_ref() as &(dyn tokio_postgres::types::ToSql + Sync)).collect();
                    execute(&tx, &sql, &params).await?;
                }
            }
            let counter = dump.change_counter;
            execute(&tx, "SELECT setval('change_ids', GREATEST($1::BIGINT, 1), $1::BIGINT > 0)", &[&counter]).await?;
            rows::batch(&tx, schema::COMPLETE_RESULTS).await
        })
    }

    async fn prune_deliveries(&self, before: Timestamp) -> StoreResult<u64> {
        transaction!(self, |tx| {
            execute(&tx, "DELETE FROM deliveries WHERE state = 'delivered' AND delivery_time < $1", &[&before.millis()])
                .await
        })
    }
}
