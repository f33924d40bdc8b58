//! The audit trail (issue 14): records of the changes attempted through the API, each also
//! a leaf of the transparency log, listed by account, resource and time.

use ctp_model::resources::AuditRecord;
use ctp_model::{ResourceId, Timestamp};
use ctp_store::{AuditFilter, StoreError, StoreResult, Window};
use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::rows::backend;

/// A record's row: id, account, method, resource, body digest, status, time.
type AuditRow = (String, Option<String>, String, String, String, u16, i64);

const SELECT: &str = "SELECT id, account_id, method, resource, body_sha256, status, time FROM audit";

fn record_of(row: &Row<'_>) -> rusqlite::Result<AuditRow> {
    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?, row.get(5)?, row.get(6)?))
}

fn decode(
    (id, account, method, resource, body_sha256, status, time): (
        String,
        Option<String>,
        String,
        String,
        String,
        u16,
        i64,
    ),
) -> StoreResult<AuditRecord> {
    let id_of = |text: &str| ResourceId::parse(text).map_err(|e| StoreError::backend("reading an audit record", e));
    Ok(AuditRecord {
        id: id_of(&id)?,
        account_id: account.as_deref().map(id_of).transpose()?,
        method,
        resource,
        body_sha256,
        status,
        time: Timestamp::from_millis(time).ok_or_else(|| StoreError::broken("an audit record's time"))?,
    })
}

/// Stores a record and appends its leaf.
pub(crate) fn record(conn: &Connection, record: &AuditRecord) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO audit (id, account_id, method, resource, body_sha256, status, time) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )
    .and_then(|mut s| {
        s.execute(params![
            record.id.as_str(),
            record.account_id.as_ref().map(ResourceId::as_str),
            record.method,
            record.resource,
            record.body_sha256,
            record.status,
            record.time.millis()
        ])
    })
    .map_err(backend)?;
    crate::ledger::append_audit(conn, record)
}

/// The matching records (a count and a window), oldest first.
pub(crate) fn list(
    conn: &Connection,
    filter: &AuditFilter,
    window: Option<Window>,
) -> StoreResult<(u64, Vec<AuditRecord>)> {
    let filter_sql = "(?1 IS NULL OR account_id = ?1) AND (?2 IS NULL OR substr(resource, 1, length(?2)) = ?2) \
                      AND (?3 IS NULL OR time >= ?3) AND (?4 IS NULL OR time < ?4)";
    let account = filter.account_id.as_ref().map(ResourceId::as_str);
    let prefix = filter.resource_prefix.as_deref();
    let (oldest, newest) = (filter.oldest.map(Timestamp::millis), filter.newest.map(Timestamp::millis));
    let total: i64 = conn
        .prepare_cached(&format!("SELECT COUNT(*) FROM audit WHERE {filter_sql}"))
        .and_then(|mut s| s.query_row(params![account, prefix, oldest, newest], |r| r.get(0)))
        .map_err(backend)?;
    let (offset, limit) = window.map_or((0, -1), ctp_store_sql::offset_and_limit);
    let mut statement = conn
        .prepare_cached(&format!("{SELECT} WHERE {filter_sql} ORDER BY time, seq LIMIT ?6 OFFSET ?5"))
        .map_err(backend)?;
    let rows = statement
        .query_map(params![account, prefix, oldest, newest, offset, limit], record_of)
        .map_err(backend)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(backend)?;
    Ok((total as u64, rows.into_iter().map(decode).collect::<StoreResult<_>>()?))
}

/// One record.
pub(crate) fn load(conn: &Connection, id: &ResourceId) -> StoreResult<AuditRecord> {
    let found = conn
        .prepare_cached(&format!("{SELECT} WHERE id = ?1"))
        .and_then(|mut s| s.query_row([id.as_str()], record_of).optional())
        .map_err(backend)?;
    decode(found.ok_or_else(|| StoreError::Missing(format!("no audit record with id {id}")))?)
}
