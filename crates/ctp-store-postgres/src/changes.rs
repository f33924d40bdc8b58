//! Change identifiers (4.1.5): a write gives its row the new change identifier in the
//! statement that writes it; this renews the row's ancestors, as
//! `ctp_store::rules::parent_kind` says, one statement a level, each returning the id of
//! the level above (`ctp_store_sql::parent_column`).

use ctp_model::resources::{ChangeId, Kind};
use ctp_model::ResourceId;
use ctp_store::rules;
use ctp_store::StoreResult;
use ctp_store_sql::parent_column;

use crate::rows::optional_id_at;
use crate::{Context, Tx};

/// The most levels a walk goes up: a dependency tree is finite and acyclic (each node is
/// created under an existing one), but a bound keeps a damaged database from looping.
const MAX_DEPTH: usize = 10_000;

/// Gives `change` to every ancestor of the resource `kind`/`id` (just written, or about
/// to be deleted): its parent, the parent's parent... up to the service view.
pub(crate) async fn renew_ancestors(tx: &Tx<'_>, kind: Kind, id: &ResourceId, change: ChangeId) -> StoreResult<()> {
    let what = "renewing a change identifier";
    let Some((table, column)) = parent_column(kind) else { return Ok(()) };
    let sql = format!("SELECT {column} FROM {table} WHERE id = $1");
    let row = tx.query_opt(&sql, &[&id.as_str()]).await.context(what)?;
    let mut at = row.map(|row| optional_id_at(&row, 0)).transpose()?.flatten().map(|parent| (parent_of(kind), parent));
    for _ in 0..MAX_DEPTH {
        let Some((kind, id)) = at else { return Ok(()) };
        let (table, column) = parent_column(kind).expect("a parent has a parent column");
        let sql = format!("UPDATE {table} SET change_id = $1 WHERE id = $2 RETURNING {column}");
        let row = tx.query_opt(&sql, &[&change, &id.as_str()]).await.context(what)?;
        at = row.map(|row| optional_id_at(&row, 0)).transpose()?.flatten().map(|parent| (parent_of(kind), parent));
    }
    Ok(())
}

/// The kind of a row's parent; a view's parent is a view (a dependency's may itself be a
/// dependency).
fn parent_of(kind: Kind) -> Kind {
    rules::parent_kind(kind).unwrap_or(Kind::ServiceView)
}
