//! Access tags of any resource: reading them, and replacing them, on the resource alone
//! or on its whole subtree (`ctp_store_sql::below`, with the tags `rules::cascade_tags`
//! gives each row below).

use ctp_model::resources::{ChangeId, Ref};
use ctp_model::ResourceId;
use ctp_store::{rules, StoreError, StoreResult};
use ctp_store_sql::{below, table_of};

use crate::hierarchy::require;
use crate::rows::{self, tags_at, tags_from_text, tags_to_text};
use crate::{Context, Tx};

/// The access tags of a resource.
pub(crate) async fn access_tags(tx: &Tx<'_>, resource: &Ref) -> StoreResult<Vec<String>> {
    require(tx, resource).await?;
    let sql = format!("SELECT access_tags FROM {} WHERE id = $1", table_of(resource.kind));
    let row = tx.query_opt(&sql, &[&resource.id.as_str()]).await.context("loading access tags")?;
    let row = row.ok_or_else(|| StoreError::NotFound(resource.kind, resource.id.clone()))?;
    tags_from_text(rows::get(&row, 0)?)
}

/// Replaces the access tags of a resource and, with `subtree`, of the rows below it.
pub(crate) async fn set_access_tags(tx: &Tx<'_>, resource: &Ref, tags: &[String], subtree: bool) -> StoreResult<()> {
    require(tx, resource).await?;
    let change = rows::next_change_id(tx).await?;
    let has_change_id = rules::has_change_id(resource.kind);
    set_row_tags(tx, table_of(resource.kind), has_change_id, resource.id.as_str(), tags, change).await?;
    if subtree {
        for below in below(resource.kind) {
            let sql =
                format!("SELECT id, access_tags FROM {} WHERE {}", below.table, below.condition.replace("{id}", "$1"));
            for (id, row_tags) in row_tags(tx, &sql, &resource.id).await? {
                if let Some(new) = rules::cascade_tags(tags, &row_tags, below.private) {
                    set_row_tags(tx, below.table, below.has_change_id, &id, &new, change).await?;
                }
            }
        }
    }
    Ok(())
}

/// The ids and access tags of the rows a query (of `id`, `access_tags`, with `$1` for
/// `id`) selects.
async fn row_tags(tx: &Tx<'_>, sql: &str, id: &ResourceId) -> StoreResult<Vec<(String, Vec<String>)>> {
    let found = tx.query(sql, &[&id.as_str()]).await.context("loading the access tags of a subtree")?;
    found.iter().map(|row| Ok((rows::get(row, 0)?, tags_at(row, 1)?))).collect()
}

/// Sets the access tags of one row, and its change identifier when the table has one.
async fn set_row_tags(
    tx: &Tx<'_>,
    table: &str,
    has_change_id: bool,
    id: &str,
    tags: &[String],
    change: ChangeId,
) -> StoreResult<()> {
    let text = tags_to_text(tags);
    let what = "setting access tags";
    if has_change_id {
        let sql = format!("UPDATE {table} SET access_tags = $1, change_id = $2 WHERE id = $3");
        tx.execute(&sql, &[&text, &change, &id]).await.context(what)?;
    } else {
        let sql = format!("UPDATE {table} SET access_tags = $1 WHERE id = $2");
        tx.execute(&sql, &[&text, &id]).await.context(what)?;
    }
    Ok(())
}
