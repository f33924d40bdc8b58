//! Conditions re-evaluated by the clock (issue 13): `clock_watch` lists the measurements
//! whose objective or triggers may read the clock, each with the time it is due; a round
//! claims the due ones and applies the outcomes by the rules of a push, writing only what
//! changes.

use ctp_model::resources::{Kind, LogEntry};
use ctp_model::{ResourceId, Timestamp};
use ctp_store::{rules, ClockRound, ClockWork, StoreError, StoreResult};
use ctp_store_sql::objective_columns;
use rusqlite::{params, Connection};

use crate::changes::renew_ancestors;
use crate::rows::{self, backend};
use crate::triggers;

/// Watches a measurement whose objective or triggers were just set: due at `now` (the next
/// round finds out whether they read the clock).
pub(crate) fn watch(conn: &Connection, measurement_id: &ResourceId, now: Timestamp) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO clock_watch (id, due) VALUES (?1, ?2) ON CONFLICT (id) DO UPDATE SET due = min(due, excluded.due)",
    )
    .and_then(|mut s| s.execute(params![measurement_id.as_str(), now.millis()]))
    .map_err(backend)?;
    Ok(())
}

/// Claims up to `limit` watched measurements due at `now`, due again at `next`.
pub(crate) fn claim(conn: &Connection, now: Timestamp, next: Timestamp, limit: usize) -> StoreResult<Vec<ClockWork>> {
    let ids: Vec<String> = conn
        .prepare_cached(
            "UPDATE clock_watch SET due = ?2 WHERE id IN \
             (SELECT id FROM clock_watch WHERE due <= ?1 ORDER BY due LIMIT ?3) RETURNING id",
        )
        .and_then(|mut s| s.query_map(params![now.millis(), next.millis(), limit as i64], |row| row.get(0))?.collect())
        .map_err(backend)?;
    let mut work = Vec::with_capacity(ids.len());
    for id in ids {
        let id = ResourceId::parse(&id).map_err(|e| StoreError::broken(format!("a watched id: {e}")))?;
        let measurement = rows::load_measurement(conn, &id)?;
        let triggers = rows::triggers_of_measurement(conn, &id)?;
        work.push(ClockWork { measurement, triggers });
    }
    Ok(work)
}

/// Applies a round (see `Store::apply_clock_round`).
pub(crate) fn apply(conn: &Connection, round: &ClockRound, now: Timestamp) -> StoreResult<Vec<LogEntry>> {
    let mut unwatch = conn.prepare_cached("DELETE FROM clock_watch WHERE id = ?1").map_err(backend)?;
    for id in &round.unwatch {
        unwatch.execute(params![id.as_str()]).map_err(backend)?;
    }
    let mut logs = Vec::new();
    if round.items.is_empty() {
        return Ok(logs);
    }
    let change = rows::next_change_id(conn)?;
    for item in &round.items {
        let measurement = match rows::load_measurement(conn, &item.measurement_id) {
            Ok(measurement) => measurement,
            Err(StoreError::NotFound(..)) => continue,
            Err(e) => return Err(e),
        };
        let Some(raw) = &measurement.result else { continue };
        let evaluations = item.evaluations.as_ref();
        if item.objective {
            if let Some(objective) = rules::clock_objective(&measurement, now, evaluations)? {
                let (status, time) = objective_columns(Some(&objective));
                conn.prepare_cached(
                    "UPDATE measurements SET objective_status = ?1, objective_time = ?2, change_id = ?3 WHERE id = ?4",
                )
                .and_then(|mut s| s.execute(params![status, time, change, measurement.id.as_str()]))
                .map_err(backend)?;
                renew_ancestors(conn, Kind::Measurement, &measurement.id, change)?;
                let before = rules::standing(measurement.objective.as_ref(), true);
                let entry = rules::history_entry(Some(before), Some(&objective), true, None, now);
                crate::history::append(conn, &measurement.id, entry)?;
            }
        }
        let value = rules::decode_result(raw)?;
        let all = rows::triggers_of_measurement(conn, &measurement.id)?;
        let (clocked, changed) = rules::clock_triggers(all, &item.triggers, &value, now, evaluations);
        if let Some(trigger_id) = changed {
            renew_ancestors(conn, Kind::Trigger, &trigger_id, change)?;
        }
        logs.extend(triggers::process(conn, &clocked, raw, &value, now, change, evaluations, rules::clock_step)?);
    }
    Ok(logs)
}
