//! Change identifiers (4.1.5): which rows a write renews is decided by
//! `ctp_store::rules::renewed_change_ids`; this walks up the rows, one statement a level,
//! each returning the id of the level above (`ctp_store_sql::parent_column`).

use ctp_model::resources::{ChangeId, Kind};
use ctp_model::ResourceId;
use ctp_store::rules::{self, Write};
use ctp_store::StoreResult;
use ctp_store_sql::{parent_column, table_of};

use crate::rows::optional_id_at;
use crate::{Context, Tx};

/// The most levels a walk goes up: a dependency tree is finite and acyclic (each node is
/// created under an existing one), but a bound keeps a damaged database from looping.
const MAX_DEPTH: usize = 10_000;

/// Gives the rows a `write` of the resource `kind`/`id` renews the change identifier
/// `change`: the resource itself when it changed (not when it is being deleted: call this
/// before the deletion), then its parent, up to the service view.
pub(crate) async fn renew(tx: &Tx<'_>, kind: Kind, id: &ResourceId, write: Write, change: ChangeId) -> StoreResult<()> {
    let what = "renewing a change identifier";
    let mut at = Some((kind, id.clone()));
    let mut renew_this = write == Write::Changed && rules::has_change_id(kind);
    for _ in 0..MAX_DEPTH {
        let Some((kind, id)) = at else { return Ok(()) };
        let Some((table, column)) = parent_column(kind) else {
            if renew_this {
                let sql = format!("UPDATE {} SET change_id = $1 WHERE id = $2", table_of(kind));
                tx.execute(&sql, &[&change, &id.as_str()]).await.context(what)?;
            }
            return Ok(());
        };
        let row = if renew_this {
            let sql = format!("UPDATE {table} SET change_id = $1 WHERE id = $2 RETURNING {column}");
            tx.query_opt(&sql, &[&change, &id.as_str()]).await.context(what)?
        } else {
            let sql = format!("SELECT {column} FROM {table} WHERE id = $1");
            tx.query_opt(&sql, &[&id.as_str()]).await.context(what)?
        };
        let parent = row.map(|row| optional_id_at(&row, 0)).transpose()?.flatten();
        // A view's parent is a view: a dependency's may itself be a dependency.
        let parent_kind = rules::parent_kind(kind).unwrap_or(Kind::ServiceView);
        at = parent.map(|parent| (parent_kind, parent));
        renew_this = true;
    }
    Ok(())
}
