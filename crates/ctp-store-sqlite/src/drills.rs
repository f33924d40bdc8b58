//! Drills (issue 13): the log entries tagged `drill` and outbox jobs a drill writes, the
//! record of its messages, and the acknowledgements people make through their links.

use ctp_model::resources::{Drill, DrillMessage};
use ctp_model::{ResourceId, Timestamp};
use ctp_store::{checks, rules, NewDrill, StoreError, StoreResult};
use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::rows::{self, backend};
use crate::triggers::insert_entry;

/// Writes a drill: per message whose trigger is still in the service view with a
/// notification, its log entry, its outbox job and its record; nothing if none is left.
pub(crate) fn start(conn: &Connection, drill: &NewDrill, now: Timestamp) -> StoreResult<Drill> {
    rows::load_any_view(conn, &drill.view_id)?;
    conn.execute(
        "INSERT INTO drills (id, view_id, creation_time, started_by, annotation) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![drill.id.as_str(), drill.view_id.as_str(), now.millis(), drill.started_by.as_str(), drill.annotation],
    )
    .map_err(backend)?;
    let mut sent = 0;
    for message in &drill.messages {
        let trigger = match rows::load_trigger(conn, &message.trigger_id) {
            Ok(trigger) => trigger,
            Err(StoreError::NotFound(..)) => continue,
            Err(e) => return Err(e),
        };
        if trigger.view_id != drill.view_id || trigger.notification.is_empty() {
            continue; // moved, or no longer notifies: nothing to test
        }
        let entry = rules::drill_log_entry(&trigger, &message.result, now);
        let Some(delivery_id) = insert_entry(conn, &trigger, &entry)? else { continue };
        conn.execute(
            "INSERT INTO drill_messages (id, drill_id, trigger_id, trigger_name, target, log_id, token) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                delivery_id.as_str(),
                drill.id.as_str(),
                trigger.id.as_str(),
                trigger.header.name,
                trigger.notification,
                entry.id.as_str(),
                message.token
            ],
        )
        .map_err(backend)?;
        sent += 1;
    }
    checks::drill_has_messages(sent, &drill.view_id)?;
    load(conn, &drill.id)
}

/// A drill's row: id, service view, creation time, started by, annotation.
type DrillRow = (String, String, i64, String, String);

const DRILL_SELECT: &str = "SELECT id, view_id, creation_time, started_by, annotation FROM drills";

fn drill_row(row: &Row<'_>) -> rusqlite::Result<DrillRow> {
    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?))
}

/// One drill with its messages.
pub(crate) fn load(conn: &Connection, id: &ResourceId) -> StoreResult<Drill> {
    let found = conn
        .prepare_cached(&format!("{DRILL_SELECT} WHERE id = ?1"))
        .and_then(|mut s| s.query_row([id.as_str()], drill_row).optional())
        .map_err(backend)?
        .ok_or_else(|| StoreError::Missing(format!("no drill with id {id}")))?;
    complete(conn, found)
}

/// The drills (of one service view), oldest first.
pub(crate) fn list(conn: &Connection, view_id: Option<&ResourceId>) -> StoreResult<Vec<Drill>> {
    let found = match view_id {
        Some(view_id) => query(conn, &format!("{DRILL_SELECT} WHERE view_id = ?1 ORDER BY seq"), [view_id.as_str()]),
        None => query(conn, &format!("{DRILL_SELECT} ORDER BY seq"), []),
    }?;
    found.into_iter().map(|row| complete(conn, row)).collect()
}

fn query(conn: &Connection, sql: &str, values: impl rusqlite::Params) -> StoreResult<Vec<DrillRow>> {
    let mut statement = conn.prepare_cached(sql).map_err(backend)?;
    let found = statement.query_map(values, drill_row).map_err(backend)?;
    found.collect::<rusqlite::Result<_>>().map_err(backend)
}

fn complete(conn: &Connection, (id, view_id, created, started_by, annotation): DrillRow) -> StoreResult<Drill> {
    let id = stored_id(&id)?;
    let messages = messages(conn, &id)?;
    Ok(Drill {
        view_id: stored_id(&view_id)?,
        creation_time: stored_time(created)?,
        started_by: stored_id(&started_by)?,
        annotation,
        messages,
        id,
    })
}

fn stored_id(text: &str) -> StoreResult<ResourceId> {
    ResourceId::parse(text).map_err(|e| StoreError::backend("reading a drill", e))
}

fn stored_time(millis: i64) -> StoreResult<Timestamp> {
    Timestamp::from_millis(millis).ok_or_else(|| StoreError::broken(format!("a drill holds the time {millis}")))
}

type MessageRow = (String, String, String, String, String, String, Option<i64>, Option<i64>, Option<String>);

/// The messages of a drill, in the order they were written, each with its delivery job.
fn messages(conn: &Connection, drill_id: &ResourceId) -> StoreResult<Vec<DrillMessage>> {
    let found: Vec<MessageRow> = {
        let mut statement = conn
            .prepare_cached(
                "SELECT id, trigger_id, trigger_name, target, log_id, token, handed_over_time, ack_time, ack_by \
                 FROM drill_messages WHERE drill_id = ?1 ORDER BY seq",
            )
            .map_err(backend)?;
        let rows = statement
            .query_map([drill_id.as_str()], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?, r.get(8)?))
            })
            .map_err(backend)?;
        rows.collect::<rusqlite::Result<_>>().map_err(backend)?
    };
    found
        .into_iter()
        .map(|(id, trigger_id, trigger_name, target, log_id, token, handed_over, ack, ack_by)| {
            let delivery_id = stored_id(&id)?;
            let delivery = match rows::load_delivery(conn, &delivery_id) {
                Ok(delivery) => Some(delivery),
                Err(StoreError::NotFound(..)) => None,
                Err(e) => return Err(e),
            };
            Ok(DrillMessage {
                delivery_id,
                trigger_id: stored_id(&trigger_id)?,
                trigger_name,
                target,
                log_id: stored_id(&log_id)?,
                token,
                handed_over_time: handed_over.map(stored_time).transpose()?,
                delivery,
                acknowledge_time: ack.map(stored_time).transpose()?,
                acknowledged_by: ack_by,
            })
        })
        .collect()
}

/// Records a person's acknowledgement of the message whose link holds `token` (the first
/// one is kept).
pub(crate) fn acknowledge(
    conn: &Connection,
    drill_id: &ResourceId,
    token: &str,
    by: Option<&str>,
    now: Timestamp,
) -> StoreResult<DrillMessage> {
    let messages = messages(conn, drill_id)?;
    let message = checks::drill_message_by_token(&messages, token)?;
    conn.execute(
        "UPDATE drill_messages SET ack_time = ?1, ack_by = ?2 WHERE id = ?3 AND ack_time IS NULL",
        params![now.millis(), by, message.delivery_id.as_str()],
    )
    .map_err(backend)?;
    let updated = self::messages(conn, drill_id)?;
    updated.into_iter().find(|m| m.delivery_id == message.delivery_id).ok_or_else(checks::drill_link_unknown)
}
