//! Writes to a measurement, each locking its row first (`FOR UPDATE`) so that they run
//! one after another on every instance: a pushed result (with its objective and 5.3.2 for
//! its triggers), a new objective, a new state (5.2.11).

use ctp_model::resources::{Kind, Measurement, MeasurementState};
use ctp_model::{CheckedResult, Evaluate, ResourceId, Timestamp};
use ctp_store::rules;
use ctp_store::{checks, PushOutcome, StoreResult};

use ctp_store_sql::objective_columns;

use crate::{changes, rows, triggers, Context, Tx};

/// Stores a result, evaluates the objective and processes every trigger of the
/// measurement (5.3.2).
pub(crate) async fn push_result(
    tx: &Tx<'_>,
    measurement_id: &ResourceId,
    result: &CheckedResult,
    now: Timestamp,
    conditions: &dyn Evaluate,
) -> StoreResult<PushOutcome> {
    let measurement = rows::lock_measurement(tx, measurement_id).await?;
    checks::accepts_results(&measurement)?;
    let change = rows::next_change_id(tx).await?;
    let had_verification = measurement.verification.is_some();
    let before = rules::standing(measurement.objective.as_ref(), measurement.result.is_some());
    let measurement = rules::after_push(measurement, result, now, change, conditions);
    let (objective_status, objective_time) = objective_columns(measurement.objective.as_ref());
    tx.execute(
        "UPDATE measurements SET result = $1, state = $2, objective_status = $3, objective_time = $4, change_id = $5 \
         WHERE id = $6",
        &[
            &result.raw,
            &measurement.state.as_str(),
            &objective_status,
            &objective_time,
            &change,
            &measurement_id.as_str(),
        ],
    )
    .await
    .context("storing a result")?;
    changes::renew_ancestors(tx, Kind::Measurement, measurement_id, change).await?;
    crate::authorities::save_verification(tx, measurement_id, had_verification, result.verification.as_ref()).await?;
    crate::ledger::append_result(tx, measurement_id, &result.raw, now).await?;
    let entry = rules::history_entry(Some(before), measurement.objective.as_ref(), true, Some(&result.raw), now);
    crate::history::append(tx, measurement_id, entry).await?;
    let triggers = rows::triggers_of_measurement(tx, measurement_id).await?;
    let logs = triggers::process_triggers(
        tx,
        &triggers,
        &result.raw,
        &result.value,
        now,
        change,
        conditions,
        rules::trigger_step,
    )
    .await?;
    Ok(PushOutcome { measurement, logs })
}

/// Sets (or with `None` removes) the objective of a measurement, evaluated on its result.
pub(crate) async fn set_objective(
    tx: &Tx<'_>,
    measurement_id: &ResourceId,
    condition: Option<&str>,
    now: Timestamp,
    conditions: &dyn Evaluate,
) -> StoreResult<Measurement> {
    let measurement = rows::lock_measurement(tx, measurement_id).await?;
    let change = rows::next_change_id(tx).await?;
    let objective = match condition {
        Some(condition) => {
            let result = measurement.result.as_deref().map(rules::decode_result).transpose()?;
            Some(rules::evaluate_objective(condition, result.as_ref(), now, conditions))
        }
        None => None,
    };
    let (objective_status, objective_time) = objective_columns(objective.as_ref());
    let has_result = measurement.result.is_some();
    let before = rules::standing(measurement.objective.as_ref(), has_result);
    let entry = rules::history_entry(Some(before), objective.as_ref(), has_result, None, now);
    crate::history::append(tx, measurement_id, entry).await?;
    tx.execute(
        "UPDATE measurements SET objective_condition = $1, objective_status = $2, objective_time = $3, \
         change_id = $4 WHERE id = $5",
        &[&condition, &objective_status, &objective_time, &change, &measurement_id.as_str()],
    )
    .await
    .context("setting an objective")?;
    changes::renew_ancestors(tx, Kind::Measurement, measurement_id, change).await?;
    if condition.is_some() {
        crate::clock::watch(tx, measurement_id, now).await?;
    }
    rows::load_measurement(tx, measurement_id).await
}

/// Activates or deactivates a user-activated measurement (5.2.11); a deactivated one
/// loses its result.
pub(crate) async fn set_state(
    tx: &Tx<'_>,
    measurement_id: &ResourceId,
    state: MeasurementState,
) -> StoreResult<Measurement> {
    let measurement = rows::lock_measurement(tx, measurement_id).await?;
    checks::user_activated(&measurement)?;
    let (new_state, clear_result) = rules::state_transition(measurement.state, state);
    if new_state == measurement.state && !clear_result {
        return Ok(measurement);
    }
    let change = rows::next_change_id(tx).await?;
    tx.execute(
        "UPDATE measurements SET state = $1, result = CASE WHEN $2 THEN NULL ELSE result END, change_id = $3 \
         WHERE id = $4",
        &[&new_state.as_str(), &clear_result, &change, &measurement_id.as_str()],
    )
    .await
    .context("changing a measurement's state")?;
    changes::renew_ancestors(tx, Kind::Measurement, measurement_id, change).await?;
    rows::load_measurement(tx, measurement_id).await
}
