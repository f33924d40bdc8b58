//! Log entries: one entry, and the log collection (5.2.18) with its filters and window.
//! Entries are written by `triggers::insert_log`.

use ctp_model::resources::{Kind, LogBody, LogEntry, Member};
use ctp_model::{ResourceId, Timestamp};
use ctp_store::{LogFilter, StoreError, StoreResult, Window};

use crate::rows::{self, get, id_at, tags_at, tags_to_text, time_at};
use crate::{Context, Tx};

/// One log entry.
pub(crate) async fn entry(tx: &Tx<'_>, id: &ResourceId) -> StoreResult<LogEntry> {
    let sql = "SELECT id, view_id, trigger_id, creation_time, result, error, tags, access_tags FROM logs WHERE id = $1";
    let row = tx.query_opt(sql, &[&id.as_str()]).await.context("loading a log entry")?;
    let Some(row) = row else { return Err(StoreError::NotFound(Kind::Log, id.clone())) };
    let result: Option<String> = get(&row, 4)?;
    let error: Option<String> = get(&row, 5)?;
    Ok(LogEntry {
        id: id_at(&row, 0)?,
        view_id: id_at(&row, 1)?,
        trigger_id: id_at(&row, 2)?,
        creation_time: time_at(&row, 3)?,
        body: match (result, error) {
            (Some(result), _) => LogBody::Result(result),
            (None, error) => LogBody::Error(error.unwrap_or_default()),
        },
        tags: tags_at(&row, 6)?,
        access_tags: tags_at(&row, 7)?,
    })
}

/// The number of entries (of one service view, or all) that pass `filter`, and the
/// `window` of them, chronologically.
pub(crate) async fn list(
    tx: &Tx<'_>,
    view_id: Option<&ResourceId>,
    filter: &LogFilter,
    window: Option<Window>,
) -> StoreResult<(u64, Vec<Member>)> {
    // The tag filter needs every tag: JSON containment.
    let filter_sql = "($1::TEXT IS NULL OR view_id = $1) AND ($2::BIGINT IS NULL OR creation_time >= $2) \
                      AND ($3::BIGINT IS NULL OR creation_time < $3) AND tags::JSONB @> $4::TEXT::JSONB \
                      AND ($5::TEXT[] IS NULL OR access_tags::JSONB ?| $5::TEXT[])";
    let wanted = tags_to_text(&filter.tags);
    let view = view_id.map(ResourceId::as_str);
    let oldest = filter.oldest.map(Timestamp::millis);
    let newest = filter.newest.map(Timestamp::millis);
    let (offset, limit) = window.map_or((0, None), |w| {
        let (offset, limit) = ctp_store_sql::offset_and_limit(w);
        (offset, Some(limit))
    });
    let total = tx
        .query_one(
            &format!("SELECT COUNT(*) FROM logs WHERE {filter_sql}"),
            &[&view, &oldest, &newest, &wanted, &filter.visible_to],
        )
        .await
        .context("counting log entries")?;
    let total: i64 = get(&total, 0)?;
    let listed = rows::members(
        tx,
        &format!(
            "SELECT id, '' AS name, access_tags FROM logs WHERE {filter_sql} \
             ORDER BY creation_time, seq LIMIT $7 OFFSET $6"
        ),
        &[&view, &oldest, &newest, &wanted, &filter.visible_to, &offset, &limit],
    )
    .await?;
    Ok((total as u64, listed))
}
