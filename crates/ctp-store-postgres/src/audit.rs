//! The audit trail (issue 14): the PostgreSQL twin of `ctp-store-sqlite`'s `audit.rs`.

use ctp_model::resources::AuditRecord;
use ctp_model::{ResourceId, Timestamp};
use ctp_store::{AuditFilter, StoreError, StoreResult, Window};
use tokio_postgres::Row;

use crate::rows::{get, id_at, optional_id_at, time_at};
use crate::{Context, Tx};

const SELECT: &str = "SELECT id, account_id, method, resource, body_sha256, status, time FROM audit";

fn decode(row: &Row) -> StoreResult<AuditRecord> {
    let status: i32 = get(row, 5)?;
    Ok(AuditRecord {
        id: id_at(row, 0)?,
        account_id: optional_id_at(row, 1)?,
        method: get(row, 2)?,
        resource: get(row, 3)?,
        body_sha256: get(row, 4)?,
        status: u16::try_from(status).map_err(|e| StoreError::backend("an audit record's status", e))?,
        time: time_at(row, 6)?,
    })
}

/// Stores a record and appends its leaf.
pub(crate) async fn record(tx: &Tx<'_>, record: &AuditRecord) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO audit (id, account_id, method, resource, body_sha256, status, time) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            &record.id.as_str(),
            &record.account_id.as_ref().map(ResourceId::as_str),
            &record.method,
            &record.resource,
            &record.body_sha256,
            &i32::from(record.status),
            &record.time.millis(),
        ],
    )
    .await
    .context("storing an audit record")?;
    crate::ledger::append_audit(tx, record).await
}

/// The matching records (a count and a window), oldest first.
pub(crate) async fn list(
    tx: &Tx<'_>,
    filter: &AuditFilter,
    window: Option<Window>,
) -> StoreResult<(u64, Vec<AuditRecord>)> {
    let filter_sql = "($1::TEXT IS NULL OR account_id = $1) AND ($2::TEXT IS NULL OR starts_with(resource, $2)) \
                      AND ($3::BIGINT IS NULL OR time >= $3) AND ($4::BIGINT IS NULL OR time < $4)";
    let account = filter.account_id.as_ref().map(ResourceId::as_str);
    let prefix = filter.resource_prefix.as_deref();
    let (oldest, newest) = (filter.oldest.map(Timestamp::millis), filter.newest.map(Timestamp::millis));
    let row = tx
        .query_one(&format!("SELECT COUNT(*) FROM audit WHERE {filter_sql}"), &[&account, &prefix, &oldest, &newest])
        .await
        .context("counting audit records")?;
    let total: i64 = get(&row, 0)?;
    let (offset, limit) = window.map_or((0, i64::MAX), ctp_store_sql::offset_and_limit);
    let rows = tx
        .query(
            &format!("{SELECT} WHERE {filter_sql} ORDER BY time, seq LIMIT $6 OFFSET $5"),
            &[&account, &prefix, &oldest, &newest, &offset, &limit],
        )
        .await
        .context("listing audit records")?;
    Ok((total as u64, rows.iter().map(decode).collect::<StoreResult<_>>()?))
}

/// One record.
pub(crate) async fn load(tx: &Tx<'_>, id: &ResourceId) -> StoreResult<AuditRecord> {
    match tx.query_opt(&format!("{SELECT} WHERE id = $1"), &[&id.as_str()]).await.context("loading an audit record")? {
        Some(row) => decode(&row),
        None => Err(StoreError::Missing(format!("no audit record with id {id}"))),
    }
}
