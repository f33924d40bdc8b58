//! Triggers (4.2.7) and what they write: their creation, the rules of 5.3.2 applied to a
//! new result (`rules::trigger_step`), the log entries of their alerts and the outbox
//! jobs that notify them, in the transaction of the result.

use ctp_model::resources::{ChangeId, Kind, LogEntry, Trigger};
use ctp_model::{Alert, Evaluate, ResourceId, Timestamp};
use ctp_store::rules;
use ctp_store::{checks, NewTrigger, StoreResult};
use rusqlite::{params, Connection};

use crate::changes::renew_ancestors;
use crate::rows::{self, backend, tags_to_text};

/// A new trigger of a service view, processed at once on its measurement's current
/// result (if it has one); returns it with the log entries it wrote.
pub(crate) fn create(
    conn: &Connection,
    view_id: &ResourceId,
    trigger: &NewTrigger,
    now: Timestamp,
    conditions: &dyn Evaluate,
) -> StoreResult<(Trigger, Vec<LogEntry>)> {
    rows::load_any_view(conn, view_id)?;
    let found = rows::load_measurement(conn, &trigger.measurement_id);
    let measurement = checks::trigger_measurement(found, &trigger.measurement_id, view_id)?;
    let id = ResourceId::generate();
    let change = rows::next_change_id(conn)?;
    conn.execute(
        "INSERT INTO triggers (id, view_id, measurement_id, name, annotation, condition, status, status_time, \
         notification, guard_time, tags, change_id, access_tags, owner_id) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'false', ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        params![
            id.as_str(),
            view_id.as_str(),
            measurement.id.as_str(),
            trigger.header.name,
            trigger.header.annotation,
            trigger.condition,
            now.millis(),
            trigger.notification,
            trigger.guard_time,
            tags_to_text(&trigger.tags),
            change,
            tags_to_text(&rules::trigger_access_tags(&measurement.access_tags, &trigger.owner_tags)),
            trigger.owner_id.as_ref().map(ResourceId::as_str)
        ],
    )
    .map_err(backend)?;
    renew_ancestors(conn, Kind::Trigger, &id, change)?;
    crate::clock::watch(conn, &measurement.id, now)?;
    let created = rows::load_trigger(conn, &id)?;
    let Some(raw) = &measurement.result else { return Ok((created, Vec::new())) };
    let logs = process(
        conn,
        std::slice::from_ref(&created),
        raw,
        &rules::decode_result(raw)?,
        now,
        change,
        conditions,
        rules::trigger_step,
    )?;
    Ok((rows::load_trigger(conn, &id)?, logs))
}

/// The distinct conditions of the triggers on a measurement.
pub(crate) fn conditions_on(conn: &Connection, measurement_id: &ResourceId) -> StoreResult<Vec<String>> {
    rows::strings(conn, "SELECT DISTINCT condition FROM triggers WHERE measurement_id = ?1", measurement_id)
}

/// The conditions of the triggers an account created.
pub(crate) fn conditions_of_owner(conn: &Connection, owner_id: &ResourceId) -> StoreResult<Vec<String>> {
    rows::strings(conn, "SELECT condition FROM triggers WHERE owner_id = ?1", owner_id)
}

/// Applies 5.3.2 to `triggers` (of one measurement, so of one service view, whose change
/// identifier the caller has already renewed to `change`) on `result`: their new
/// statuses, then a log entry (with its outbox job) per alert.
#[allow(clippy::too_many_arguments)] // the result twice (text, value), and how to decide
pub(crate) fn process(
    conn: &Connection,
    triggers: &[Trigger],
    result_raw: &str,
    result_value: &serde_json::Value,
    now: Timestamp,
    change: ChangeId,
    conditions: &dyn Evaluate,
    step_rule: rules::StepRule,
) -> StoreResult<Vec<LogEntry>> {
    let mut logs = Vec::new();
    let mut update = conn
        .prepare_cached("UPDATE triggers SET status = ?1, status_time = ?2, change_id = ?3 WHERE id = ?4")
        .map_err(backend)?;
    for trigger in triggers {
        let step = step_rule(trigger, result_value, now, conditions);
        if let Some((status, time)) = step.new_status {
            update.execute(params![status.as_str(), time.millis(), change, trigger.id.as_str()]).map_err(backend)?;
        }
        if let Some(alert) = step.alert {
            logs.push(insert_log(conn, trigger, alert, result_raw, now)?);
        }
    }
    Ok(logs)
}

/// Writes the log entry of a trigger's alert, and its outbox job if the trigger notifies.
fn insert_log(
    conn: &Connection,
    trigger: &Trigger,
    alert: Alert,
    result: &str,
    now: Timestamp,
) -> StoreResult<LogEntry> {
    let entry = rules::log_entry(trigger, alert, result, now);
    insert_entry(conn, trigger, &entry)?;
    Ok(entry)
}

/// Writes a log entry of `trigger`, and its outbox job (whose id is returned) if the
/// trigger notifies.
pub(crate) fn insert_entry(conn: &Connection, trigger: &Trigger, entry: &LogEntry) -> StoreResult<Option<ResourceId>> {
    let (result_text, error_text) = ctp_store_sql::log_body_columns(&entry.body);
    conn.prepare_cached(
        "INSERT INTO logs (id, view_id, trigger_id, creation_time, result, error, tags, access_tags) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )
    .and_then(|mut s| {
        s.execute(params![
            entry.id.as_str(),
            entry.view_id.as_str(),
            entry.trigger_id.as_str(),
            entry.creation_time.millis(),
            result_text,
            error_text,
            tags_to_text(&entry.tags),
            tags_to_text(&entry.access_tags)
        ])
    })
    .map_err(backend)?;
    crate::ledger::append_log(conn, entry)?;
    if trigger.notification.is_empty() {
        return Ok(None);
    }
    let delivery_id = ResourceId::generate();
    conn.prepare_cached(
        "INSERT INTO deliveries (id, log_id, trigger_id, view_id, owner_id, target, state, attempts, \
         next_attempt, claimed, creation_time, access_tags) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending', 0, ?7, 0, ?7, ?8)",
    )
    .and_then(|mut s| {
        s.execute(params![
            delivery_id.as_str(),
            entry.id.as_str(),
            trigger.id.as_str(),
            entry.view_id.as_str(),
            trigger.owner_id.as_ref().map(ResourceId::as_str),
            trigger.notification,
            entry.creation_time.millis(),
            tags_to_text(&entry.access_tags)
        ])
    })
    .map_err(backend)?;
    Ok(Some(delivery_id))
}
