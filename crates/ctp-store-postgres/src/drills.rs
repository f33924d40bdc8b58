//! Drills (issue 13): the PostgreSQL twin of `ctp-store-sqlite`'s `drills.rs` (same
//! tables, same rules).

use ctp_model::resources::{Drill, DrillMessage};
use ctp_model::{ResourceId, Timestamp};
use ctp_store::{checks, rules, NewDrill, StoreError, StoreResult};
use tokio_postgres::Row;

use crate::rows::{self, get, id_at, time_at};
use crate::triggers::insert_entry;
use crate::{Context, Tx};

/// Writes a drill: per message whose trigger is still in the service view with a
/// notification, its log entry, its outbox job and its record; nothing if none is left.
pub(crate) async fn start(tx: &Tx<'_>, drill: &NewDrill, now: Timestamp) -> StoreResult<Drill> {
    rows::load_any_view(tx, &drill.view_id).await?;
    tx.execute(
        "INSERT INTO drills (id, view_id, creation_time, started_by, annotation) VALUES ($1, $2, $3, $4, $5)",
        &[&drill.id.as_str(), &drill.view_id.as_str(), &now.millis(), &drill.started_by.as_str(), &drill.annotation],
    )
    .await
    .context("inserting a drill")?;
    let mut sent = 0;
    for message in &drill.messages {
        let trigger = match rows::load_trigger(tx, &message.trigger_id).await {
            Ok(trigger) => trigger,
            Err(StoreError::NotFound(..)) => continue,
            Err(e) => return Err(e),
        };
        if trigger.view_id != drill.view_id || trigger.notification.is_empty() {
            continue; // moved, or no longer notifies: nothing to test
        }
        let entry = rules::drill_log_entry(&trigger, &message.result, now);
        let Some(delivery_id) = insert_entry(tx, &trigger, &entry).await? else { continue };
        tx.execute(
            "INSERT INTO drill_messages (id, drill_id, trigger_id, trigger_name, target, log_id, token) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &delivery_id.as_str(),
                &drill.id.as_str(),
                &trigger.id.as_str(),
                &trigger.header.name,
                &trigger.notification,
                &entry.id.as_str(),
                &message.token,
            ],
        )
        .await
        .context("recording a drill message")?;
        sent += 1;
    }
    checks::drill_has_messages(sent, &drill.view_id)?;
    load(tx, &drill.id).await
}

const DRILL_COLUMNS: &str = "id, view_id, creation_time, started_by, annotation";

/// One drill with its messages.
pub(crate) async fn load(tx: &Tx<'_>, id: &ResourceId) -> StoreResult<Drill> {
    let sql = format!("SELECT {DRILL_COLUMNS} FROM drills WHERE id = $1");
    match tx.query_opt(&sql, &[&id.as_str()]).await.context("loading a drill")? {
        Some(row) => complete(tx, &row).await,
        None => Err(StoreError::Missing(format!("no drill with id {id}"))),
    }
}

/// The drills (of one service view), oldest first.
pub(crate) async fn list(tx: &Tx<'_>, view_id: Option<&ResourceId>) -> StoreResult<Vec<Drill>> {
    let found = match view_id {
        Some(view_id) => {
            let sql = format!("SELECT {DRILL_COLUMNS} FROM drills WHERE view_id = $1 ORDER BY seq");
            tx.query(&sql, &[&view_id.as_str()]).await
        }
        None => tx.query(&format!("SELECT {DRILL_COLUMNS} FROM drills ORDER BY seq"), &[]).await,
    }
    .context("listing drills")?;
    let mut drills = Vec::with_capacity(found.len());
    for row in &found {
        drills.push(complete(tx, row).await?);
    }
    Ok(drills)
}

async fn complete(tx: &Tx<'_>, row: &Row) -> StoreResult<Drill> {
    let id = id_at(row, 0)?;
    Ok(Drill {
        view_id: id_at(row, 1)?,
        creation_time: time_at(row, 2)?,
        started_by: id_at(row, 3)?,
        annotation: get(row, 4)?,
        messages: messages(tx, &id).await?,
        id,
    })
}

fn optional_time(row: &Row, column: usize) -> StoreResult<Option<Timestamp>> {
    let millis: Option<i64> = get(row, column)?;
    millis
        .map(|m| Timestamp::from_millis(m).ok_or_else(|| StoreError::broken(format!("a drill holds the time {m}"))))
        .transpose()
}

/// The messages of a drill, in the order they were written, each with its delivery job.
async fn messages(tx: &Tx<'_>, drill_id: &ResourceId) -> StoreResult<Vec<DrillMessage>> {
    let found = tx
        .query(
            "SELECT id, trigger_id, trigger_name, target, log_id, token, handed_over_time, ack_time, ack_by \
             FROM drill_messages WHERE drill_id = $1 ORDER BY seq",
            &[&drill_id.as_str()],
        )
        .await
        .context("loading a drill's messages")?;
    let mut messages = Vec::with_capacity(found.len());
    for row in &found {
        let delivery_id = id_at(row, 0)?;
        let delivery = match rows::load_delivery(tx, &delivery_id).await {
            Ok(delivery) => Some(delivery),
            Err(StoreError::NotFound(..)) => None,
            Err(e) => return Err(e),
        };
        messages.push(DrillMessage {
            delivery_id,
            trigger_id: id_at(row, 1)?,
            trigger_name: get(row, 2)?,
            target: get(row, 3)?,
            log_id: id_at(row, 4)?,
            token: get(row, 5)?,
            handed_over_time: optional_time(row, 6)?,
            delivery,
            acknowledge_time: optional_time(row, 7)?,
            acknowledged_by: get(row, 8)?,
        });
    }
    Ok(messages)
}

/// Records a person's acknowledgement of the message whose link holds `token` (the first
/// one is kept).
pub(crate) async fn acknowledge(
    tx: &Tx<'_>,
    drill_id: &ResourceId,
    token: &str,
    by: Option<&str>,
    now: Timestamp,
) -> StoreResult<DrillMessage> {
    let messages = messages(tx, drill_id).await?;
    let message = checks::drill_message_by_token(&messages, token)?;
    tx.execute(
        "UPDATE drill_messages SET ack_time = $1, ack_by = $2 WHERE id = $3 AND ack_time IS NULL",
        &[&now.millis(), &by, &message.delivery_id.as_str()],
    )
    .await
    .context("recording a drill acknowledgement")?;
    let updated = self::messages(tx, drill_id).await?;
    updated.into_iter().find(|m| m.delivery_id == message.delivery_id).ok_or_else(checks::drill_link_unknown)
}
