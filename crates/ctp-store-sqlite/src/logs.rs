//! The log collection (5.2.18): log entries filtered by service view, time, tags and
//! who may read them, counted and windowed in SQL.

use ctp_model::resources::Member;
use ctp_model::{ResourceId, Timestamp};
use ctp_store::{LogFilter, StoreResult, Window};
use rusqlite::{params, Connection};

use crate::rows::{self, backend, tags_to_text};

/// How many log entries match, and the window of them asked for, oldest first.
pub(crate) fn list(
    conn: &Connection,
    view_id: Option<&ResourceId>,
    filter: &LogFilter,
    window: Option<Window>,
) -> StoreResult<(u64, Vec<Member>)> {
    // The tag filter needs every tag, which SQLite's json_each expresses as a count of
    // matches; the visibility filter needs one tag in common.
    let filter_sql = [
        "(?1 IS NULL OR view_id = ?1)",
        "(?2 IS NULL OR creation_time >= ?2)",
        "(?3 IS NULL OR creation_time < ?3)",
        "(SELECT COUNT(*) FROM json_each(?4) AS wanted WHERE wanted.value IN \
         (SELECT value FROM json_each(logs.tags))) = json_array_length(?4)",
        "(?5 IS NULL OR EXISTS (SELECT 1 FROM json_each(logs.access_tags) AS tag \
         WHERE tag.value IN (SELECT value FROM json_each(?5))))",
    ]
    .join(" AND ");
    let wanted = tags_to_text(&filter.tags);
    let visible_to = filter.visible_to.as_deref().map(tags_to_text);
    let view = view_id.map(ResourceId::as_str);
    let oldest = filter.oldest.map(Timestamp::millis);
    let newest = filter.newest.map(Timestamp::millis);
    let total: i64 = conn
        .prepare_cached(&format!("SELECT COUNT(*) FROM logs WHERE {filter_sql}"))
        .and_then(|mut s| s.query_row(params![view, oldest, newest, wanted, visible_to], |row| row.get(0)))
        .map_err(backend)?;
    let (offset, limit) = window.map_or((0, -1), ctp_store_sql::offset_and_limit);
    let listed = rows::members(
        conn,
        &format!(
            "SELECT id, '' AS name, access_tags FROM logs WHERE {filter_sql} \
             ORDER BY creation_time, seq LIMIT ?7 OFFSET ?6"
        ),
        params![view, oldest, newest, wanted, visible_to, offset, limit],
    )?;
    Ok((total as u64, listed))
}
