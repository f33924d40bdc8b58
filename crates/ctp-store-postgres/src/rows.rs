//! Rows to records: each resource read out of its row (`load_*`), the members of a
//! collection, tags, ids, times and states decoded; and the change counter. The
//! PostgreSQL twin of `ctp-store-sqlite`'s `rows.rs` (same tables, same column lists).

use ctp_model::resources::{
    Account, Asset, Attribute, ChangeId, Delivery, DeliveryState, Evaluated, Header, Kind, Measurement,
    MeasurementState, Member, Metric, Ref, Trigger, View,
};
use ctp_model::{ResourceId, Status, Timestamp};
use ctp_store::{StoreError, StoreResult};
use tokio_postgres::types::FromSql;
use tokio_postgres::Row;

use crate::{Context, Params, Tx};

/// Tags are stored as a JSON array.
pub(crate) fn tags_to_text(tags: &[String]) -> String {
    serde_json::to_string(tags).expect("strings serialize")
}

/// Tags out of their stored text.
pub(crate) fn tags_from_text(text: &str) -> StoreResult<Vec<String>> {
    serde_json::from_str(text).map_err(|e| StoreError::backend("reading stored tags (not a JSON array)", e))
}

/// The value of a column.
pub(crate) fn get<'a, T: FromSql<'a>>(row: &'a Row, column: usize) -> StoreResult<T> {
    row.try_get(column).context("reading a stored row")
}

pub(crate) fn tags_at(row: &Row, column: usize) -> StoreResult<Vec<String>> {
    tags_from_text(get(row, column)?)
}

pub(crate) fn id_at(row: &Row, column: usize) -> StoreResult<ResourceId> {
    ResourceId::parse(get(row, column)?).map_err(|e| StoreError::backend("reading a stored id", e))
}

pub(crate) fn optional_id_at(row: &Row, column: usize) -> StoreResult<Option<ResourceId>> {
    let text: Option<&str> = get(row, column)?;
    text.map(|t| ResourceId::parse(t).map_err(|e| StoreError::backend("reading a stored id", e))).transpose()
}

pub(crate) fn time_at(row: &Row, column: usize) -> StoreResult<Timestamp> {
    let millis: i64 = get(row, column)?;
    Timestamp::from_millis(millis).ok_or_else(|| StoreError::broken(format!("reading a stored time: {millis}")))
}

fn status_at(row: &Row, column: usize) -> StoreResult<Status> {
    let text: &str = get(row, column)?;
    Status::parse(text).ok_or_else(|| StoreError::broken(format!("reading a stored status: {text:?}")))
}

fn header_at(row: &Row, column: usize) -> StoreResult<Header> {
    Ok(Header { name: get(row, column)?, annotation: get(row, column + 1)? })
}

/// Runs a single-row query by id; no row is `NotFound(kind, id)`.
async fn one<T>(
    tx: &Tx<'_>,
    sql: &str,
    kind: Kind,
    id: &ResourceId,
    map: impl FnOnce(&Row) -> StoreResult<T>,
) -> StoreResult<T> {
    let row = tx.query_opt(sql, &[&id.as_str()]).await;
    match row.map_err(|e| StoreError::backend(format!("loading the {} {id}", kind.noun()), e))? {
        Some(row) => map(&row),
        None => Err(StoreError::NotFound(kind, id.clone())),
    }
}

const VIEW_SELECT: &str =
    "SELECT id, parent_kind, parent_id, name, annotation, provider, service_class, change_id, access_tags FROM views";

fn view_row(row: &Row) -> StoreResult<View> {
    let parent_kind: Option<&str> = get(row, 1)?;
    let parent = match parent_kind {
        None => None,
        Some(segment) => {
            let kind = Kind::from_segment(segment)
                .ok_or_else(|| StoreError::broken(format!("reading a view's parent kind: {segment:?}")))?;
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
    let json = |e| StoreError::backend("reading a stored metric (not JSON)", e);
    one(tx, sql, Kind::Metric, id, |row| {
        Ok(Metric {
            id: id_at(row, 0)?,
            header: header_at(row, 1)?,
            base_metric: get(row, 3)?,
            parameters: serde_json::from_str(get(row, 4)?).map_err(json)?,
            result_format: serde_json::from_str(get(row, 5)?).map_err(json)?,
            change_id: get(row, 6)?,
            access_tags: tags_at(row, 7)?,
        })
    })
    .await
}

const MEASUREMENT_SELECT: &str = "SELECT id, attribute_id, view_id, metric_id, name, annotation, result, \
     objective_condition, objective_status, objective_time, triggers_allowed, user_activated, state, change_id, \
     access_tags, (SELECT v.verification FROM result_verifications v WHERE v.id = measurements.id), \
     EXISTS (SELECT 1 FROM signing_required s WHERE s.id IN (measurements.id, measurements.metric_id)) \
     FROM measurements WHERE id = $1";

fn measurement_row(row: &Row) -> StoreResult<Measurement> {
    let condition: Option<String> = get(row, 7)?;
    let objective = match condition {
        None => None,
        Some(condition) => {
            Some(Evaluated { condition, status: status_at(row, 8)?, status_update_time: time_at(row, 9)? })
        }
    };
    let state: &str = get(row, 12)?;
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
        state: MeasurementState::parse(state)
            .ok_or_else(|| StoreError::broken(format!("reading a stored measurement state: {state:?}")))?,
        change_id: get(row, 13)?,
        access_tags: tags_at(row, 14)?,
        verification: get::<Option<&str>>(row, 15)?.map(ctp_store_sql::verification_from_text).transpose()?,
        signed_results_required: get(row, 16)?,
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
    let sql = format!("{TRIGGER_SELECT} WHERE measurement_id = $1 ORDER BY seq");
    let rows = tx.query(&sql, &[&measurement_id.as_str()]).await.context("loading the triggers of a measurement")?;
    rows.iter().map(trigger_row).collect()
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
    let sql = format!("{ACCOUNT_SELECT} WHERE token_hash = $1");
    tx.query_opt(&sql, &[&token_hash])
        .await
        .context("loading an account by token")?
        .as_ref()
        .map(account_row)
        .transpose()
}

/// The members of a collection: `sql` selects `id, name, access_tags`, in order.
pub(crate) async fn members(tx: &Tx<'_>, sql: &str, params: Params<'_>) -> StoreResult<Vec<Member>> {
    tx.query(sql, params)
        .await
        .context("listing a collection")?
        .iter()
        .map(|row| Ok(Member { id: id_at(row, 0)?, name: get(row, 1)?, access_tags: tags_at(row, 2)? }))
        .collect()
}

/// The columns of a notification job, as [`delivery_row`] reads them.
pub(crate) const DELIVERY_COLUMNS: &str = "id, log_id, trigger_id, view_id, owner_id, target, state, attempts, \
                                           next_attempt, last_error, creation_time, delivery_time, access_tags";

pub(crate) fn delivery_row(row: &Row) -> StoreResult<Delivery> {
    let state: &str = get(row, 6)?;
    let attempts: i32 = get(row, 7)?;
    let delivery_time: Option<i64> = get(row, 11)?;
    Ok(Delivery {
        id: id_at(row, 0)?,
        log_id: id_at(row, 1)?,
        trigger_id: id_at(row, 2)?,
        view_id: id_at(row, 3)?,
        owner_id: optional_id_at(row, 4)?,
        target: get(row, 5)?,
        state: DeliveryState::parse(state)
            .ok_or_else(|| StoreError::broken(format!("reading a stored delivery state: {state:?}")))?,
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

/// The next change identifier: one sequence for the whole store, shared by every instance.
pub(crate) async fn next_change_id(tx: &Tx<'_>) -> StoreResult<ChangeId> {
    let row = tx.query_one("SELECT nextval('change_ids')", &[]).await.context("taking a change identifier")?;
    get(&row, 0)
}
