//! Change identifiers (4.1.5): a write gives the new identifier to the resource and to
//! every ancestor up to the service view, as `rules::renewed_change_ids` says; one
//! statement per level, each returning the id of the level above (`parent_column`).

use ctp_model::resources::{ChangeId, Kind};
use ctp_model::ResourceId;
use ctp_store::rules::{self, Write};
use ctp_store::StoreResult;
use ctp_store_sql::{parent_column, table_of};

use crate::rows::optional_id_at;
use crate::{Context, Tx};

/// The most views a walk up dependencies passes: a bound against a loop of parents.
const MAX_DEPTH: usize = 10_000;

/// Gives `change` to the resources whose change identifier a `write` of the resource
/// `kind` `id` renews: the resource itself when it changed, then its parent, the parent's
/// parent... up to the service view, following dependencies to their root. A deletion
/// renews the ancestors only, so it is called before the row is deleted.
pub(crate) async fn renew(tx: &Tx<'_>, kind: Kind, id: &ResourceId, write: Write, change: ChangeId) -> StoreResult<()> {
    let mut next = Some(id.clone());
    if write == Write::Deleted {
        next = match parent_column(kind) {
            Some((table, column)) => {
                let sql = format!("SELECT {column} FROM {table} WHERE id = $1");
                let row = tx.query_opt(&sql, &[&id.as_str()]).await.context("finding a deleted resource's parent")?;
                row.map(|row| optional_id_at(&row, 0)).transpose()?.flatten()
            }
            None => None,
        };
    }
    for level in rules::renewed_change_ids(kind, write) {
        let Some(id) = next.take() else { return Ok(()) };
        next = if matches!(level, Kind::ServiceView | Kind::Dependency) {
            // A service view or a dependency: up the parents until the service view.
            let mut view = Some(id);
            for _ in 0..MAX_DEPTH {
                let Some(id) = view else { break };
                view = set(tx, Kind::Dependency, &id, change).await?;
            }
            None
        } else {
            set(tx, level, &id, change).await?
        };
    }
    Ok(())
}

/// Gives `change` to one row of `kind`; returns the id of its parent, if it has one.
async fn set(tx: &Tx<'_>, kind: Kind, id: &ResourceId, change: ChangeId) -> StoreResult<Option<ResourceId>> {
    let what = "renewing a change identifier";
    let table = table_of(kind);
    match parent_column(kind) {
        Some((_, column)) => {
            let sql = format!("UPDATE {table} SET change_id = $1 WHERE id = $2 RETURNING {column}");
            let row = tx.query_opt(&sql, &[&change, &id.as_str()]).await.context(what)?;
            Ok(row.map(|row| optional_id_at(&row, 0)).transpose()?.flatten())
        }
        None => {
            let sql = format!("UPDATE {table} SET change_id = $1 WHERE id = $2");
            tx.execute(&sql, &[&change, &id.as_str()]).await.context(what)?;
            Ok(None)
        }
    }
}
