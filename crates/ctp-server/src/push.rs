//! The one way a result gets into the store, whoever sends it (an agent's `PUT
//! ?x=result`, the demo data, the OSSEC/Wazuh feed): the objective's and the triggers'
//! conditions are evaluated ahead, on a blocking thread, then the store applies 5.3.2 in
//! the push's transaction ([`ctp_store::Store::push_results`]).

use std::sync::Arc;

use ctp_model::resources::Measurement;
use ctp_model::{CheckedResult, Evaluations, Timestamp};
use ctp_store::Push;

use crate::context::AppState;
use crate::error::{ApiError, ApiResult};

/// Evaluates the objective and the triggers' conditions of `measurement` on a new result,
/// on a blocking thread and before the push's transaction: a costly condition (each is
/// bounded by CTPScript's time budget) then holds neither the runtime's workers nor the
/// store's writer, and one tenant's triggers cannot stall another tenant's writes.
pub async fn evaluate_ahead(
    state: &AppState,
    measurement: &Measurement,
    result: CheckedResult,
    now: Timestamp,
) -> ApiResult<Push> {
    let mut sources = state.store.trigger_conditions(&measurement.id).await?;
    sources.extend(measurement.objective.as_ref().map(|o| o.condition.clone()));
    let cache = Arc::clone(&state.conditions);
    let measurement_id = measurement.id.clone();
    tokio::task::spawn_blocking(move || {
        let evaluations = Evaluations::ahead(cache, sources.iter().map(String::as_str), &result.value, now.seconds());
        Push { measurement_id, result, evaluations: Arc::new(evaluations) }
    })
    .await
    .map_err(|e| ApiError::internal(format!("the evaluation of the conditions failed: {e}")))
}
