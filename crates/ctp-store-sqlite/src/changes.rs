//! Change identifiers (4.1.5): which rows a write renews is decided by
//! `ctp_store::rules::renewed_change_ids`; this walks up the rows, one statement a level.

use ctp_model::resources::{ChangeId, Kind};
use ctp_model::ResourceId;
use ctp_store::rules::{self, Write};
use ctp_store::StoreResult;
use ctp_store_sql::{parent_column, table_of};
use rusqlite::{params, Connection, OptionalExtension};

use crate::rows::backend;

/// The most levels a walk goes up: a dependency tree is finite and acyclic (each node is
/// created under an existing one), but a bound keeps a damaged database from looping.
const MAX_DEPTH: usize = 10_000;

/// Gives the rows a `write` of the resource `kind`/`id` renews the change identifier
/// `change`: the resource itself when it changed (not when it is being deleted: call this
/// before the deletion), then its parent, up to the service view.
pub(crate) fn renew(conn: &Connection, kind: Kind, id: &ResourceId, write: Write, change: ChangeId) -> StoreResult<()> {
    let mut at = Some((kind, id.as_str().to_owned()));
    let mut renew_this = write == Write::Changed && rules::has_change_id(kind);
    for _ in 0..MAX_DEPTH {
        let Some((kind, id)) = at else { return Ok(()) };
        let Some((table, column)) = parent_column(kind) else {
            if renew_this {
                let sql = format!("UPDATE {} SET change_id = ?1 WHERE id = ?2", table_of(kind));
                conn.prepare_cached(&sql).and_then(|mut s| s.execute(params![change, id])).map_err(backend)?;
            }
            return Ok(());
        };
        let parent: Option<Option<String>> = if renew_this {
            let sql = format!("UPDATE {table} SET change_id = ?1 WHERE id = ?2 RETURNING {column}");
            conn.prepare_cached(&sql).and_then(|mut s| s.query_row(params![change, id], |row| row.get(0)).optional())
        } else {
            let sql = format!("SELECT {column} FROM {table} WHERE id = ?1");
            conn.prepare_cached(&sql).and_then(|mut s| s.query_row(params![id], |row| row.get(0)).optional())
        }
        .map_err(backend)?;
        // A view's parent is a view: a dependency's may itself be a dependency.
        let parent_kind = rules::parent_kind(kind).unwrap_or(Kind::ServiceView);
        at = parent.flatten().map(|parent| (parent_kind, parent));
        renew_this = true;
    }
    Ok(())
}
