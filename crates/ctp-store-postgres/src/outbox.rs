//! The notification outbox: jobs claimed under a lease (`FOR UPDATE SKIP LOCKED`, so that
//! each is attempted by one instance at a time), finished, listed, retried and pruned.
//! Jobs are queued by `triggers::enqueue_delivery`.

use ctp_model::resources::{Delivery, DeliveryState};
use ctp_model::{ResourceId, Timestamp};
use ctp_store::{checks, DeliveryOutcome, DueDelivery, StoreResult};

use crate::rows::{self, delivery_row, get, DELIVERY_COLUMNS};
use crate::{logs, Context, Tx};

/// Claims up to `limit` pending jobs due at `now` until `lease_until`, oldest first, with
/// their log entries and their owners' webhook secrets. The jobs other instances hold are
/// skipped, not waited for.
pub(crate) async fn claim(
    tx: &Tx<'_>,
    now: Timestamp,
    lease_until: Timestamp,
    limit: usize,
) -> StoreResult<Vec<DueDelivery>> {
    let sql = format!(
        "UPDATE deliveries SET next_attempt = $2, claimed = TRUE WHERE id IN \
         (SELECT id FROM deliveries WHERE state = 'pending' AND next_attempt <= $1 \
          ORDER BY next_attempt, seq LIMIT $3 FOR UPDATE SKIP LOCKED) \
         RETURNING {DELIVERY_COLUMNS}"
    );
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let found = tx.query(&sql, &[&now.millis(), &lease_until.millis(), &limit]).await.context("claiming deliveries")?;
    let mut deliveries = found.iter().map(delivery_row).collect::<StoreResult<Vec<_>>>()?;
    deliveries.sort_by_key(|d| (d.creation_time, d.id.as_str().to_owned()));
    let mut claimed = Vec::new();
    for delivery in deliveries {
        let log = logs::entry(tx, &delivery.log_id).await?;
        let webhook_secret = match &delivery.owner_id {
            Some(owner) => rows::load_account(tx, owner).await.ok().and_then(|a| a.webhook_secret),
            None => None,
        };
        claimed.push(DueDelivery { delivery, log, webhook_secret });
    }
    Ok(claimed)
}

/// Records how an attempt of a claimed job ended. A job deleted meanwhile (with its
/// service view) has nothing left to record.
pub(crate) async fn finish(tx: &Tx<'_>, id: &ResourceId, outcome: &DeliveryOutcome, now: Timestamp) -> StoreResult<()> {
    match outcome {
        DeliveryOutcome::Delivered { handed_over } => {
            tx.execute(
                "UPDATE deliveries SET state = 'delivered', attempts = attempts + 1, claimed = FALSE, \
                 delivery_time = $1, last_error = NULL WHERE id = $2",
                &[&now.millis(), &id.as_str()],
            )
            .await
            .context("recording a delivery attempt")?;
            tx.execute(
                "UPDATE drill_messages SET handed_over_time = $1 WHERE id = $2",
                &[&handed_over.millis(), &id.as_str()],
            )
            .await
        }
        DeliveryOutcome::Retry { at, error } => {
            tx.execute(
                "UPDATE deliveries SET attempts = attempts + 1, claimed = FALSE, next_attempt = $1, last_error = $2 \
                 WHERE id = $3",
                &[&at.millis(), &error, &id.as_str()],
            )
            .await
        }
        DeliveryOutcome::Failed { error } => {
            tx.execute(
                "UPDATE deliveries SET state = 'failed', attempts = attempts + 1, claimed = FALSE, last_error = $1 \
                 WHERE id = $2",
                &[&error, &id.as_str()],
            )
            .await
        }
        DeliveryOutcome::Deferred { at } => {
            tx.execute(
                "UPDATE deliveries SET claimed = FALSE, next_attempt = $1 WHERE id = $2 AND state = 'pending'",
                &[&at.millis(), &id.as_str()],
            )
            .await
        }
    }
    .context("recording a delivery attempt")?;
    Ok(())
}

/// When the earliest pending job is due.
pub(crate) async fn next_time(tx: &Tx<'_>) -> StoreResult<Option<Timestamp>> {
    let sql = "SELECT MIN(next_attempt) FROM deliveries WHERE state = 'pending'";
    let row = tx.query_one(sql, &[]).await.context("finding the next delivery time")?;
    let millis: Option<i64> = get(&row, 0)?;
    Ok(millis.and_then(Timestamp::from_millis))
}

/// Every job (in one state, or all), oldest first.
pub(crate) async fn list(tx: &Tx<'_>, state: Option<DeliveryState>) -> StoreResult<Vec<Delivery>> {
    let found = match state {
        Some(state) => {
            let sql = format!("SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE state = $1 ORDER BY seq");
            tx.query(&sql, &[&state.as_str()]).await
        }
        None => tx.query(&format!("SELECT {DELIVERY_COLUMNS} FROM deliveries ORDER BY seq"), &[]).await,
    };
    found.context("listing deliveries")?.iter().map(delivery_row).collect()
}

/// Makes a job pending and due at `now` with a fresh series of attempts.
pub(crate) async fn retry(tx: &Tx<'_>, id: &ResourceId, now: Timestamp) -> StoreResult<Delivery> {
    checks::retriable(&rows::load_delivery(tx, id).await?)?;
    tx.execute(
        "UPDATE deliveries SET state = 'pending', attempts = 0, claimed = FALSE, next_attempt = $1 WHERE id = $2",
        &[&now.millis(), &id.as_str()],
    )
    .await
    .context("retrying a delivery")?;
    rows::load_delivery(tx, id).await
}

/// Deletes delivered jobs acknowledged before `before`; returns how many.
pub(crate) async fn prune(tx: &Tx<'_>, before: Timestamp) -> StoreResult<u64> {
    tx.execute(
        "DELETE FROM deliveries WHERE state = 'delivered' AND delivery_time < $1 \
         AND id NOT IN (SELECT id FROM drill_messages)",
        &[&before.millis()],
    )
    .await
    .context("pruning deliveries")
}
