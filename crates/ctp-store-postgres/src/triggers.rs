//! Triggers: their creation (evaluated at once on their measurement's result), their
//! conditions, and 5.3.2 applied to the triggers of a measurement on a result: new
//! statuses, log entries, and the outbox jobs that notify them.

use ctp_model::resources::{ChangeId, Kind, LogEntry, Trigger};
use ctp_model::trigger_rules::Alert;
use ctp_model::{Evaluate, ResourceId, Timestamp};
use ctp_store::rules;
use ctp_store::{checks, NewTrigger, StoreResult};

use crate::rows::{self, tags_to_text};
use crate::{changes, Context, Tx};

/// Creates a trigger in a service view; it starts `"false"` and is processed at once
/// when its measurement (locked first) has a result.
pub(crate) async fn create_trigger(
    tx: &Tx<'_>,
    view_id: &ResourceId,
    trigger: &NewTrigger,
    now: Timestamp,
    conditions: &dyn Evaluate,
) -> StoreResult<(Trigger, Vec<LogEntry>)> {
    rows::load_any_view(tx, view_id).await?;
    let found = rows::lock_measurement(tx, &trigger.measurement_id).await;
    let measurement = checks::trigger_measurement(found, &trigger.measurement_id, view_id)?;
    let tags = rules::trigger_access_tags(&measurement.access_tags, &trigger.owner_tags);
    let id = ResourceId::generate();
    let change = rows::next_change_id(tx).await?;
    tx.execute(
        "INSERT INTO triggers (id, view_id, measurement_id, name, annotation, condition, status, status_time, \
         notification, guard_time, tags, change_id, access_tags, owner_id) \
         VALUES ($1, $2, $3, $4, $5, $6, 'false', $7, $8, $9, $10, $11, $12, $13)",
        &[
            &id.as_str(),
            &view_id.as_str(),
            &measurement.id.as_str(),
            &trigger.header.name,
            &trigger.header.annotation,
            &trigger.condition,
            &now.millis(),
            &trigger.notification,
            &trigger.guard_time,
            &tags_to_text(&trigger.tags),
            &change,
            &tags_to_text(&tags),
            &trigger.owner_id.as_ref().map(ResourceId::as_str),
        ],
    )
    .await
    .context("inserting a trigger")?;
    changes::renew_ancestors(tx, Kind::Trigger, &id, change).await?;
    crate::clock::watch(tx, &measurement.id, now).await?;
    let created = rows::load_trigger(tx, &id).await?;
    let logs = match &measurement.result {
        Some(raw) => {
            let value = rules::decode_result(raw)?;
            let created = std::slice::from_ref(&created);
            process_triggers(tx, created, raw, &value, now, change, conditions, rules::trigger_step).await?
        }
        None => Vec::new(),
    };
    rows::load_trigger(tx, &id).await.map(|t| (t, logs))
}

/// The distinct conditions of the triggers of a measurement.
pub(crate) async fn trigger_conditions(tx: &Tx<'_>, measurement_id: &ResourceId) -> StoreResult<Vec<String>> {
    let sql = "SELECT DISTINCT condition FROM triggers WHERE measurement_id = $1";
    let found = tx.query(sql, &[&measurement_id.as_str()]).await.context("listing trigger conditions")?;
    found.iter().map(|row| rows::get(row, 0)).collect()
}

/// The conditions of the triggers an account created.
pub(crate) async fn conditions_of_owner(tx: &Tx<'_>, owner_id: &ResourceId) -> StoreResult<Vec<String>> {
    let sql = "SELECT condition FROM triggers WHERE owner_id = $1";
    let found = tx.query(sql, &[&owner_id.as_str()]).await.context("listing an account's trigger conditions")?;
    found.iter().map(|row| rows::get(row, 0)).collect()
}

/// Applies 5.3.2 to `triggers` (of one measurement, so of one service view) on a result:
/// their new statuses, with the change identifier `change`, in one statement, and a log
/// entry (with its outbox job) per alert. The caller has renewed the change identifiers
/// of the measurement and its ancestors with `change`: the service view's is not renewed
/// again.
#[allow(clippy::too_many_arguments)] // the result twice (text, value), and how to decide
pub(crate) async fn process_triggers(
    tx: &Tx<'_>,
    triggers: &[Trigger],
    result_raw: &str,
    result_value: &serde_json::Value,
    now: Timestamp,
    change: ChangeId,
    conditions: &dyn Evaluate,
    step_rule: rules::StepRule,
) -> StoreResult<Vec<LogEntry>> {
    let (mut ids, mut statuses, mut times) = (Vec::new(), Vec::new(), Vec::new());
    let mut logs = Vec::new();
    for trigger in triggers {
        let step = step_rule(trigger, result_value, now, conditions);
        if let Some((status, time)) = step.new_status {
            ids.push(trigger.id.as_str());
            statuses.push(status.as_str());
            times.push(time.millis());
        }
        if let Some(alert) = step.alert {
            logs.push(insert_log(tx, trigger, alert, result_raw, now).await?);
        }
    }
    if !ids.is_empty() {
        tx.execute(
            "UPDATE triggers AS t SET status = v.status, status_time = v.time, change_id = $4 \
             FROM UNNEST($1::TEXT[], $2::TEXT[], $3::BIGINT[]) AS v(id, status, time) WHERE t.id = v.id",
            &[&ids, &statuses, &times, &change],
        )
        .await
        .context("updating trigger statuses")?;
    }
    Ok(logs)
}

/// Writes the log entry of a trigger's alert, and its outbox job if the trigger notifies.
async fn insert_log(
    tx: &Tx<'_>,
    trigger: &Trigger,
    alert: Alert,
    result: &str,
    now: Timestamp,
) -> StoreResult<LogEntry> {
    let entry = rules::log_entry(trigger, alert, result, now);
    insert_entry(tx, trigger, &entry).await?;
    Ok(entry)
}

/// Writes a log entry of `trigger`, and its outbox job (whose id is returned) if the
/// trigger notifies.
pub(crate) async fn insert_entry(tx: &Tx<'_>, trigger: &Trigger, entry: &LogEntry) -> StoreResult<Option<ResourceId>> {
    let (result_text, error_text) = ctp_store_sql::log_body_columns(&entry.body);
    tx.execute(
        "INSERT INTO logs (id, view_id, trigger_id, creation_time, result, error, tags, access_tags) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            &entry.id.as_str(),
            &entry.view_id.as_str(),
            &entry.trigger_id.as_str(),
            &entry.creation_time.millis(),
            &result_text,
            &error_text,
            &tags_to_text(&entry.tags),
            &tags_to_text(&entry.access_tags),
        ],
    )
    .await
    .context("inserting a log entry")?;
    crate::ledger::append_log(tx, entry).await?;
    if trigger.notification.is_empty() {
        return Ok(None);
    }
    enqueue_delivery(tx, trigger, entry).await.map(Some)
}

/// Queues the notification of a log entry to its trigger's target, due at once; returns
/// the job's id.
async fn enqueue_delivery(tx: &Tx<'_>, trigger: &Trigger, entry: &LogEntry) -> StoreResult<ResourceId> {
    let id = ResourceId::generate();
    tx.execute(
        "INSERT INTO deliveries (id, log_id, trigger_id, view_id, owner_id, target, state, attempts, next_attempt, \
         claimed, creation_time, access_tags) VALUES ($1, $2, $3, $4, $5, $6, 'pending', 0, $7, FALSE, $7, $8)",
        &[
            &id.as_str(),
            &entry.id.as_str(),
            &trigger.id.as_str(),
            &entry.view_id.as_str(),
            &trigger.owner_id.as_ref().map(ResourceId::as_str),
            &trigger.notification,
            &entry.creation_time.millis(),
            &tags_to_text(&entry.access_tags),
        ],
    )
    .await
    .context("queueing a notification")?;
    Ok(id)
}
