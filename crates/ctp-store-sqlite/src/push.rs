//! What changes a measurement after its creation: a pushed result (its objective
//! evaluated and its triggers processed, in one transaction), a new objective, a new
//! state (5.2.11).

use ctp_model::resources::{Kind, Measurement, MeasurementState};
use ctp_model::{CheckedResult, Evaluate, ResourceId, Timestamp};
use ctp_store::rules;
use ctp_store::{checks, PushOutcome, StoreResult};
use ctp_store_sql::objective_columns;
use rusqlite::{params, Connection};

use crate::changes::renew_ancestors;
use crate::rows::{self, backend};
use crate::triggers;

/// Stores a measurement's new result, evaluates its objective and processes its triggers.
pub(crate) fn push_result(
    conn: &Connection,
    measurement_id: &ResourceId,
    result: &CheckedResult,
    now: Timestamp,
    conditions: &dyn Evaluate,
) -> StoreResult<PushOutcome> {
    let measurement = rows::load_measurement(conn, measurement_id)?;
    checks::accepts_results(&measurement)?;
    let change = rows::next_change_id(conn)?;
    let had_verification = measurement.verification.is_some();
    let before = rules::standing(measurement.objective.as_ref(), measurement.result.is_some());
    let measurement = rules::after_push(measurement, result, now, change, conditions);
    conn.prepare_cached(
        "UPDATE measurements SET result = ?1, state = ?2, objective_status = ?3, objective_time = ?4, \
         change_id = ?5 WHERE id = ?6",
    )
    .and_then(|mut s| {
        let (status, time) = objective_columns(measurement.objective.as_ref());
        s.execute(params![result.raw, measurement.state.as_str(), status, time, change, measurement_id.as_str()])
    })
    .map_err(backend)?;
    renew_ancestors(conn, Kind::Measurement, measurement_id, change)?;
    crate::authorities::save_verification(conn, measurement_id, had_verification, result.verification.as_ref())?;
    crate::ledger::append_result(conn, measurement_id, &result.raw, now)?;
    let entry = rules::history_entry(Some(before), measurement.objective.as_ref(), true, Some(&result.raw), now);
    crate::history::append(conn, measurement_id, entry)?;
    let watching = rows::triggers_of_measurement(conn, measurement_id)?;
    let logs =
        triggers::process(conn, &watching, &result.raw, &result.value, now, change, conditions, rules::trigger_step)?;
    Ok(PushOutcome { measurement, logs })
}

/// Gives a measurement a new objective (or none), evaluated on its current result.
pub(crate) fn set_objective(
    conn: &Connection,
    measurement_id: &ResourceId,
    condition: Option<&str>,
    now: Timestamp,
    conditions: &dyn Evaluate,
) -> StoreResult<Measurement> {
    let measurement = rows::load_measurement(conn, measurement_id)?;
    let change = rows::next_change_id(conn)?;
    let result = measurement.result.as_deref().map(rules::decode_result).transpose()?;
    let objective = condition.map(|c| rules::evaluate_objective(c, result.as_ref(), now, conditions));
    let (status, time) = objective_columns(objective.as_ref());
    let before = rules::standing(measurement.objective.as_ref(), result.is_some());
    let entry = rules::history_entry(Some(before), objective.as_ref(), result.is_some(), None, now);
    crate::history::append(conn, measurement_id, entry)?;
    conn.execute(
        "UPDATE measurements SET objective_condition = ?1, objective_status = ?2, objective_time = ?3, \
         change_id = ?4 WHERE id = ?5",
        params![condition, status, time, change, measurement_id.as_str()],
    )
    .map_err(backend)?;
    renew_ancestors(conn, Kind::Measurement, measurement_id, change)?;
    if condition.is_some() {
        crate::clock::watch(conn, measurement_id, now)?;
    }
    rows::load_measurement(conn, measurement_id)
}

/// Asks a user-activated measurement to change state (5.2.11).
pub(crate) fn set_state(
    conn: &Connection,
    measurement_id: &ResourceId,
    requested: MeasurementState,
) -> StoreResult<Measurement> {
    let measurement = rows::load_measurement(conn, measurement_id)?;
    checks::user_activated(&measurement)?;
    let (new_state, clear_result) = rules::state_transition(measurement.state, requested);
    if new_state == measurement.state && !clear_result {
        return Ok(measurement);
    }
    let change = rows::next_change_id(conn)?;
    conn.execute(
        "UPDATE measurements SET state = ?1, result = CASE WHEN ?2 THEN NULL ELSE result END, change_id = ?3 \
         WHERE id = ?4",
        params![new_state.as_str(), clear_result, change, measurement_id.as_str()],
    )
    .map_err(backend)?;
    renew_ancestors(conn, Kind::Measurement, measurement_id, change)?;
    rows::load_measurement(conn, measurement_id)
}
