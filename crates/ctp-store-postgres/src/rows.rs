//! Reading resources out of rows, and the small queries every operation shares; the
//! PostgreSQL twin of `ctp-store-sqlite`'s `rows.rs` (same tables, same column lists).

use ctp_model::resources::{
    Account, Asset, Attribute, ChangeId, Delivery, DeliveryState, Evaluated, Header, Kind, LogBody, LogEntry,
    Measurement, MeasurementState, Member, Metric, Ref, Trigger, View,
};
use ctp_model::{ResourceId, Status, Timestamp};
use ctp_store::{StoreError, StoreResult};
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

/// Where queries run: a transaction, or (for reads of one statement) a connection of the
/// pool directly, which saves the BEGIN and COMMIT round trips. Both cache statements.
pub(crate) enum Tx<'a> {
    /// Autocommit on a pooled connection.
    Client(&'a deadpool_postgres::ClientWrapper),
    /// A transaction.
    Transaction(&'a deadpool_postgres::Transaction<'a>),
}

impl Tx<'_> {
    async fn statement(&self, sql: &str) -> StoreResult<tokio_postgres::Statement> {
        match self {
            Tx::Client(client) => client.prepare_cached(sql).await,
            Tx::Transaction(tx) => tx.prepare_cached(sql).await,
        }
        .map_err(backend)
    }
}

/// Query parameters.
pub(crate) type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// Any PostgreSQL failure is a backend failure.
pub(crate) fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::broken(e.to_string())
}

/// Tags are stored as a JSON array.
pub(crate) fn tags_to_text(tags: &[String]) -> String {
    serde_json::to_string(tags).expect("strings serialize")
}

pub(crate) async fn query(tx: &Tx<'_>, sql: &str, params: Params<'_>) -> StoreResult<Vec<Row>> {
    let statement = tx.statement(sql).await?;
    match tx {
        Tx::Client(client) => client.query(&statement, params).await,
        Tx::Transaction(tx) => tx.query(&statement, params).await,
    }
    .map_err(backend)
}

pub(crate) async fn query_opt(tx: &Tx<'_>, sql: &str, params: Params<'_>) -> StoreResult<Option<Row>> {
    let statement = tx.statement(sql).await?;
    match tx {
        Tx::Client(client) => client.query_opt(&statement, params).await,
        Tx::Transaction(tx) => tx.query_opt(&statement, params).await,
    }
    .map_err(backend)
}

pub(crate) async fn execute(tx: &Tx<'_>, sql: &str, params: Params<'_>) -> StoreResult<u64> {
    let statement = tx.statement(sql).await?;
    match tx {
        Tx::Client(client) => client.execute(&statement, params).await,
        Tx::Transaction(tx) => tx.execute(&statement, params).await,
    }
    .map_err(backend)
}

/// Runs statements without parameters, such as a migration's text.
pub(crate) async fn batch(tx: &Tx<'_>, sql: &str) -> StoreResult<()> {
    match tx {
        Tx::Client(client) => client.batch_execute(sql).await,
        Tx::Transaction(tx) => tx.batch_execute(sql).await,
    }
    .map_err(backend)
}

fn text_at(row: &Row, column: usize) -> StoreResult<String> {
    row.try_get(column).map_err(backend)
}

fn tags_at(row: &Row, column: usize) -> StoreResult<Vec<String>> {
    serde_json::from_str(&text_at(row, column)?).map_err(backend)
}

fn id_at(row: &Row, column: usize) -> StoreResult<ResourceId> {
    ResourceId::parse(&text_at(row, column)?).map_err(backend)
}

fn optional_id_at(row: &Row, column: usize) -> StoreResult<Option<ResourceId>> {
    let text: Option<String> = row.try_get(column).map_err(backend)?;
    text.map(|t| ResourceId::parse(&t).map_err(backend)).transpose()
}

fn time_at(row: &Row, column: usize) -> StoreResult<Timestamp> {
    let millis: i64 = row.try_get(column).map_err(backend)?;
    Timestamp::from_millis(millis).ok_or_else(|| backend(format!("{millis} is not a time")))
}

fn status_at(row: &Row, column: usize) -> StoreResult<Status> {
    let text = text_at(row, column)?;
    Status::parse(&text).ok_or_else(|| backend(format!("{text:?} is not a status")))
}

fn header_at(row: &Row, column: usize) -> StoreResult<Header> {
    Ok(Header { name: text_at(row, column)?, annotation: text_at(row, column + 1)? })
}

fn get<'a, T: tokio_postgres::types::FromSql<'a>>(row: &'a Row, column: usize) -> StoreResult<T> {
    row.try_get(column).map_err(backend)
}

/// Runs a single-row query by id; no row is `NotFound(kind, id)`.
async fn one<T>(
    tx: &Tx<'_>,
    sql: &str,
    kind: Kind,
    id: &ResourceId,
    map: impl FnOnce(&Row) -> StoreResult<T>,
) -> StoreResult<T> {
    match query_opt(tx, sql, &[&id.as_str()]).await? {
        Some(row) => map(&row),
        None => Err(StoreError::NotFound(kind, id.clone())),
    }
}

const VIEW_SELECT: &str =
    "SELECT id, parent_kind, parent_id, name, annotation, provider, service_class, change_id, access_tags FROM views";

fn view_row(row: &Row) -> StoreResult<View> {
    let parent_kind: Option<String> = get(row, 1)?;
    let parent = match parent_kind {
        None => None,
        Some(segment) => {
            let kind = Kind::from_segment(&segment).ok_or_else(|| backend(format!("{segment:?} is not a kind")))?;
            Some(Ref { kind, id: id_at(row, 2)? })
        }
    };
    Ok(View {
        id: id_at(row, 0)?,
        parent,
        header: header_at(row, 3)?,
        provider: get(row, 5)?,
        service_class: get(row, 6)?,
        change_id: get(row, 7)?,
        access_tags: tags_at(row, 8)?,
    })
}

/// A service view (`kind` ServiceView) or a dependency (`kind` Dependency).
pub(crate) async fn load_view(tx: &Tx<'_>, kind: Kind, id: &ResourceId) -> StoreResult<View> {
    let sql = match kind {
        Kind::ServiceView => format!("{VIEW_SELECT} WHERE id = $1 AND parent_kind IS NULL"),
        _ => format!("{VIEW_SELECT} WHERE id = $1 AND parent_kind IS NOT NULL"),
    };
    one(tx, &sql, kind, id, view_row).await
}

/// A service view or a dependency, whichever `id` is.
pub(crate) async fn load_any_view(tx: &Tx<'_>, id: &ResourceId) -> StoreResult<View> {
    one(tx, &format!("{VIEW_SELECT} WHERE id = $1"), Kind::ServiceView, id, view_row).await
}

pub(crate) async fn load_asset(tx: &Tx<'_>, id: &ResourceId) -> StoreResult<Asset> {
    let sql = "SELECT id, view_id, name, annotation, asset_class, change_id, access_tags FROM assets WHERE id = $1";
    one(tx, sql, Kind::Asset, id, |row| {
        Ok(Asset {
            id: id_at(row, 0)?,
            view_id: id_at(row, 1)?,
            header: header_at(row, 2)?,
            asset_class: get(row, 4)?,
            change_id: get(row, 5)?,
            access_tags: tags_at(row, 6)?,
        })
    })
    .await
}

pub(crate) async fn load_attribute(tx: &Tx<'_>, id: &ResourceId) -> StoreResult<Attribute> {
    let sql = "SELECT id, asset_id, name, annotation, change_id, access_tags FROM attributes WHERE id = $1";
    one(tx, sql, Kind::Attribute, id, |row| {
        Ok(Attribute {
            id: id_at(row, 0)?,
            asset_id: id_at(row, 1)?,
            header: header_at(row, 2)?,
            change_id: get(row, 4)?,
            access_tags: tags_at(row, 5)?,
        })
    })
    .await
}

pub(crate) async fn load_metric(tx: &Tx<'_>, id: &ResourceId) -> StoreResult<Metric> {
    let sql = "SELECT id, name, annotation, base_metric, parameters, result_format, change_id, access_tags \
               FROM metrics WHERE id = $1";
    one(tx, sql, Kind::Metric, id, |row| {
        Ok(Metric {
            id: id_at(row, 0)?,
            header: header_at(row, 1)?,
            base_metric: get(row, 3)?,
            parameters: serde_json::from_str(&text_at(row, 4)?).map_err(backend)?,
            result_format: serde_json::from_str(&text_at(row, 5)?).map_err(backend)?,
            change_id: get(row, 6)?,
            access_tags: tags_at(row, 7)?,
        })
    })
    .await
}

const MEASUREMENT_SELECT: &str = "SELECT id, attribute_id, view_id, metric_id, name, annotation, result, \
     objective_condition, objective_status, objective_time, triggers_allowed, user_activated, state, change_id, \
     access_tags FROM measurements WHERE id = $1";

fn measurement_row(row: &Row) -> StoreResult<Measurement> {
    let condition: Option<String> = get(row, 7)?;
    let objective = match condition {
        None => None,
        Some(condition) => {
            Some(Evaluated { condition, status: status_at(row, 8)?, status_update_time: time_at(row, 9)? })
        }
    };
    let state = text_at(row, 12)?;
    Ok(Measurement {
        id: id_at(row, 0)?,
        attribute_id: id_at(row, 1)?,
        view_id: id_at(row, 2)?,
        metric_id: id_at(row, 3)?,
        header: header_at(row, 4)?,
        result: get(row, 6)?,
        objective,
        triggers_allowed: get(row, 10)?,
        user_activated: get(row, 11)?,
        state: MeasurementState::parse(&state).ok_or_else(|| backend(format!("{state:?} is not a state")))?,
        change_id: get(row, 13)?,
        access_tags: tags_at(row, 14)?,
    })
}

pub(crate) async fn load_measurement(tx: &Tx<'_>, id: &ResourceId) -> StoreResult<Measurement> {
    one(tx, MEASUREMENT_SELECT, Kind::Measurement, id, measurement_row).await
}

/// A measurement, locked until the end of the transaction: pushes, trigger creation and
/// state changes of one measurement run one after another, on every instance.
pub(crate) async fn lock_measurement(tx: &Tx<'_>, id: &ResourceId) -> StoreResult<Measurement> {
    one(tx, &format!("{MEASUREMENT_SELECT} FOR UPDATE"), Kind::Measurement, id, measurement_row).await
}

const TRIGGER_SELECT: &str = "SELECT id, view_id, measurement_id, name, annotation, condition, status, status_time, \
                              notification, guard_time, tags, change_id, access_tags, owner_id FROM triggers";

fn trigger_row(row: &Row) -> StoreResult<Trigger> {
    Ok(Trigger {
        id: id_at(row, 0)?,
        view_id: id_at(row, 1)?,
        measurement_id: id_at(row, 2)?,
        header: header_at(row, 3)?,
        evaluated: Evaluated {
            condition: get(row, 5)?,
            status: status_at(row, 6)?,
            status_update_time: time_at(row, 7)?,
        },
        notification: get(row, 8)?,
        guard_time: get(row, 9)?,
        tags: tags_at(row, 10)?,
        change_id: get(row, 11)?,
        access_tags: tags_at(row, 12)?,
        owner_id: optional_id_at(row, 13)?,
    })
}

pub(crate) async fn load_trigger(tx: &Tx<'_>, id: &ResourceId) -> StoreResult<Trigger> {
    one(tx, &format!("{TRIGGER_SELECT} WHERE id = $1"), Kind::Trigger, id, trigger_row).await
}

/// The triggers of a measurement, in creation order.
pub(crate) async fn triggers_of_measurement(tx: &Tx<'_>, measurement_id: &ResourceId) -> StoreResult<Vec<Trigger>> {
    let rows =
        query(tx, &format!("{TRIGGER_SELECT} WHERE measurement_id = $1 ORDER BY seq"), &[&measurement_id.as_str()])
            .await?;
    rows.iter().map(trigger_row).collect()
}

pub(crate) async fn load_log(tx: &Tx<'_>, id: &ResourceId) -> StoreResult<LogEntry> {
    let sql = "SELECT id, view_id, trigger_id, creation_time, result, error, tags, access_tags FROM logs WHERE id = $1";
    one(tx, sql, Kind::Log, id, |row| {
        let result: Option<String> = get(row, 4)?;
        let error: Option<String> = get(row, 5)?;
        Ok(LogEntry {
            id: id_at(row, 0)?,
            view_id: id_at(row, 1)?,
            trigger_id: id_at(row, 2)?,
            creation_time: time_at(row, 3)?,
            body: match (result, error) {
                (Some(result), _) => LogBody::Result(result),
                (None, error) => LogBody::Error(error.unwrap_or_default()),
            },
            tags: tags_at(row, 6)?,
            access_tags: tags_at(row, 7)?,
        })
    })
    .await
}

const ACCOUNT_SELECT: &str =
    "SELECT id, name, annotation, account_tags, access_tags, token_hash, change_id, webhook_secret FROM accounts";

fn account_row(row: &Row) -> StoreResult<Account> {
    Ok(Account {
        id: id_at(row, 0)?,
        header: header_at(row, 1)?,
        account_tags: tags_at(row, 3)?,
        access_tags: tags_at(row, 4)?,
        token_hash: get(row, 5)?,
        change_id: get(row, 6)?,
        webhook_secret: get(row, 7)?,
    })
}

pub(crate) async fn load_account(tx: &Tx<'_>, id: &ResourceId) -> StoreResult<Account> {
    one(tx, &format!("{ACCOUNT_SELECT} WHERE id = $1"), Kind::Account, id, account_row).await
}

pub(crate) async fn account_by_token_hash(tx: &Tx<'_>, token_hash: &str) -> StoreResult<Option<Account>> {
    query_opt(tx, &format!("{ACCOUNT_SELECT} WHERE token_hash = $1"), &[&token_hash])
        .await?
        .as_ref()
        .map(account_row)
        .transpose()
}

/// The members of a collection: `sql` selects `id, name, access_tags`, in order.
pub(crate) async fn members(tx: &Tx<'_>, sql: &str, params: Params<'_>) -> StoreResult<Vec<Member>> {
    query(tx, sql, params)
        .await?
        .iter()
        .map(|row| Ok(Member { id: id_at(row, 0)?, name: get(row, 1)?, access_tags: tags_at(row, 2)? }))
        .collect()
}

const DELIVERY_COLUMNS: &str = "id, log_id, trigger_id, view_id, owner_id, target, state, attempts, next_attempt, \
                                last_error, creation_time, delivery_time, access_tags";

fn delivery_row(row: &Row) -> StoreResult<Delivery> {
    let state = text_at(row, 6)?;
    let attempts: i32 = get(row, 7)?;
    let delivery_time: Option<i64> = get(row, 11)?;
    Ok(Delivery {
        id: id_at(row, 0)?,
        log_id: id_at(row, 1)?,
        trigger_id: id_at(row, 2)?,
        view_id: id_at(row, 3)?,
        owner_id: optional_id_at(row, 4)?,
        target: get(row, 5)?,
        state: DeliveryState::parse(&state).ok_or_else(|| backend(format!("{state:?} is not a state")))?,
        attempts: attempts.max(0) as u32,
        next_attempt: time_at(row, 8)?,
        last_error: get(row, 9)?,
        creation_time: time_at(row, 10)?,
        delivery_time: delivery_time.and_then(Timestamp::from_millis),
        access_tags: tags_at(row, 12)?,
    })
}

/// One notification job.
pub(crate) async fn load_delivery(tx: &Tx<'_>, id: &ResourceId) -> StoreResult<Delivery> {
    one(tx, &format!("SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE id = $1"), Kind::Delivery, id, delivery_row).await
}

/// Notification jobs selected by `filter` (`WHERE ... ORDER BY ...`).
pub(crate) async fn deliveries_where(tx: &Tx<'_>, filter: &str, params: Params<'_>) -> StoreResult<Vec<Delivery>> {
    query(tx, &format!("SELECT {DELIVERY_COLUMNS} FROM deliveries {filter}"), params)
        .await?
        .iter()
        .map(delivery_row)
        .collect()
}

/// Claims due jobs: the rows other instances hold are skipped, not waited for.
pub(crate) async fn claim_due(
    tx: &Tx<'_>,
    now: Timestamp,
    lease_until: Timestamp,
    limit: i64,
) -> StoreResult<Vec<Delivery>> {
    let sql = format!(
        "UPDATE deliveries SET next_attempt = $2, claimed = TRUE WHERE id IN \
         (SELECT id FROM deliveries WHERE state = 'pending' AND next_attempt <= $1 \
          ORDER BY next_attempt, seq LIMIT $3 FOR UPDATE SKIP LOCKED) \
         RETURNING {DELIVERY_COLUMNS}"
    );
    let mut claimed: Vec<Delivery> = query(tx, &sql, &[&now.millis(), &lease_until.millis(), &limit])
        .await?
        .iter()
        .map(delivery_row)
        .collect::<StoreResult<_>>()?;
    claimed.sort_by_key(|d| (d.creation_time, d.id.as_str().to_owned()));
    Ok(claimed)
}

/// The next change identifier: one sequence for the whole store, shared by every instance.
pub(crate) async fn next_change_id(tx: &Tx<'_>) -> StoreResult<ChangeId> {
    let row = query_opt(tx, "SELECT nextval('change_ids')", &[]).await?.ok_or_else(|| backend("no change id"))?;
    get(&row, 0)
}

async fn set_change(tx: &Tx<'_>, table: &str, id: &ResourceId, change: ChangeId) -> StoreResult<u64> {
    execute(tx, &format!("UPDATE {table} SET change_id = $1 WHERE id = $2"), &[&change, &id.as_str()]).await
}

/// Gives a service view or dependency a new change identifier, and its parents up to the
/// service view (4.1.5).
pub(crate) async fn touch_view(tx: &Tx<'_>, view_id: &ResourceId, change: ChangeId) -> StoreResult<()> {
    let mut current = Some(view_id.clone());
    for _ in 0..10_000 {
        let Some(id) = current else { return Ok(()) };
        let row = query_opt(
            tx,
            "UPDATE views SET change_id = $1 WHERE id = $2 RETURNING parent_id",
            &[&change, &id.as_str()],
        )
        .await?;
        current = match row {
            Some(row) => optional_id_at(&row, 0)?,
            None => None,
        };
    }
    Ok(())
}

/// A new change identifier for an asset and its service view.
pub(crate) async fn touch_asset(tx: &Tx<'_>, asset: &Asset, change: ChangeId) -> StoreResult<()> {
    set_change(tx, "assets", &asset.id, change).await?;
    touch_view(tx, &asset.view_id, change).await
}

/// A new change identifier for an attribute, its asset and service view (one statement).
pub(crate) async fn touch_attribute(tx: &Tx<'_>, attribute: &Attribute, change: ChangeId) -> StoreResult<()> {
    let sql = "WITH a AS (UPDATE attributes SET change_id = $1 WHERE id = $2 RETURNING asset_id), \
               s AS (UPDATE assets SET change_id = $1 WHERE id = (SELECT asset_id FROM a) RETURNING view_id) \
               SELECT view_id FROM s";
    touch_view_of(tx, query_opt(tx, sql, &[&change, &attribute.id.as_str()]).await?, change).await
}

/// A new change identifier for a measurement and everything above it (one statement, and
/// one more per level of dependency above the service view).
pub(crate) async fn touch_measurement(tx: &Tx<'_>, measurement: &Measurement, change: ChangeId) -> StoreResult<()> {
    let sql = "WITH m AS (UPDATE measurements SET change_id = $1 WHERE id = $2 RETURNING attribute_id), \
               a AS (UPDATE attributes SET change_id = $1 WHERE id = (SELECT attribute_id FROM m) RETURNING asset_id), \
               s AS (UPDATE assets SET change_id = $1 WHERE id = (SELECT asset_id FROM a) RETURNING view_id) \
               SELECT view_id FROM s";
    touch_view_of(tx, query_opt(tx, sql, &[&change, &measurement.id.as_str()]).await?, change).await
}

/// Touches the view named by the first column of `row`, if any.
async fn touch_view_of(tx: &Tx<'_>, row: Option<Row>, change: ChangeId) -> StoreResult<()> {
    match row {
        Some(row) => touch_view(tx, &id_at(&row, 0)?, change).await,
        None => Ok(()),
    }
}
