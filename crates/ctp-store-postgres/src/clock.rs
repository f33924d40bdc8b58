//! Conditions re-evaluated by the clock (issue 13): `clock_watch` lists the measurements
//! whose objective or triggers may read the clock, each with the time it is due. A round
//! claims the due ones (`FOR UPDATE SKIP LOCKED`, so instances share the work and each row
//! is evaluated once per round), then applies the outcomes by the rules of a push in one
//! transaction, writing only what changes.

use ctp_model::resources::{Kind, LogEntry};
use ctp_model::{ResourceId, Timestamp};
use ctp_store::{rules, ClockRound, ClockWork, StoreError, StoreResult};
use ctp_store_sql::objective_columns;

use crate::{changes, rows, triggers, Context, Tx};

/// Watches a measurement whose objective or triggers were just set: due at `now`.
pub(crate) async fn watch(tx: &Tx<'_>, measurement_id: &ResourceId, now: Timestamp) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO clock_watch (id, due) VALUES ($1, $2) \
         ON CONFLICT (id) DO UPDATE SET due = LEAST(clock_watch.due, excluded.due)",
        &[&measurement_id.as_str(), &now.millis()],
    )
    .await
    .context("watching a measurement's conditions")?;
    Ok(())
}

/// Claims up to `limit` watched measurements due at `now`, due again at `next`.
pub(crate) async fn claim(tx: &Tx<'_>, now: Timestamp, next: Timestamp, limit: usize) -> StoreResult<Vec<ClockWork>> {
    let claimed = tx
        .query(
            "UPDATE clock_watch SET due = $2 WHERE id IN \
             (SELECT id FROM clock_watch WHERE due <= $1 ORDER BY due LIMIT $3 FOR UPDATE SKIP LOCKED) RETURNING id",
            &[&now.millis(), &next.millis(), &(limit as i64)],
        )
        .await
        .context("claiming due clock conditions")?;
    let mut work = Vec::with_capacity(claimed.len());
    for row in &claimed {
        let id: &str = rows::get(row, 0)?;
        let id = ResourceId::parse(id).map_err(|e| StoreError::broken(format!("a watched id: {e}")))?;
        let measurement = rows::load_measurement(tx, &id).await?;
        let triggers = rows::triggers_of_measurement(tx, &id).await?;
        work.push(ClockWork { measurement, triggers });
    }
    Ok(work)
}

/// Applies a round (see `Store::apply_clock_round`); measurements are locked in id order.
pub(crate) async fn apply(tx: &Tx<'_>, round: &ClockRound, now: Timestamp) -> StoreResult<Vec<LogEntry>> {
    let unwatch: Vec<&str> = round.unwatch.iter().map(ResourceId::as_str).collect();
    if !unwatch.is_empty() {
        tx.execute("DELETE FROM clock_watch WHERE id = ANY($1)", &[&unwatch]).await.context("unwatching")?;
    }
    let mut logs = Vec::new();
    if round.items.is_empty() {
        return Ok(logs);
    }
    let change = rows::next_change_id(tx).await?;
    let mut items: Vec<_> = round.items.iter().collect();
    items.sort_by(|a, b| a.measurement_id.as_str().cmp(b.measurement_id.as_str()));
    for item in items {
        let measurement = match rows::lock_measurement(tx, &item.measurement_id).await {
            Ok(measurement) => measurement,
            Err(StoreError::NotFound(..)) => continue,
            Err(e) => return Err(e),
        };
        let Some(raw) = &measurement.result else { continue };
        let evaluations = item.evaluations.as_ref();
        if item.objective {
            if let Some(objective) = rules::clock_objective(&measurement, now, evaluations)? {
                let (status, time) = objective_columns(Some(&objective));
                tx.execute(
                    "UPDATE measurements SET objective_status = $1, objective_time = $2, change_id = $3 WHERE id = $4",
                    &[&status, &time, &change, &measurement.id.as_str()],
                )
                .await
                .context("storing an objective's status")?;
                changes::renew_ancestors(tx, Kind::Measurement, &measurement.id, change).await?;
                let before = rules::standing(measurement.objective.as_ref(), true);
                let entry = rules::history_entry(Some(before), Some(&objective), true, None, now);
                crate::history::append(tx, &measurement.id, entry).await?;
            }
        }
        let value = rules::decode_result(raw)?;
        let all = rows::triggers_of_measurement(tx, &measurement.id).await?;
        let (clocked, changed) = rules::clock_triggers(all, &item.triggers, &value, now, evaluations);
        if let Some(trigger_id) = changed {
            changes::renew_ancestors(tx, Kind::Trigger, &trigger_id, change).await?;
        }
        let written =
            triggers::process_triggers(tx, &clocked, raw, &value, now, change, evaluations, rules::clock_step).await?;
        logs.extend(written);
    }
    Ok(logs)
}
