//! The transparency log (issue 14): the PostgreSQL twin of `ctp-store-sqlite`'s
//! `ledger.rs`. Appending takes a lock on the leaves that only appenders wait for (readers
//! never do), held to the end of the transaction: leaves get their indexes one transaction
//! after another, on every instance.

use ctp_ledger::Hash;
use ctp_model::resources::LogEntry;
use ctp_model::{ResourceId, Timestamp};
use ctp_store::ledger::{hash_from_text, hash_to_text, new_hashes_async, LeafKind};
use ctp_store::{StoreError, StoreResult};

use crate::rows::get;
use crate::{Context, Tx};

/// How many leaves the log has.
pub(crate) async fn size(tx: &Tx<'_>) -> StoreResult<u64> {
    let row = tx.query_one("SELECT COALESCE(MAX(idx) + 1, 0) FROM ledger_leaves", &[]).await.context("ledger size")?;
    Ok(get::<i64>(&row, 0)? as u64)
}

/// Stored hashes by index.
pub(crate) async fn hashes(tx: &Tx<'_>, indexes: &[u64]) -> StoreResult<Vec<Hash>> {
    let wanted: Vec<i64> = indexes.iter().map(|i| *i as i64).collect();
    let rows = tx
        .query("SELECT idx, hash FROM ledger_hashes WHERE idx = ANY($1)", &[&wanted])
        .await
        .context("reading ledger hashes")?;
    let mut found = std::collections::HashMap::new();
    for row in &rows {
        found.insert(get::<i64>(row, 0)?, hash_from_text(get(row, 1)?)?);
    }
    wanted
        .iter()
        .map(|i| found.get(i).copied().ok_or_else(|| StoreError::broken(format!("the ledger has no hash {i}"))))
        .collect()
}

/// Appends a leaf recording `record_id`.
async fn append(tx: &Tx<'_>, kind: LeafKind, record_id: &ResourceId, leaf: &[u8]) -> StoreResult<()> {
    tx.execute("LOCK TABLE ledger_leaves IN SHARE ROW EXCLUSIVE MODE", &[]).await.context("locking the ledger")?;
    let index = size(tx).await?;
    let (first, new) = new_hashes_async(index, leaf, |indexes| async move { hashes(tx, &indexes).await }).await?;
    let indexes: Vec<i64> = (0..new.len()).map(|offset| (first + offset as u64) as i64).collect();
    let texts: Vec<String> = new.iter().map(hash_to_text).collect();
    tx.execute(
        "INSERT INTO ledger_hashes (idx, hash) SELECT * FROM UNNEST($1::BIGINT[], $2::TEXT[])",
        &[&indexes, &texts],
    )
    .await
    .context("storing ledger hashes")?;
    let text = std::str::from_utf8(leaf).map_err(|e| StoreError::backend("a ledger leaf is not text", e))?;
    tx.execute(
        "INSERT INTO ledger_leaves (idx, kind, record_id, leaf) VALUES ($1, $2, $3, $4)",
        &[&(index as i64), &kind.as_str(), &record_id.as_str(), &text],
    )
    .await
    .context("storing a ledger leaf")?;
    Ok(())
}

fn leaf_bytes(leaf: Result<ctp_ledger::Leaf, ctp_model::ledger::LedgerError>) -> StoreResult<Vec<u8>> {
    let leaf = leaf.map_err(|e| StoreError::backend("making a ledger leaf", e))?;
    leaf.encode().map_err(|e| StoreError::backend("encoding a ledger leaf", e))
}

/// Appends the leaf of a result accepted for a measurement at `now`.
pub(crate) async fn append_result(
    tx: &Tx<'_>,
    measurement_id: &ResourceId,
    raw: &str,
    now: Timestamp,
) -> StoreResult<()> {
    let leaf = leaf_bytes(ctp_model::ledger::result_leaf(measurement_id, raw, now))?;
    append(tx, LeafKind::Result, measurement_id, &leaf).await
}

/// Appends the leaf of a log entry.
pub(crate) async fn append_log(tx: &Tx<'_>, entry: &LogEntry) -> StoreResult<()> {
    let leaf = leaf_bytes(ctp_model::ledger::log_leaf(entry))?;
    append(tx, LeafKind::Log, &entry.id, &leaf).await
}

/// Appends the leaf of an audit record.
pub(crate) async fn append_audit(tx: &Tx<'_>, record: &ctp_model::resources::AuditRecord) -> StoreResult<()> {
    let leaf = leaf_bytes(Ok(ctp_model::ledger::audit_leaf(record)))?;
    append(tx, LeafKind::Audit, &record.id, &leaf).await
}

/// The leaves `start..end`.
pub(crate) async fn leaves(tx: &Tx<'_>, start: u64, end: u64) -> StoreResult<Vec<Vec<u8>>> {
    let rows = tx
        .query(
            "SELECT leaf FROM ledger_leaves WHERE idx >= $1 AND idx < $2 ORDER BY idx",
            &[&(start as i64), &(end as i64)],
        )
        .await
        .context("reading ledger leaves")?;
    rows.iter().map(|row| Ok(get::<String>(row, 0)?.into_bytes())).collect()
}

/// The newest leaf recording `record_id`.
pub(crate) async fn leaf_of(
    tx: &Tx<'_>,
    kind: LeafKind,
    record_id: &ResourceId,
) -> StoreResult<Option<(u64, Vec<u8>)>> {
    let row = tx
        .query_opt(
            "SELECT idx, leaf FROM ledger_leaves WHERE kind = $1 AND record_id = $2 ORDER BY idx DESC LIMIT 1",
            &[&kind.as_str(), &record_id.as_str()],
        )
        .await
        .context("finding a ledger leaf")?;
    row.map(|row| Ok((get::<i64>(&row, 0)? as u64, get::<String>(&row, 1)?.into_bytes()))).transpose()
}

/// The stored key, or `origin` and `signer` stored as the key.
pub(crate) async fn key(tx: &Tx<'_>, origin: &str, signer: &str) -> StoreResult<(String, String)> {
    tx.execute(
        "INSERT INTO ledger_key (id, origin, signer) VALUES ('ledger', $1, $2) ON CONFLICT (id) DO NOTHING",
        &[&origin, &signer],
    )
    .await
    .context("storing the ledger key")?;
    let row =
        tx.query_one("SELECT origin, signer FROM ledger_key WHERE id = 'ledger'", &[]).await.context("ledger key")?;
    Ok((get(&row, 0)?, get(&row, 1)?))
}
