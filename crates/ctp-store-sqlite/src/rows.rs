//! Reading resources out of rows, and the small queries both the readers and the writer
//! use. One function per resource kind, so that a column list is written once.

use ctp_model::resources::{
    Account, Asset, Attribute, ChangeId, Delivery, DeliveryState, Evaluated, Header, Kind, LogBody, LogEntry,
    Measurement, MeasurementState, Member, Metric, Ref, Trigger, View,
};
use ctp_model::{ResourceId, Status, Timestamp};
use ctp_store::{StoreError, StoreResult};
use rusqlite::types::Type;
use rusqlite::{Connection, OptionalExtension, Row};

/// Any SQLite failure is a backend failure, with SQLite's error as its cause.
pub(crate) fn backend(e: rusqlite::Error) -> StoreError {
    StoreError::backend("an SQLite statement failed", e)
}

/// Tags are stored as a JSON array.
pub(crate) fn tags_to_text(tags: &[String]) -> String {
    serde_json::to_string(tags).expect("strings serialize")
}

/// Reads stored tags.
pub(crate) fn tags_from_text(text: &str) -> StoreResult<Vec<String>> {
    serde_json::from_str(text).map_err(|e| StoreError::backend("reading stored access tags", e))
}

fn conversion(column: usize, message: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(column, Type::Text, message.into())
}

fn tags_at(row: &Row<'_>, column: usize) -> rusqlite::Result<Vec<String>> {
    let text: String = row.get(column)?;
    serde_json::from_str(&text).map_err(|e| conversion(column, e.to_string()))
}

fn id_at(row: &Row<'_>, column: usize) -> rusqlite::Result<ResourceId> {
    let text: String = row.get(column)?;
    ResourceId::parse(&text).map_err(|e| conversion(column, e.to_string()))
}

fn optional_id_at(row: &Row<'_>, column: usize) -> rusqlite::Result<Option<ResourceId>> {
    let text: Option<String> = row.get(column)?;
    text.map(|t| ResourceId::parse(&t).map_err(|e| conversion(column, e.to_string()))).transpose()
}

fn time_at(row: &Row<'_>, column: usize) -> rusqlite::Result<Timestamp> {
    let millis: i64 = row.get(column)?;
    Timestamp::from_millis(millis).ok_or_else(|| conversion(column, format!("{millis} is not a time")))
}

fn status_at(row: &Row<'_>, column: usize) -> rusqlite::Result<Status> {
    let text: String = row.get(column)?;
    Status::parse(&text).ok_or_else(|| conversion(column, format!("{text:?} is not a status")))
}

fn header_at(row: &Row<'_>, column: usize) -> rusqlite::Result<Header> {
    Ok(Header { name: row.get(column)?, annotation: row.get(column + 1)? })
}

/// Runs a single-row query; no row is `NotFound(kind, id)`.
fn one<T>(
    conn: &Connection,
    sql: &str,
    kind: Kind,
    id: &ResourceId,
    map: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
) -> StoreResult<T> {
    conn.prepare_cached(sql)
        .and_then(|mut statement| statement.query_row([id.as_str()], map).optional())
        .map_err(backend)?
        .ok_or_else(|| StoreError::NotFound(kind, id.clone()))
}

pub(crate) const VIEW_COLUMNS: &str =
    "id, parent_kind, parent_id, name, annotation, provider, service_class, change_id, access_tags";

fn view_row(row: &Row<'_>) -> rusqlite::Result<View> {
    let parent_kind: Option<String> = row.get(1)?;
    let parent = match parent_kind {
        None => None,
        Some(segment) => {
            let kind = Kind::from_segment(&segment).ok_or_else(|| conversion(1, segment.clone()))?;
            Some(Ref { kind, id: id_at(row, 2)? })
        }
    };
    Ok(View {
        id: id_at(row, 0)?,
        parent,
        header: header_at(row, 3)?,
        provider: row.get(5)?,
        service_class: row.get(6)?,
        change_id: row.get(7)?,
        access_tags: tags_at(row, 8)?,
    })
}

/// A service view (`kind` ServiceView) or a dependency (`kind` Dependency).
pub(crate) fn load_view(conn: &Connection, kind: Kind, id: &ResourceId) -> StoreResult<View> {
    let sql = match kind {
        Kind::ServiceView => "SELECT id, parent_kind, parent_id, name, annotation, provider, service_class, change_id, access_tags FROM views WHERE id = ?1 AND parent_kind IS NULL",
        _ => "SELECT id, parent_kind, parent_id, name, annotation, provider, service_class, change_id, access_tags FROM views WHERE id = ?1 AND parent_kind IS NOT NULL",
    };
    debug_assert!(sql.contains(VIEW_COLUMNS));
    one(conn, sql, kind, id, view_row)
}

/// A service view or a dependency, whichever `id` is.
pub(crate) fn load_any_view(conn: &Connection, id: &ResourceId) -> StoreResult<View> {
    let sql = "SELECT id, parent_kind, parent_id, name, annotation, provider, service_class, change_id, access_tags FROM views WHERE id = ?1";
    one(conn, sql, Kind::ServiceView, id, view_row)
}

pub(crate) fn load_asset(conn: &Connection, id: &ResourceId) -> StoreResult<Asset> {
    let sql = "SELECT id, view_id, name, annotation, asset_class, change_id, access_tags FROM assets WHERE id = ?1";
    one(conn, sql, Kind::Asset, id, |row| {
        Ok(Asset {
            id: id_at(row, 0)?,
            view_id: id_at(row, 1)?,
            header: header_at(row, 2)?,
            asset_class: row.get(4)?,
            change_id: row.get(5)?,
            access_tags: tags_at(row, 6)?,
        })
    })
}

pub(crate) fn load_attribute(conn: &Connection, id: &ResourceId) -> StoreResult<Attribute> {
    let sql = "SELECT id, asset_id, name, annotation, change_id, access_tags FROM attributes WHERE id = ?1";
    one(conn, sql, Kind::Attribute, id, |row| {
        Ok(Attribute {
            id: id_at(row, 0)?,
            asset_id: id_at(row, 1)?,
            header: header_at(row, 2)?,
            change_id: row.get(4)?,
            access_tags: tags_at(row, 5)?,
        })
    })
}

pub(crate) fn load_metric(conn: &Connection, id: &ResourceId) -> StoreResult<Metric> {
    let sql = "SELECT id, name, annotation, base_metric, parameters, result_format, change_id, access_tags \
               FROM metrics WHERE id = ?1";
    one(conn, sql, Kind::Metric, id, |row| {
        let parameters: String = row.get(4)?;
        let result_format: String = row.get(5)?;
        Ok(Metric {
            id: id_at(row, 0)?,
            header: header_at(row, 1)?,
            base_metric: row.get(3)?,
            parameters: serde_json::from_str(&parameters).map_err(|e| conversion(4, e.to_string()))?,
            result_format: serde_json::from_str(&result_format).map_err(|e| conversion(5, e.to_string()))?,
            change_id: row.get(6)?,
            access_tags: tags_at(row, 7)?,
        })
    })
}

pub(crate) fn load_measurement(conn: &Connection, id: &ResourceId) -> StoreResult<Measurement> {
    let sql = format!(
        "SELECT id, attribute_id, view_id, metric_id, name, annotation, result, objective_condition, \
         objective_status, objective_time, triggers_allowed, user_activated, state, change_id, access_tags, {} \
         FROM measurements WHERE id = ?1",
        ctp_store_sql::SIGNING_COLUMNS
    );
    one(conn, &sql, Kind::Measurement, id, |row| {
        let verification: Option<String> = row.get(15)?;
        let verification = verification
            .map(|text| ctp_store_sql::verification_from_text(&text).map_err(|e| conversion(15, e.to_string())))
            .transpose()?;
        let condition: Option<String> = row.get(7)?;
        let objective = match condition {
            None => None,
            Some(condition) => {
                Some(Evaluated { condition, status: status_at(row, 8)?, status_update_time: time_at(row, 9)? })
            }
        };
        let state: String = row.get(12)?;
        Ok(Measurement {
            id: id_at(row, 0)?,
            attribute_id: id_at(row, 1)?,
            view_id: id_at(row, 2)?,
            metric_id: id_at(row, 3)?,
            header: header_at(row, 4)?,
            result: row.get(6)?,
            objective,
            triggers_allowed: row.get(10)?,
            user_activated: row.get(11)?,
            state: MeasurementState::parse(&state).ok_or_else(|| conversion(12, state.clone()))?,
            change_id: row.get(13)?,
            access_tags: tags_at(row, 14)?,
            verification,
            signed_results_required: row.get(16)?,
        })
    })
}

const TRIGGER_SELECT: &str = "SELECT id, view_id, measurement_id, name, annotation, condition, status, status_time, \
                              notification, guard_time, tags, change_id, access_tags, owner_id FROM triggers";

fn trigger_row(row: &Row<'_>) -> rusqlite::Result<Trigger> {
    Ok(Trigger {
        id: id_at(row, 0)?,
        view_id: id_at(row, 1)?,
        measurement_id: id_at(row, 2)?,
        header: header_at(row, 3)?,
        evaluated: Evaluated {
            condition: row.get(5)?,
            status: status_at(row, 6)?,
            status_update_time: time_at(row, 7)?,
        },
        notification: row.get(8)?,
        guard_time: row.get(9)?,
        tags: tags_at(row, 10)?,
        change_id: row.get(11)?,
        access_tags: tags_at(row, 12)?,
        owner_id: optional_id_at(row, 13)?,
    })
}

pub(crate) fn load_trigger(conn: &Connection, id: &ResourceId) -> StoreResult<Trigger> {
    one(conn, &format!("{TRIGGER_SELECT} WHERE id = ?1"), Kind::Trigger, id, trigger_row)
}

/// The triggers of a measurement, in creation order.
pub(crate) fn triggers_of_measurement(conn: &Connection, measurement_id: &ResourceId) -> StoreResult<Vec<Trigger>> {
    let mut statement =
        conn.prepare_cached(&format!("{TRIGGER_SELECT} WHERE measurement_id = ?1 ORDER BY seq")).map_err(backend)?;
    let rows = statement.query_map([measurement_id.as_str()], trigger_row).map_err(backend)?;
    rows.collect::<rusqlite::Result<Vec<_>>>().map_err(backend)
}

pub(crate) fn load_log(conn: &Connection, id: &ResourceId) -> StoreResult<LogEntry> {
    let sql = "SELECT id, view_id, trigger_id, creation_time, result, error, tags, access_tags FROM logs WHERE id = ?1";
    one(conn, sql, Kind::Log, id, |row| {
        let result: Option<String> = row.get(4)?;
        let error: Option<String> = row.get(5)?;
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
}

const ACCOUNT_SELECT: &str =
    "SELECT id, name, annotation, account_tags, access_tags, token_hash, change_id, webhook_secret FROM accounts";

fn account_row(row: &Row<'_>) -> rusqlite::Result<Account> {
    Ok(Account {
        id: id_at(row, 0)?,
        header: header_at(row, 1)?,
        account_tags: tags_at(row, 3)?,
        access_tags: tags_at(row, 4)?,
        token_hash: row.get(5)?,
        change_id: row.get(6)?,
        webhook_secret: row.get(7)?,
    })
}

pub(crate) fn load_account(conn: &Connection, id: &ResourceId) -> StoreResult<Account> {
    one(conn, &format!("{ACCOUNT_SELECT} WHERE id = ?1"), Kind::Account, id, account_row)
}

pub(crate) fn account_by_token_hash(conn: &Connection, token_hash: &str) -> StoreResult<Option<Account>> {
    conn.prepare_cached(&format!("{ACCOUNT_SELECT} WHERE token_hash = ?1"))
        .and_then(|mut statement| statement.query_row([token_hash], account_row).optional())
        .map_err(backend)
}

/// The members of a collection: `sql` selects `id, name, access_tags`, in order.
pub(crate) fn members(conn: &Connection, sql: &str, params: impl rusqlite::Params) -> StoreResult<Vec<Member>> {
    let mut statement = conn.prepare_cached(sql).map_err(backend)?;
    let rows = statement
        .query_map(params, |row| Ok(Member { id: id_at(row, 0)?, name: row.get(1)?, access_tags: tags_at(row, 2)? }))
        .map_err(backend)?;
    rows.collect::<rusqlite::Result<Vec<_>>>().map_err(backend)
}

/// The texts a query of one column (with `?1` for `id`) selects.
pub(crate) fn strings(conn: &Connection, sql: &str, id: &ResourceId) -> StoreResult<Vec<String>> {
    let mut statement = conn.prepare_cached(sql).map_err(backend)?;
    let rows = statement.query_map([id.as_str()], |row| row.get::<_, String>(0)).map_err(backend)?;
    rows.collect::<Result<_, _>>().map_err(backend)
}

/// The next change identifier: one increasing counter for the whole store.
pub(crate) fn next_change_id(conn: &Connection) -> StoreResult<ChangeId> {
    conn.prepare_cached("UPDATE change_counter SET value = value + 1 RETURNING value")
        .and_then(|mut statement| statement.query_row([], |row| row.get(0)))
        .map_err(backend)
}

const DELIVERY_SELECT: &str =
    "SELECT id, log_id, trigger_id, view_id, owner_id, target, state, attempts, next_attempt, \
                               last_error, creation_time, delivery_time, access_tags FROM deliveries";

fn delivery_row(row: &Row<'_>) -> rusqlite::Result<Delivery> {
    let state: String = row.get(6)?;
    let delivery_time: Option<i64> = row.get(11)?;
    Ok(Delivery {
        id: id_at(row, 0)?,
        log_id: id_at(row, 1)?,
        trigger_id: id_at(row, 2)?,
        view_id: id_at(row, 3)?,
        owner_id: optional_id_at(row, 4)?,
        target: row.get(5)?,
        state: DeliveryState::parse(&state).ok_or_else(|| conversion(6, format!("{state:?} is not a state")))?,
        attempts: row.get(7)?,
        next_attempt: time_at(row, 8)?,
        last_error: row.get(9)?,
        creation_time: time_at(row, 10)?,
        delivery_time: delivery_time.and_then(Timestamp::from_millis),
        access_tags: tags_at(row, 12)?,
    })
}

/// One notification job.
pub(crate) fn load_delivery(conn: &Connection, id: &ResourceId) -> StoreResult<Delivery> {
    one(conn, &format!("{DELIVERY_SELECT} WHERE id = ?1"), Kind::Delivery, id, delivery_row)
}

/// Notification jobs selected by `filter` (`WHERE ... ORDER BY ...`).
pub(crate) fn deliveries_where(
    conn: &Connection,
    filter: &str,
    params: impl rusqlite::Params,
) -> StoreResult<Vec<Delivery>> {
    let mut statement = conn.prepare_cached(&format!("{DELIVERY_SELECT} {filter}")).map_err(backend)?;
    let rows = statement.query_map(params, delivery_row).map_err(backend)?;
    rows.collect::<rusqlite::Result<Vec<_>>>().map_err(backend)
}
