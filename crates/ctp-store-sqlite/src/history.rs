//! A measurement's history (issue 15): each pushed result and each change of its standing,
//! written in the transaction of the write that made it; read by time window, as the
//! changes of standing of many measurements at once, and pruned by age and count.

use ctp_model::history::{StandingChange, StatusTimeline};
use ctp_model::{ResourceId, Status, Timestamp};
use ctp_store::{HistoryEntry, HistoryFilter, StoreResult, Window};
use ctp_store_sql::history_change;
use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::rows::{self, backend};

/// Appends an entry to a measurement's history.
pub(crate) fn append(conn: &Connection, measurement_id: &ResourceId, entry: Option<HistoryEntry>) -> StoreResult<()> {
    let Some(entry) = entry else { return Ok(()) };
    conn.prepare_cached(
        "INSERT INTO result_history (measurement_id, time, result, objective_status, standing, status_changed) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .and_then(|mut s| {
        s.execute(params![
            measurement_id.as_str(),
            entry.time.millis(),
            entry.result,
            entry.objective_status.map(Status::as_str),
            entry.standing.as_str(),
            entry.status_changed
        ])
    })
    .map_err(backend)?;
    Ok(())
}

/// How many entries of a measurement's history match, and the window of them, oldest first.
pub(crate) fn list(
    conn: &Connection,
    measurement_id: &ResourceId,
    filter: &HistoryFilter,
    window: Option<Window>,
) -> StoreResult<(u64, Vec<HistoryEntry>)> {
    rows::load_measurement(conn, measurement_id)?;
    let filter_sql = "measurement_id = ?1 AND (?2 IS NULL OR time >= ?2) AND (?3 IS NULL OR time < ?3)";
    let (oldest, newest) = (filter.oldest.map(Timestamp::millis), filter.newest.map(Timestamp::millis));
    let total: i64 = conn
        .prepare_cached(&format!("SELECT COUNT(*) FROM result_history WHERE {filter_sql}"))
        .and_then(|mut s| s.query_row(params![measurement_id.as_str(), oldest, newest], |row| row.get(0)))
        .map_err(backend)?;
    let (offset, limit) = window.map_or((0, -1), ctp_store_sql::offset_and_limit);
    let entries = conn
        .prepare_cached(&format!(
            "SELECT time, result, objective_status, standing, status_changed FROM result_history \
             WHERE {filter_sql} ORDER BY time, seq LIMIT ?5 OFFSET ?4"
        ))
        .and_then(|mut s| {
            s.query_map(params![measurement_id.as_str(), oldest, newest, offset, limit], entry_of_row)?
                .collect::<rusqlite::Result<Vec<_>>>()
        })
        .map_err(backend)?;
    Ok((total as u64, entries.into_iter().collect::<StoreResult<_>>()?))
}

/// The changes of standing of each measurement from `since` on, with the last one before.
pub(crate) fn timelines(
    conn: &Connection,
    measurement_ids: &[ResourceId],
    since: Timestamp,
) -> StoreResult<Vec<StatusTimeline>> {
    let mut before = conn
        .prepare_cached(
            "SELECT time, objective_status, standing FROM result_history \
             WHERE measurement_id = ?1 AND status_changed AND time < ?2 ORDER BY time DESC, seq DESC LIMIT 1",
        )
        .map_err(backend)?;
    let mut after = conn
        .prepare_cached(
            "SELECT time, objective_status, standing FROM result_history \
             WHERE measurement_id = ?1 AND status_changed AND time >= ?2 ORDER BY time, seq",
        )
        .map_err(backend)?;
    let mut timelines = Vec::with_capacity(measurement_ids.len());
    for id in measurement_ids {
        let args = params![id.as_str(), since.millis()];
        let before = before.query_row(args, change_of_row).optional().map_err(backend)?.transpose()?;
        let changes = after
            .query_map(args, change_of_row)
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(backend)?
            .into_iter()
            .collect::<StoreResult<_>>()?;
        timelines.push(StatusTimeline { before, changes });
    }
    Ok(timelines)
}

/// Deletes the entries older than `before` and those beyond the newest `keep` of each
/// measurement.
pub(crate) fn prune(conn: &Connection, before: Timestamp, keep: u64) -> StoreResult<u64> {
    let mut deleted = conn
        .execute(
            "DELETE FROM result_history WHERE measurement_id IN (SELECT id FROM measurements) AND time < ?1",
            [before.millis()],
        )
        .map_err(backend)?;
    let keep = i64::try_from(keep).unwrap_or(i64::MAX);
    let over: Vec<String> = conn
        .prepare("SELECT measurement_id FROM result_history GROUP BY measurement_id HAVING COUNT(*) > ?1")
        .and_then(|mut s| s.query_map([keep], |row| row.get(0))?.collect())
        .map_err(backend)?;
    for id in over {
        // The newest entry beyond the count, and every one before it, go.
        let (time, seq): (i64, i64) = conn
            .query_row(
                "SELECT time, seq FROM result_history WHERE measurement_id = ?1 \
                 ORDER BY time DESC, seq DESC LIMIT 1 OFFSET ?2",
                params![id, keep],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .map_err(backend)?;
        deleted += conn
            .execute(
                "DELETE FROM result_history WHERE measurement_id = ?1 AND (time < ?2 OR (time = ?2 AND seq <= ?3))",
                params![id, time, seq],
            )
            .map_err(backend)?;
    }
    Ok(deleted as u64)
}

fn entry_of_row(row: &Row<'_>) -> rusqlite::Result<StoreResult<HistoryEntry>> {
    let (time, result, status, standing, status_changed): (i64, Option<String>, Option<String>, String, bool) =
        (row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?);
    Ok(history_change(time, status.as_deref(), &standing).map(|(time, objective_status, standing)| HistoryEntry {
        time,
        result,
        objective_status,
        standing,
        status_changed,
    }))
}

fn change_of_row(row: &Row<'_>) -> rusqlite::Result<StoreResult<StandingChange>> {
    let (time, status, standing): (i64, Option<String>, String) = (row.get(0)?, row.get(1)?, row.get(2)?);
    Ok(history_change(time, status.as_deref(), &standing).map(|(time, status, standing)| StandingChange {
        time,
        status,
        standing,
    }))
}
