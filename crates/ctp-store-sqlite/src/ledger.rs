//! The transparency log (issue 14): leaves appended in the transaction that stores what
//! they record (a result, a log entry), the tree's stored hashes beside them, the log's key.
//! The Merkle computations are `ctp_store::ledger`'s; this module reads and writes rows.

use ctp_ledger::Hash;
use ctp_model::resources::LogEntry;
use ctp_model::{ResourceId, Timestamp};
use ctp_store::ledger::{hash_from_text, hash_to_text, new_hashes, LeafKind};
use ctp_store::{StoreError, StoreResult};
use rusqlite::{params, Connection, OptionalExtension};

use crate::rows::backend;

/// How many leaves the log has.
pub(crate) fn size(conn: &Connection) -> StoreResult<u64> {
    let next: i64 = conn
        .prepare_cached("SELECT COALESCE(MAX(idx) + 1, 0) FROM ledger_leaves")
        .and_then(|mut s| s.query_row([], |r| r.get(0)))
        .map_err(backend)?;
    Ok(next as u64)
}

/// Stored hashes by index.
pub(crate) fn hashes(conn: &Connection, indexes: &[u64]) -> StoreResult<Vec<Hash>> {
    let mut statement = conn.prepare_cached("SELECT hash FROM ledger_hashes WHERE idx = ?1").map_err(backend)?;
    indexes
        .iter()
        .map(|index| {
            let text: Option<String> =
                statement.query_row([*index as i64], |r| r.get(0)).optional().map_err(backend)?;
            hash_from_text(&text.ok_or_else(|| StoreError::broken(format!("the ledger has no hash {index}")))?)
        })
        .collect()
}

/// Appends a leaf recording `record_id`.
fn append(conn: &Connection, kind: LeafKind, record_id: &ResourceId, leaf: &[u8]) -> StoreResult<()> {
    let index = size(conn)?;
    let (first, new) = new_hashes(index, leaf, |indexes| hashes(conn, indexes))?;
    let mut insert = conn.prepare_cached("INSERT INTO ledger_hashes (idx, hash) VALUES (?1, ?2)").map_err(backend)?;
    for (offset, hash) in new.iter().enumerate() {
        insert.execute(params![(first + offset as u64) as i64, hash_to_text(hash)]).map_err(backend)?;
    }
    let text = std::str::from_utf8(leaf).map_err(|e| StoreError::backend("a ledger leaf is not text", e))?;
    conn.prepare_cached("INSERT INTO ledger_leaves (idx, kind, record_id, leaf) VALUES (?1, ?2, ?3, ?4)")
        .and_then(|mut s| s.execute(params![index as i64, kind.as_str(), record_id.as_str(), text]))
        .map_err(backend)?;
    Ok(())
}

fn leaf_bytes(leaf: Result<ctp_ledger::Leaf, ctp_model::ledger::LedgerError>) -> StoreResult<Vec<u8>> {
    let leaf = leaf.map_err(|e| StoreError::backend("making a ledger leaf", e))?;
    leaf.encode().map_err(|e| StoreError::backend("encoding a ledger leaf", e))
}

/// Appends the leaf of a result accepted for a measurement at `now`.
pub(crate) fn append_result(
    conn: &Connection,
    measurement_id: &ResourceId,
    raw: &str,
    now: Timestamp,
) -> StoreResult<()> {
    let leaf = leaf_bytes(ctp_model::ledger::result_leaf(measurement_id, raw, now))?;
    append(conn, LeafKind::Result, measurement_id, &leaf)
}

/// Appends the leaf of a log entry.
pub(crate) fn append_log(conn: &Connection, entry: &LogEntry) -> StoreResult<()> {
    let leaf = leaf_bytes(ctp_model::ledger::log_leaf(entry))?;
    append(conn, LeafKind::Log, &entry.id, &leaf)
}

/// Appends the leaf of an audit record.
pub(crate) fn append_audit(conn: &Connection, record: &ctp_model::resources::AuditRecord) -> StoreResult<()> {
    let leaf = leaf_bytes(Ok(ctp_model::ledger::audit_leaf(record)))?;
    append(conn, LeafKind::Audit, &record.id, &leaf)
}

/// The leaves `start..end`.
pub(crate) fn leaves(conn: &Connection, start: u64, end: u64) -> StoreResult<Vec<Vec<u8>>> {
    let mut statement = conn
        .prepare_cached("SELECT leaf FROM ledger_leaves WHERE idx >= ?1 AND idx < ?2 ORDER BY idx")
        .map_err(backend)?;
    let rows = statement
        .query_map([start as i64, end as i64], |r| r.get::<_, String>(0))
        .map_err(backend)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(backend)?;
    Ok(rows.into_iter().map(String::into_bytes).collect())
}

/// The newest leaf recording `record_id`.
pub(crate) fn leaf_of(
    conn: &Connection,
    kind: LeafKind,
    record_id: &ResourceId,
) -> StoreResult<Option<(u64, Vec<u8>)>> {
    conn.prepare_cached(
        "SELECT idx, leaf FROM ledger_leaves WHERE kind = ?1 AND record_id = ?2 ORDER BY idx DESC LIMIT 1",
    )
    .and_then(|mut s| {
        s.query_row([kind.as_str(), record_id.as_str()], |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, String>(1)?)))
            .optional()
    })
    .map(|found| found.map(|(index, leaf)| (index, leaf.into_bytes())))
    .map_err(backend)
}

/// The stored key, or `origin` and `signer` stored as the key.
pub(crate) fn key(conn: &Connection, origin: &str, signer: &str) -> StoreResult<(String, String)> {
    conn.execute(
        "INSERT INTO ledger_key (id, origin, signer) VALUES ('ledger', ?1, ?2) ON CONFLICT (id) DO NOTHING",
        params![origin, signer],
    )
    .map_err(backend)?;
    conn.query_row("SELECT origin, signer FROM ledger_key WHERE id = 'ledger'", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(backend)
}
