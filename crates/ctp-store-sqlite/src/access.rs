//! Access tags (3.3): reading a resource's, and replacing them on it alone or on its whole
//! subtree (`ctp_store_sql::below`), where `rules::cascade_tags` decides what each row
//! below gets.

use ctp_model::resources::{ChangeId, Ref};
use ctp_model::ResourceId;
use ctp_store::{rules, StoreResult};
use ctp_store_sql::{below, table_of};
use rusqlite::{params, Connection};

use crate::hierarchy::require;
use crate::rows::{self, backend, tags_to_text};

/// A resource's access tags.
pub(crate) fn get(conn: &Connection, resource: &Ref) -> StoreResult<Vec<String>> {
    require(conn, resource)?;
    let sql = format!("SELECT access_tags FROM {} WHERE id = ?1", table_of(resource.kind));
    let text: String = conn
        .prepare_cached(&sql)
        .and_then(|mut s| s.query_row([resource.id.as_str()], |row| row.get(0)))
        .map_err(backend)?;
    rows::tags_from_text(&text)
}

/// Replaces a resource's access tags, and with `subtree` those of everything below it.
pub(crate) fn set(conn: &Connection, resource: &Ref, tags: &[String], subtree: bool) -> StoreResult<Vec<String>> {
    require(conn, resource)?;
    let change = rows::next_change_id(conn)?;
    set_row_tags(
        conn,
        table_of(resource.kind),
        rules::has_change_id(resource.kind),
        resource.id.as_str(),
        tags,
        change,
    )?;
    if subtree {
        for below in below(resource.kind) {
            let sql =
                format!("SELECT id, access_tags FROM {} WHERE {}", below.table, below.condition.replace("{id}", "?1"));
            for (id, row_tags) in row_tags(conn, &sql, &resource.id)? {
                if let Some(new) = rules::cascade_tags(tags, &row_tags, below.private) {
                    set_row_tags(conn, below.table, below.has_change_id, &id, &new, change)?;
                }
            }
        }
    }
    Ok(tags.to_vec())
}

/// The ids and access tags of the rows a query (of `id`, `access_tags`, with `?1` for `id`)
/// selects.
fn row_tags(conn: &Connection, sql: &str, id: &ResourceId) -> StoreResult<Vec<(String, Vec<String>)>> {
    let mut statement = conn.prepare_cached(sql).map_err(backend)?;
    let rows = statement
        .query_map([id.as_str()], |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?)))
        .map_err(backend)?;
    rows.map(|row| {
        let (id, text) = row.map_err(backend)?;
        Ok((id, rows::tags_from_text(&text)?))
    })
    .collect()
}

/// Sets the access tags of one row, and its change identifier when the table has one.
fn set_row_tags(
    conn: &Connection,
    table: &str,
    has_change_id: bool,
    id: &str,
    tags: &[String],
    change: ChangeId,
) -> StoreResult<()> {
    let text = tags_to_text(tags);
    if has_change_id {
        conn.execute(
            &format!("UPDATE {table} SET access_tags = ?1, change_id = ?2 WHERE id = ?3"),
            params![text, change, id],
        )
    } else {
        conn.execute(&format!("UPDATE {table} SET access_tags = ?1 WHERE id = ?2"), params![text, id])
    }
    .map(drop)
    .map_err(backend)
}
