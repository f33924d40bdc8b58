//! A measurement's history (issue 15): see the SQLite store's `history` module; the same
//! entries, written in the transaction of the write that made them.

use ctp_model::history::{StandingChange, StatusTimeline};
use ctp_model::{ResourceId, Status, Timestamp};
use ctp_store::{HistoryEntry, HistoryFilter, StoreResult, Window};
use ctp_store_sql::history_change;

use crate::rows::{self, get};
use crate::{Context, Tx};

/// Appends an entry to a measurement's history.
pub(crate) async fn append(tx: &Tx<'_>, measurement_id: &ResourceId, entry: Option<HistoryEntry>) -> StoreResult<()> {
    let Some(entry) = entry else { return Ok(()) };
    tx.execute(
        "INSERT INTO result_history (measurement_id, time, result, objective_status, standing, status_changed) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            &measurement_id.as_str(),
            &entry.time.millis(),
            &entry.result,
            &entry.objective_status.map(Status::as_str),
            &entry.standing.as_str(),
            &entry.status_changed,
        ],
    )
    .await
    .context("writing a history entry")?;
    Ok(())
}

/// How many entries of a measurement's history match, and the window of them, oldest first.
pub(crate) async fn list(
    tx: &Tx<'_>,
    measurement_id: &ResourceId,
    filter: &HistoryFilter,
    window: Option<Window>,
) -> StoreResult<(u64, Vec<HistoryEntry>)> {
    rows::load_measurement(tx, measurement_id).await?;
    let filter_sql = "measurement_id = $1 AND ($2::BIGINT IS NULL OR time >= $2) AND ($3::BIGINT IS NULL OR time < $3)";
    let (oldest, newest) = (filter.oldest.map(Timestamp::millis), filter.newest.map(Timestamp::millis));
    let id = measurement_id.as_str();
    let total = tx
        .query_one(&format!("SELECT COUNT(*) FROM result_history WHERE {filter_sql}"), &[&id, &oldest, &newest])
        .await
        .context("counting history entries")?;
    let total: i64 = get(&total, 0)?;
    let (offset, limit) = window.map_or((0, None), |w| {
        let (offset, limit) = ctp_store_sql::offset_and_limit(w);
        (offset, Some(limit))
    });
    let rows = tx
        .query(
            &format!(
                "SELECT time, result, objective_status, standing, status_changed FROM result_history \
                 WHERE {filter_sql} ORDER BY time, seq LIMIT $5 OFFSET $4"
            ),
            &[&id, &oldest, &newest, &offset, &limit],
        )
        .await
        .context("listing history entries")?;
    let entries = rows
        .iter()
        .map(|row| {
            let (time, objective_status, standing) =
                history_change(get(row, 0)?, get::<Option<&str>>(row, 2)?, get(row, 3)?)?;
            Ok(HistoryEntry { time, result: get(row, 1)?, objective_status, standing, status_changed: get(row, 4)? })
        })
        .collect::<StoreResult<_>>()?;
    Ok((total as u64, entries))
}

/// The changes of standing of each measurement from `since` on, with the last one before.
pub(crate) async fn timelines(
    tx: &Tx<'_>,
    measurement_ids: &[ResourceId],
    since: Timestamp,
) -> StoreResult<Vec<StatusTimeline>> {
    let ids: Vec<&str> = measurement_ids.iter().map(ResourceId::as_str).collect();
    // One statement for all: the last change before `since` of each, and those after, in
    // the order they were written (changes at the same millisecond by `seq`).
    let rows = tx
        .query(
            "SELECT measurement_id, time, objective_status, standing, TRUE AS before, seq FROM ( \
               SELECT DISTINCT ON (measurement_id) measurement_id, time, seq, objective_status, standing \
               FROM result_history WHERE measurement_id = ANY($1) AND status_changed AND time < $2 \
               ORDER BY measurement_id, time DESC, seq DESC) AS last \
             UNION ALL \
             SELECT measurement_id, time, objective_status, standing, FALSE, seq FROM result_history \
             WHERE measurement_id = ANY($1) AND status_changed AND time >= $2 \
             ORDER BY 1, 2, 6",
            &[&ids, &since.millis()],
        )
        .await
        .context("reading status timelines")?;
    let mut timelines: std::collections::HashMap<&str, StatusTimeline> = std::collections::HashMap::new();
    for row in &rows {
        let id: &str = get(row, 0)?;
        let (time, status, standing) = history_change(get(row, 1)?, get::<Option<&str>>(row, 2)?, get(row, 3)?)?;
        let change = StandingChange { time, status, standing };
        let timeline = timelines.entry(id).or_default();
        if get(row, 4)? {
            timeline.before = Some(change);
        } else {
            timeline.changes.push(change);
        }
    }
    Ok(ids.iter().map(|id| timelines.remove(id).unwrap_or_default()).collect())
}

/// Deletes the entries older than `before` and those beyond the newest `keep` of each
/// measurement.
pub(crate) async fn prune(tx: &Tx<'_>, before: Timestamp, keep: u64) -> StoreResult<u64> {
    let old = tx
        .execute(
            "DELETE FROM result_history WHERE measurement_id IN (SELECT id FROM measurements) AND time < $1",
            &[&before.millis()],
        )
        .await
        .context("pruning old history")?;
    let keep = i64::try_from(keep).unwrap_or(i64::MAX);
    let excess = tx
        .execute(
            "DELETE FROM result_history h USING ( \
               SELECT seq FROM ( \
                 SELECT seq, ROW_NUMBER() OVER (PARTITION BY measurement_id ORDER BY time DESC, seq DESC) AS n \
                 FROM result_history WHERE measurement_id IN \
                   (SELECT measurement_id FROM result_history GROUP BY measurement_id HAVING COUNT(*) > $1)) AS ranked \
               WHERE n > $1) AS excess \
             WHERE h.seq = excess.seq",
            &[&keep],
        )
        .await
        .context("pruning history beyond the count")?;
    Ok(old + excess)
}
