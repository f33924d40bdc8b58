//! The OSSEC/Wazuh feed's state: where each followed alert file stands (`feed_positions`),
//! written in the transaction of the results its alerts produced.

use ctp_store::{FeedPosition, StoreResult};

use crate::rows::{get, time_at};
use crate::{Context, Tx};

/// Records where sources stand (one row per source, replaced).
pub(crate) async fn save_positions(tx: &Tx<'_>, positions: &[FeedPosition]) -> StoreResult<()> {
    for position in positions {
        let offset = i64::try_from(position.offset).unwrap_or(i64::MAX);
        let line = i64::try_from(position.line).unwrap_or(i64::MAX);
        tx.execute(
            "INSERT INTO feed_positions (id, path, fingerprint, byte_offset, line, update_time) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO UPDATE SET path = excluded.path, \
             fingerprint = excluded.fingerprint, byte_offset = excluded.byte_offset, line = excluded.line, \
             update_time = excluded.update_time",
            &[&position.source, &position.path, &position.fingerprint, &offset, &line, &position.update_time.millis()],
        )
        .await
        .context("storing a feed position")?;
    }
    Ok(())
}

/// Every stored position, by source name.
pub(crate) async fn positions(tx: &Tx<'_>) -> StoreResult<Vec<FeedPosition>> {
    let rows = tx
        .query("SELECT id, path, fingerprint, byte_offset, line, update_time FROM feed_positions ORDER BY id", &[])
        .await
        .context("reading the feed positions")?;
    rows.iter()
        .map(|row| {
            Ok(FeedPosition {
                source: get(row, 0)?,
                path: get(row, 1)?,
                fingerprint: get(row, 2)?,
                offset: u64::try_from(get::<i64>(row, 3)?).unwrap_or(0),
                line: u64::try_from(get::<i64>(row, 4)?).unwrap_or(0),
                update_time: time_at(row, 5)?,
            })
        })
        .collect()
}
