//! The notification outbox: delivery jobs written with their log entries, claimed by the
//! delivery worker with a lease, finished, retried and pruned.

use ctp_model::resources::{Delivery, DeliveryState};
use ctp_model::{ResourceId, Timestamp};
use ctp_store::{checks, DeliveryOutcome, DueDelivery, StoreResult};
use rusqlite::{params, Connection};

use crate::rows::{self, backend};

/// Claims up to `limit` due jobs until `lease_until`, oldest first, with what sending
/// each needs.
pub(crate) fn claim(
    conn: &Connection,
    now: Timestamp,
    lease_until: Timestamp,
    limit: usize,
) -> StoreResult<Vec<DueDelivery>> {
    let due = rows::deliveries_where(
        conn,
        "WHERE state = 'pending' AND next_attempt <= ?1 ORDER BY next_attempt, seq LIMIT ?2",
        params![now.millis(), limit as i64],
    )?;
    let mut claim =
        conn.prepare_cached("UPDATE deliveries SET next_attempt = ?1, claimed = 1 WHERE id = ?2").map_err(backend)?;
    let mut claimed = Vec::with_capacity(due.len());
    for mut delivery in due {
        claim.execute(params![lease_until.millis(), delivery.id.as_str()]).map_err(backend)?;
        delivery.next_attempt = lease_until;
        let log = rows::load_log(conn, &delivery.log_id)?;
        let webhook_secret = match &delivery.owner_id {
            Some(owner) => rows::load_account(conn, owner).ok().and_then(|a| a.webhook_secret),
            None => None,
        };
        claimed.push(DueDelivery { delivery, log, webhook_secret });
    }
    Ok(claimed)
}

/// Records how an attempt ended. A job deleted meanwhile (with its service view) has
/// nothing left to record.
pub(crate) fn finish(conn: &Connection, id: &ResourceId, outcome: &DeliveryOutcome, now: Timestamp) -> StoreResult<()> {
    let run = |sql: &str, values: &[&dyn rusqlite::ToSql]| {
        conn.prepare_cached(sql).and_then(|mut s| s.execute(values)).map(drop).map_err(backend)
    };
    match outcome {
        DeliveryOutcome::Delivered { handed_over } => {
            run(
                "UPDATE deliveries SET state = 'delivered', attempts = attempts + 1, claimed = 0, delivery_time = ?1, \
                 last_error = NULL WHERE id = ?2",
                params![now.millis(), id.as_str()],
            )?;
            run(
                "UPDATE drill_messages SET handed_over_time = ?1 WHERE id = ?2",
                params![handed_over.millis(), id.as_str()],
            )
        }
        DeliveryOutcome::Retry { at, error } => run(
            "UPDATE deliveries SET attempts = attempts + 1, claimed = 0, next_attempt = ?1, last_error = ?2 \
             WHERE id = ?3",
            params![at.millis(), error, id.as_str()],
        ),
        DeliveryOutcome::Failed { error } => run(
            "UPDATE deliveries SET state = 'failed', attempts = attempts + 1, claimed = 0, last_error = ?1 \
             WHERE id = ?2",
            params![error, id.as_str()],
        ),
        DeliveryOutcome::Deferred { at } => run(
            "UPDATE deliveries SET claimed = 0, next_attempt = ?1 WHERE id = ?2 AND state = 'pending'",
            params![at.millis(), id.as_str()],
        ),
    }
}

/// Makes every claimed job due at `now` (at start-up: this process was the only one).
pub(crate) fn release_claims(conn: &Connection, now: Timestamp) -> StoreResult<()> {
    conn.execute(
        "UPDATE deliveries SET next_attempt = ?1, claimed = 0 WHERE state = 'pending' AND claimed = 1",
        [now.millis()],
    )
    .map_err(backend)?;
    Ok(())
}

/// When the next pending job is due.
pub(crate) fn next_time(conn: &Connection) -> StoreResult<Option<Timestamp>> {
    let millis: Option<i64> = conn
        .prepare_cached("SELECT MIN(next_attempt) FROM deliveries WHERE state = 'pending'")
        .and_then(|mut s| s.query_row([], |r| r.get(0)))
        .map_err(backend)?;
    Ok(millis.and_then(Timestamp::from_millis))
}

/// The jobs (of one state), in creation order.
pub(crate) fn list(conn: &Connection, state: Option<DeliveryState>) -> StoreResult<Vec<Delivery>> {
    match state {
        Some(state) => rows::deliveries_where(conn, "WHERE state = ?1 ORDER BY seq", [state.as_str()]),
        None => rows::deliveries_where(conn, "ORDER BY seq", []),
    }
}

/// Makes a failed (or pending) job due again at `now`, with its attempts reset.
pub(crate) fn retry(conn: &Connection, id: &ResourceId, now: Timestamp) -> StoreResult<Delivery> {
    checks::retriable(&rows::load_delivery(conn, id)?)?;
    conn.execute(
        "UPDATE deliveries SET state = 'pending', attempts = 0, claimed = 0, next_attempt = ?1 WHERE id = ?2",
        params![now.millis(), id.as_str()],
    )
    .map_err(backend)?;
    rows::load_delivery(conn, id)
}

/// Deletes the jobs delivered before `before`, but those of drills (their report needs
/// them); returns how many.
pub(crate) fn prune(conn: &Connection, before: Timestamp) -> StoreResult<u64> {
    let deleted = conn
        .execute(
            "DELETE FROM deliveries WHERE state = 'delivered' AND delivery_time < ?1 \
             AND id NOT IN (SELECT id FROM drill_messages)",
            [before.millis()],
        )
        .map_err(backend)?;
    Ok(deleted as u64)
}
